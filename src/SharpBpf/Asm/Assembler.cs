using System.Globalization;

namespace SharpBpf.Asm;

/// <summary>
/// Text assembler for the bpf_conformance syntax (<c>mov32 %r0, 1</c>, <c>ldxw %r0, [%r1+4]</c>,
/// <c>jeq %r1, 0x1, +2</c>, <c>call local L</c>, <c>lock fetch add [%r10-8], %r1</c>, ...). One instruction per
/// line, <c>#</c> starts a comment, <c>name:</c> defines a label (an instruction may follow on the same line), and
/// the first <c>exit</c> also defines the label <c>exit</c>. Registers may be written <c>%r1</c> or <c>r1</c>.
/// </summary>
/// <remarks>
/// Beyond the suite's own syntax: <c>gotol</c> (= <c>ja32</c>), <c>may_goto</c>, <c>bswap16/32/64</c> (= <c>swap</c>),
/// <c>ldxsb/ldxsh/ldxsw</c>, <c>movsx{8,16,32}{32,64}</c>, <c>call runtime|kfunc N</c>, legacy packet loads
/// <c>ldabs{b,h,w,dw} imm</c> and <c>ldind{b,h,w,dw} %rS, imm</c>, the lddw pseudo forms
/// <c>lddw %r1, map_fd N</c> / <c>map_value N, OFF</c> / <c>btf_id N</c> / <c>func LABEL</c> / <c>map_idx N</c> /
/// <c>map_idx_value N, OFF</c>, and <c>.insn 0x...</c> for any raw 64-bit instruction word (as in <c>-- raw</c>).
/// </remarks>
public static class Assembler
{
    /// <summary>Assembles <paramref name="source"/> into instructions.</summary>
    /// <exception cref="AssemblerException">Bad input; the message names the line and column.</exception>
    public static Instruction[] Assemble(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var builder = new InstructionBuilder();
        bool sawExit = false;
        int lineNo = 0;
        foreach (var rawLine in source.AsSpan().EnumerateLines())
        {
            lineNo++;
            var line = new Line(rawLine.ToString(), lineNo);
            line.Parse(builder, ref sawExit);
        }
        return builder.Build();
    }

    /// <summary>Like <see cref="Assemble"/> but returns false with the error instead of throwing.</summary>
    public static bool TryAssemble(string source, out Instruction[] code, out AssemblerException? error)
    {
        try
        {
            code = Assemble(source);
            error = null;
            return true;
        }
        catch (AssemblerException e)
        {
            code = [];
            error = e;
            return false;
        }
    }

    private static readonly Dictionary<string, AluOp> AluOps = new(StringComparer.Ordinal)
    {
        ["add"] = AluOp.Add, ["sub"] = AluOp.Sub, ["mul"] = AluOp.Mul, ["div"] = AluOp.Div, ["sdiv"] = AluOp.Div,
        ["or"] = AluOp.Or, ["and"] = AluOp.And, ["lsh"] = AluOp.Lsh, ["rsh"] = AluOp.Rsh, ["neg"] = AluOp.Neg,
        ["mod"] = AluOp.Mod, ["smod"] = AluOp.Mod, ["xor"] = AluOp.Xor, ["mov"] = AluOp.Mov, ["arsh"] = AluOp.Arsh,
    };

    private static readonly Dictionary<string, JumpOp> JumpOps = new(StringComparer.Ordinal)
    {
        ["jeq"] = JumpOp.Jeq, ["jgt"] = JumpOp.Jgt, ["jge"] = JumpOp.Jge, ["jset"] = JumpOp.Jset, ["jne"] = JumpOp.Jne,
        ["jsgt"] = JumpOp.Jsgt, ["jsge"] = JumpOp.Jsge, ["jlt"] = JumpOp.Jlt, ["jle"] = JumpOp.Jle,
        ["jslt"] = JumpOp.Jslt, ["jsle"] = JumpOp.Jsle,
    };

    private static readonly Dictionary<string, AtomicOp> AtomicOps = new(StringComparer.Ordinal)
    {
        ["add"] = AtomicOp.Add, ["and"] = AtomicOp.And, ["or"] = AtomicOp.Or, ["xor"] = AtomicOp.Xor,
        ["xchg"] = AtomicOp.Xchg, ["cmpxchg"] = AtomicOp.CmpXchg,
    };

    internal static bool TrySize(string suffix, out MemorySize size)
    {
        switch (suffix)
        {
            case "b": size = MemorySize.Byte; return true;
            case "h": size = MemorySize.Half; return true;
            case "w": size = MemorySize.Word; return true;
            case "dw": size = MemorySize.DWord; return true;
            default: size = default; return false;
        }
    }

    /// <summary>A piece of the line with its 1-based column.</summary>
    private readonly record struct Token(string Text, int Column);

    /// <summary>Parser for one source line.</summary>
    private sealed class Line(string text, int number)
    {
        private int _pos;

        private AssemblerException Error(int column, string problem) => new(number, column, problem);

        public void Parse(InstructionBuilder b, ref bool sawExit)
        {
            int hash = text.IndexOf('#');
            string body = hash >= 0 ? text[..hash] : text;
            SkipSpace(body);
            if (_pos >= body.Length) return;

            var word = ReadWord(body);
            if (word.Text.Length == 0) throw Error(word.Column, $"expected a mnemonic or label, found '{body[_pos]}'");
            SkipSpace(body);
            if (_pos < body.Length && body[_pos] == ':')
            {
                if (!IsIdentifier(word.Text)) throw Error(word.Column, $"'{word.Text}' is not a valid label name");
                if (b.HasLabel(word.Text)) throw Error(word.Column, $"duplicate label '{word.Text}'");
                b.Label(word.Text);
                _pos++;
                SkipSpace(body);
                if (_pos >= body.Length) return;
                word = ReadWord(body);
                if (word.Text.Length == 0) throw Error(_pos + 1, $"expected a mnemonic, found '{body[_pos]}'");
                SkipSpace(body);
            }

            string m = word.Text;
            b.SetSourcePosition(number, word.Column);
            if (m == "exit" && !sawExit)
            {
                sawExit = true;
                if (!b.HasLabel("exit")) b.Label("exit");
            }
            if (m == "lock") { Lock(b, body); return; }
            if (m == "call") { Call(b, body); return; }
            var ops = SplitOperands(body);
            Encode(b, word, ops);
        }

        private void Encode(InstructionBuilder b, Token mn, List<Token> ops)
        {
            string m = mn.Text;
            switch (m)
            {
                case "exit": Count(mn, ops, 0); b.Exit(); return;
                case "ja":
                    Count(mn, ops, 1);
                    Target(ops[0], t => b.Ja(t), off => b.Ja(Offset16(ops[0], off)));
                    return;
                case "ja32" or "gotol":
                    Count(mn, ops, 1);
                    Target(ops[0], t => b.Gotol(t), off => b.Gotol(Imm32(ops[0], off)));
                    return;
                case "may_goto":
                    Count(mn, ops, 1);
                    Target(ops[0], t => b.MayGoto(t), off => b.Emit(new Instruction(0xe5, 0, 0, Offset16(ops[0], off), 0)));
                    return;
                case "lddw": Lddw(b, mn, ops); return;
                case ".insn":
                    Count(mn, ops, 1);
                    b.Emit(Instruction.FromRaw(unchecked((ulong)Imm64(ops[0]))));
                    return;
            }

            if (m.StartsWith("ldabs", StringComparison.Ordinal) && TrySize(m[5..], out var absSize))
            {
                Count(mn, ops, 1);
                b.LoadAbs(absSize, Imm32(ops[0]));
                return;
            }
            if (m.StartsWith("ldind", StringComparison.Ordinal) && TrySize(m[5..], out var indSize))
            {
                Count(mn, ops, 2);
                b.LoadInd(indSize, Reg(ops[0]), Imm32(ops[1]));
                return;
            }
            if (m.StartsWith("ldxs", StringComparison.Ordinal) && TrySize(m[4..], out var sxSize) && sxSize != MemorySize.DWord)
            {
                Count(mn, ops, 2);
                var (src, off) = Mem(ops[1]);
                b.LoadSx(sxSize, Reg(ops[0]), src, off);
                return;
            }
            if (m.StartsWith("ldx", StringComparison.Ordinal) && TrySize(m[3..], out var ldxSize))
            {
                Count(mn, ops, 2);
                var (src, off) = Mem(ops[1]);
                b.Load(ldxSize, Reg(ops[0]), src, off);
                return;
            }
            if (m.StartsWith("stx", StringComparison.Ordinal) && TrySize(m[3..], out var stxSize))
            {
                Count(mn, ops, 2);
                var (dst, off) = Mem(ops[0]);
                b.Store(stxSize, dst, off, Reg(ops[1]));
                return;
            }
            if (m.StartsWith("st", StringComparison.Ordinal) && TrySize(m[2..], out var stSize))
            {
                Count(mn, ops, 2);
                var (dst, off) = Mem(ops[0]);
                b.StoreImm(stSize, dst, off, Imm32(ops[1]));
                return;
            }
            if (TryEndian(m, out string kind, out int bits))
            {
                Count(mn, ops, 1);
                var r = Reg(ops[0]);
                if (kind == "le") b.ToLittleEndian(r, bits);
                else if (kind == "be") b.ToBigEndian(r, bits);
                else b.ByteSwap(r, bits);
                return;
            }
            if (m.StartsWith("movsx", StringComparison.Ordinal))
            {
                (int from, bool is64) = m[5..] switch
                {
                    "832" => (8, false), "1632" => (16, false), "864" => (8, true), "1664" => (16, true), "3264" => (32, true),
                    _ => throw Error(mn.Column, $"unknown mnemonic '{m}' (movsx832, movsx1632, movsx864, movsx1664, movsx3264)"),
                };
                Count(mn, ops, 2);
                if (is64) b.MovSx64(Reg(ops[0]), Reg(ops[1]), from);
                else b.MovSx32(Reg(ops[0]), Reg(ops[1]), from);
                return;
            }

            bool suffix32 = m.EndsWith("32", StringComparison.Ordinal);
            string baseName = suffix32 || m.EndsWith("64", StringComparison.Ordinal) ? m[..^2] : m;
            if (JumpOps.TryGetValue(suffix32 ? baseName : m, out var jop))
            {
                Count(mn, ops, 3);
                var dst = Reg(ops[0]);
                bool srcReg = IsRegister(ops[1].Text);
                var src = srcReg ? Reg(ops[1]) : Register.R0;
                int imm = srcReg ? 0 : Imm32(ops[1]);
                Target(ops[2],
                    label =>
                    {
                        if (suffix32) { if (srcReg) b.Jump32(jop, dst, src, label); else b.Jump32(jop, dst, imm, label); }
                        else if (srcReg) b.Jump(jop, dst, src, label);
                        else b.Jump(jop, dst, imm, label);
                    },
                    offset =>
                    {
                        short off = Offset16(ops[2], offset);
                        if (suffix32) { if (srcReg) b.Jump32(jop, dst, src, off); else b.Jump32(jop, dst, imm, off); }
                        else if (srcReg) b.Jump(jop, dst, src, off);
                        else b.Jump(jop, dst, imm, off);
                    });
                return;
            }
            if (AluOps.TryGetValue(baseName, out var aop))
            {
                bool signed = baseName is "sdiv" or "smod";
                if (aop == AluOp.Neg)
                {
                    Count(mn, ops, 1);
                    if (suffix32) b.Neg32(Reg(ops[0])); else b.Neg64(Reg(ops[0]));
                    return;
                }
                Count(mn, ops, 2);
                var dst = Reg(ops[0]);
                if (IsRegister(ops[1].Text))
                {
                    var src = Reg(ops[1]);
                    if (signed) { if (suffix32) b.Signed32(aop, dst, src); else b.Signed64(aop, dst, src); }
                    else if (suffix32) b.Alu32(aop, dst, src);
                    else b.Alu64(aop, dst, src);
                }
                else
                {
                    int imm = Imm32(ops[1]);
                    if (signed) { if (suffix32) b.Signed32(aop, dst, imm); else b.Signed64(aop, dst, imm); }
                    else if (suffix32) b.Alu32(aop, dst, imm);
                    else b.Alu64(aop, dst, imm);
                }
                return;
            }
            throw Error(mn.Column, $"unknown mnemonic '{m}'");
        }

        private static bool TryEndian(string m, out string kind, out int bits)
        {
            kind = m.StartsWith("bswap", StringComparison.Ordinal) ? "swap"
                : m.StartsWith("swap", StringComparison.Ordinal) ? "swap"
                : m.StartsWith("le", StringComparison.Ordinal) ? "le"
                : m.StartsWith("be", StringComparison.Ordinal) ? "be" : "";
            string rest = m.StartsWith("bswap", StringComparison.Ordinal) ? m[5..] : kind == "swap" ? m[4..] : kind.Length > 0 ? m[2..] : "";
            bits = rest switch { "16" => 16, "32" => 32, "64" => 64, _ => 0 };
            return bits != 0;
        }

        private void Lddw(InstructionBuilder b, Token mn, List<Token> ops)
        {
            if (ops.Count < 2) Count(mn, ops, 2);
            var dst = Reg(ops[0]);
            var value = ops[1];
            int space = value.Text.IndexOfAny([' ', '\t']);
            if (space < 0)
            {
                Count(mn, ops, 2);
                b.LoadImm64(dst, Imm64(value));
                return;
            }
            string kw = value.Text[..space];
            var arg = new Token(value.Text[space..].TrimStart(), value.Column + value.Text.Length - value.Text[space..].TrimStart().Length);
            switch (kw)
            {
                case "map_fd": Count(mn, ops, 2); b.LoadMapFd(dst, Imm32(arg)); return;
                case "btf_id": Count(mn, ops, 2); b.LoadBtfId(dst, Imm32(arg)); return;
                case "map_idx": Count(mn, ops, 2); b.LoadMapIndex(dst, Imm32(arg)); return;
                case "map_value": Count(mn, ops, 3); b.LoadMapValue(dst, Imm32(arg), Imm32(ops[2])); return;
                case "map_idx_value": Count(mn, ops, 3); b.LoadMapIndexValue(dst, Imm32(arg), Imm32(ops[2])); return;
                case "func":
                    Count(mn, ops, 2);
                    Target(arg, t => b.LoadFunc(dst, t), off => b.LoadImm64(dst, PseudoSource.Func, Imm32(arg, off), 0));
                    return;
                default:
                    throw Error(value.Column, $"expected a 64-bit value or map_fd/map_value/btf_id/func/map_idx/map_idx_value, found '{kw}'");
            }
        }

        private void Lock(InstructionBuilder b, string body)
        {
            var first = ReadWord(body);
            SkipSpace(body);
            bool fetch = false;
            if (first.Text == "fetch")
            {
                fetch = true;
                first = ReadWord(body);
                SkipSpace(body);
            }
            if (first.Text.Length == 0)
                throw Error(_pos + 1, "expected an atomic operation (add, and, or, xor, xchg, cmpxchg)");
            bool is32 = first.Text.EndsWith("32", StringComparison.Ordinal);
            string name = is32 ? first.Text[..^2] : first.Text;
            if (!AtomicOps.TryGetValue(name, out var op))
                throw Error(first.Column, $"unknown atomic operation '{first.Text}' (add, and, or, xor, xchg, cmpxchg, with optional 32)");
            if (fetch && op is AtomicOp.Xchg or AtomicOp.CmpXchg)
                throw Error(first.Column, $"'{name}' always fetches: write 'lock {first.Text}'");
            var ops = SplitOperands(body);
            if (ops.Count != 2) throw Error(first.Column, $"'lock {first.Text}' takes 2 operands ([%rD+off], %rS), found {ops.Count}");
            var (dst, off) = Mem(ops[0]);
            b.Atomic(op, is32 ? MemorySize.Word : MemorySize.DWord, dst, off, Reg(ops[1]), fetch);
        }

        private void Call(InstructionBuilder b, string body)
        {
            int start = _pos;
            var mode = ReadWord(body);
            SkipSpace(body);
            if (mode.Text is "local" or "helper" or "runtime" or "kfunc")
            {
                var ops = SplitOperands(body);
                if (ops.Count != 1) throw Error(mode.Column, $"'call {mode.Text}' takes one operand, found {ops.Count}");
                var t = ops[0];
                switch (mode.Text)
                {
                    case "local": Target(t, l => b.CallLocal(l), off => b.CallLocal(Imm32(t, off))); return;
                    case "helper": if (IsRegister(t.Text)) b.CallX(Reg(t)); else b.Call(Imm32(t)); return;
                    default: b.CallKfunc(Imm32(t)); return;
                }
            }
            _pos = start;
            var rest = SplitOperands(body);
            if (rest.Count != 1) throw Error(start + 1, $"'call' takes one operand (N, %rN, local LABEL, runtime N), found {rest.Count}");
            if (IsRegister(rest[0].Text)) b.CallX(Reg(rest[0]));
            else b.Call(Imm32(rest[0]));
        }

        // ---- operands ----

        private void Count(Token mn, List<Token> ops, int expected)
        {
            if (ops.Count != expected)
                throw Error(ops.Count > expected ? ops[expected].Column : mn.Column,
                    $"'{mn.Text}' takes {expected} operand{(expected == 1 ? "" : "s")}, found {ops.Count}");
        }

        private List<Token> SplitOperands(string body)
        {
            var list = new List<Token>();
            SkipSpace(body);
            if (_pos >= body.Length) return list;
            int start = _pos;
            int depth = 0;
            for (int i = _pos; i <= body.Length; i++)
            {
                char c = i < body.Length ? body[i] : ',';
                if (c == '[') depth++;
                else if (c == ']') depth--;
                if (c == ',' && (depth == 0 || i == body.Length))
                {
                    var piece = body[start..i];
                    int lead = piece.Length - piece.TrimStart().Length;
                    var trimmed = piece.Trim();
                    if (trimmed.Length == 0) throw Error(start + lead + 1, "empty operand");
                    list.Add(new Token(trimmed, start + lead + 1));
                    start = i + 1;
                }
            }
            _pos = body.Length;
            return list;
        }

        private Token ReadWord(string body)
        {
            int start = _pos;
            while (_pos < body.Length && (char.IsAsciiLetterOrDigit(body[_pos]) || body[_pos] is '_' or '.')) _pos++;
            return new Token(body[start.._pos], start + 1);
        }

        private void SkipSpace(string body)
        {
            while (_pos < body.Length && char.IsWhiteSpace(body[_pos])) _pos++;
        }

        private static bool IsIdentifier(string s) =>
            s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] is '_' or '.') && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.');

        private static bool IsRegister(string s) => s.StartsWith('%') || (s.Length >= 2 && s[0] == 'r' && char.IsAsciiDigit(s[1]));

        private Register Reg(Token t)
        {
            var s = t.Text.AsSpan();
            if (s.StartsWith("%")) s = s[1..];
            if (s.Length >= 2 && s[0] == 'r' && int.TryParse(s[1..], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n <= 15)
                return (Register)n;
            throw Error(t.Column, $"expected a register %r0-%r10, found '{t.Text}'");
        }

        private (Register Reg, short Offset) Mem(Token t)
        {
            string s = t.Text;
            if (s.Length < 3 || s[0] != '[' || s[^1] != ']')
                throw Error(t.Column, $"expected a memory operand like [%r1+4], found '{t.Text}'");
            string inner = s[1..^1];
            int sign = inner.IndexOfAny(['+', '-']);
            string regText = (sign < 0 ? inner : inner[..sign]).Trim();
            var reg = Reg(new Token(regText, t.Column + 1 + (inner.Length - inner.TrimStart().Length)));
            if (sign < 0) return (reg, 0);
            string offText = inner[sign..].Replace(" ", "", StringComparison.Ordinal);
            var offTok = new Token(offText, t.Column + 1 + sign);
            return (reg, Offset16(offTok, ParseInteger(offTok, long.MinValue, long.MaxValue)));
        }

        private void Target(Token t, Action<string> label, Action<long> offset)
        {
            if (t.Text.Length > 0 && (t.Text[0] is '+' or '-' || char.IsAsciiDigit(t.Text[0])))
                offset(ParseInteger(t, long.MinValue, long.MaxValue));
            else if (IsIdentifier(t.Text))
                label(t.Text);
            else
                throw Error(t.Column, $"expected a label or a relative offset like +2, found '{t.Text}'");
        }

        // A signed offset must fit a short; an unsigned one (0xffff) may use all 16 bits, as the suite's assembler allows.
        private short Offset16(Token t, long v) =>
            v is >= short.MinValue and <= short.MaxValue || (v is > short.MaxValue and <= ushort.MaxValue && t.Text[0] is not ('+' or '-'))
                ? unchecked((short)v)
                : throw Error(t.Column, $"offset {t.Text} does not fit in 16 bits");

        private int Imm32(Token t, long v) => v is >= int.MinValue and <= uint.MaxValue
            ? unchecked((int)v)
            : throw Error(t.Column, $"immediate {t.Text} does not fit in 32 bits");

        private int Imm32(Token t) => Imm32(t, ParseInteger(t, long.MinValue, long.MaxValue));

        private long Imm64(Token t) => ParseInteger(t, long.MinValue, long.MaxValue, allowUnsigned64: true);

        private long ParseInteger(Token t, long min, long max, bool allowUnsigned64 = false)
        {
            var s = t.Text.AsSpan().Trim();
            bool negative = false;
            if (s.Length > 0 && s[0] is '+' or '-')
            {
                negative = s[0] == '-';
                s = s[1..].TrimStart();
            }
            ulong magnitude;
            bool ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? ulong.TryParse(s[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out magnitude)
                : ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out magnitude);
            if (!ok) throw Error(t.Column, $"expected a number, found '{t.Text}'");
            if (negative)
            {
                if (magnitude > 1UL << 63) throw Error(t.Column, $"number {t.Text} is out of range");
                return unchecked(-(long)magnitude);
            }
            if (magnitude > long.MaxValue)
            {
                if (allowUnsigned64) return unchecked((long)magnitude);
                throw Error(t.Column, $"number {t.Text} is out of range");
            }
            long v = (long)magnitude;
            if (v < min || v > max) throw Error(t.Column, $"number {t.Text} is out of range");
            return v;
        }
    }
}
