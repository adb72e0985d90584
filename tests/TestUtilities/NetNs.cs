using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;

namespace SharpBpf.TestUtilities;

/// <summary>
/// A network namespace for a test: <c>ip netns add sharpbpf-RANDOM</c> on creation, <c>ip netns del</c> on dispose.
/// Namespace membership is per thread, so code that must run inside (creating sockets, resolving interface
/// names, attaching by ifindex) goes through <see cref="Run"/>, which uses a dedicated thread that enters the
/// namespace with setns and ends afterwards. Keep such code synchronous: an await would resume elsewhere.
/// Sockets created inside stay in the namespace and may be used from any thread.
/// </summary>
public sealed class NetNs : IDisposable
{
    private const int CLONE_NEWNET = 0x40000000;
    private bool _disposed;

    private NetNs(string name) => Name = name;

    /// <summary>The namespace name (as <c>ip netns</c> knows it).</summary>
    public string Name { get; }

    /// <summary>The namespace file bind-mounted by <c>ip netns add</c>.</summary>
    public string Path => $"/run/netns/{Name}";

    /// <summary>Creates a uniquely named namespace (only <c>lo</c> in it, down).</summary>
    public static NetNs Create()
    {
        string name = $"sharpbpf-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray().AsSpan(0, 5))}";
        RunIp($"netns add {name}");
        return new NetNs(name);
    }

    /// <summary>Runs <c>ip -n NAME ARGS</c>; returns its stdout, throws with its stderr when it fails.</summary>
    public string Ip(string args)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return RunIp($"-n {Name} {args}");
    }

    /// <summary>Runs <c>ip ARGS</c> in the test's own namespace.</summary>
    public static string RunIp(string args)
    {
        var psi = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args.Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start ip");
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"'ip {args}' failed with exit code {p.ExitCode}: {stderr.Result.Trim()}");
        return stdout;
    }

    /// <summary>Runs <paramref name="action"/> inside the namespace on a dedicated thread and waits for it;
    /// its exception, if any, is rethrown here.</summary>
    public void Run(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Run<object?>(() =>
        {
            action();
            return null;
        });
    }

    /// <summary>Runs <paramref name="func"/> inside the namespace on a dedicated thread and returns its result.</summary>
    public T Run<T>(Func<T> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        ObjectDisposedException.ThrowIf(_disposed, this);
        T result = default!;
        ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using (var ns = File.OpenHandle(Path, FileMode.Open, FileAccess.Read))
                {
                    if (setns((int)ns.DangerousGetHandle(), CLONE_NEWNET) != 0)
                        throw new InvalidOperationException($"setns({Path}) failed: errno {Marshal.GetLastPInvokeError()}");
                }
                result = func();
            }
            catch (Exception e)
            {
                error = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = $"netns {Name}",
        };
        thread.Start();
        thread.Join();
        error?.Throw();
        return result;
    }

    /// <summary>The index of interface <paramref name="ifName"/> inside the namespace.</summary>
    public int IfIndex(string ifName) => Run(() =>
    {
        uint index = if_nametoindex(Encoding.ASCII.GetBytes(ifName + "\0"));
        if (index == 0) throw new InvalidOperationException($"no interface '{ifName}' in netns {Name}");
        return (int)index;
    });

    /// <summary>Deletes the namespace (its interfaces go with it).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        RunIp($"netns del {Name}");
    }

    /// <inheritdoc/>
    public override string ToString() => $"netns {Name}";

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);

    [DllImport("libc", SetLastError = true)]
    private static extern uint if_nametoindex(byte[] name);
}
