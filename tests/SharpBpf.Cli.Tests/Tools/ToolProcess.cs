using System.Diagnostics;
using System.Text.Json;

namespace SharpBpf.Cli.Tests.Tools;

/// <summary>
/// A ready tool running as a child process (<c>dotnet SharpBpf.Cli.dll TOOL ...</c>), as a user runs it. Started
/// through <c>env --default-signal=INT</c> because a test host may have inherited an ignored SIGINT, which the child
/// would inherit too. Records the kernel's links and programs before the start so that <see cref="AssertNothingLeft"/>
/// can prove the tool detached and unloaded everything it made.
/// </summary>
internal sealed class ToolProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<uint> _linksBefore, _programsBefore;

    private ToolProcess(string[] args)
    {
        _linksBefore = [.. Links.BpfLink.EnumerateIds()];
        _programsBefore = [.. Programs.BpfProgram.EnumerateIds()];
        string cli = Path.Combine(AppContext.BaseDirectory, "SharpBpf.Cli.dll");
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["--default-signal=INT", "dotnet", cli, .. args]) psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stdout) _stdout.Add(e.Data);
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderr) _stderr.Add(e.Data);
            if (e.Data.Contains("Hit Ctrl+C to end", StringComparison.Ordinal)) _started.TrySetResult();
        };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public string Stderr
    {
        get
        {
            lock (_stderr) return string.Join('\n', _stderr);
        }
    }

    /// <summary>Starts the tool and waits until it says it has attached (or fails the test with its stderr).</summary>
    public static ToolProcess Start(params string[] args)
    {
        var p = new ToolProcess(args);
        var ready = Task.WhenAny(p._started.Task, p._process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60))).GetAwaiter().GetResult();
        if (!p._started.Task.IsCompleted)
        {
            string why = p._process.HasExited ? $"exited with {p._process.ExitCode}" : "did not start within 60 s";
            p.Dispose();
            Assert.Fail($"sharpbpf {string.Join(' ', args)} {why}: {p.Stderr}");
        }
        return p;
    }

    public List<string> Lines()
    {
        lock (_stdout) return [.. _stdout];
    }

    /// <summary>The NDJSON objects printed so far.</summary>
    public List<JsonElement> Json() =>
        Lines().Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    /// <summary>Waits until an output object satisfies <paramref name="match"/>; fails the test after the timeout.</summary>
    public JsonElement WaitFor(Func<JsonElement, bool> match, string what, int timeoutSeconds = 20)
    {
        var until = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (DateTime.UtcNow < until)
        {
            foreach (var e in Json())
                if (match(e)) return e;
            if (_process.HasExited) break;
            Thread.Sleep(100);
        }
        Assert.Fail($"no output with {what} within {timeoutSeconds} s; stdout:\n{string.Join('\n', Lines().TakeLast(30))}\nstderr: {Stderr}");
        return default;
    }

    /// <summary>Sends <paramref name="signal"/> (INT, TERM) and waits for the exit code.</summary>
    public int Stop(string signal = "INT")
    {
        if (!_process.HasExited)
            using (var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString()])) kill.WaitForExit();
        return WaitForExit();
    }

    public int WaitForExit(int timeoutSeconds = 30)
    {
        if (!_process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
        {
            _process.Kill();
            Assert.Fail($"the tool did not exit within {timeoutSeconds} s");
        }
        _process.WaitForExit(); // drains the output readers
        return _process.ExitCode;
    }

    /// <summary>No program named like one of the tool's (<paramref name="programNames"/>, as the kernel keeps them:
    /// 15 characters) and no link of such a program exists that did not exist before the tool started. (Other
    /// processes may load programs meanwhile, so unrelated new ids are ignored.)</summary>
    public void AssertNothingLeft(params string[] programNames)
    {
        // the kernel frees a detached program after an RCU grace period (raw tracepoints: after
        // tracepoint_synchronize_unregister), so an id can outlive the process for a moment
        var names = programNames.Select(n => n.Length > 15 ? n[..15] : n).ToHashSet();
        var until = DateTime.UtcNow.AddSeconds(10);
        List<string> left;
        while ((left = Leftovers(names)).Count > 0 && DateTime.UtcNow < until) Thread.Sleep(100);
        Assert.True(left.Count == 0, $"left behind: {string.Join(", ", left)}");
    }

    private List<string> Leftovers(HashSet<string> names)
    {
        var left = new List<string>();
        foreach (uint id in Programs.BpfProgram.EnumerateIds().Where(id => !_programsBefore.Contains(id)))
        {
            try
            {
                using var p = Programs.BpfProgram.FromId(id);
                if (names.Contains(p.GetInfo().Name)) left.Add($"program {id} ({p.GetInfo().Name})");
            }
            catch (BpfException)
            {
                // gone meanwhile
            }
        }
        foreach (uint id in Links.BpfLink.EnumerateIds().Where(id => !_linksBefore.Contains(id)))
        {
            try
            {
                using var l = Links.BpfLink.FromId(id);
                using var p = Programs.BpfProgram.FromId(l.ProgramId);
                if (names.Contains(p.GetInfo().Name)) left.Add($"link {id} of {p.GetInfo().Name}");
            }
            catch (BpfException)
            {
                // gone meanwhile
            }
        }
        return left;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}
