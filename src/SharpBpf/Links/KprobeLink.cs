using System.Runtime.InteropServices;
using SharpBpf.Interop;
using SharpBpf.Programs;

namespace SharpBpf.Links;

/// <summary>Options of a kprobe or kretprobe.</summary>
public sealed record KprobeOptions
{
    /// <summary>A kretprobe: run when the function returns.</summary>
    public bool Return { get; init; }

    /// <summary>Byte offset into the function (kprobes only).</summary>
    public ulong Offset { get; init; }

    /// <summary>Value for <c>bpf_get_attach_cookie</c> in the program (Linux 5.15).</summary>
    public ulong Cookie { get; init; }

    /// <summary>For kretprobes: how many instances may be pending at once (the legacy <c>rN:</c> syntax of tracefs
    /// kprobe_events; the perf PMU has no such setting, so a non-zero value always uses tracefs). 0: the kernel default.</summary>
    public int MaxActive { get; init; }

    /// <summary>Create the probe through tracefs kprobe_events even when the kprobe PMU exists.</summary>
    public bool UseTracefs { get; init; }
}

/// <summary>
/// A kprobe or kretprobe: a Kprobe program (section <c>kprobe/FUNC</c>, <c>kretprobe/FUNC</c>, <c>ksyscall/NAME</c>,
/// <c>kretsyscall/NAME</c>) run when a kernel function is entered or returns. Created through the "kprobe" perf PMU
/// (Linux 4.17) or, as a fallback and for <see cref="KprobeOptions.MaxActive"/>, a tracefs kprobe_events entry that is
/// removed again on dispose and on failure; attached with a BPF_PERF_EVENT link (ioctl fallback before 5.15).
/// Needs a kernel with CONFIG_KPROBES.
/// </summary>
public sealed class KprobeLink : PerfEventBackedLink
{
    private static string? _syscallPrefix;

    private KprobeLink(SafeBpfFd handle, uint id, SafeBpfFd perfEvent, ulong cookie, TracefsProbeEvent? tracefsEvent, string target, bool isReturn)
        : base(handle, id, perfEvent, cookie, tracefsEvent)
    {
        Target = target;
        IsReturnProbe = isReturn;
        TracefsEventName = tracefsEvent?.Name;
    }

    /// <summary>What is probed: <c>FUNC</c>, <c>FUNC+0xOFF</c> or <c>0xADDRESS</c>.</summary>
    public string Target { get; }

    /// <summary>Whether this is a kretprobe.</summary>
    public bool IsReturnProbe { get; }

    /// <summary>The tracefs event (group <c>sharpbpf</c>) when the probe was created through kprobe_events, else null.</summary>
    public string? TracefsEventName { get; }

    /// <summary>Attaches <paramref name="program"/> to kernel function <paramref name="symbol"/>.</summary>
    /// <exception cref="NotSupportedByKernelException">No kprobe PMU and no tracefs kprobe_events (no CONFIG_KPROBES).</exception>
    /// <exception cref="BpfException">The kernel refused the probe (e.g. ENOENT: no such function) or the attach.</exception>
    public static KprobeLink Attach(BpfProgram program, string symbol, KprobeOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        if (symbol.Any(c => char.IsWhiteSpace(c) || c is '\0' or ':' or '/'))
            throw new ArgumentException($"'{symbol}' is not a kernel function name", nameof(symbol));
        return AttachCore(program, symbol, 0, options ?? new KprobeOptions());
    }

    /// <summary>Attaches <paramref name="program"/> at kernel address <paramref name="address"/> (e.g. from /proc/kallsyms).</summary>
    public static KprobeLink AttachAddress(BpfProgram program, ulong address, KprobeOptions? options = null)
    {
        options ??= new KprobeOptions();
        if (options.Offset != 0) throw new ArgumentException("an offset applies to a function name, not to an address", nameof(options));
        return AttachCore(program, null, address, options);
    }

    /// <summary>
    /// Attaches <paramref name="program"/> to system call <paramref name="syscall"/> (e.g. <c>openat</c>) through its
    /// architecture's entry function (<c>__x64_sys_openat</c> on x86-64 with syscall wrappers, <c>sys_openat</c>
    /// without), as libbpf's <c>ksyscall</c> sections do. With wrappers the program's pt_regs argument holds a pointer
    /// to the user registers (libbpf's <c>BPF_KSYSCALL</c> macro reads through it).
    /// </summary>
    public static KprobeLink AttachSyscall(BpfProgram program, string syscall, KprobeOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(syscall);
        return Attach(program, SyscallPrefix() + syscall, options);
    }

    /// <summary>The prefix of syscall entry functions of the running kernel: <c>__x64_sys_</c>, <c>__arm64_sys_</c> ...
    /// when /proc/kallsyms has the wrapper of <c>bpf</c>, else <c>sys_</c>.</summary>
    public static string SyscallPrefix() => _syscallPrefix ??= FindSyscallPrefix("/proc/kallsyms", RuntimeInformation.ProcessArchitecture);

    internal static string FindSyscallPrefix(string kallsyms, Architecture arch)
    {
        string? wrapper = arch switch
        {
            Architecture.X64 => "__x64_sys_",
            Architecture.Arm64 => "__arm64_sys_",
            Architecture.S390x => "__s390x_sys_",
            Architecture.RiscV64 => "__riscv_sys_",
            _ => null,
        };
        if (wrapper is null) return "sys_";
        string wanted = wrapper + "bpf";
        try
        {
            foreach (string line in File.ReadLines(kallsyms))
            {
                // "ffffffff81234560 T __x64_sys_bpf" (modules add "\t[mod]")
                int sp = line.LastIndexOf(' ');
                if (sp >= 0 && line.AsSpan(sp + 1).TrimEnd().SequenceEqual(wanted)) return wrapper;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return wrapper; // every 64-bit kernel since 4.17 has the wrappers
        }
        return "sys_";
    }

    private static KprobeLink AttachCore(BpfProgram program, string? symbol, ulong offsetOrAddress, KprobeOptions options)
    {
        ArgumentNullException.ThrowIfNull(program);
        UprobeLink.RequireKprobeType(program, "kprobe");
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxActive);
        if (options.MaxActive > 0 && !options.Return)
            throw new ArgumentException("MaxActive applies to kretprobes only", nameof(options));
        if (options.Return && options.Offset != 0)
            throw new ArgumentException("a kretprobe takes no offset", nameof(options));
        string target = TracefsProbeEvent.KprobeTarget(symbol, symbol is null ? offsetOrAddress : options.Offset);
        string what = $"{(options.Return ? "kretprobe" : "kprobe")} {target}";

        int pmu = ProbePmu.Type("kprobe");
        bool tracefs = options.UseTracefs || options.MaxActive > 0 || pmu < 0;
        if (tracefs && !TracefsProbeEvent.Available("kprobe_events"))
            throw pmu < 0
                ? new NotSupportedByKernelException("kprobes (no kprobe PMU at /sys/bus/event_source/devices/kprobe and no tracefs kprobe_events: kernel built without CONFIG_KPROBES)", null)
                : new NotSupportedByKernelException("kprobes through tracefs kprobe_events (needed for MaxActive or UseTracefs)", null);
        return tracefs ? AttachTracefs(program, target, what, options) : AttachPmu(program, pmu, symbol, offsetOrAddress, target, what, options);
    }

    private static unsafe KprobeLink AttachPmu(BpfProgram program, int pmu, string? symbol, ulong offsetOrAddress, string target, string what, KprobeOptions options)
    {
        int retBit = 0;
        if (options.Return && (retBit = ProbePmu.FormatBit("kprobe", "retprobe")) < 0)
            throw new NotSupportedByKernelException("kretprobes through the kprobe PMU (no format/retprobe)", "4.17");
        var attr = PmuAttr(pmu, options.Return, retBit, symbol is null ? 0 : options.Offset, symbol is null ? offsetOrAddress : 0);
        int fd;
        byte[]? name = symbol is null ? null : UprobeLink.NulTerminated(symbol);
        fixed (byte* p = name)
        {
            attr.kprobe_func = (ulong)p;
            fd = PerfEvent.TryOpen(ref attr, pid: -1, cpu: 0);
        }
        if (fd < 0) throw new BpfException("perf_event_open", -fd, $"{what}{(-fd is Errno.ENOENT or Errno.EINVAL ? " (no such kernel function, or it cannot be probed)" : "")}");
        var (handle, id) = PerfEventAttach.Attach(program, fd, options.Cookie, what, out var perfFd);
        return new KprobeLink(handle, id, perfFd, options.Cookie, null, target, options.Return);
    }

    /// <summary>The perf_event_attr of a kprobe PMU event; <c>kprobe_func</c> (the name pointer) is set by the caller
    /// for named probes, <paramref name="address"/> goes in <c>kprobe_addr</c> for address probes.</summary>
    internal static PerfEventAttr PmuAttr(int pmu, bool isReturn, int retprobeBit, ulong offset, ulong address) => new()
    {
        type = (uint)pmu,
        config = ProbePmu.Config(isReturn, retprobeBit, 0, 0),
        // probe_offset and kprobe_addr share one union field: the offset into the named function, or the address.
        kprobe_addr = address != 0 ? address : offset,
        sample_period = 1,
        wakeup_events = 1,
    };

    private static KprobeLink AttachTracefs(BpfProgram program, string target, string what, KprobeOptions options)
    {
        string name = TracefsProbeEvent.UniqueName(target);
        var evt = TracefsProbeEvent.Create("kprobe_events", name, options.Return, options.MaxActive, target);
        try
        {
            var attr = new PerfEventAttr { type = PerfEvent.PERF_TYPE_TRACEPOINT, config = evt.Id, sample_period = 1, wakeup_events = 1 };
            int fd = PerfEvent.TryOpen(ref attr, pid: -1, cpu: 0);
            if (fd < 0) throw new BpfException("perf_event_open", -fd, $"{what} (tracefs event {TracefsProbeEvent.Group}/{name}, id {evt.Id})");
            var (handle, id) = PerfEventAttach.Attach(program, fd, options.Cookie, what, out var perfFd);
            return new KprobeLink(handle, id, perfFd, options.Cookie, evt, target, options.Return);
        }
        catch
        {
            evt.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{(IsReturnProbe ? "kretprobe" : "kprobe")} link {Id} on {Target}{(TracefsEventName is null ? "" : $" (tracefs {TracefsProbeEvent.Group}/{TracefsEventName})")}";
}
