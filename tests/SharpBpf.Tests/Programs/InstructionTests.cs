using SharpBpf.Asm;

namespace SharpBpf.Tests.Programs;

public class InstructionTests
{
    [Fact]
    public void RawRoundTripsEveryField()
    {
        var insn = new Instruction(0x61, 3, 10, -8, unchecked((int)0xdeadbeef));
        Assert.Equal(0xdeadbeef_fff8_a3_61UL, insn.Raw);
        var back = Instruction.FromRaw(insn.Raw);
        Assert.Equal(insn, back);
        Assert.Equal((byte)0x61, back.OpCode);
        Assert.Equal((byte)3, back.Dst);
        Assert.Equal((byte)10, back.Src);
        Assert.Equal((short)-8, back.Offset);
        Assert.Equal(unchecked((int)0xdeadbeef), back.Imm);
    }

    [Fact]
    public void EncodesLittleEndianLikeTheKernel()
    {
        // r0 = 42 : b7 00 00 00 2a 00 00 00 (as clang -target bpf emits it)
        Assert.Equal(new byte[] { 0xb7, 0x00, 0x00, 0x00, 0x2a, 0, 0, 0 }, Insn.Mov64Imm(0, 42).ToBytes());
        // r2 = *(u32 *)(r1 + 4) : 61 12 04 00 00 00 00 00
        Assert.Equal(new byte[] { 0x61, 0x12, 0x04, 0x00, 0, 0, 0, 0 }, Insn.LdxMem(Insn.W, 2, 1, 4).ToBytes());
        byte[] all = Instruction.Encode([Insn.Mov64Imm(0, 1), Insn.Exit()]);
        Assert.Equal(16, all.Length);
        Assert.Equal(Insn.Exit(), Instruction.Decode(all.AsSpan(8)));
        Assert.Equal(8, System.Runtime.CompilerServices.Unsafe.SizeOf<Instruction>());
    }

    [Fact]
    public void RejectsBadInput()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Instruction(0, 16, 0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Instruction(0, 0, 16, 0, 0));
        Assert.Throws<ArgumentException>(() => Instruction.Decode(new byte[7]));
        Assert.Throws<ArgumentException>(() => Insn.Exit().Encode(new byte[7]));
    }
}
