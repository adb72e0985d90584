using SharpBpf.Asm;

namespace SharpBpf.Programs;

/// <summary>Flags for BPF_PROG_LOAD (<c>prog_flags</c>, the <c>BPF_F_*</c> load flags).</summary>
[Flags]
public enum ProgramFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>BPF_F_STRICT_ALIGNMENT: verify alignment as if the architecture required it.</summary>
    StrictAlignment = 1 << 0,
    /// <summary>BPF_F_ANY_ALIGNMENT: skip alignment checks (testing only).</summary>
    AnyAlignment = 1 << 1,
    /// <summary>BPF_F_TEST_RND_HI32: randomise upper 32 bits after 32-bit ops (verifier testing).</summary>
    TestRandomHi32 = 1 << 2,
    /// <summary>BPF_F_TEST_STATE_FREQ: checkpoint verifier states often (verifier testing).</summary>
    TestStateFrequency = 1 << 3,
    /// <summary>BPF_F_SLEEPABLE: the program may sleep (fentry/fexit/LSM/iter/uprobe, Linux 5.10).</summary>
    Sleepable = 1 << 4,
    /// <summary>BPF_F_XDP_HAS_FRAGS: an XDP program that handles multi-buffer frames (Linux 5.18).</summary>
    XdpHasFrags = 1 << 5,
    /// <summary>BPF_F_XDP_DEV_BOUND_ONLY: an XDP program bound to one device (Linux 6.3).</summary>
    XdpDeviceBoundOnly = 1 << 6,
    /// <summary>BPF_F_TEST_REG_INVARIANTS: check register invariants (verifier testing, Linux 6.7).</summary>
    TestRegisterInvariants = 1 << 7,
}

/// <summary>
/// Description of a program to load: pure data, editable until <see cref="BpfProgram.Load"/>. Use
/// <see cref="Copy"/> to derive an independent spec (the instruction array is copied).
/// </summary>
public sealed record class ProgramSpec
{
    /// <summary>Object name (the kernel keeps at most 15 characters of [A-Za-z0-9_.]; others become '_').</summary>
    public string Name { get; set; } = "";

    /// <summary>The program type.</summary>
    public ProgramType Type { get; set; }

    /// <summary>Expected attach type (required by some program types, e.g. cgroup sock_addr, tracing);
    /// <c>null</c> sends 0.</summary>
    public AttachType? ExpectedAttachType { get; set; }

    /// <summary>License string. GPL-only helpers need a GPL-compatible one such as <c>"GPL"</c> or
    /// <c>"Dual MIT/GPL"</c>. Must not contain NUL.</summary>
    public string License { get; set; } = "";

    /// <summary>The instructions (a 64-bit immediate load takes two entries).</summary>
    public Instruction[] Instructions { get; set; } = [];

    /// <summary>Load flags (<c>BPF_F_SLEEPABLE</c> ...).</summary>
    public ProgramFlags Flags { get; set; }

    /// <summary><c>kern_version</c>: only checked for kprobe programs on kernels before 5.0.</summary>
    public uint KernelVersion { get; set; }

    /// <summary>BTF id of the attach target (tracing, LSM, struct_ops, freplace).</summary>
    public uint AttachBtfId { get; set; }

    /// <summary>fd of the BTF object (module BTF) that <see cref="AttachBtfId"/> refers to; 0 for vmlinux.</summary>
    public int AttachBtfObjFd { get; set; }

    /// <summary>Network interface to offload the program to (0: host).</summary>
    public uint IfIndex { get; set; }

    /// <summary>fd of the loaded object BTF (<c>prog_btf_fd</c>) that <see cref="FuncInfos"/> and
    /// <see cref="LineInfos"/> refer to; 0 for none. Set by <see cref="SharpBpf.BpfCollection"/>.</summary>
    public int BtfFd { get; set; }

    /// <summary>BTF function info, one record per function at its first instruction (needs <see cref="BtfFd"/>;
    /// required by the kernel for programs with callbacks or global functions).</summary>
    public Btf.BpfFuncInfo[] FuncInfos { get; set; } = [];

    /// <summary>BTF line info (source lines for the verifier log and dumps; needs <see cref="BtfFd"/>).</summary>
    public Btf.BpfLineInfo[] LineInfos { get; set; } = [];

    /// <summary>The ELF section the program came from ("xdp", "kprobe/do_unlinkat" ...), empty otherwise.</summary>
    public string SectionName { get; set; } = "";

    /// <summary>The attach target named by the section ("do_unlinkat" in "fentry/do_unlinkat"). Editable: for
    /// fentry/fexit/LSM/iter/tp_btf programs <see cref="SharpBpf.BpfCollection"/> resolves it to
    /// <see cref="AttachBtfId"/> at load; for kprobes and tracepoints it is used when attaching.</summary>
    public string? AttachTo { get; set; }

    /// <summary>Whether <see cref="SharpBpf.BpfCollection"/> loads this program (libbpf's autoload). Default true.</summary>
    public bool AutoLoad { get; set; } = true;

    /// <summary>Instructions that refer to maps of the collection (64-bit immediate loads of a map fd or of an
    /// address inside a global data map). <see cref="SharpBpf.BpfCollection"/> patches in the map fds.</summary>
    public List<MapReference> MapReferences { get; set; } = [];

    /// <summary>The functions linked into <see cref="Instructions"/>, in order: the program first, then the
    /// subprograms it calls (for mapping BTF func_info/line_info).</summary>
    public List<LinkedFunction> Functions { get; set; } = [];

    /// <summary>Instructions that refer to __ksym externs (variables and kfuncs) of the collection;
    /// <see cref="SharpBpf.BpfCollection"/> patches in what it resolves against the running kernel.</summary>
    public List<ExternReference> ExternReferences { get; set; } = [];

    /// <summary>File descriptors passed as the load's fd_array (Linux 5.14): module BTF fds that kfunc calls
    /// select with their offset field (entry 0 is unused: offset 0 means vmlinux), maps for BPF_PSEUDO_MAP_IDX
    /// loads. Empty: no fd_array.</summary>
    public int[] FdArray { get; set; } = [];

    /// <summary>A copy that can be edited without touching this one (instructions and references included).</summary>
    public ProgramSpec Copy() => this with
    {
        Instructions = (Instruction[])Instructions.Clone(),
        MapReferences = [.. MapReferences],
        Functions = [.. Functions],
        ExternReferences = [.. ExternReferences],
        FdArray = (int[])FdArray.Clone(),
        FuncInfos = (Btf.BpfFuncInfo[])FuncInfos.Clone(),
        LineInfos = (Btf.BpfLineInfo[])LineInfos.Clone(),
    };

    /// <inheritdoc/>
    public override string ToString() => $"{Type} program '{Name}' ({Instructions.Length} instructions)";
}

/// <summary>How an instruction refers to a map.</summary>
public enum MapReferenceKind
{
    /// <summary>The map itself: <c>lddw</c> with BPF_PSEUDO_MAP_FD (src 1), the fd in the first immediate.</summary>
    Map = 1,
    /// <summary>An address in the map's value: BPF_PSEUDO_MAP_VALUE (src 2), the offset in the second immediate.</summary>
    Value = 2,
}

/// <summary>Instruction <paramref name="Instruction"/> (an <c>lddw</c>) loads map <paramref name="MapName"/>
/// (a key of <see cref="SharpBpf.CollectionSpec.Maps"/>) or an address <paramref name="Offset"/> bytes into its value.</summary>
public readonly record struct MapReference(int Instruction, string MapName, MapReferenceKind Kind, uint Offset);

/// <summary>A function placed in a linked program: <paramref name="Name"/> from ELF section
/// <paramref name="SectionName"/> at instruction <paramref name="SectionOffset"/> of that section, now at
/// <paramref name="Start"/> for <paramref name="Length"/> instructions.</summary>
public readonly record struct LinkedFunction(string Name, string SectionName, int SectionOffset, int Start, int Length);
