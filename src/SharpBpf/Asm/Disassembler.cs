using System.Globalization;
using System.Text;

namespace SharpBpf.Asm;

/// <summary>Output syntax of the <see cref="Disassembler"/>.</summary>
public enum DisassemblySyntax
{
    /// <summary>The bpf_conformance assembler syntax (<c>mov32 %r0, 1</c>); reassembles to the same bytes.</summary>
    Conformance,
    /// <summary>The kernel verifier's syntax as <c>bpftool prog dump xlated</c> prints it
    /// (<c>   0: (b7) r0 = 1</c>, <c>if r1 &gt; 0x5 goto pc+2</c>).</summary>
    Verifier,
}

/// <summary>
/// Turns instructions back into text. The conformance syntax is exact: every line reassembles (with
/// <see cref="Assembler"/>) to the bytes it came from; an encoding that syntax cannot express (unused fields set,
/// unknown opcodes) is printed as <c>.insn 0x...</c>. The verifier syntax follows the kernel's
/// <c>print_bpf_insn</c> with bpftool's callbacks (maps as <c>map[id:N]</c>, helpers by name and id).
/// </summary>
public static class Disassembler
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The whole listing, one line per instruction (a lddw is one line), each ending in a newline. With
    /// <paramref name="labels"/> (conformance syntax only), jump, call and <c>lddw func</c> targets get labels
    /// <c>L&lt;index&gt;:</c> and are referenced by name instead of by relative offset.</summary>
    public static string Disassemble(ReadOnlySpan<Instruction> code, DisassemblySyntax syntax = DisassemblySyntax.Conformance, bool labels = false)
    {
        var sb = new StringBuilder();
        HashSet<int>? targets = labels && syntax == DisassemblySyntax.Conformance ? Targets(code) : null;
        for (int i = 0; i < code.Length;)
        {
            if (targets?.Contains(i) == true) sb.Append(Inv, $"L{i}:\n");
            string text = FormatInstruction(code, i, syntax, out int slots);
            if (syntax == DisassemblySyntax.Verifier) sb.Append(Inv, $"{i,4}: ");
            else if (targets is not null && !text.StartsWith(".insn", StringComparison.Ordinal) && Target(code, i) is int t && targets.Contains(t))
                text = TryConformance(code[i], slots == 2 ? code[i + 1] : default, slots == 2, string.Create(Inv, $"L{t}"))!;
            sb.Append(text).Append('\n');
            i += slots;
        }
        if (targets?.Contains(code.Length) == true) sb.Append(Inv, $"L{code.Length}:\n");
        return sb.ToString();
    }

    /// <summary>Target index of a relative reference at <paramref name="i"/>, or null.</summary>
    private static int? Target(ReadOnlySpan<Instruction> code, int i)
    {
        var insn = code[i];
        long rel = insn.IsOffsetJump ? insn.Offset : insn.IsLongJump || insn.IsPseudoCall || (insn.IsPseudoFunc && i + 1 < code.Length) ? insn.Imm : long.MinValue;
        if (rel == long.MinValue) return null;
        long t = i + 1 + rel;
        return t >= 0 && t <= code.Length ? (int)t : null;
    }

    private static HashSet<int> Targets(ReadOnlySpan<Instruction> code)
    {
        var starts = new HashSet<int>();
        for (int i = 0; i < code.Length; i++)
        {
            starts.Add(i);
            if (code[i].IsLoadImm64) i++;
        }
        starts.Add(code.Length);
        var targets = new HashSet<int>();
        for (int i = 0; i < code.Length; i++)
        {
            if (Target(code, i) is int t && starts.Contains(t)) targets.Add(t);
            if (code[i].IsLoadImm64) i++;
        }
        return targets;
    }

    /// <summary>Formats the instruction at <paramref name="index"/>; <paramref name="slots"/> is 2 for a complete
    /// lddw, else 1. In the verifier syntax the text starts with the opcode in parentheses, like bpftool.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside <paramref name="code"/>.</exception>
    public static string FormatInstruction(ReadOnlySpan<Instruction> code, int index, DisassemblySyntax syntax, out int slots)
    {
        if ((uint)index >= (uint)code.Length) throw new ArgumentOutOfRangeException(nameof(index), index, $"the program has {code.Length} instructions");
        var insn = code[index];
        bool wide = insn.IsLoadImm64 && index + 1 < code.Length;
        slots = wide ? 2 : 1;
        var next = wide ? code[index + 1] : default;
        return syntax == DisassemblySyntax.Verifier ? Verifier(insn, next, wide) : Conformance(insn, next, wide, out slots);
    }

    // ---- conformance syntax ----

    private static string Conformance(Instruction insn, Instruction next, bool wide, out int slots)
    {
        slots = wide ? 2 : 1;
        string? text = TryConformance(insn, next, wide);
        if (text is not null && Assembler.TryAssemble(text, out var back, out _) && back.Length == slots &&
            back[0] == insn && (slots == 1 || back[1] == next))
            return text;
        // Not expressible (or not canonical): raw words, one line per slot.
        slots = 1;
        return Raw(insn);
    }

    private static string Raw(Instruction insn) => string.Create(Inv, $".insn 0x{insn.Raw:x16}");

    private static string R(int r) => "%r" + r.ToString(Inv);

    private static string Rel(long v) => v >= 0 ? "+" + v.ToString(Inv) : v.ToString(Inv);

    private static string Mem(int reg, short off) => off == 0 ? $"[{R(reg)}]" : $"[{R(reg)}{Rel(off)}]";

    private static string SizeSuffix(MemorySize s) => s switch
    {
        MemorySize.Byte => "b", MemorySize.Half => "h", MemorySize.Word => "w", _ => "dw",
    };

    private static string? TryConformance(Instruction i, Instruction next, bool wide, string? label = null)
    {
        string imm = i.Imm.ToString(Inv);
        switch (i.Class)
        {
            case InstructionClass.Alu or InstructionClass.Alu64:
            {
                string s32 = i.Class == InstructionClass.Alu ? "32" : "";
                if (i.AluOperation == AluOp.End)
                {
                    string kind = i.Class == InstructionClass.Alu64 ? "bswap" : i.Source == OperandSource.Reg ? "be" : "le";
                    return $"{kind}{imm} {R(i.Dst)}";
                }
                if (i.AluOperation == AluOp.Mov && i.Source == OperandSource.Reg && i.Offset is 8 or 16 or 32)
                    return $"movsx{i.Offset.ToString(Inv)}{(i.Class == InstructionClass.Alu ? "32" : "64")} {R(i.Dst)}, {R(i.Src)}";
                string? name = i.AluOperation switch
                {
                    AluOp.Add => "add", AluOp.Sub => "sub", AluOp.Mul => "mul", AluOp.Div => i.Offset == 1 ? "sdiv" : "div",
                    AluOp.Or => "or", AluOp.And => "and", AluOp.Lsh => "lsh", AluOp.Rsh => "rsh", AluOp.Neg => "neg",
                    AluOp.Mod => i.Offset == 1 ? "smod" : "mod", AluOp.Xor => "xor", AluOp.Mov => "mov", AluOp.Arsh => "arsh",
                    _ => null,
                };
                if (name is null) return null;
                if (i.AluOperation == AluOp.Neg) return $"{name}{s32} {R(i.Dst)}";
                return i.Source == OperandSource.Reg ? $"{name}{s32} {R(i.Dst)}, {R(i.Src)}" : $"{name}{s32} {R(i.Dst)}, {imm}";
            }
            case InstructionClass.Ldx:
                return i.MemoryMode switch
                {
                    MemoryMode.Mem => $"ldx{SizeSuffix(i.MemorySize)} {R(i.Dst)}, {Mem(i.Src, i.Offset)}",
                    MemoryMode.MemSx => $"ldxs{SizeSuffix(i.MemorySize)} {R(i.Dst)}, {Mem(i.Src, i.Offset)}",
                    _ => null,
                };
            case InstructionClass.St:
                return i.MemoryMode == MemoryMode.Mem ? $"st{SizeSuffix(i.MemorySize)} {Mem(i.Dst, i.Offset)}, {imm}" : null;
            case InstructionClass.Stx:
                if (i.MemoryMode == MemoryMode.Mem) return $"stx{SizeSuffix(i.MemorySize)} {Mem(i.Dst, i.Offset)}, {R(i.Src)}";
                if (i.MemoryMode != MemoryMode.Atomic) return null;
                {
                    string s32 = i.MemorySize == MemorySize.Word ? "32" : "";
                    bool fetch = (i.Imm & (int)AtomicOp.Fetch) != 0;
                    string? op = (i.Imm & ~(int)AtomicOp.Fetch) switch
                    {
                        (int)AtomicOp.Add => "add", (int)AtomicOp.Or => "or", (int)AtomicOp.And => "and", (int)AtomicOp.Xor => "xor",
                        (int)AtomicOp.Xchg & ~(int)AtomicOp.Fetch => "xchg", (int)AtomicOp.CmpXchg & ~(int)AtomicOp.Fetch => "cmpxchg",
                        _ => null,
                    };
                    if (op is null) return null;
                    bool always = op is "xchg" or "cmpxchg";
                    return $"lock {(fetch && !always ? "fetch " : "")}{op}{s32} {Mem(i.Dst, i.Offset)}, {R(i.Src)}";
                }
            case InstructionClass.Ld:
                switch (i.MemoryMode)
                {
                    case MemoryMode.Abs: return $"ldabs{SizeSuffix(i.MemorySize)} {imm}";
                    case MemoryMode.Ind: return $"ldind{SizeSuffix(i.MemorySize)} {R(i.Src)}, {imm}";
                    case MemoryMode.Imm when wide:
                        long full = (long)((ulong)(uint)next.Imm << 32 | (uint)i.Imm);
                        return i.Src switch
                        {
                            0 => string.Create(Inv, $"lddw {R(i.Dst)}, 0x{full:x}"),
                            PseudoSource.MapFd => $"lddw {R(i.Dst)}, map_fd {imm}",
                            PseudoSource.MapValue => $"lddw {R(i.Dst)}, map_value {imm}, {next.Imm.ToString(Inv)}",
                            PseudoSource.BtfId => $"lddw {R(i.Dst)}, btf_id {imm}",
                            PseudoSource.Func => $"lddw {R(i.Dst)}, func {label ?? Rel(i.Imm)}",
                            PseudoSource.MapIndex => $"lddw {R(i.Dst)}, map_idx {imm}",
                            PseudoSource.MapIndexValue => $"lddw {R(i.Dst)}, map_idx_value {imm}, {next.Imm.ToString(Inv)}",
                            _ => null,
                        };
                    default: return null;
                }
            default: // Jmp, Jmp32
            {
                bool j32 = i.Class == InstructionClass.Jmp32;
                switch (i.JumpOperation)
                {
                    case JumpOp.Ja: return j32 ? $"ja32 {label ?? Rel(i.Imm)}" : $"ja {label ?? Rel(i.Offset)}";
                    case JumpOp.Exit: return j32 ? null : "exit";
                    case JumpOp.JCond: return j32 ? null : $"may_goto {label ?? Rel(i.Offset)}";
                    case JumpOp.Call:
                        if (j32) return null;
                        if (i.Source == OperandSource.Reg) return $"call {R(i.Dst)}";
                        return i.Src switch
                        {
                            0 => $"call {imm}",
                            PseudoSource.Call => $"call local {label ?? Rel(i.Imm)}",
                            PseudoSource.KfuncCall => $"call runtime {imm}",
                            _ => null,
                        };
                }
                string? cond = i.JumpOperation switch
                {
                    JumpOp.Jeq => "jeq", JumpOp.Jgt => "jgt", JumpOp.Jge => "jge", JumpOp.Jset => "jset", JumpOp.Jne => "jne",
                    JumpOp.Jsgt => "jsgt", JumpOp.Jsge => "jsge", JumpOp.Jlt => "jlt", JumpOp.Jle => "jle", JumpOp.Jslt => "jslt",
                    JumpOp.Jsle => "jsle", _ => null,
                };
                if (cond is null) return null;
                string s32 = j32 ? "32" : "";
                string src = i.Source == OperandSource.Reg ? R(i.Src) : imm;
                return $"{cond}{s32} {R(i.Dst)}, {src}, {label ?? Rel(i.Offset)}";
            }
        }
    }

    // ---- verifier (bpftool) syntax: mirrors kernel/bpf/disasm.c print_bpf_insn ----

    private static readonly string?[] AluString =
        ["+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", "neg", "%=", "^=", "=", "s>>=", "endian", null, null];

    private static readonly string?[] JmpString =
        ["jmp", "==", ">", ">=", "&", "!=", "s>", "s>=", "call", "exit", "<", "<=", "s<", "s<=", null, null];

    private static string Str(string? s) => s ?? "(null)";

    private static string LdSt(MemorySize s) => s switch
    {
        MemorySize.Word => "u32", MemorySize.Half => "u16", MemorySize.Byte => "u8", _ => "u64",
    };

    private static string? LdSx(MemorySize s) => s switch
    {
        MemorySize.Word => "s32", MemorySize.Half => "s16", MemorySize.Byte => "s8", _ => null,
    };

    private static string Signed(int v) => v >= 0 ? "+" + v.ToString(Inv) : v.ToString(Inv);

    private static string Verifier(Instruction i, Instruction next, bool wide)
    {
        string code = string.Create(Inv, $"({i.OpCode:x2})");
        int op = i.OpCode & 0xf0;
        switch (i.Class)
        {
            case InstructionClass.Alu or InstructionClass.Alu64:
            {
                char c = i.Class == InstructionClass.Alu ? 'w' : 'r';
                if (i.AluOperation == AluOp.End)
                {
                    return i.Class == InstructionClass.Alu64
                        ? $"{code} r{i.Dst} = bswap{i.Imm} r{i.Dst}"
                        : $"{code} r{i.Dst} = {(i.Source == OperandSource.Reg ? "be" : "le")}{i.Imm} r{i.Dst}";
                }
                if (i.AluOperation == AluOp.Neg) return $"{code} {c}{i.Dst} = -{c}{i.Dst}";
                if (i.OpCode == 0xbf && i.Offset == 1)
                    return $"{code} r{i.Dst} = addr_space_cast(r{i.Src}, {(uint)i.Imm >> 16}, {(ushort)i.Imm})";
                if (i.OpCode == 0xbf && i.Offset == -1)
                    return $"{code} r{i.Dst} = &(void __percpu *)(r{i.Src})";
                bool sdiv = i.AluOperation is AluOp.Div or AluOp.Mod && i.Offset == 1;
                string opText = sdiv ? (i.AluOperation == AluOp.Div ? "s/=" : "s%=") : Str(AluString[op >> 4]);
                if (i.Source == OperandSource.Reg)
                {
                    string movsx = i.AluOperation == AluOp.Mov && i.Offset is 8 or 16 or 32
                        ? i.Offset switch { 8 => "(s8)", 16 => "(s16)", _ => "(s32)" }
                        : "";
                    return $"{code} {c}{i.Dst} {opText} {movsx}{c}{i.Src}";
                }
                return string.Create(Inv, $"{code} {c}{i.Dst} {opText} {i.Imm}");
            }
            case InstructionClass.Stx:
            {
                string size = LdSt(i.MemorySize);
                if (i.MemoryMode == MemoryMode.Mem)
                    return $"{code} *({size} *)(r{i.Dst} {Signed(i.Offset)}) = r{i.Src}";
                if (i.MemoryMode != MemoryMode.Atomic) return string.Create(Inv, $"BUG_{i.OpCode:x2}");
                string w = i.MemorySize == MemorySize.DWord ? "64" : "";
                switch (i.Imm)
                {
                    case (int)AtomicOp.Add or (int)AtomicOp.And or (int)AtomicOp.Or or (int)AtomicOp.Xor:
                        return $"{code} lock *({size} *)(r{i.Dst} {Signed(i.Offset)}) {AluString[(i.Imm & 0xf0) >> 4]} r{i.Src}";
                    case (int)AtomicOp.Add | 1 or (int)AtomicOp.And | 1 or (int)AtomicOp.Or | 1 or (int)AtomicOp.Xor | 1:
                        string name = (i.Imm & 0xf0) switch { 0x00 => "add", 0x50 => "and", 0x40 => "or", _ => "xor" };
                        return $"{code} r{i.Src} = atomic{w}_fetch_{name}(({size} *)(r{i.Dst} {Signed(i.Offset)}), r{i.Src})";
                    case (int)AtomicOp.CmpXchg:
                        return $"{code} r0 = atomic{w}_cmpxchg(({size} *)(r{i.Dst} {Signed(i.Offset)}), r0, r{i.Src})";
                    case (int)AtomicOp.Xchg:
                        return $"{code} r{i.Src} = atomic{w}_xchg(({size} *)(r{i.Dst} {Signed(i.Offset)}), r{i.Src})";
                    case (int)AtomicOp.LoadAcquire:
                        return $"{code} r{i.Dst} = load_acquire(({size} *)(r{i.Src} {Signed(i.Offset)}))";
                    case (int)AtomicOp.StoreRelease:
                        return $"{code} store_release(({size} *)(r{i.Dst} {Signed(i.Offset)}), r{i.Src})";
                    default:
                        return string.Create(Inv, $"BUG_{i.OpCode:x2}");
                }
            }
            case InstructionClass.St:
                if (i.MemoryMode == MemoryMode.Mem)
                    return string.Create(Inv, $"{code} *({LdSt(i.MemorySize)} *)(r{i.Dst} {Signed(i.Offset)}) = {i.Imm}");
                if (i.MemoryMode == MemoryMode.Atomic) return $"{code} nospec";
                return string.Create(Inv, $"BUG_st_{i.OpCode:x2}");
            case InstructionClass.Ldx:
                if (i.MemoryMode is not (MemoryMode.Mem or MemoryMode.MemSx)) return string.Create(Inv, $"BUG_ldx_{i.OpCode:x2}");
                return $"{code} r{i.Dst} = *({(i.MemoryMode == MemoryMode.Mem ? LdSt(i.MemorySize) : Str(LdSx(i.MemorySize)))} *)(r{i.Src} {Signed(i.Offset)})";
            case InstructionClass.Ld:
                if (i.MemoryMode == MemoryMode.Abs)
                    return string.Create(Inv, $"{code} r0 = *({LdSt(i.MemorySize)} *)skb[{i.Imm}]");
                if (i.MemoryMode == MemoryMode.Ind)
                    return string.Create(Inv, $"{code} r0 = *({LdSt(i.MemorySize)} *)skb[r{i.Src} + {i.Imm}]");
                if (i.MemoryMode == MemoryMode.Imm && i.MemorySize == MemorySize.DWord && wide)
                {
                    ulong full = (ulong)(uint)next.Imm << 32 | (uint)i.Imm;
                    string value = i.Src switch
                    {
                        PseudoSource.MapFd => string.Create(Inv, $"map[id:{i.Imm}]"),
                        PseudoSource.MapValue => string.Create(Inv, $"map[id:{i.Imm}][0]+{next.Imm}"),
                        PseudoSource.MapIndexValue => string.Create(Inv, $"map[idx:{i.Imm}]+{next.Imm}"),
                        PseudoSource.Func => $"subprog[{Signed(i.Imm)}]",
                        _ => string.Create(Inv, $"0x{full:x}"),
                    };
                    return $"{code} r{i.Dst} = {value}";
                }
                return string.Create(Inv, $"BUG_ld_{i.OpCode:x2}");
            default:
            {
                char c = i.Class == InstructionClass.Jmp32 ? 'w' : 'r';
                if (i.JumpOperation == JumpOp.Call)
                {
                    if (i.Src == PseudoSource.Call) return $"{code} call pc{Signed(i.Imm)}";
                    string name = i.Src == 0 ? HelperNames.Get(i.Imm) ?? "unknown"
                        : i.Src == PseudoSource.KfuncCall ? "kernel-function" : "unknown";
                    return string.Create(Inv, $"{code} call {name}#{i.Imm}");
                }
                if (i.OpCode == 0x05) return $"{code} goto pc{Signed(i.Offset)}";
                if (i.OpCode == 0xe5 && i.Src == 0) return $"{code} may_goto pc{Signed(i.Offset)}";
                if (i.OpCode == 0x06) return $"{code} gotol pc{Signed(i.Imm)}";
                if (i.OpCode == 0x95) return $"{code} exit";
                string cmp = Str(JmpString[op >> 4]);
                return i.Source == OperandSource.Reg
                    ? $"{code} if {c}{i.Dst} {cmp} {c}{i.Src} goto pc{Signed(i.Offset)}"
                    : string.Create(Inv, $"{code} if {c}{i.Dst} {cmp} 0x{(uint)i.Imm:x} goto pc{Signed(i.Offset)}");
            }
        }
    }
}
