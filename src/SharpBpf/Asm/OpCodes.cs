namespace SharpBpf.Asm;

/// <summary>eBPF registers. R0 holds return values, R1-R5 arguments (clobbered by calls), R6-R9 are callee-saved,
/// R10 is the read-only frame pointer.</summary>
public enum Register : byte
{
    /// <summary>Return value.</summary>
    R0 = 0,
    /// <summary>First argument (the context on entry).</summary>
    R1,
    /// <summary>Second argument.</summary>
    R2,
    /// <summary>Third argument.</summary>
    R3,
    /// <summary>Fourth argument.</summary>
    R4,
    /// <summary>Fifth argument.</summary>
    R5,
    /// <summary>Callee-saved.</summary>
    R6,
    /// <summary>Callee-saved.</summary>
    R7,
    /// <summary>Callee-saved.</summary>
    R8,
    /// <summary>Callee-saved.</summary>
    R9,
    /// <summary>Frame pointer (read only).</summary>
    R10,
}

/// <summary>Instruction class: the low 3 bits of the opcode.</summary>
public enum InstructionClass : byte
{
    /// <summary>BPF_LD: 64-bit immediate loads and the legacy packet loads.</summary>
    Ld = 0x00,
    /// <summary>BPF_LDX: load from memory into a register.</summary>
    Ldx = 0x01,
    /// <summary>BPF_ST: store an immediate to memory.</summary>
    St = 0x02,
    /// <summary>BPF_STX: store a register to memory; atomics.</summary>
    Stx = 0x03,
    /// <summary>BPF_ALU: 32-bit arithmetic (the upper half of the destination is zeroed).</summary>
    Alu = 0x04,
    /// <summary>BPF_JMP: 64-bit comparisons, calls, exit.</summary>
    Jmp = 0x05,
    /// <summary>BPF_JMP32: 32-bit comparisons (Linux 5.1); <c>gotol</c> (Linux 6.6).</summary>
    Jmp32 = 0x06,
    /// <summary>BPF_ALU64: 64-bit arithmetic.</summary>
    Alu64 = 0x07,
}

/// <summary>Operand size of a memory access (bits 3-4 of a load/store opcode).</summary>
public enum MemorySize : byte
{
    /// <summary>BPF_W: 4 bytes.</summary>
    Word = 0x00,
    /// <summary>BPF_H: 2 bytes.</summary>
    Half = 0x08,
    /// <summary>BPF_B: 1 byte.</summary>
    Byte = 0x10,
    /// <summary>BPF_DW: 8 bytes.</summary>
    DWord = 0x18,
}

/// <summary>Addressing mode of a load/store (bits 5-7 of the opcode).</summary>
public enum MemoryMode : byte
{
    /// <summary>BPF_IMM: 64-bit immediate (<c>lddw</c>).</summary>
    Imm = 0x00,
    /// <summary>BPF_ABS: legacy packet load at a constant offset (socket filters).</summary>
    Abs = 0x20,
    /// <summary>BPF_IND: legacy packet load at register + constant.</summary>
    Ind = 0x40,
    /// <summary>BPF_MEM: regular memory access.</summary>
    Mem = 0x60,
    /// <summary>BPF_MEMSX: sign-extending load (Linux 6.6).</summary>
    MemSx = 0x80,
    /// <summary>BPF_ATOMIC: atomic operation (the operation is in the immediate).</summary>
    Atomic = 0xc0,
}

/// <summary>Arithmetic operation (bits 4-7 of an ALU/ALU64 opcode).</summary>
public enum AluOp : byte
{
    /// <summary>dst += src.</summary>
    Add = 0x00,
    /// <summary>dst -= src.</summary>
    Sub = 0x10,
    /// <summary>dst *= src.</summary>
    Mul = 0x20,
    /// <summary>dst /= src (offset 1: signed, Linux 6.6).</summary>
    Div = 0x30,
    /// <summary>dst |= src.</summary>
    Or = 0x40,
    /// <summary>dst &amp;= src.</summary>
    And = 0x50,
    /// <summary>dst &lt;&lt;= src.</summary>
    Lsh = 0x60,
    /// <summary>dst &gt;&gt;= src (logical).</summary>
    Rsh = 0x70,
    /// <summary>dst = -dst.</summary>
    Neg = 0x80,
    /// <summary>dst %= src (offset 1: signed, Linux 6.6).</summary>
    Mod = 0x90,
    /// <summary>dst ^= src.</summary>
    Xor = 0xa0,
    /// <summary>dst = src (offset 8/16/32: sign-extending, Linux 6.6).</summary>
    Mov = 0xb0,
    /// <summary>dst &gt;&gt;= src (arithmetic).</summary>
    Arsh = 0xc0,
    /// <summary>Byte order conversion (ALU: to little/big endian; ALU64: unconditional swap, Linux 6.6).</summary>
    End = 0xd0,
}

/// <summary>Jump operation (bits 4-7 of a JMP/JMP32 opcode).</summary>
public enum JumpOp : byte
{
    /// <summary>Unconditional jump (JMP32: <c>gotol</c> with a 32-bit offset in the immediate).</summary>
    Ja = 0x00,
    /// <summary>==.</summary>
    Jeq = 0x10,
    /// <summary>&gt; (unsigned).</summary>
    Jgt = 0x20,
    /// <summary>&gt;= (unsigned).</summary>
    Jge = 0x30,
    /// <summary>dst &amp; src != 0.</summary>
    Jset = 0x40,
    /// <summary>!=.</summary>
    Jne = 0x50,
    /// <summary>&gt; (signed).</summary>
    Jsgt = 0x60,
    /// <summary>&gt;= (signed).</summary>
    Jsge = 0x70,
    /// <summary>Call (helper, subprogram, kfunc; with the X source: callx).</summary>
    Call = 0x80,
    /// <summary>Return from the function.</summary>
    Exit = 0x90,
    /// <summary>&lt; (unsigned).</summary>
    Jlt = 0xa0,
    /// <summary>&lt;= (unsigned).</summary>
    Jle = 0xb0,
    /// <summary>&lt; (signed).</summary>
    Jslt = 0xc0,
    /// <summary>&lt;= (signed).</summary>
    Jsle = 0xd0,
    /// <summary>BPF_JCOND: <c>may_goto</c> (Linux 6.9).</summary>
    JCond = 0xe0,
}

/// <summary>Operand source: bit 3 of ALU and JMP opcodes.</summary>
public enum OperandSource : byte
{
    /// <summary>BPF_K: the 32-bit immediate.</summary>
    Imm = 0x00,
    /// <summary>BPF_X: the source register.</summary>
    Reg = 0x08,
}

/// <summary>Atomic operations (the immediate of a BPF_STX | BPF_ATOMIC instruction).</summary>
public enum AtomicOp
{
    /// <summary>*ptr += src.</summary>
    Add = 0x00,
    /// <summary>*ptr |= src.</summary>
    Or = 0x40,
    /// <summary>*ptr &amp;= src.</summary>
    And = 0x50,
    /// <summary>*ptr ^= src.</summary>
    Xor = 0xa0,
    /// <summary>src = xchg(ptr, src) (always fetches).</summary>
    Xchg = 0xe0 | Fetch,
    /// <summary>r0 = cmpxchg(ptr, r0, src) (always fetches).</summary>
    CmpXchg = 0xf0 | Fetch,
    /// <summary>BPF_FETCH: the old value is returned in src (or r0 for cmpxchg).</summary>
    Fetch = 0x01,
    /// <summary>BPF_LOAD_ACQ: dst = load_acquire(src + off) (Linux 6.15).</summary>
    LoadAcquire = 0x100,
    /// <summary>BPF_STORE_REL: store_release(dst + off, src) (Linux 6.15).</summary>
    StoreRelease = 0x110,
}

/// <summary>Values of the source register field that give <c>lddw</c> and <c>call</c> a special meaning.</summary>
public static class PseudoSource
{
    /// <summary>lddw: the immediate is a map fd (BPF_PSEUDO_MAP_FD).</summary>
    public const byte MapFd = 1;
    /// <summary>lddw: map fd + offset into its value (BPF_PSEUDO_MAP_VALUE; the offset is in the second half).</summary>
    public const byte MapValue = 2;
    /// <summary>lddw: the address of a kernel variable given by its BTF id (BPF_PSEUDO_BTF_ID).</summary>
    public const byte BtfId = 3;
    /// <summary>lddw: the address of a subprogram, relative like a call (BPF_PSEUDO_FUNC).</summary>
    public const byte Func = 4;
    /// <summary>lddw: index into fd_array (BPF_PSEUDO_MAP_IDX).</summary>
    public const byte MapIndex = 5;
    /// <summary>lddw: index into fd_array + value offset (BPF_PSEUDO_MAP_IDX_VALUE).</summary>
    public const byte MapIndexValue = 6;
    /// <summary>call: bpf-to-bpf call, the immediate is the relative target (BPF_PSEUDO_CALL).</summary>
    public const byte Call = 1;
    /// <summary>call: kernel function by BTF id (BPF_PSEUDO_KFUNC_CALL); the offset selects module BTF.</summary>
    public const byte KfuncCall = 2;
}
