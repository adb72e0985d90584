using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;

namespace SharpBpf.Links;

/// <summary>
/// A legacy dynamic probe event created by writing a line to tracefs <c>kprobe_events</c> (or <c>uprobe_events</c>):
/// the fallback for kernels or options the perf PMU does not cover (<c>maxactive</c>). Every event gets a name unique
/// to this process (<c>sharpbpf_PID_N_FUNC</c> in group <c>sharpbpf</c>) and is removed on <see cref="Dispose"/>;
/// callers create it only inside a try that disposes it on failure.
/// </summary>
internal sealed class TracefsProbeEvent : IDisposable
{
    public const string Group = "sharpbpf";
    private const int MaxEventNameLength = 63; // MAX_EVENT_NAME_LEN 64 with the NUL
    private const int O_WRONLY = 1, O_APPEND = 0x400;
    private static int _counter;

    private readonly string _eventsFile;
    private bool _removed;

    private TracefsProbeEvent(string eventsFile, string name, ulong id)
    {
        _eventsFile = eventsFile;
        Name = name;
        Id = id;
    }

    /// <summary>The event name (without group).</summary>
    public string Name { get; }

    /// <summary>The tracepoint id of the event (the perf config for PERF_TYPE_TRACEPOINT).</summary>
    public ulong Id { get; }

    /// <summary>A new unique event name for <paramref name="target"/>: <c>sharpbpf_PID_N_TARGET</c> with every
    /// character that is not a letter, digit or '_' replaced by '_', cut to the kernel's 63 characters.</summary>
    internal static string UniqueName(string target)
    {
        int n = Interlocked.Increment(ref _counter);
        var sb = new StringBuilder($"{Group}_{Environment.ProcessId}_{n}_");
        foreach (char c in target) sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        return sb.Length > MaxEventNameLength ? sb.ToString(0, MaxEventNameLength) : sb.ToString();
    }

    /// <summary>The kprobe_events line: <c>p:GROUP/NAME TARGET</c>, <c>r:GROUP/NAME TARGET</c>, or with a
    /// <paramref name="maxActive"/> for return probes <c>rN:GROUP/NAME TARGET</c>.</summary>
    internal static string ProbeLine(bool isReturn, int maxActive, string name, string target)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxActive);
        if (maxActive > 0 && !isReturn) throw new ArgumentException("maxactive applies to return probes only", nameof(maxActive));
        string kind = isReturn ? (maxActive > 0 ? $"r{maxActive}" : "r") : "p";
        return $"{kind}:{Group}/{name} {target}";
    }

    /// <summary>The kprobe target text: <c>FUNC</c>, <c>FUNC+0xOFF</c> or <c>0xADDRESS</c>.</summary>
    internal static string KprobeTarget(string? symbol, ulong offsetOrAddress) =>
        symbol is null ? $"0x{offsetOrAddress:x}" : offsetOrAddress == 0 ? symbol : $"{symbol}+0x{offsetOrAddress:x}";

    /// <summary>Whether tracefs has <paramref name="eventsFileName"/> (e.g. kprobe_events).</summary>
    public static bool Available(string eventsFileName)
    {
        try
        {
            return File.Exists(Path.Combine(TracepointLink.EnsureTracefs(), eventsFileName));
        }
        catch (BpfException)
        {
            return false;
        }
    }

    /// <summary>Writes the probe line for a new event of <paramref name="eventsFileName"/> and reads its id; the
    /// event is removed again if reading the id fails.</summary>
    /// <exception cref="BpfException">tracefs refused the line (e.g. ENOENT: no such function).</exception>
    public static TracefsProbeEvent Create(string eventsFileName, string name, bool isReturn, int maxActive, string target)
    {
        string tracefs = TracepointLink.EnsureTracefs();
        string file = Path.Combine(tracefs, eventsFileName);
        string line = ProbeLine(isReturn, maxActive, name, target);
        Write(file, line);
        var created = new TracefsProbeEvent(file, name, 0);
        try
        {
            string idFile = Path.Combine(tracefs, "events", Group, name, "id");
            string text = File.ReadAllText(idFile);
            if (!ulong.TryParse(text.AsSpan().Trim(), out ulong id)) throw new FormatException($"{idFile}: '{text.Trim()}' is not an event id");
            return new TracefsProbeEvent(file, name, id);
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    private static unsafe void Write(string file, string line)
    {
        byte[] path = Encoding.UTF8.GetBytes(file + "\0");
        byte[] data = Encoding.UTF8.GetBytes(line + "\n");
        int fd;
        fixed (byte* p = path) fd = Libc.open(p, O_WRONLY | O_APPEND | Libc.O_CLOEXEC);
        if (fd < 0) throw new BpfException("open", Marshal.GetLastPInvokeError(), file);
        try
        {
            fixed (byte* d = data)
                if (Libc.write(fd, d, (nuint)data.Length) < 0)
                    throw new BpfException("write", Marshal.GetLastPInvokeError(), $"'{line}' to {file}");
        }
        finally
        {
            Libc.close(fd);
        }
    }

    /// <summary>Removes the event (<c>-:GROUP/NAME</c>). The perf event using it must be closed first.</summary>
    public void Dispose()
    {
        if (_removed) return;
        _removed = true;
        try
        {
            Write(_eventsFile, $"-:{Group}/{Name}");
        }
        catch (BpfException e) when (e.Errno == Errno.ENOENT)
        {
            // already gone
        }
    }
}
