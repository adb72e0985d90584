using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>
/// A tracepoint program attached to a kernel tracepoint (tracefs <c>events/CATEGORY/NAME</c>) through a perf event
/// and a BPF_PERF_EVENT link (Linux 5.15). Owns the perf event fd as well as the link fd; disposing closes both.
/// </summary>
public sealed class TracepointLink : PerfEventBackedLink
{
    private const string TracefsPath = "/sys/kernel/tracing";
    private const string DebugfsTracingPath = "/sys/kernel/debug/tracing";

    private TracepointLink(SafeBpfFd handle, uint id, SafeBpfFd? perfEvent, string category, string name, ulong cookie, ulong tracepointId)
        : base(handle, id, perfEvent, cookie, owned: null)
    {
        Category = category;
        Name = name;
        TracepointId = tracepointId;
    }

    /// <summary>The tracepoint's category (subsystem), e.g. <c>syscalls</c>; empty for a link reopened by id or pin
    /// (the kernel reports only the name).</summary>
    public string Category { get; }

    /// <summary>The tracepoint's name, e.g. <c>sys_enter_getpid</c>.</summary>
    public string Name { get; }

    /// <summary>The tracepoint's id in tracefs (the perf event's <c>config</c>); 0 for a reopened link.</summary>
    public ulong TracepointId { get; }

    /// <summary>A tracepoint link opened by id or pin (the kernel keeps the perf event alive through the link).</summary>
    internal static TracepointLink Reopened(SafeBpfFd fd, uint id, string? name, ulong cookie) =>
        new(fd, id, null, "", name ?? "", cookie, 0);

    /// <summary>
    /// Attaches <paramref name="program"/> (of type Tracepoint) to tracepoint <paramref name="category"/>/<paramref
    /// name="name"/>: opens a PERF_TYPE_TRACEPOINT perf event with the tracefs id and links the program to it
    /// (BPF_LINK_CREATE with BPF_PERF_EVENT; PERF_EVENT_IOC_SET_BPF before Linux 5.15). The program runs on every CPU. Mounts tracefs at
    /// /sys/kernel/tracing when no tracefs is mounted.
    /// </summary>
    /// <param name="program">A loaded Tracepoint program.</param>
    /// <param name="category">The tracepoint's category, e.g. <c>sched</c>.</param>
    /// <param name="name">The tracepoint's name, e.g. <c>sched_process_exec</c>.</param>
    /// <param name="cookie">Value for <c>bpf_get_attach_cookie</c> in the program.</param>
    /// <exception cref="ArgumentException">The program is not a Tracepoint program, a name is not a plain path
    /// component, or the tracepoint does not exist.</exception>
    /// <exception cref="BpfException">perf_event_open, BPF_LINK_CREATE or mounting tracefs failed.</exception>
    public static TracepointLink Attach(BpfProgram program, string category, string name, ulong cookie = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (program.Type != ProgramType.Tracepoint)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, tracepoint links need a Tracepoint program", nameof(program));
        RequireComponent(category, nameof(category));
        RequireComponent(name, nameof(name));
        ulong tpId = ReadTracepointId(category, name);

        var perf = new PerfEventAttr
        {
            type = PerfEvent.PERF_TYPE_TRACEPOINT,
            config = tpId,
            sample_period = 1,
            wakeup_events = 1,
        };
        int pfd = PerfEvent.TryOpen(ref perf, pid: -1, cpu: 0);
        if (pfd < 0) throw new BpfException("perf_event_open", -pfd, $"tracepoint {category}/{name} (id {tpId})");
        var (handle, id) = PerfEventAttach.Attach(program, pfd, cookie, $"tracepoint {category}/{name}", out var perfFd);
        return new TracepointLink(handle, id, perfFd, category, name, cookie, tpId);
    }

    private static void RequireComponent(string value, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, paramName);
        if (value.Contains('/') || value.Contains('\0') || value is "." or "..")
            throw new ArgumentException($"'{value}' is not a tracepoint {paramName} (a single tracefs path component)", paramName);
    }

    /// <summary>The tracefs id of <paramref name="category"/>/<paramref name="name"/>.</summary>
    private static ulong ReadTracepointId(string category, string name)
    {
        string events = Path.Combine(EnsureTracefs(), "events");
        string idFile = Path.Combine(events, category, name, "id");
        string text;
        try
        {
            text = File.ReadAllText(idFile);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ArgumentException($"no tracepoint {category}/{name} ({idFile} does not exist)", nameof(name), e);
        }
        if (!ulong.TryParse(text.AsSpan().Trim(), out ulong id))
            throw new FormatException($"{idFile}: '{text.Trim()}' is not a tracepoint id");
        return id;
    }

    /// <summary>The tracefs directory, mounting tracefs at /sys/kernel/tracing when neither it nor the debugfs
    /// tracing directory has events.</summary>
    internal static string EnsureTracefs()
    {
        foreach (var dir in (ReadOnlySpan<string>)[TracefsPath, DebugfsTracingPath])
            if (Directory.Exists(Path.Combine(dir, "events"))) return dir;
        Internal.Mounts.Mount("tracefs", TracefsPath);
        return TracefsPath;
    }

    /// <inheritdoc/>
    public override string ToString() => Category.Length == 0 ? $"tracepoint link {Id} on {Name}" : $"tracepoint link {Id} on {Category}/{Name}";
}
