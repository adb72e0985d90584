using SharpBpf.Asm;
using SharpBpf.Asm.Conformance;

namespace SharpBpf.Tests.Asm;

public class AssemblerTests
{
    public static TheoryData<string> Files => ConformanceData.Names();

    [Theory]
    [MemberData(nameof(Files))]
    public void ConformanceFileRoundTrips(string name)
    {
        var test = ConformanceData.Load(name);
        var code = test.Assemble();
        Assert.NotEmpty(code);
        if (test.Raw is { } raw) Assert.Equal(raw, code.Select(i => i.Raw).ToArray());
        string text = Disassembler.Disassemble(code);
        Assert.DoesNotContain(".insn", text); // every conformance instruction has a mnemonic
        Assert.Equal(code, Assembler.Assemble(text));
        Assert.Equal(code, Assembler.Assemble(Disassembler.Disassemble(code, labels: true)));
        // bytes survive too
        Assert.Equal(code, Instruction.DecodeAll(Instruction.Encode(code)));
    }

    [Fact]
    public void AllConformanceFilesAreCovered()
    {
        Assert.True(ConformanceData.Files().Count() >= 250);
        Assert.Contains(ConformanceData.Tests(), t => t.Raw is not null);
    }

    [Fact]
    public void RawSectionMatchesLddwEncoding()
    {
        var code = Assembler.Assemble("lddw %r0, 0x1122334455667788\nexit");
        Assert.Equal([0x5566778800000018UL, 0x1122334400000000UL, 0x0000000000000095UL], code.Select(i => i.Raw));
    }

    [Fact]
    public void EncodingsOfTheWholeIsa()
    {
        (string Asm, ulong Raw)[] cases =
        [
            ("mov32 %r0, 1", 0x00000001000000b4), ("mov %r1, %r2", 0x00000000000021bf), ("add %r0, -3", 0xfffffffd00000007),
            ("sdiv %r1, %r2", 0x000000000001213f), ("smod32 %r1, 3", 0x0000000300010194), ("neg %r3", 0x0000000000000387),
            ("movsx864 %r2, %r1", 0x00000000000812bf), ("movsx1632 %r4, %r3", 0x00000000001034bc), ("movsx3264 %r0, %r9", 0x00000000002090bf),
            ("le16 %r0", 0x00000010000000d4), ("be64 %r0", 0x00000040000000dc), ("bswap32 %r0", 0x00000020000000d7), ("swap32 %r0", 0x00000020000000d7),
            ("ldxb %r0, [%r1+2]", 0x0000000000021071), ("ldxdw %r0, [%r10-8]", 0x00000000fff8a079), ("ldxsh %r0, [%r1+2]", 0x0000000000021089),
            ("stw [%r1+4], 0x11223344", 0x1122334400040162), ("stxdw [%r10-8], %r1", 0x00000000fff81a7b),
            ("lock add [%r10-8], %r1", 0x00000000fff81adb), ("lock fetch or32 [%r1], %r2", 0x00000041000021c3),
            ("lock xchg [%r1+8], %r2", 0x000000e1000821db), ("lock cmpxchg32 [%r1], %r2", 0x000000f1000021c3),
            ("ldabsh 12", 0x0000000c00000028), ("ldindb %r3, 4", 0x0000000400003050),
            ("jeq %r1, 0x1, +2", 0x0000000100020115), ("jgt32 %r1, %r2, -1", 0x00000000ffff212e), ("ja +3", 0x0000000000030005),
            ("ja32 -1", 0xffffffff00000006), ("gotol +5", 0x0000000500000006), ("may_goto +1", 0x00000000000100e5),
            ("call 1", 0x0000000100000085), ("call local +4", 0x0000000400001085), ("call runtime 77", 0x0000004d00002085),
            ("call %r2", 0x000000000000028d), ("exit", 0x0000000000000095), (".insn 0x00000000000000ff", 0xff),
        ];
        foreach (var (asm, raw) in cases)
        {
            var code = Assembler.Assemble(asm);
            Assert.True(code.Length == 1, asm);
            Assert.True(raw == code[0].Raw, $"{asm}: expected 0x{raw:x16}, got 0x{code[0].Raw:x16}");
            // and back: the disassembly reassembles to the same word
            Assert.Equal(code, Assembler.Assemble(Disassembler.Disassemble(code)));
        }
    }

    [Fact]
    public void LddwPseudoFormsRoundTrip()
    {
        const string src = "lddw %r1, map_fd 3\nlddw %r2, map_value 4, 16\nlddw %r3, btf_id 99\nlddw %r4, map_idx 1\n" +
                           "lddw %r5, map_idx_value 2, 8\nlddw %r6, func f\nexit\nf:\nmov %r0, 0\nexit";
        var code = Assembler.Assemble(src);
        Assert.Equal(PseudoSource.MapFd, code[0].Src);
        Assert.Equal(3, code[0].Imm);
        Assert.Equal(16, code[3].Imm);
        Assert.Equal(PseudoSource.Func, code[10].Src);
        Assert.Equal(2, code[10].Imm); // f is at 13: 13 - 10 - 1
        Assert.Equal(code, Assembler.Assemble(Disassembler.Disassemble(code)));
    }

    [Fact]
    public void UnusualEncodingsFallBackToRawWords()
    {
        // mov with a stray offset, an unknown opcode, a lddw missing its second half
        Instruction[] code = [new(0xb7, 1, 0, 5, 1), new(0xff, 0, 0, 0, 0), new(0x18, 1, 0, 0, 7)];
        string text = Disassembler.Disassemble(code);
        Assert.Equal(3, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith(".insn ", StringComparison.Ordinal)));
        Assert.Equal(code, Assembler.Assemble(text));
    }

    [Fact]
    public void ExitDefinesLabelAndLabelsMayShareALine()
    {
        var code = Assembler.Assemble("jne %r1, 0, exit\nmov %r0, 1\nexit\nL: mov %r0, 2 # comment\nja L");
        Assert.Equal(1, code[0].Offset); // to the first exit at 2
        Assert.Equal(-2, code[4].Offset);
    }

    [Fact]
    public void BuilderAndTextProduceTheSameBytes()
    {
        // call_local.data, written with the builder
        var b = new InstructionBuilder().Mov64(Register.R0, 0);
        for (int r = 1; r <= 9; r++) b.Mov64((Register)r, r);
        b.CallLocal("func1")
            .Jump(JumpOp.Jne, Register.R0, 15, "failed")
            .Jump(JumpOp.Jne, Register.R6, 6, "failed")
            .Jump(JumpOp.Jne, Register.R7, 7, "failed")
            .Jump(JumpOp.Jne, Register.R8, 8, "failed")
            .Jump(JumpOp.Jne, Register.R9, 9, "failed")
            .Mov64(Register.R0, 1).Exit()
            .Label("failed").Mov64(Register.R0, -1).Exit()
            .Label("func1").Mov64(Register.R0, 0);
        for (int r = 1; r <= 5; r++) b.Add64(Register.R0, (Register)r);
        for (int r = 6; r <= 9; r++) b.Mov64((Register)r, 0);
        b.Exit();
        Assert.Equal(ConformanceData.Load("call_local").Assemble(), b.Build());

        // lock_fetch_add32.data
        var lockFetch = new InstructionBuilder()
            .LoadImm64(Register.R0, 0x123456789abcdef0)
            .Store(MemorySize.DWord, Register.R10, -8, Register.R0)
            .Mov64(Register.R1, 1)
            .Atomic(AtomicOp.Add, MemorySize.Word, Register.R10, -8, Register.R1, fetch: true)
            .Jump32(JumpOp.Jne, Register.R1, Register.R0, "exit")
            .Load(MemorySize.DWord, Register.R1, Register.R10, -8)
            .LoadImm64(Register.R0, 0x123456789abcdef1)
            .Jump(JumpOp.Jne, Register.R0, Register.R1, "exit")
            .Mov64(Register.R0, 0)
            .Label("exit").Exit()
            .Build();
        Assert.Equal(ConformanceData.Load("lock_fetch_add32").Assemble(), lockFetch);

        // rfc9669_movsx.data (the part up to the first check), plus endian and signed forms
        var misc = new InstructionBuilder()
            .Mov32(Register.R1, 0x80).MovSx32(Register.R2, Register.R1, 8)
            .MovSx64(Register.R0, Register.R9, 32)
            .ToBigEndian(Register.R0, 16).ToLittleEndian(Register.R0, 32).ByteSwap(Register.R0, 64)
            .Signed64(AluOp.Div, Register.R1, Register.R2).Signed32(AluOp.Mod, Register.R1, -3)
            .LoadSx(MemorySize.Byte, Register.R3, Register.R1, 1)
            .StoreImm(MemorySize.Half, Register.R10, -2, 0x1234)
            .Atomic(AtomicOp.CmpXchg, MemorySize.DWord, Register.R10, -8, Register.R1)
            .Gotol("end").Call(5).CallKfunc(77).CallX(Register.R2).LoadAbs(MemorySize.Byte, 3).LoadInd(MemorySize.Word, Register.R4, 8)
            .Label("end").Exit()
            .Build();
        const string miscText = """
            mov32 %r1, 0x00000080
            movsx832 %r2, %r1
            movsx3264 %r0, %r9
            be16 %r0
            le32 %r0
            swap64 %r0
            sdiv %r1, %r2
            smod32 %r1, -3
            ldxsb %r3, [%r1+1]
            sth [%r10-2], 0x1234
            lock cmpxchg [%r10-8], %r1
            gotol end
            call 5
            call runtime 77
            call %r2
            ldabsb 3
            ldindw %r4, 8
            end: exit
            """;
        Assert.Equal(Assembler.Assemble(miscText), misc);
    }

    [Theory]
    [InlineData("mov %r0, 1\nfrob %r1, 2", 2, 1, "unknown mnemonic 'frob'")]
    [InlineData("mov %r0,", 1, 9, "empty operand")]
    [InlineData("mov %r11x, 1", 1, 5, "expected a register")]
    [InlineData("mov %r0, 0x1ffffffff", 1, 10, "does not fit in 32 bits")]
    [InlineData("mov %r0, zz", 1, 10, "expected a number")]
    [InlineData("  ldxw %r0, %r1+4", 1, 13, "expected a memory operand")]
    [InlineData("ldxw %r0, [%r1+70000]", 1, 15, "does not fit in 16 bits")]
    [InlineData("ja nowhere", 1, 1, "undefined label 'nowhere'")]
    [InlineData("x:\nx:", 2, 1, "duplicate label 'x'")]
    [InlineData("exit 1", 1, 6, "takes 0 operands")]
    [InlineData("jeq %r1, 1", 1, 1, "takes 3 operands")]
    [InlineData("lock fetch xchg [%r1], %r2", 1, 12, "always fetches")]
    [InlineData("lock nand [%r1], %r2", 1, 6, "unknown atomic operation")]
    [InlineData("call local", 1, 6, "takes one operand")]
    [InlineData("movsx99 %r0, %r1", 1, 1, "unknown mnemonic")]
    [InlineData("lddw %r0, 0x1ffffffffffffffff", 1, 11, "expected a number")]
    [InlineData("lddw %r0, banana 3", 1, 11, "expected a 64-bit value")]
    [InlineData("ja +40000", 1, 4, "does not fit in 16 bits")]
    [InlineData("@", 1, 1, "expected a mnemonic or label")]
    public void BadInputNamesLineAndColumn(string source, int line, int column, string problem)
    {
        var e = Assert.Throws<AssemblerException>(() => Assembler.Assemble(source));
        Assert.Equal(line, e.Line);
        Assert.Equal(column, e.Column);
        Assert.Contains(problem, e.Message);
        Assert.StartsWith($"line {line}, column {column}: ", e.Message);
    }

    [Fact]
    public void ConformanceFileErrorsUseFileLineNumbers()
    {
        var test = ConformanceTest.Parse("# header\n-- asm\nmov %r0, 1\nbogus\n-- result\n0x1\n", "t");
        var e = Assert.Throws<AssemblerException>(test.Assemble);
        Assert.Equal(4, e.Line);
    }

    [Fact]
    public void RandomGarbageNeverEscapesAsAnotherException()
    {
        var rng = new Random(1234);
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789%[]+-,:# x\t.";
        string[] seeds = ["mov %r0, 1", "ldxw %r0, [%r1+4]", "lock fetch add [%r10-8], %r1", "jeq %r1, 1, +2", "call local f", "lddw %r1, map_value 1, 2"];
        for (int n = 0; n < 3000; n++)
        {
            var chars = seeds[n % seeds.Length].ToCharArray();
            for (int k = 0; k < 1 + n % 4; k++) chars[rng.Next(chars.Length)] = alphabet[rng.Next(alphabet.Length)];
            string src = new(chars);
            try
            {
                Assembler.Assemble(src);
            }
            catch (AssemblerException)
            {
            }
        }
    }

    [Fact]
    public void BuilderRejectsMisuse()
    {
        Assert.Throws<InvalidOperationException>(() => new InstructionBuilder().Ja("missing").Build());
        Assert.Throws<ArgumentException>(() => new InstructionBuilder().Label("a").Label("a"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InstructionBuilder().ByteSwap(Register.R0, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InstructionBuilder().MovSx32(Register.R0, Register.R1, 32));
        Assert.Throws<ArgumentException>(() => new InstructionBuilder().Atomic(AtomicOp.Add, MemorySize.Byte, Register.R1, 0, Register.R2));
        Assert.Throws<ArgumentException>(() => new InstructionBuilder().Jump(JumpOp.Call, Register.R1, 0, "x"));
        var far = new InstructionBuilder().Ja("end");
        for (int i = 0; i < 40000; i++) far.Mov64(Register.R0, 0);
        Assert.Throws<InvalidOperationException>(() => far.Label("end").Exit().Build());
    }
}
