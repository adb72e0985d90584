using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;
using SharpBpf.Programs;
using SharpBpf.Symbols;

namespace SharpBpf.Links;

/// <summary>Options of a uprobe or uretprobe.</summary>
public sealed record UprobeOptions
{
    /// <summary>A uretprobe: run when the function returns rather than when it is entered.</summary>
    public bool Return { get; init; }

    /// <summary>Only fire in this process (thread group); null for every process that runs the code.</summary>
    public int? Pid { get; init; }

    /// <summary>Value for <c>bpf_get_attach_cookie</c> in the program (Linux 5.15).</summary>
    public ulong Cookie { get; init; }

    /// <summary>Added to the resolved symbol's file offset (probe inside a function).</summary>
    public ulong Offset { get; init; }

    /// <summary>File offset of a reference counter (a USDT semaphore) the kernel increments while the probe is
    /// attached (Linux 4.20); 0 for none.</summary>
    public ulong ReferenceCounterOffset { get; init; }
}

/// <summary>
/// A uprobe or uretprobe: a Kprobe-type program (section <c>uprobe/BINARY:FUNCTION</c>, <c>uretprobe/...</c>,
/// sleepable <c>uprobe.s/...</c>) run when user code at a file offset of a binary executes. Created through the
/// "uprobe" perf PMU (Linux 4.17) and a BPF_PERF_EVENT link (ioctl fallback before 5.15). Disposing detaches.
/// </summary>
public sealed class UprobeLink : PerfEventBackedLink
{
    private UprobeLink(SafeBpfFd handle, uint id, SafeBpfFd perfEvent, string path, ulong fileOffset, UprobeOptions options)
        : base(handle, id, perfEvent, options.Cookie, owned: null)
    {
        BinaryPath = path;
        FileOffset = fileOffset;
        IsReturnProbe = options.Return;
        Pid = options.Pid;
    }

    /// <summary>The binary probed.</summary>
    public string BinaryPath { get; }

    /// <summary>The file offset probed.</summary>
    public ulong FileOffset { get; }

    /// <summary>Whether this is a uretprobe.</summary>
    public bool IsReturnProbe { get; }

    /// <summary>The process filter, null for all processes.</summary>
    public int? Pid { get; }

    /// <summary>
    /// Attaches <paramref name="program"/> to function <paramref name="symbol"/> of <paramref name="binary"/>.
    /// </summary>
    /// <param name="program">A loaded Kprobe-type program.</param>
    /// <param name="binary">A path, a library name (<c>libc.so.6</c>, <c>c</c>) or an executable name; see
    /// <see cref="BinaryLocator.Resolve"/> (with <see cref="UprobeOptions.Pid"/> the process's own mapping is preferred).</param>
    /// <param name="symbol">A function in .symtab or .dynsym: <c>name</c>, <c>name@@VERSION</c> or <c>name@VERSION</c>.</param>
    /// <param name="options">Return probe, pid filter, cookie, offset, semaphore.</param>
    /// <exception cref="LibraryNotFoundException">The binary was not found.</exception>
    /// <exception cref="SymbolResolutionException">The function is missing or ambiguous.</exception>
    /// <exception cref="NotSupportedByKernelException">The kernel has no uprobe PMU.</exception>
    /// <exception cref="BpfException">perf_event_open or attaching failed.</exception>
    public static UprobeLink Attach(BpfProgram program, string binary, string symbol, UprobeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        options ??= new UprobeOptions();
        string path = BinaryLocator.Resolve(binary, options.Pid);
        ulong offset = ElfSymbolTable.Read(path).ResolveFileOffset(symbol);
        return AttachAtOffset(program, path, offset + options.Offset, options with { Offset = 0 });
    }

    /// <summary>
    /// Attaches <paramref name="program"/> at file offset <paramref name="fileOffset"/> (plus
    /// <see cref="UprobeOptions.Offset"/>) of the binary at <paramref name="path"/>, e.g. a USDT probe site with its
    /// semaphore in <see cref="UprobeOptions.ReferenceCounterOffset"/> and its spec id as cookie.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="NotSupportedByKernelException">The kernel has no uprobe PMU, or lacks ref_ctr_offset support.</exception>
    /// <exception cref="BpfException">perf_event_open or attaching failed.</exception>
    public static UprobeLink AttachAtOffset(BpfProgram program, string path, ulong fileOffset, UprobeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new UprobeOptions();
        RequireKprobeType(program, "uprobe");
        if (!File.Exists(path)) throw new FileNotFoundException($"uprobe target {path} does not exist", path);
        ulong offset = fileOffset + options.Offset;
        string what = $"{(options.Return ? "uretprobe" : "uprobe")} {path}+0x{offset:x}";

        int pmu = ProbePmu.Type("uprobe");
        if (pmu < 0)
            throw new NotSupportedByKernelException("uprobes (no /sys/bus/event_source/devices/uprobe: kernel built without CONFIG_UPROBE_EVENTS)", "4.17");
        int retBit = 0;
        if (options.Return && (retBit = ProbePmu.FormatBit("uprobe", "retprobe")) < 0)
            throw new NotSupportedByKernelException("uretprobes through the uprobe PMU (no format/retprobe)", "4.17");
        int refShift = 32;
        if (options.ReferenceCounterOffset != 0)
        {
            if (ProbePmu.FormatRange("uprobe", "ref_ctr_offset") is not (int lo, _))
                throw new NotSupportedByKernelException("uprobe reference counters (semaphores)", "4.20");
            refShift = lo;
        }

        int pfd;
        var bytes = NulTerminated(path);
        unsafe
        {
            fixed (byte* p = bytes)
            {
                var attr = new PerfEventAttr
                {
                    type = (uint)pmu,
                    config = ProbePmu.Config(options.Return, retBit, options.ReferenceCounterOffset, refShift),
                    uprobe_path = (ulong)p,
                    probe_offset = offset,
                    sample_period = 1,
                    wakeup_events = 1,
                };
                // A pid filter probes that process on any CPU; otherwise every process (pid -1) on CPU 0, which
                // for uprobes still fires on every CPU.
                pfd = PerfEvent.TryOpen(ref attr, pid: options.Pid ?? -1, cpu: options.Pid is null ? 0 : -1);
            }
        }
        if (pfd < 0) throw new BpfException("perf_event_open", -pfd, $"{what}{(options.Pid is int pid ? $" pid {pid}" : "")}");
        var (handle, id) = PerfEventAttach.Attach(program, pfd, options.Cookie, what, out var perfFd);
        return new UprobeLink(handle, id, perfFd, path, offset, options);
    }

    internal static void RequireKprobeType(BpfProgram program, string what)
    {
        if (program.Type != ProgramType.Kprobe)
            throw new ArgumentException($"program '{program.Name}' is {program.Type}, {what} links need a Kprobe program", nameof(program));
    }

    internal static byte[] NulTerminated(string s)
    {
        if (s.Contains('\0')) throw new ArgumentException($"'{s.Replace("\0", "\\0")}' contains a NUL character");
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{(IsReturnProbe ? "uretprobe" : "uprobe")} link {Id} on {BinaryPath}+0x{FileOffset:x}{(Pid is int p ? $" pid {p}" : "")}";
}
