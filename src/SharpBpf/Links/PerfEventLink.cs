using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>A perf event source: the perf_event_attr <c>type</c> and <c>config</c>.</summary>
/// <param name="Type">PERF_TYPE_* (0 hardware, 1 software, ...) or a dynamic PMU type.</param>
/// <param name="Config">The event within the type (PERF_COUNT_SW_CPU_CLOCK ...).</param>
public readonly record struct PerfEventSource(uint Type, ulong Config)
{
    /// <summary>Software cpu-clock (PERF_COUNT_SW_CPU_CLOCK): a timer on each CPU, works without a hardware PMU.</summary>
    public static PerfEventSource CpuClock => new(PerfEvent.PERF_TYPE_SOFTWARE, 0);

    /// <summary>Software task-clock (PERF_COUNT_SW_TASK_CLOCK).</summary>
    public static PerfEventSource TaskClock => new(PerfEvent.PERF_TYPE_SOFTWARE, 1);

    /// <summary>Software context switches (PERF_COUNT_SW_CONTEXT_SWITCHES).</summary>
    public static PerfEventSource ContextSwitches => new(PerfEvent.PERF_TYPE_SOFTWARE, 3);

    /// <summary>Hardware CPU cycles (PERF_COUNT_HW_CPU_CYCLES); needs a hardware PMU (absent in most VMs).</summary>
    public static PerfEventSource CpuCycles => new(PerfEvent.PERF_TYPE_HARDWARE, 0);
}

/// <summary>How a perf_event program samples.</summary>
public sealed record PerfEventOptions
{
    /// <summary>Run the program every this many events (for cpu-clock: nanoseconds). Exclusive with
    /// <see cref="SampleFrequency"/>; when neither is set, 1000 samples a second.</summary>
    public ulong SamplePeriod { get; init; }

    /// <summary>Run the program about this many times a second (the kernel adapts the period).</summary>
    public ulong SampleFrequency { get; init; }

    /// <summary>The CPUs to sample on; null for every online CPU.</summary>
    public IReadOnlyList<int>? Cpus { get; init; }

    /// <summary>Only sample this process on those CPUs; null for everything that runs there.</summary>
    public int? Pid { get; init; }

    /// <summary>Value for <c>bpf_get_attach_cookie</c> in the program (Linux 5.15).</summary>
    public ulong Cookie { get; init; }
}

/// <summary>
/// A perf_event program attached to one perf event per CPU (e.g. cpu-clock sampling), one
/// <see cref="PerfEventCpuLink"/> each, all released by one <see cref="Dispose"/>. Attaching is all or nothing:
/// when one CPU fails, the ones already attached are detached.
/// </summary>
public sealed class PerfEventLink : IDisposable
{
    private readonly PerfEventCpuLink[] _links;

    private PerfEventLink(PerfEventCpuLink[] links, PerfEventSource source)
    {
        _links = links;
        Source = source;
    }

    /// <summary>One link per CPU, in CPU order.</summary>
    public IReadOnlyList<PerfEventCpuLink> Links => _links;

    /// <summary>The perf event sampled.</summary>
    public PerfEventSource Source { get; }

    /// <summary>
    /// Opens <paramref name="source"/> on every CPU of <paramref name="options"/> and attaches <paramref name="program"/>
    /// (of type PerfEvent) to each (BPF_PERF_EVENT link, ioctl before 5.15).
    /// </summary>
    /// <exception cref="ArgumentException">Wrong program type, both period and frequency, or an empty CPU list.</exception>
    /// <exception cref="NotSupportedByKernelException">The event source does not exist here (e.g. no hardware PMU).</exception>
    /// <exception cref="BpfException">perf_event_open or attaching failed.</exception>
    public static PerfEventLink Attach(BpfProgram program, PerfEventSource source, PerfEventOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        options ??= new PerfEventOptions();
        if (program.Type != ProgramType.PerfEvent)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, perf event links need a PerfEvent program", nameof(program));
        if (options.SamplePeriod != 0 && options.SampleFrequency != 0)
            throw new ArgumentException("give a sample period or a sample frequency, not both", nameof(options));
        var cpus = options.Cpus ?? OnlineCpus();
        if (cpus.Count == 0) throw new ArgumentException("no CPUs to sample on", nameof(options));

        var links = new List<PerfEventCpuLink>(cpus.Count);
        try
        {
            foreach (int cpu in cpus)
                links.Add(PerfEventCpuLink.Open(program, source, options, cpu));
        }
        catch
        {
            foreach (var l in links) l.Dispose();
            throw;
        }
        return new PerfEventLink([.. links], source);
    }

    /// <summary>Online CPUs (/sys/devices/system/cpu/online).</summary>
    internal static int[] OnlineCpus()
    {
        string text = File.ReadAllText("/sys/devices/system/cpu/online").Trim();
        var cpus = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            if (range.Length > 2 || !int.TryParse(range[0], out int lo) || !int.TryParse(range[^1], out int hi) || hi < lo)
                throw new FormatException($"cannot parse the online CPU list '{text}'");
            for (int c = lo; c <= hi; c++) cpus.Add(c);
        }
        return [.. cpus];
    }

    /// <summary>Detaches from every CPU.</summary>
    public void Dispose()
    {
        foreach (var l in _links) l.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"perf event link (type {Source.Type}, config {Source.Config}) on {_links.Length} CPU(s)";
}

/// <summary>A perf_event program attached to the perf event of one CPU.</summary>
public sealed class PerfEventCpuLink : PerfEventBackedLink
{
    private PerfEventCpuLink(SafeBpfFd handle, uint id, SafeBpfFd perfEvent, ulong cookie, int cpu)
        : base(handle, id, perfEvent, cookie, owned: null) => Cpu = cpu;

    /// <summary>The CPU sampled.</summary>
    public int Cpu { get; }

    internal static PerfEventCpuLink Open(BpfProgram program, PerfEventSource source, PerfEventOptions options, int cpu)
    {
        var attr = new PerfEventAttr { type = source.Type, config = source.Config };
        if (options.SamplePeriod != 0)
        {
            attr.sample_period = options.SamplePeriod;
        }
        else
        {
            attr.sample_freq = options.SampleFrequency != 0 ? options.SampleFrequency : 1000;
            attr.disabled = PerfEvent.FreqBit; // the freq bit, in the first bitfield word (the event starts enabled)
        }
        string what = $"perf event (type {source.Type}, config {source.Config}) on CPU {cpu}";
        int fd = PerfEvent.TryOpen(ref attr, pid: options.Pid ?? -1, cpu: cpu);
        if (fd < 0)
        {
            // ENOENT/ENODEV/EOPNOTSUPP: this event does not exist here (no hardware PMU in a VM, unknown config).
            if (-fd is Errno.ENOENT or Errno.ENODEV or Errno.EOPNOTSUPP)
                throw new NotSupportedByKernelException($"{what} ({Errno.Describe(-fd)}: no such event source on this machine)", null,
                    new BpfException("perf_event_open", -fd, what));
            throw new BpfException("perf_event_open", -fd, what);
        }
        var (handle, id) = PerfEventAttach.Attach(program, fd, options.Cookie, what, out var perfFd);
        return new PerfEventCpuLink(handle, id, perfFd, options.Cookie, cpu);
    }

    /// <inheritdoc/>
    public override string ToString() => $"perf event link {Id} on CPU {Cpu}";
}
