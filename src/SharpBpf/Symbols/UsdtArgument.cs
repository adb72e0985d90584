using System.Globalization;

namespace SharpBpf.Symbols;

/// <summary>Where a USDT argument's value is (usdt.bpf.h's <c>enum __bpf_usdt_arg_type</c>, same values).</summary>
public enum UsdtArgumentKind
{
    /// <summary>A constant (<c>4@$5</c>): <see cref="UsdtArgument.Value"/>.</summary>
    Constant = 0,
    /// <summary>A register (<c>-4@%edi</c>).</summary>
    Register = 1,
    /// <summary>Memory at a register plus an offset (<c>8@-8(%rbp)</c>, offset in <see cref="UsdtArgument.Value"/>).</summary>
    RegisterDeref = 2,
}

/// <summary>
/// One parsed x86-64 USDT argument (<c>SIZE@OPERAND</c>, SIZE ±1/2/4/8, negative for signed): what usdt.bpf.h's
/// <c>struct __bpf_usdt_arg_spec</c> holds.
/// </summary>
/// <param name="Kind">Constant, register or register-relative memory.</param>
/// <param name="Size">The value's size in bytes: 1, 2, 4 or 8.</param>
/// <param name="IsSigned">Whether the value is sign-extended to 64 bits (a negative SIZE).</param>
/// <param name="Value">The constant, or the memory operand's offset (0 for a register).</param>
/// <param name="Register">The register as written (<c>edi</c>), null for a constant.</param>
/// <param name="RegisterOffset">offsetof(struct pt_regs, the 64-bit register) on x86-64, -1 for a constant.</param>
public readonly record struct UsdtArgument(UsdtArgumentKind Kind, int Size, bool IsSigned, long Value, string? Register, short RegisterOffset)
{
    /// <summary>How many high bits usdt.bpf.h clears (and sign-extends) to cast the 8 bytes read to
    /// <see cref="Size"/>: 64 - 8 * size.</summary>
    public byte BitShift => (byte)(64 - 8 * Size);

    // offsetof(struct pt_regs, X) for x86-64 (arch/x86/include/asm/ptrace.h): r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax
    // cx dx si di orig_ax ip cs flags sp ss, 8 bytes each. Every 64/32/16/8-bit name of a register reads the
    // whole 64-bit slot; BitShift then keeps the argument's low bytes.
    private static readonly Dictionary<string, short> Registers = BuildRegisters();

    private static Dictionary<string, short> BuildRegisters()
    {
        var map = new Dictionary<string, short>(StringComparer.Ordinal);
        void Add(short offset, params string[] names)
        {
            foreach (var n in names) map.Add(n, offset);
        }
        Add(0, "r15", "r15d", "r15w", "r15b");
        Add(8, "r14", "r14d", "r14w", "r14b");
        Add(16, "r13", "r13d", "r13w", "r13b");
        Add(24, "r12", "r12d", "r12w", "r12b");
        Add(32, "rbp", "ebp", "bp", "bpl");
        Add(40, "rbx", "ebx", "bx", "bl");
        Add(48, "r11", "r11d", "r11w", "r11b");
        Add(56, "r10", "r10d", "r10w", "r10b");
        Add(64, "r9", "r9d", "r9w", "r9b");
        Add(72, "r8", "r8d", "r8w", "r8b");
        Add(80, "rax", "eax", "ax", "al");
        Add(88, "rcx", "ecx", "cx", "cl");
        Add(96, "rdx", "edx", "dx", "dl");
        Add(104, "rsi", "esi", "si", "sil");
        Add(112, "rdi", "edi", "di", "dil");
        Add(128, "rip", "eip", "ip");
        Add(152, "rsp", "esp", "sp", "spl");
        return map;
    }

    /// <summary>offsetof(struct pt_regs, ...) on x86-64 for a register name without '%' (<c>rdi</c>, <c>edi</c>,
    /// <c>di</c>, <c>dil</c> ...), or null for a name usdt.bpf.h cannot read (e.g. the high-byte <c>ah</c>).</summary>
    public static short? RegisterOffsetOf(string register) => Registers.TryGetValue(register, out short o) ? o : null;

    /// <summary>Parses a whole argument spec (space-separated arguments; empty for a probe without arguments).</summary>
    /// <param name="spec">The spec, e.g. <c>-4@%edi 8@-8(%rbp) 4@$5</c>.</param>
    /// <param name="probe">The probe (<c>provider:name</c>), for errors.</param>
    /// <exception cref="UsdtArgumentException">An argument is malformed or unsupported, or there are more than
    /// <see cref="MaxArguments"/>.</exception>
    public static UsdtArgument[] ParseAll(string spec, string probe)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var parts = spec.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length > MaxArguments)
            throw new UsdtArgumentException(probe, spec, -1, $"{parts.Length} arguments, usdt.bpf.h takes at most {MaxArguments}");
        var args = new UsdtArgument[parts.Length];
        for (int i = 0; i < parts.Length; i++) args[i] = Parse(parts[i], probe, spec, i);
        return args;
    }

    /// <summary>The most arguments a probe may have (usdt.bpf.h's BPF_USDT_MAX_ARG_CNT).</summary>
    public const int MaxArguments = 12;

    private static UsdtArgument Parse(string arg, string probe, string spec, int index)
    {
        UsdtArgumentException Bad(string why) => new(probe, spec, index, $"'{arg}': {why}");
        int at = arg.IndexOf('@');
        if (at <= 0) throw Bad("expected SIZE@OPERAND");
        if (!int.TryParse(arg.AsSpan(0, at), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int size)
            || Math.Abs(size) is not (1 or 2 or 4 or 8))
            throw Bad($"size '{arg[..at]}' is not one of 1, 2, 4, 8 (negative for signed)");
        bool signed = size < 0;
        size = Math.Abs(size);
        string op = arg[(at + 1)..];
        if (op.Length == 0) throw Bad("no operand after '@'");
        if (op[0] == '$')
        {
            if (!TryParseInteger(op.AsSpan(1), out long value)) throw Bad($"constant '{op[1..]}' is not an integer");
            return new UsdtArgument(UsdtArgumentKind.Constant, size, signed, value, null, -1);
        }
        if (op[0] == '%')
        {
            string reg = op[1..];
            return new UsdtArgument(UsdtArgumentKind.Register, size, signed, 0, reg, Register(reg));
        }
        int open = op.IndexOf('(');
        if (open < 0 || !op.EndsWith(')')) throw Bad("expected $CONSTANT, %REGISTER or [OFFSET](%REGISTER)");
        string inner = op[(open + 1)..^1];
        if (inner.Contains(','))
            throw Bad("indexed memory operands (base,index,scale) are not supported by usdt.bpf.h");
        if (!inner.StartsWith('%')) throw Bad($"expected a %register inside the parentheses, got '{inner}'");
        long offset = 0;
        if (open > 0 && !TryParseInteger(op.AsSpan(0, open), out offset))
            throw Bad($"memory offset '{op[..open]}' is not an integer (symbolic offsets like sym(%rip) are not supported)");
        string r = inner[1..];
        return new UsdtArgument(UsdtArgumentKind.RegisterDeref, size, signed, offset, r, Register(r));

        short Register(string name) => RegisterOffsetOf(name) ?? throw Bad($"register '%{name}' is not an x86-64 register usdt.bpf.h can read");
    }

    private static bool TryParseInteger(ReadOnlySpan<char> s, out long value)
    {
        bool negative = s.Length > 0 && s[0] == '-';
        var digits = negative || (s.Length > 0 && s[0] == '+') ? s[1..] : s;
        bool ok;
        ulong magnitude;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            ok = ulong.TryParse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out magnitude);
        else
            ok = ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out magnitude);
        // Constants may be written as unsigned 64-bit values (4@$18446744073709551615): keep the bits.
        value = ok ? (negative ? (long)(0 - magnitude) : (long)magnitude) : 0;
        return ok && (!negative || magnitude <= 1ul << 63);
    }
}

/// <summary>A USDT argument spec is malformed or uses an operand usdt.bpf.h cannot read.</summary>
public sealed class UsdtArgumentException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public UsdtArgumentException(string probe, string spec, int index, string reason)
        : base($"USDT probe {probe}: {(index >= 0 ? $"argument {index} " : "")}of spec '{spec}': {reason}")
    {
        Probe = probe;
        Spec = spec;
        ArgumentIndex = index;
        Reason = reason;
    }

    /// <summary>The probe (<c>provider:name</c>).</summary>
    public string Probe { get; }

    /// <summary>The whole argument spec.</summary>
    public string Spec { get; }

    /// <summary>The bad argument's index, -1 when the spec as a whole is wrong.</summary>
    public int ArgumentIndex { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }
}
