namespace SharpBpf.Asm;

/// <summary>
/// Fluent builder for eBPF programs with labels. Jumps, <c>gotol</c>, <c>call local</c> and <c>lddw func</c> may name
/// a label that is defined before or after them; <see cref="Build()"/> resolves every reference to a relative offset
/// (in instruction slots, a <c>lddw</c> counting two).
/// </summary>
/// <example>
/// <code>
/// var code = new InstructionBuilder()
///     .Mov64(Register.R0, 0)
///     .Jump(JumpOp.Jeq, Register.R1, 0, "out")
///     .Mov64(Register.R0, 1)
///     .Label("out")
///     .Exit()
///     .Build();
/// </code>
/// </example>
public sealed class InstructionBuilder
{
    private enum FixupKind : byte { Offset, Imm }

    private readonly record struct Fixup(int Index, string Label, FixupKind Kind, int Line, int Column);

    private readonly List<Instruction> _code = [];
    private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);
    private readonly List<Fixup> _fixups = [];
    private readonly List<(int Index, string Map)> _mapRefs = [];
    private int _line, _column; // source position of the next reference (text assembler), 0 = none

    /// <summary>Number of instruction slots emitted so far (the index the next instruction gets).</summary>
    public int Count => _code.Count;

    /// <summary>Whether <paramref name="name"/> is defined.</summary>
    public bool HasLabel(string name) => _labels.ContainsKey(name);

    /// <summary>Defines <paramref name="name"/> at the current position.</summary>
    /// <exception cref="ArgumentException">The label is empty or already defined.</exception>
    public InstructionBuilder Label(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!_labels.TryAdd(name, _code.Count))
            throw new ArgumentException($"label '{name}' is already defined (at instruction {_labels[name]})", nameof(name));
        return this;
    }

    /// <summary>Appends an instruction as is.</summary>
    public InstructionBuilder Emit(Instruction instruction)
    {
        _code.Add(instruction);
        return this;
    }

    private InstructionBuilder Emit(byte op, Register dst, Register src, short off, int imm) =>
        Emit(new Instruction(op, (byte)dst, (byte)src, off, imm));

    private InstructionBuilder EmitRef(Instruction instruction, string label, FixupKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        _fixups.Add(new Fixup(_code.Count, label, kind, _line, _column));
        return Emit(instruction);
    }

    internal void SetSourcePosition(int line, int column)
    {
        _line = line;
        _column = column;
    }

    // ---- arithmetic ----

    private static byte Op(InstructionClass c, AluOp op, OperandSource s) => (byte)((byte)c | (byte)op | (byte)s);

    /// <summary>64-bit <c>dst op= imm</c>.</summary>
    public InstructionBuilder Alu64(AluOp op, Register dst, int imm) => Emit(Op(InstructionClass.Alu64, op, OperandSource.Imm), dst, 0, 0, imm);

    /// <summary>64-bit <c>dst op= src</c>.</summary>
    public InstructionBuilder Alu64(AluOp op, Register dst, Register src) => Emit(Op(InstructionClass.Alu64, op, OperandSource.Reg), dst, src, 0, 0);

    /// <summary>32-bit <c>dst op= imm</c> (the upper half of dst becomes zero).</summary>
    public InstructionBuilder Alu32(AluOp op, Register dst, int imm) => Emit(Op(InstructionClass.Alu, op, OperandSource.Imm), dst, 0, 0, imm);

    /// <summary>32-bit <c>dst op= src</c> (the upper half of dst becomes zero).</summary>
    public InstructionBuilder Alu32(AluOp op, Register dst, Register src) => Emit(Op(InstructionClass.Alu, op, OperandSource.Reg), dst, src, 0, 0);

    /// <summary><c>dst = imm</c> (sign-extended to 64 bits).</summary>
    public InstructionBuilder Mov64(Register dst, int imm) => Alu64(AluOp.Mov, dst, imm);

    /// <summary><c>dst = src</c>.</summary>
    public InstructionBuilder Mov64(Register dst, Register src) => Alu64(AluOp.Mov, dst, src);

    /// <summary><c>wdst = imm</c> (upper half zeroed).</summary>
    public InstructionBuilder Mov32(Register dst, int imm) => Alu32(AluOp.Mov, dst, imm);

    /// <summary><c>wdst = wsrc</c> (upper half zeroed).</summary>
    public InstructionBuilder Mov32(Register dst, Register src) => Alu32(AluOp.Mov, dst, src);

    /// <summary><c>dst += imm</c>.</summary>
    public InstructionBuilder Add64(Register dst, int imm) => Alu64(AluOp.Add, dst, imm);

    /// <summary><c>dst += src</c>.</summary>
    public InstructionBuilder Add64(Register dst, Register src) => Alu64(AluOp.Add, dst, src);

    /// <summary><c>dst = -dst</c> (64-bit).</summary>
    public InstructionBuilder Neg64(Register dst) => Alu64(AluOp.Neg, dst, 0);

    /// <summary><c>wdst = -wdst</c> (32-bit).</summary>
    public InstructionBuilder Neg32(Register dst) => Alu32(AluOp.Neg, dst, 0);

    /// <summary>Signed division or modulo (<see cref="AluOp.Div"/> or <see cref="AluOp.Mod"/> with offset 1, Linux 6.6).</summary>
    /// <exception cref="ArgumentException"><paramref name="op"/> is neither Div nor Mod.</exception>
    public InstructionBuilder Signed64(AluOp op, Register dst, Register src) => Emit(SignedOp(InstructionClass.Alu64, op, OperandSource.Reg), dst, src, 1, 0);

    /// <inheritdoc cref="Signed64(AluOp, Register, Register)"/>
    public InstructionBuilder Signed64(AluOp op, Register dst, int imm) => Emit(SignedOp(InstructionClass.Alu64, op, OperandSource.Imm), dst, 0, 1, imm);

    /// <summary>32-bit signed division or modulo (Linux 6.6).</summary>
    /// <exception cref="ArgumentException"><paramref name="op"/> is neither Div nor Mod.</exception>
    public InstructionBuilder Signed32(AluOp op, Register dst, Register src) => Emit(SignedOp(InstructionClass.Alu, op, OperandSource.Reg), dst, src, 1, 0);

    /// <inheritdoc cref="Signed32(AluOp, Register, Register)"/>
    public InstructionBuilder Signed32(AluOp op, Register dst, int imm) => Emit(SignedOp(InstructionClass.Alu, op, OperandSource.Imm), dst, 0, 1, imm);

    private static byte SignedOp(InstructionClass c, AluOp op, OperandSource s) =>
        op is AluOp.Div or AluOp.Mod ? Op(c, op, s) : throw new ArgumentException($"only Div and Mod have signed forms, not {op}", nameof(op));

    /// <summary><c>dst = (s8/s16/s32) src</c> sign-extended to 64 bits (movsx, Linux 6.6).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 8, 16 or 32.</exception>
    public InstructionBuilder MovSx64(Register dst, Register src, int bits) =>
        Emit(Op(InstructionClass.Alu64, AluOp.Mov, OperandSource.Reg), dst, src, Bits(bits, 32), 0);

    /// <summary><c>wdst = (s8/s16) wsrc</c> sign-extended to 32 bits, upper half zeroed (movsx, Linux 6.6).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 8 or 16.</exception>
    public InstructionBuilder MovSx32(Register dst, Register src, int bits) =>
        Emit(Op(InstructionClass.Alu, AluOp.Mov, OperandSource.Reg), dst, src, Bits(bits, 16), 0);

    private static short Bits(int bits, int max) => bits is 8 or 16 or 32 && bits <= max
        ? (short)bits
        : throw new ArgumentOutOfRangeException(nameof(bits), bits, $"must be 8, 16{(max == 32 ? " or 32" : "")}");

    /// <summary>Converts the low <paramref name="bits"/> of dst to little endian (le16/le32/le64; zero-extends).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 16, 32 or 64.</exception>
    public InstructionBuilder ToLittleEndian(Register dst, int bits) => Emit(0xd4, dst, 0, 0, SwapBits(bits));

    /// <summary>Converts the low <paramref name="bits"/> of dst to big endian (be16/be32/be64; zero-extends).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 16, 32 or 64.</exception>
    public InstructionBuilder ToBigEndian(Register dst, int bits) => Emit(0xdc, dst, 0, 0, SwapBits(bits));

    /// <summary>Unconditionally reverses the bytes of the low <paramref name="bits"/> of dst (bswap, Linux 6.6).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bits"/> is not 16, 32 or 64.</exception>
    public InstructionBuilder ByteSwap(Register dst, int bits) => Emit(0xd7, dst, 0, 0, SwapBits(bits));

    private static int SwapBits(int bits) =>
        bits is 16 or 32 or 64 ? bits : throw new ArgumentOutOfRangeException(nameof(bits), bits, "must be 16, 32 or 64");

    // ---- memory ----

    /// <summary><c>dst = *(size *)(src + off)</c> (zero-extending).</summary>
    public InstructionBuilder Load(MemorySize size, Register dst, Register src, short offset) =>
        Emit((byte)((byte)InstructionClass.Ldx | (byte)MemoryMode.Mem | (byte)size), dst, src, offset, 0);

    /// <summary><c>dst = *(s8/s16/s32 *)(src + off)</c> (sign-extending, Linux 6.6).</summary>
    /// <exception cref="ArgumentException"><paramref name="size"/> is DWord.</exception>
    public InstructionBuilder LoadSx(MemorySize size, Register dst, Register src, short offset) => size == MemorySize.DWord
        ? throw new ArgumentException("sign-extending loads are 1, 2 or 4 bytes", nameof(size))
        : Emit((byte)((byte)InstructionClass.Ldx | (byte)MemoryMode.MemSx | (byte)size), dst, src, offset, 0);

    /// <summary><c>*(size *)(dst + off) = src</c>.</summary>
    public InstructionBuilder Store(MemorySize size, Register dst, short offset, Register src) =>
        Emit((byte)((byte)InstructionClass.Stx | (byte)MemoryMode.Mem | (byte)size), dst, src, offset, 0);

    /// <summary><c>*(size *)(dst + off) = imm</c>.</summary>
    public InstructionBuilder StoreImm(MemorySize size, Register dst, short offset, int imm) =>
        Emit((byte)((byte)InstructionClass.St | (byte)MemoryMode.Mem | (byte)size), dst, 0, offset, imm);

    /// <summary>
    /// Atomic read-modify-write on <c>*(size *)(dst + off)</c> with src (Word or DWord). Add/Or/And/Xor take
    /// <paramref name="fetch"/> (old value into src); Xchg and CmpXchg always fetch (CmpXchg compares with r0 and
    /// returns the old value in r0). LoadAcquire/StoreRelease are also accepted (Linux 6.15).
    /// </summary>
    /// <exception cref="ArgumentException">Unsupported size or operation.</exception>
    public InstructionBuilder Atomic(AtomicOp op, MemorySize size, Register dst, short offset, Register src, bool fetch = false)
    {
        bool acqRel = op is AtomicOp.LoadAcquire or AtomicOp.StoreRelease;
        if (!acqRel && size is not (MemorySize.Word or MemorySize.DWord))
            throw new ArgumentException($"atomic {op} works on 4 or 8 bytes, not {size}", nameof(size));
        if (op is AtomicOp.Fetch) throw new ArgumentException("Fetch is a flag: pass fetch: true", nameof(op));
        int imm = (int)op | (fetch ? (int)AtomicOp.Fetch : 0);
        return Emit((byte)((byte)InstructionClass.Stx | (byte)MemoryMode.Atomic | (byte)size), dst, src, offset, imm);
    }

    /// <summary>Legacy packet load <c>r0 = *(size *)skb[imm]</c> (LD_ABS, socket filters; r6 must hold the skb).</summary>
    public InstructionBuilder LoadAbs(MemorySize size, int imm) =>
        Emit((byte)((byte)InstructionClass.Ld | (byte)MemoryMode.Abs | (byte)size), 0, 0, 0, imm);

    /// <summary>Legacy packet load <c>r0 = *(size *)skb[src + imm]</c> (LD_IND).</summary>
    public InstructionBuilder LoadInd(MemorySize size, Register src, int imm) =>
        Emit((byte)((byte)InstructionClass.Ld | (byte)MemoryMode.Ind | (byte)size), 0, src, 0, imm);

    /// <summary><c>dst = imm</c> (64-bit immediate, two slots).</summary>
    public InstructionBuilder LoadImm64(Register dst, long imm) => LoadImm64(dst, 0, (int)imm, (int)(imm >> 32));

    /// <summary>The raw two-slot lddw: pseudo source, low and high immediates.</summary>
    public InstructionBuilder LoadImm64(Register dst, byte pseudoSource, int lowImm, int highImm)
    {
        Emit(new Instruction(Instruction.LoadImm64OpCode, (byte)dst, pseudoSource, 0, lowImm));
        return Emit(new Instruction(0, 0, 0, 0, highImm));
    }

    /// <summary><c>dst = map</c> by fd (BPF_PSEUDO_MAP_FD).</summary>
    public InstructionBuilder LoadMapFd(Register dst, int mapFd) => LoadImm64(dst, PseudoSource.MapFd, mapFd, 0);

    /// <summary><c>dst = &amp;map_value + offset</c> (BPF_PSEUDO_MAP_VALUE, Linux 5.2).</summary>
    public InstructionBuilder LoadMapValue(Register dst, int mapFd, int offset) => LoadImm64(dst, PseudoSource.MapValue, mapFd, offset);

    /// <summary><c>dst = map</c> by name: a symbolic reference, given its fd by the resolver passed to
    /// <see cref="Build(Func{string, int})"/>.</summary>
    public InstructionBuilder LoadMap(Register dst, string mapName)
    {
        ArgumentException.ThrowIfNullOrEmpty(mapName);
        _mapRefs.Add((_code.Count, mapName));
        return LoadImm64(dst, PseudoSource.MapFd, 0, 0);
    }

    /// <summary><c>dst = &amp;value of the named map + offset</c>: a symbolic reference like <see cref="LoadMap"/>.</summary>
    public InstructionBuilder LoadMapValue(Register dst, string mapName, int offset)
    {
        ArgumentException.ThrowIfNullOrEmpty(mapName);
        _mapRefs.Add((_code.Count, mapName));
        return LoadImm64(dst, PseudoSource.MapValue, 0, offset);
    }

    /// <summary>Names of the maps referenced symbolically so far (<see cref="LoadMap"/>), in order of use.</summary>
    public IReadOnlyList<string> MapReferences => _mapRefs.Select(r => r.Map).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary><c>dst = &amp;kernel_variable</c> by BTF id (BPF_PSEUDO_BTF_ID, Linux 5.10).</summary>
    public InstructionBuilder LoadBtfId(Register dst, int btfId) => LoadImm64(dst, PseudoSource.BtfId, btfId, 0);

    /// <summary><c>dst = fd_array[index]</c> map (BPF_PSEUDO_MAP_IDX, Linux 5.14).</summary>
    public InstructionBuilder LoadMapIndex(Register dst, int index) => LoadImm64(dst, PseudoSource.MapIndex, index, 0);

    /// <summary><c>dst = &amp;value of fd_array[index] + offset</c> (BPF_PSEUDO_MAP_IDX_VALUE, Linux 5.14).</summary>
    public InstructionBuilder LoadMapIndexValue(Register dst, int index, int offset) => LoadImm64(dst, PseudoSource.MapIndexValue, index, offset);

    /// <summary><c>dst = &amp;subprogram</c> at <paramref name="label"/> (BPF_PSEUDO_FUNC, Linux 5.13).</summary>
    public InstructionBuilder LoadFunc(Register dst, string label)
    {
        EmitRef(new Instruction(Instruction.LoadImm64OpCode, (byte)dst, PseudoSource.Func, 0, 0), label, FixupKind.Imm);
        return Emit(new Instruction(0, 0, 0, 0, 0));
    }

    // ---- jumps and calls ----

    private static byte JumpCode(InstructionClass c, JumpOp op, OperandSource s) => (byte)((byte)c | (byte)op | (byte)s);

    /// <summary>64-bit conditional jump <c>if dst op imm goto label</c>.</summary>
    public InstructionBuilder Jump(JumpOp op, Register dst, int imm, string label) =>
        EmitRef(new Instruction(JumpCode(InstructionClass.Jmp, Cond(op), OperandSource.Imm), (byte)dst, 0, 0, imm), label, FixupKind.Offset);

    /// <summary>64-bit conditional jump <c>if dst op src goto label</c>.</summary>
    public InstructionBuilder Jump(JumpOp op, Register dst, Register src, string label) =>
        EmitRef(new Instruction(JumpCode(InstructionClass.Jmp, Cond(op), OperandSource.Reg), (byte)dst, (byte)src, 0, 0), label, FixupKind.Offset);

    /// <summary>32-bit conditional jump <c>if wdst op imm goto label</c>.</summary>
    public InstructionBuilder Jump32(JumpOp op, Register dst, int imm, string label) =>
        EmitRef(new Instruction(JumpCode(InstructionClass.Jmp32, Cond(op), OperandSource.Imm), (byte)dst, 0, 0, imm), label, FixupKind.Offset);

    /// <summary>32-bit conditional jump <c>if wdst op wsrc goto label</c>.</summary>
    public InstructionBuilder Jump32(JumpOp op, Register dst, Register src, string label) =>
        EmitRef(new Instruction(JumpCode(InstructionClass.Jmp32, Cond(op), OperandSource.Reg), (byte)dst, (byte)src, 0, 0), label, FixupKind.Offset);

    /// <summary>64-bit conditional jump with an explicit relative offset.</summary>
    public InstructionBuilder Jump(JumpOp op, Register dst, int imm, short offset) =>
        Emit(JumpCode(InstructionClass.Jmp, Cond(op), OperandSource.Imm), dst, 0, offset, imm);

    /// <summary>64-bit conditional jump on registers with an explicit relative offset.</summary>
    public InstructionBuilder Jump(JumpOp op, Register dst, Register src, short offset) =>
        Emit(JumpCode(InstructionClass.Jmp, Cond(op), OperandSource.Reg), dst, src, offset, 0);

    /// <summary>32-bit conditional jump with an explicit relative offset.</summary>
    public InstructionBuilder Jump32(JumpOp op, Register dst, int imm, short offset) =>
        Emit(JumpCode(InstructionClass.Jmp32, Cond(op), OperandSource.Imm), dst, 0, offset, imm);

    /// <summary>32-bit conditional jump on registers with an explicit relative offset.</summary>
    public InstructionBuilder Jump32(JumpOp op, Register dst, Register src, short offset) =>
        Emit(JumpCode(InstructionClass.Jmp32, Cond(op), OperandSource.Reg), dst, src, offset, 0);

    private static JumpOp Cond(JumpOp op) => op is JumpOp.Ja or JumpOp.Call or JumpOp.Exit or JumpOp.JCond
        ? throw new ArgumentException($"{op} is not a conditional jump (use Ja, Call, Exit, MayGoto)", nameof(op))
        : op;

    /// <summary><c>goto label</c> (16-bit offset).</summary>
    public InstructionBuilder Ja(string label) => EmitRef(new Instruction(0x05, 0, 0, 0, 0), label, FixupKind.Offset);

    /// <summary><c>goto +offset</c>.</summary>
    public InstructionBuilder Ja(short offset) => Emit(0x05, 0, 0, offset, 0);

    /// <summary><c>gotol label</c> (JMP32 | JA, 32-bit offset in the immediate, Linux 6.6).</summary>
    public InstructionBuilder Gotol(string label) => EmitRef(new Instruction(0x06, 0, 0, 0, 0), label, FixupKind.Imm);

    /// <summary><c>gotol +offset</c>.</summary>
    public InstructionBuilder Gotol(int offset) => Emit(0x06, 0, 0, 0, offset);

    /// <summary><c>may_goto label</c> (BPF_JCOND, Linux 6.9).</summary>
    public InstructionBuilder MayGoto(string label) => EmitRef(new Instruction(0xe5, 0, 0, 0, 0), label, FixupKind.Offset);

    /// <summary>Calls helper <paramref name="helperId"/> (BPF_FUNC_*).</summary>
    public InstructionBuilder Call(int helperId) => Emit(0x85, 0, 0, 0, helperId);

    /// <summary>bpf-to-bpf call of the subprogram at <paramref name="label"/> (<c>call local</c>).</summary>
    public InstructionBuilder CallLocal(string label) => EmitRef(new Instruction(0x85, 0, PseudoSource.Call, 0, 0), label, FixupKind.Imm);

    /// <summary>bpf-to-bpf call with an explicit relative target.</summary>
    public InstructionBuilder CallLocal(int offset) => Emit(0x85, 0, (Register)PseudoSource.Call, 0, offset);

    /// <summary>Calls kernel function <paramref name="btfId"/> (kfunc); <paramref name="moduleBtfIndex"/> selects
    /// module BTF in fd_array (0: vmlinux).</summary>
    public InstructionBuilder CallKfunc(int btfId, short moduleBtfIndex = 0) => Emit(0x85, 0, (Register)PseudoSource.KfuncCall, moduleBtfIndex, btfId);

    /// <summary>Indirect call through the address in <paramref name="target"/> (callx; the register is in dst).</summary>
    public InstructionBuilder CallX(Register target) => Emit(0x8d, target, 0, 0, 0);

    /// <summary><c>exit</c>: return r0.</summary>
    public InstructionBuilder Exit() => Emit(0x95, 0, 0, 0, 0);

    /// <summary>Resolves all label references and returns the program.</summary>
    /// <exception cref="InvalidOperationException">A referenced label is not defined, an offset does not fit in 16
    /// bits, or the program references maps by name (use <see cref="Build(Func{string, int})"/>).</exception>
    /// <exception cref="AssemblerException">The same, for programs from the text assembler (with the source position).</exception>
    public Instruction[] Build() => Build(mapFd: null);

    /// <summary>Resolves label references and symbolic map references (<paramref name="mapFd"/> gives the fd of a
    /// map by name, e.g. <c>name =&gt; maps[name].Fd</c>) and returns the program.</summary>
    /// <exception cref="InvalidOperationException">A referenced label is not defined, an offset does not fit in 16
    /// bits, or a map reference has no resolver.</exception>
    /// <exception cref="AssemblerException">The same, for programs from the text assembler (with the source position).</exception>
    public Instruction[] Build(Func<string, int>? mapFd)
    {
        var result = _code.ToArray();
        foreach (var (index, map) in _mapRefs)
        {
            if (mapFd is null)
                throw new InvalidOperationException($"instruction {index} references map '{map}' by name: pass a resolver to Build");
            result[index] = result[index].WithImm(mapFd(map));
        }
        foreach (var f in _fixups)
        {
            if (!_labels.TryGetValue(f.Label, out int target))
                throw Error(f, $"undefined label '{f.Label}'");
            int rel = target - f.Index - 1;
            var insn = result[f.Index];
            if (f.Kind == FixupKind.Imm)
                result[f.Index] = insn.WithImm(rel);
            else if (rel is < short.MinValue or > short.MaxValue)
                throw Error(f, $"jump to '{f.Label}' is {rel} instructions away, beyond the 16-bit offset (use gotol)");
            else
                result[f.Index] = insn.WithOffset((short)rel);
        }
        return result;
    }

    private static Exception Error(Fixup f, string message) =>
        f.Line > 0 ? new AssemblerException(f.Line, f.Column, message) : new InvalidOperationException(message);
}
