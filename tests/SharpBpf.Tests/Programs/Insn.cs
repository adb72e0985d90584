using SharpBpf.Asm;

namespace SharpBpf.Tests.Programs;

/// <summary>A small instruction builder for readable test programs (the full assembler is elsewhere).</summary>
internal static class Insn
{
    // classes
    private const byte LD = 0x00, LDX = 0x01, ST = 0x02, STX = 0x03, ALU = 0x04, JMP = 0x05, ALU64 = 0x07;
    // sizes
    public const byte W = 0x00, H = 0x08, B = 0x10, DW = 0x18;
    // modes
    private const byte IMM = 0x00, ABS = 0x20, MEM = 0x60, ATOMIC = 0xc0;
    // sources
    private const byte K = 0x00, X = 0x08;
    // alu / jmp operations
    private const byte ADD = 0x00, MOV = 0xb0, JA = 0x00, JEQ = 0x10, JGT = 0x20, JNE = 0x50, CALL = 0x80, EXIT = 0x90;

    public const int R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, R10 = 10;

    // helper ids
    public const int MapLookupElem = 1, TailCall = 12;

    private static Instruction I(byte op, int dst = 0, int src = 0, short off = 0, int imm = 0) =>
        new(op, (byte)dst, (byte)src, off, imm);

    public static Instruction Mov64Imm(int dst, int imm) => I(ALU64 | MOV | K, dst, imm: imm);
    public static Instruction Mov64Reg(int dst, int src) => I(ALU64 | MOV | X, dst, src);
    public static Instruction Mov32Imm(int dst, int imm) => I(ALU | MOV | K, dst, imm: imm);
    public static Instruction Add64Imm(int dst, int imm) => I(ALU64 | ADD | K, dst, imm: imm);
    public static Instruction Add64Reg(int dst, int src) => I(ALU64 | ADD | X, dst, src);

    /// <summary>r0 = *(u8 *)skb[offset] (legacy packet load, socket filters only).</summary>
    public static Instruction LdAbsB(int offset) => I(LD | ABS | B, imm: offset);
    public static Instruction LdAbsH(int offset) => I(LD | ABS | H, imm: offset);

    public static Instruction LdxMem(byte size, int dst, int src, short off) => I((byte)(LDX | MEM | size), dst, src, off);
    public static Instruction StxMem(byte size, int dst, int src, short off) => I((byte)(STX | MEM | size), dst, src, off);
    public static Instruction StMem(byte size, int dst, short off, int imm) => I((byte)(ST | MEM | size), dst, off: off, imm: imm);

    /// <summary>lock *(u64 *)(dst + off) += src.</summary>
    public static Instruction AtomicAdd64(int dst, int src, short off) => I(STX | ATOMIC | DW, dst, src, off, ADD);

    /// <summary>The two halves of lddw dst, map_fd (src = BPF_PSEUDO_MAP_FD).</summary>
    public static Instruction[] LdMapFd(int dst, int mapFd) => [I(LD | IMM | DW, dst, 1, imm: mapFd), I(0)];
    public static Instruction[] LdImm64(int dst, long imm) => [I(LD | IMM | DW, dst, 0, imm: (int)imm), I(0, imm: (int)(imm >> 32))];

    public static Instruction Ja(short off) => I(JMP | JA, off: off);
    public static Instruction JeqImm(int dst, int imm, short off) => I(JMP | JEQ | K, dst, off: off, imm: imm);
    public static Instruction JneImm(int dst, int imm, short off) => I(JMP | JNE | K, dst, off: off, imm: imm);
    public static Instruction JgtReg(int dst, int src, short off) => I(JMP | JGT | X, dst, src, off);
    public static Instruction Call(int helper) => I(JMP | CALL, imm: helper);
    public static Instruction Exit() => I(JMP | EXIT);

    /// <summary>Flattens instructions and instruction groups (lddw) into one program.</summary>
    public static Instruction[] Program(params object[] parts)
    {
        var list = new List<Instruction>();
        foreach (var p in parts)
        {
            switch (p)
            {
                case Instruction i: list.Add(i); break;
                case IEnumerable<Instruction> many: list.AddRange(many); break;
                default: throw new ArgumentException($"not an instruction: {p}");
            }
        }
        return list.ToArray();
    }
}
