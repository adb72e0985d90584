namespace SharpBpf.Asm;

public readonly partial struct Instruction
{
    /// <summary>Opcode of the first half of a 64-bit immediate load (<c>BPF_LD | BPF_IMM | BPF_DW</c>).</summary>
    public const byte LoadImm64OpCode = 0x18;

    /// <summary>The instruction class (low 3 bits of the opcode).</summary>
    public InstructionClass Class => (InstructionClass)(OpCode & 0x07);

    /// <summary>Arithmetic operation (meaningful for ALU/ALU64).</summary>
    public AluOp AluOperation => (AluOp)(OpCode & 0xf0);

    /// <summary>Jump operation (meaningful for JMP/JMP32).</summary>
    public JumpOp JumpOperation => (JumpOp)(OpCode & 0xf0);

    /// <summary>Operand source (meaningful for ALU and JMP classes).</summary>
    public OperandSource Source => (OperandSource)(OpCode & 0x08);

    /// <summary>Memory access size (meaningful for load/store classes).</summary>
    public MemorySize MemorySize => (MemorySize)(OpCode & 0x18);

    /// <summary>Memory addressing mode (meaningful for load/store classes).</summary>
    public MemoryMode MemoryMode => (MemoryMode)(OpCode & 0xe0);

    /// <summary>Whether this is the first half of a 16-byte <c>lddw</c> (the next instruction holds the upper immediate).</summary>
    public bool IsLoadImm64 => OpCode == LoadImm64OpCode;

    /// <summary>Whether this is a JMP or JMP32 instruction.</summary>
    public bool IsJumpClass => Class is InstructionClass.Jmp or InstructionClass.Jmp32;

    /// <summary>Whether this is <c>exit</c>.</summary>
    public bool IsExit => OpCode == (byte)((byte)InstructionClass.Jmp | (byte)JumpOp.Exit);

    /// <summary>Whether this is a call of any kind (helper, subprogram, kfunc, callx).</summary>
    public bool IsCall => Class == InstructionClass.Jmp && JumpOperation == JumpOp.Call;

    /// <summary>Whether this is a bpf-to-bpf call (<c>call local</c>): the target is <c>index + 1 + Imm</c>.</summary>
    public bool IsPseudoCall => OpCode == 0x85 && Src == PseudoSource.Call;

    /// <summary>Whether this is <c>lddw dst, func</c> (the address of a subprogram at <c>index + 1 + Imm</c>).</summary>
    public bool IsPseudoFunc => IsLoadImm64 && Src == PseudoSource.Func;

    /// <summary>Whether this is <c>gotol</c> (JMP32 | JA): the target is <c>index + 1 + Imm</c>.</summary>
    public bool IsLongJump => OpCode == (byte)InstructionClass.Jmp32;

    /// <summary>Whether this is a jump whose target is <c>index + 1 + Offset</c> (conditional, <c>ja</c>, <c>may_goto</c>).</summary>
    public bool IsOffsetJump => IsJumpClass && JumpOperation is not (JumpOp.Call or JumpOp.Exit) && !IsLongJump;

    /// <summary>This instruction with another offset.</summary>
    public Instruction WithOffset(short offset) => new(OpCode, Dst, Src, offset, Imm);

    /// <summary>This instruction with another immediate.</summary>
    public Instruction WithImm(int imm) => new(OpCode, Dst, Src, Offset, imm);

    /// <summary>Decodes consecutive little-endian instructions (the length must be a multiple of 8).</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of 8.</exception>
    public static Instruction[] DecodeAll(ReadOnlySpan<byte> source)
    {
        if (source.Length % Size != 0)
            throw new ArgumentException($"bytecode length {source.Length} is not a multiple of {Size}", nameof(source));
        var result = new Instruction[source.Length / Size];
        for (int i = 0; i < result.Length; i++) result[i] = Decode(source.Slice(i * Size));
        return result;
    }
}
