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

    /// <summary>A copy that can be edited without touching this one (instructions included).</summary>
    public ProgramSpec Copy() => this with { Instructions = (Instruction[])Instructions.Clone() };

    /// <inheritdoc/>
    public override string ToString() => $"{Type} program '{Name}' ({Instructions.Length} instructions)";
}
