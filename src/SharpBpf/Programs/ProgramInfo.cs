namespace SharpBpf.Programs;

/// <summary>Kernel info of a program (<c>struct bpf_prog_info</c>).</summary>
/// <param name="Type">Program type.</param>
/// <param name="Id">Kernel object id.</param>
/// <param name="Tag">Instruction hash as 16 hex digits.</param>
/// <param name="Name">Object name.</param>
/// <param name="JitedSize">Bytes of JIT-compiled code (0 when not JITed).</param>
/// <param name="XlatedSize">Bytes of the kernel-translated instructions.</param>
/// <param name="LoadTime">When the program was loaded, as time since boot (CLOCK_BOOTTIME).</param>
/// <param name="CreatedByUid">uid of the loader.</param>
/// <param name="MapIds">Ids of the maps the program uses (or has bound).</param>
/// <param name="RunTimeNs">Total run time in ns; counted only while <see cref="BpfStats"/> are enabled (Linux 5.1).</param>
/// <param name="RunCount">Number of runs; counted only while <see cref="BpfStats"/> are enabled (Linux 5.1).</param>
/// <param name="RecursionMisses">Runs skipped because the program was already running on that CPU (Linux 5.12).</param>
/// <param name="VerifiedInstructions">Instructions the verifier processed (Linux 5.16).</param>
/// <param name="GplCompatible">Whether the license is GPL-compatible.</param>
/// <param name="BtfId">Id of the program's BTF object (0: none).</param>
/// <param name="IfIndex">Offload device (0: host).</param>
public sealed record ProgramInfo(
    ProgramType Type, uint Id, string Tag, string Name, uint JitedSize, uint XlatedSize, TimeSpan LoadTime,
    uint CreatedByUid, uint[] MapIds, ulong RunTimeNs, ulong RunCount, ulong RecursionMisses,
    uint VerifiedInstructions, bool GplCompatible, uint BtfId, uint IfIndex);
