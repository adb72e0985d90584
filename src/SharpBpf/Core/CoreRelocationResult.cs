using SharpBpf.Btf;

namespace SharpBpf.Core;

/// <summary>
/// The outcome of one CO-RE relocation (<c>struct bpf_core_relo</c>) of a program: which instruction, what the
/// object's BTF asked for (<see cref="LocalSpec"/>), what it matched in the target BTF (<see cref="TargetSpec"/>),
/// and the value the instruction carried before (<see cref="OldValue"/>) and carries now (<see cref="NewValue"/>).
/// </summary>
public sealed record class CoreRelocationResult
{
    /// <summary>The program (its key in <see cref="CollectionSpec.Programs"/>).</summary>
    public required string ProgramName { get; init; }

    /// <summary>Index of the relocated instruction in the program's instructions.</summary>
    public required int Instruction { get; init; }

    /// <summary>The relocation kind.</summary>
    public required BtfCoreRelocationKind Kind { get; init; }

    /// <summary>The root type id in the object's BTF.</summary>
    public required uint LocalTypeId { get; init; }

    /// <summary>The access string (<c>0:1:2</c>: array index on the root, then member/array indexes).</summary>
    public required string AccessString { get; init; }

    /// <summary>C-like path of what is accessed, e.g. <c>struct task_struct.pid</c>, <c>enum pid_type::PIDTYPE_SID</c>
    /// or <c>struct task_struct</c> for type relocations.</summary>
    public required string TypePath { get; init; }

    /// <summary>The local side as libbpf prints it: <c>[id] struct task_struct.pid (0:1 @ offset 20)</c>.</summary>
    public required string LocalSpec { get; init; }

    /// <summary>The matched target side in the same form, or null when no candidate matched.</summary>
    public string? TargetSpec { get; init; }

    /// <summary>Id of the matched root type in the target BTF (0 when none matched or for local type ids).</summary>
    public uint TargetTypeId { get; init; }

    /// <summary>The value the compiler put in the instruction (from the object's own types).</summary>
    public ulong OldValue { get; init; }

    /// <summary>The relocated value (0 for a poisoned instruction).</summary>
    public ulong NewValue { get; init; }

    /// <summary>Memory access size before and after, for loads/stores whose field changed size (0 otherwise).</summary>
    public int OldSize { get; init; }

    /// <summary>See <see cref="OldSize"/>.</summary>
    public int NewSize { get; init; }

    /// <summary>Whether the relocation could not be resolved and the instruction was poisoned (as libbpf: a call to
    /// the invalid helper 0xbad2310); loading fails only when the verifier reaches it.</summary>
    public bool Poisoned { get; init; }

    /// <summary>Why the instruction was poisoned, or null.</summary>
    public string? PoisonReason { get; init; }

    /// <summary>libbpf's short name of the kind (<c>byte_off</c>, <c>field_exists</c>, <c>enumval_value</c> ...).</summary>
    public string KindName => CoreRelocator.KindName(Kind);

    /// <inheritdoc />
    public override string ToString() => Poisoned
        ? $"insn {Instruction}: <{KindName}> {LocalSpec} => poisoned ({PoisonReason})"
        : $"insn {Instruction}: <{KindName}> {LocalSpec} => {TargetSpec ?? "(no target)"}: {OldValue} -> {NewValue}";
}

/// <summary>
/// A CO-RE relocation could not be applied (a malformed access string, candidates that disagree, an instruction of
/// unexpected form), or a program failed verification at an instruction poisoned because its relocation found no
/// target. The message names the program, the relocation kind, the type path and the access string.
/// </summary>
public sealed class CoreRelocationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CoreRelocationException(string programName, BtfCoreRelocationKind kind, string typePath, string accessString, string message,
        CoreRelocationResult? result = null, Exception? inner = null)
        : base($"program '{programName}': CO-RE relocation <{CoreRelocator.KindName(kind)}> of {typePath} (access {accessString}): {message}", inner)
    {
        ProgramName = programName;
        Kind = kind;
        TypePath = typePath;
        AccessString = accessString;
        Result = result;
    }

    /// <summary>The program.</summary>
    public string ProgramName { get; }

    /// <summary>The relocation kind.</summary>
    public BtfCoreRelocationKind Kind { get; }

    /// <summary>C-like path of what was accessed (<c>struct task_struct.pid</c>).</summary>
    public string TypePath { get; }

    /// <summary>The access string.</summary>
    public string AccessString { get; }

    /// <summary>The poisoned relocation the verifier tripped over, or null for a relocation that failed outright.</summary>
    public CoreRelocationResult? Result { get; }
}
