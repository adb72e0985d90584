namespace SharpBpf;

/// <summary>What an extern of a BPF object refers to.</summary>
public enum ExternKind
{
    /// <summary>A <c>__kconfig</c> variable: a kernel config value (CONFIG_*) or one of libbpf's virtual LINUX_*
    /// values, read by the program from the read-only ".kconfig" map.</summary>
    Kconfig,
    /// <summary>A <c>__ksym</c> variable: a kernel symbol's address (typeless, <c>const void</c>) or, typed, a
    /// pointer to a kernel variable described by kernel BTF (BPF_PSEUDO_BTF_ID, Linux 5.11).</summary>
    Ksym,
    /// <summary>A <c>__ksym</c> function: a kernel function callable from BPF (kfunc, BPF_PSEUDO_KFUNC_CALL,
    /// Linux 5.13).</summary>
    Kfunc,
}

/// <summary>How a <see cref="ExternKind.Kconfig"/> extern's value is stored (libbpf's kcfg types).</summary>
public enum KconfigType
{
    /// <summary>Not a kconfig extern.</summary>
    None,
    /// <summary>1-byte bool: y = 1, n = 0 (m is an error).</summary>
    Bool,
    /// <summary>1-byte char: 'y', 'n', 'm' stored as characters, or a number.</summary>
    Char,
    /// <summary><c>enum libbpf_tristate</c>: n = 0, y = 1, m = 2.</summary>
    Tristate,
    /// <summary>A 1/2/4/8-byte integer: a number (decimal, 0x hex or 0 octal).</summary>
    Int,
    /// <summary>A char array: a quoted string, truncated to fit with a terminating NUL.</summary>
    CharArray,
}

/// <summary>
/// An extern of a BPF object (an undefined symbol the loader resolves against the running kernel):
/// <paramref name="Name"/>, its <paramref name="Kind"/>, whether it is <c>__weak</c> (a missing weak extern is zero,
/// a missing strong one fails the load), its BTF type id in the object's BTF (the VAR or FUNC), and for kconfig
/// externs where its value lives in the ".kconfig" map (<paramref name="Offset"/>, <paramref name="Size"/>,
/// <paramref name="Type"/>, <paramref name="IsSigned"/>).
/// </summary>
public sealed record ExternSpec(string Name, ExternKind Kind, bool IsWeak, uint BtfTypeId,
    uint Offset = 0, uint Size = 0, KconfigType Type = KconfigType.None, bool IsSigned = false)
{
    /// <summary>The name of the map holding the kconfig externs' values.</summary>
    public const string KconfigMapName = ".kconfig";
}

/// <summary>An instruction of a program that refers to extern <paramref name="ExternName"/>: a 64-bit load of a
/// __ksym variable's address (or of a kfunc's, for <c>bpf_ksym_exists</c>) or a kfunc call. Kconfig externs are
/// <see cref="Programs.MapReference"/>s into the ".kconfig" map instead.</summary>
public readonly record struct ExternReference(int Instruction, string ExternName);
