using SharpBpf.Interop;
using SharpBpf.Programs;
using SharpBpf.Symbols;

namespace SharpBpf.Links;

/// <summary>
/// One link attaching a program to many places in one binary (BPF_TRACE_UPROBE_MULTI, Linux 6.6): section
/// <c>uprobe.multi/BINARY:PATTERN</c> or <c>uretprobe.multi/...</c>; the program must be loaded with expected
/// attach type <see cref="AttachType.TraceUprobeMulti"/> (which those sections set). Each place can have its own
/// cookie and reference counter (USDT semaphore).
/// </summary>
public sealed class UprobeMultiLink : BpfLink
{
    private const uint BPF_F_UPROBE_MULTI_RETURN = 1;

    private UprobeMultiLink(SafeBpfFd fd, uint id, string path, int count, bool isReturn)
        : base(fd, LinkType.UprobeMulti, id)
    {
        BinaryPath = path;
        Count = count;
        IsReturnProbe = isReturn;
    }

    /// <summary>The binary probed.</summary>
    public string BinaryPath { get; }

    /// <summary>Number of places probed.</summary>
    public int Count { get; }

    /// <summary>Whether these are return probes.</summary>
    public bool IsReturnProbe { get; }

    /// <summary>Attaches <paramref name="program"/> to functions <paramref name="symbols"/> of <paramref name="binary"/>
    /// (resolved as <see cref="UprobeLink.Attach"/> does), with per-function <paramref name="cookies"/>.</summary>
    /// <exception cref="LibraryNotFoundException">The binary was not found.</exception>
    /// <exception cref="SymbolResolutionException">A function is missing or ambiguous.</exception>
    public static UprobeMultiLink Attach(BpfProgram program, string binary, IReadOnlyList<string> symbols,
        IReadOnlyList<ulong>? cookies = null, bool isReturn = false, int? pid = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(symbols);
        string path = BinaryLocator.Resolve(binary, pid);
        var table = ElfSymbolTable.Read(path);
        var offsets = new ulong[symbols.Count];
        for (int i = 0; i < offsets.Length; i++) offsets[i] = table.ResolveFileOffset(symbols[i]);
        return AttachAtOffsets(program, path, offsets, cookies, null, isReturn, pid);
    }

    /// <summary>Attaches <paramref name="program"/> at file <paramref name="offsets"/> of <paramref name="path"/>.</summary>
    /// <param name="program">A Kprobe program loaded with expected attach type TraceUprobeMulti.</param>
    /// <param name="path">The binary.</param>
    /// <param name="offsets">File offsets (at least one).</param>
    /// <param name="cookies">Per-offset cookies, or null.</param>
    /// <param name="referenceCounterOffsets">Per-offset semaphore file offsets (0 for none), or null.</param>
    /// <param name="isReturn">Return probes (BPF_F_UPROBE_MULTI_RETURN).</param>
    /// <param name="pid">Only this process, or null for all.</param>
    /// <exception cref="ArgumentException">Array lengths differ, no offsets, or the program has the wrong type.</exception>
    /// <exception cref="BpfException">BPF_LINK_CREATE failed (EINVAL: kernel before 6.6 or wrong expected attach type).</exception>
    public static unsafe UprobeMultiLink AttachAtOffsets(BpfProgram program, string path, IReadOnlyList<ulong> offsets,
        IReadOnlyList<ulong>? cookies = null, IReadOnlyList<ulong>? referenceCounterOffsets = null, bool isReturn = false, int? pid = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(offsets);
        UprobeLink.RequireKprobeType(program, "uprobe_multi");
        if (offsets.Count == 0) throw new ArgumentException("uprobe_multi needs at least one offset", nameof(offsets));
        if (cookies is not null && cookies.Count != offsets.Count)
            throw new ArgumentException($"{cookies.Count} cookies for {offsets.Count} offsets", nameof(cookies));
        if (referenceCounterOffsets is not null && referenceCounterOffsets.Count != offsets.Count)
            throw new ArgumentException($"{referenceCounterOffsets.Count} reference counter offsets for {offsets.Count} offsets", nameof(referenceCounterOffsets));
        if (!File.Exists(path)) throw new FileNotFoundException($"uprobe_multi target {path} does not exist", path);

        var offs = offsets.ToArray();
        var cks = cookies?.ToArray();
        var refs = referenceCounterOffsets?.ToArray();
        var pathBytes = UprobeLink.NulTerminated(path);
        string what = $"{(isReturn ? "uretprobe" : "uprobe")}.multi on {offs.Length} place(s) in {path}";
        fixed (byte* p = pathBytes)
        fixed (ulong* o = offs)
        fixed (ulong* c = cks)
        fixed (ulong* r = refs)
        {
            var attr = new LinkCreateAttr
            {
                prog_fd = (uint)program.Fd,
                attach_type = (uint)AttachType.TraceUprobeMulti,
                uprobe_multi_path = (ulong)p,
                uprobe_multi_offsets = (ulong)o,
                uprobe_multi_cookies = (ulong)c,
                uprobe_multi_ref_ctr_offsets = (ulong)r,
                uprobe_multi_cnt = (uint)offs.Length,
                uprobe_multi_flags = isReturn ? BPF_F_UPROBE_MULTI_RETURN : 0,
                uprobe_multi_pid = pid is int pp ? (uint)pp : 0,
            };
            int fd = Bpf.TryCall(BpfCmd.BPF_LINK_CREATE, ref attr);
            if (fd < 0)
            {
                // Before 6.6 the attach type is unknown; a program loaded without the expected attach type also
                // gets EINVAL: the message names both causes.
                if (-fd == Errno.EINVAL)
                    throw new BpfException("BPF_LINK_CREATE", -fd,
                        $"{what}: the program must be loaded with expected attach type TraceUprobeMulti (section uprobe.multi) on Linux 6.6 or later");
                throw new BpfException("BPF_LINK_CREATE", -fd, $"{what}{(pid is int x ? $" pid {x}" : "")}");
            }
            var handle = new SafeBpfFd(fd);
            try
            {
                return new UprobeMultiLink(handle, GetInfo(handle).Id, path, offs.Length, isReturn);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{(IsReturnProbe ? "uretprobe" : "uprobe")}.multi link {Id} on {Count} place(s) in {BinaryPath}";
}
