using System.Runtime.InteropServices;

namespace SharpBpf.Vm;

/// <summary>The VM's decoded operations: one per distinct behaviour (signed division, sign-extending moves, byte
/// swaps of each width ... get their own), so neither engine decodes the offset or immediate at run time.</summary>
internal enum VmOp : byte
{
    Invalid = 0, // also the sentinel after the last instruction: running into it is "fell off the end"
    Add64K, Add64X, Sub64K, Sub64X, Mul64K, Mul64X, Div64K, Div64X, SDiv64K, SDiv64X, Mod64K, Mod64X, SMod64K, SMod64X,
    Or64K, Or64X, And64K, And64X, Xor64K, Xor64X, Lsh64K, Lsh64X, Rsh64K, Rsh64X, Arsh64K, Arsh64X, Neg64,
    Mov64K, Mov64X, MovSx64B, MovSx64H, MovSx64W, Bswap16, Bswap32, Bswap64,
    Add32K, Add32X, Sub32K, Sub32X, Mul32K, Mul32X, Div32K, Div32X, SDiv32K, SDiv32X, Mod32K, Mod32X, SMod32K, SMod32X,
    Or32K, Or32X, And32K, And32X, Xor32K, Xor32X, Lsh32K, Lsh32X, Rsh32K, Rsh32X, Arsh32K, Arsh32X, Neg32,
    Mov32K, Mov32X, MovSx32B, MovSx32H, Le16, Le32, Le64, Be16, Be32, Be64,
    Ja,
    JeqK, JeqX, JgtK, JgtX, JgeK, JgeX, JsetK, JsetX, JneK, JneX, JsgtK, JsgtX, JsgeK, JsgeX, JltK, JltX, JleK, JleX,
    JsltK, JsltX, JsleK, JsleX,
    Jeq32K, Jeq32X, Jgt32K, Jgt32X, Jge32K, Jge32X, Jset32K, Jset32X, Jne32K, Jne32X, Jsgt32K, Jsgt32X, Jsge32K, Jsge32X,
    Jlt32K, Jlt32X, Jle32K, Jle32X, Jslt32K, Jslt32X, Jsle32K, Jsle32X,
    MayGoto, CallHelper, TailCall, CallLocal, CallX, Exit,
    LdDw, LdAbsB, LdAbsH, LdAbsW, LdIndB, LdIndH, LdIndW,
    LdxB, LdxH, LdxW, LdxDW, LdxSB, LdxSH, LdxSW,
    StB, StH, StW, StDW, StxB, StxH, StxW, StxDW,
    AtomicW, AtomicDW,
}

/// <summary>One decoded instruction. <see cref="Imm64"/> holds the sign-extended immediate, the resolved 64-bit value
/// of a <c>lddw</c>, or the absolute target of a jump or local call. <see cref="Cost"/> is the length of the basic
/// block that starts here (0 inside a block): both engines charge the instruction budget per block.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DecodedInsn
{
    public VmOp Op;
    public byte Dst;
    public byte Src;
    public byte Reserved;
    public short Off;
    public short Reserved2;
    public int Imm;
    public int Cost;
    public long Imm64;
}
