namespace SharpBpf.Vm;

/// <summary>How the VM executes programs.</summary>
public enum VmEngine
{
    /// <summary>The interpreter (always available, also under Native AOT).</summary>
    Interpreter,
    /// <summary>Translation to IL compiled by RyuJIT; falls back to the interpreter where dynamic code is not
    /// supported (see <see cref="BpfVm.JitUnavailableReason"/>).</summary>
    Jit,
}

/// <summary>Settings of a <see cref="BpfVm"/>. Every helper with an environment-dependent result (time, random
/// numbers, the current task) is deterministic and configured here.</summary>
public sealed class VmOptions
{
    /// <summary>The engine programs run on.</summary>
    public VmEngine Engine { get; set; } = VmEngine.Interpreter;

    /// <summary>Most instructions one run (including tail calls and callbacks) may execute; beyond it the run stops
    /// with <see cref="VmBudgetExceededException"/>. The budget is charged per basic block on entry.</summary>
    public long InstructionBudget { get; set; } = 10_000_000;

    /// <summary>What <c>bpf_get_current_pid_tgid</c> returns (tgid in the upper half).</summary>
    public ulong PidTgid { get; set; } = (4242UL << 32) | 4243;

    /// <summary>What <c>bpf_get_current_uid_gid</c> returns (gid in the upper half).</summary>
    public ulong UidGid { get; set; } = (1000UL << 32) | 1000;

    /// <summary>What <c>bpf_get_current_comm</c> copies (truncated to the buffer, NUL-terminated).</summary>
    public string Comm { get; set; } = "sharpbpf-vm";

    /// <summary>The first value of <c>bpf_ktime_get_ns</c> (and the boot/coarse variants) in a VM.</summary>
    public ulong KtimeStartNs { get; set; } = 1_000_000_000;

    /// <summary>How much the clock advances per call of a ktime helper.</summary>
    public ulong KtimeStepNs { get; set; } = 1_000;

    /// <summary>Seed of <c>bpf_get_prandom_u32</c> (xorshift64*; never 0).</summary>
    public ulong PrandomSeed { get; set; } = 0x9E3779B97F4A7C15;

    /// <summary>Number of emulated CPUs (per-CPU maps hold one value per CPU).</summary>
    public int CpuCount { get; set; } = 1;

    /// <summary>The CPU programs run on (<c>bpf_get_smp_processor_id</c>, the per-CPU value they see).</summary>
    public int Cpu { get; set; }

    /// <summary>The interface index of the emulated device (xdp_md.ingress_ifindex, __sk_buff.ifindex); 1 is the
    /// loopback device the kernel's test runs use.</summary>
    public uint IfIndex { get; set; } = 1;

    /// <summary>Receives each <c>bpf_trace_printk</c> line (formatted like the kernel, without the trace_pipe
    /// prefix). Null: lines are kept in <see cref="BpfVm.TraceLog"/>.</summary>
    public Action<string>? TraceSink { get; set; }

    /// <summary>Largest packet a run accepts.</summary>
    public int MaxPacketSize { get; set; } = 65536;
}
