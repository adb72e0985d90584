using SharpBpf.Asm;

namespace SharpBpf.Tests.Asm;

public class DisassemblerTests
{
    [Theory]
    [InlineData("mov %r0, 1", "(b7) r0 = 1")]
    [InlineData("mov32 %r1, -1", "(b4) w1 = -1")]
    [InlineData("add %r1, %r2", "(0f) r1 += r2")]
    [InlineData("sdiv32 %r1, %r2", "(3c) w1 s/= w2")]
    [InlineData("smod %r1, 7", "(97) r1 s%= 7")]
    [InlineData("arsh %r1, 3", "(c7) r1 s>>= 3")]
    [InlineData("neg32 %r4", "(84) w4 = -w4")]
    [InlineData("movsx1664 %r2, %r1", "(bf) r2 = (s16)r1")]
    [InlineData("movsx832 %r2, %r1", "(bc) w2 = (s8)w1")]
    [InlineData("be16 %r3", "(dc) r3 = be16 r3")]
    [InlineData("le64 %r3", "(d4) r3 = le64 r3")]
    [InlineData("bswap32 %r3", "(d7) r3 = bswap32 r3")]
    [InlineData("ldxw %r0, [%r1+4]", "(61) r0 = *(u32 *)(r1 +4)")]
    [InlineData("ldxsb %r0, [%r1-2]", "(91) r0 = *(s8 *)(r1 -2)")]
    [InlineData("stxdw [%r10-8], %r1", "(7b) *(u64 *)(r10 -8) = r1")]
    [InlineData("sth [%r10+0], 5", "(6a) *(u16 *)(r10 +0) = 5")]
    [InlineData("lock add [%r10-8], %r1", "(db) lock *(u64 *)(r10 -8) += r1")]
    [InlineData("lock fetch xor32 [%r10-4], %r3", "(c3) r3 = atomic_fetch_xor((u32 *)(r10 -4), r3)")]
    [InlineData("lock xchg [%r10-8], %r1", "(db) r1 = atomic64_xchg((u64 *)(r10 -8), r1)")]
    [InlineData("lock cmpxchg [%r10-8], %r1", "(db) r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r1)")]
    [InlineData("ldabsh 12", "(28) r0 = *(u16 *)skb[12]")]
    [InlineData("ldindb %r3, 4", "(50) r0 = *(u8 *)skb[r3 + 4]")]
    [InlineData("lddw %r1, 0x1122334455667788", "(18) r1 = 0x1122334455667788")]
    [InlineData("lddw %r1, map_fd 7", "(18) r1 = map[id:7]")]
    [InlineData("lddw %r1, map_value 7, 16", "(18) r1 = map[id:7][0]+16")]
    [InlineData("jgt %r1, 5, +2", "(25) if r1 > 0x5 goto pc+2")]
    [InlineData("jslt32 %r1, -1, -3", "(c6) if w1 s< 0xffffffff goto pc-3")]
    [InlineData("jset %r1, %r2, +0", "(4d) if r1 & r2 goto pc+0")]
    [InlineData("ja -1", "(05) goto pc-1")]
    [InlineData("gotol +9", "(06) gotol pc+9")]
    [InlineData("call 1", "(85) call bpf_map_lookup_elem#1")]
    [InlineData("call 999", "(85) call unknown#999")]
    [InlineData("call local +3", "(85) call pc+3")]
    [InlineData("call runtime 42", "(85) call kernel-function#42")]
    [InlineData("exit", "(95) exit")]
    public void VerifierSyntax(string asm, string expected)
    {
        var code = Assembler.Assemble(asm);
        Assert.Equal(expected, Disassembler.FormatInstruction(code, 0, DisassemblySyntax.Verifier, out int slots));
        Assert.Equal(code.Length, slots);
    }

    [Fact]
    public void VerifierListingNumbersSlotsLikeBpftool()
    {
        var code = Assembler.Assemble("lddw %r0, 1\nexit");
        Assert.Equal("   0: (18) r0 = 0x1\n   2: (95) exit\n", Disassembler.Disassemble(code, DisassemblySyntax.Verifier));
    }

    [Fact]
    public void ConformanceSyntaxIsReadable()
    {
        var code = Assembler.Assemble("mov32 %r0, 1\nldxh %r2, [%r1+6]\njne32 %r2, 0x10, +1\nlock fetch add [%r10-8], %r1\nexit");
        Assert.Equal("mov32 %r0, 1\nldxh %r2, [%r1+6]\njne32 %r2, 16, +1\nlock fetch add [%r10-8], %r1\nexit\n", Disassembler.Disassemble(code));
    }

    [Fact]
    public void LabelsNameJumpAndCallTargets()
    {
        var code = Assembler.Assemble("jeq %r1, 0, +2\ncall local f\nexit\nlddw %r2, func f\nja +0\nf:\nmov %r0, 0\nexit");
        Assert.Equal("jeq %r1, 0, L3\ncall local L6\nexit\nL3:\nlddw %r2, func L6\nja L6\nL6:\nmov %r0, 0\nexit\n",
            Disassembler.Disassemble(code, labels: true));
        // a jump to the end of the program gets a label after the last line
        var end = Assembler.Assemble("ja +1\nexit");
        Assert.Equal("ja L2\nexit\nL2:\n", Disassembler.Disassemble(end, labels: true));
        Assert.Equal(end, Assembler.Assemble(Disassembler.Disassemble(end, labels: true)));
    }

    [Fact]
    public void IndexOutsideProgramIsAnArgumentError() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Disassembler.FormatInstruction([], 0, DisassemblySyntax.Conformance, out _));

    [Fact]
    public void RandomBytecodeRoundTripsThroughTheConformanceSyntax()
    {
        var rng = new Random(42);
        // Real opcodes with random fields, plus fully random words: every listing must reassemble to the same bytes.
        byte[] opcodes = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];
        var code = new Instruction[4000];
        for (int i = 0; i < code.Length; i++)
        {
            ulong word = (ulong)rng.NextInt64();
            if (i % 2 == 0)
            {
                // keep fields small so that most land on a named form
                byte op = opcodes[rng.Next(opcodes.Length)];
                var cls = (InstructionClass)(op & 7);
                bool alu = cls is InstructionClass.Alu or InstructionClass.Alu64, jmp = cls is InstructionClass.Jmp or InstructionClass.Jmp32;
                bool regSource = (op & 0x08) != 0;
                byte src = (byte)((alu || jmp) && !regSource ? 0 : rng.Next(11));
                short off = (short)(alu ? 0 : rng.Next(-3, 33));
                int imm = (alu || jmp) && regSource ? 0 : rng.Next(-70, 70);
                code[i] = new Instruction(op, (byte)rng.Next(11), src, off, imm);
            }
            else
            {
                code[i] = Instruction.FromRaw(word);
            }
        }
        string text = Disassembler.Disassemble(code);
        Assert.Equal(code, Assembler.Assemble(text));
        Assert.Equal(code, Assembler.Assemble(Disassembler.Disassemble(code, labels: true)));
        int named = text.Split('\n').Count(l => l.Length > 0 && !l.StartsWith(".insn", StringComparison.Ordinal));
        Assert.True(named > 400, $"only {named} lines had a mnemonic");
        // the verifier syntax never throws either
        Assert.NotEmpty(Disassembler.Disassemble(code, DisassemblySyntax.Verifier));
    }
}
