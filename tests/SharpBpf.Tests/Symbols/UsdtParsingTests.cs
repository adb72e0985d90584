using System.Buffers.Binary;
using System.Text;
using SharpBpf.Links;
using SharpBpf.Symbols;
using SharpBpf.Tests.Links;

namespace SharpBpf.Tests.Symbols;

public class UsdtParsingTests
{
    [Fact]
    public void ArgumentSpecsOfEveryOperandKind()
    {
        var args = UsdtArgument.ParseAll("-4@%edi 8@-8(%rbp) 4@$5 -8@$-1234567890123 1@%cl -2@12(%rdi) 8@(%rsp) 2@%r9w 8@0x10(%r15) 4@$0xff", "p:n");
        Assert.Equal(10, args.Length);
        Assert.Equal(new UsdtArgument(UsdtArgumentKind.Register, 4, true, 0, "edi", 112), args[0]);
        Assert.Equal(new UsdtArgument(UsdtArgumentKind.RegisterDeref, 8, false, -8, "rbp", 32), args[1]);
        Assert.Equal(new UsdtArgument(UsdtArgumentKind.Constant, 4, false, 5, null, -1), args[2]);
        Assert.Equal(-1234567890123, args[3].Value);
        Assert.True(args[3].IsSigned);
        Assert.Equal((UsdtArgumentKind.Register, (short)88, (byte)56), (args[4].Kind, args[4].RegisterOffset, args[4].BitShift));
        Assert.Equal((12L, (short)112, (byte)48), (args[5].Value, args[5].RegisterOffset, args[5].BitShift));
        Assert.Equal((0L, (short)152, (byte)0), (args[6].Value, args[6].RegisterOffset, args[6].BitShift));
        Assert.Equal((short)64, args[7].RegisterOffset);
        Assert.Equal((16L, (short)0), (args[8].Value, args[8].RegisterOffset));
        Assert.Equal(255L, args[9].Value);
        Assert.Empty(UsdtArgument.ParseAll("", "p:n"));
        Assert.Empty(UsdtArgument.ParseAll("  ", "p:n"));
    }

    [Fact]
    public void EveryRegisterAliasReadsItsPtRegsSlot()
    {
        // offsetof(struct pt_regs, ...) on x86-64.
        (string[] Names, short Offset)[] table =
        [
            (["rax", "eax", "ax", "al"], 80), (["rbx", "ebx", "bx", "bl"], 40), (["rcx", "ecx", "cx", "cl"], 88),
            (["rdx", "edx", "dx", "dl"], 96), (["rsi", "esi", "si", "sil"], 104), (["rdi", "edi", "di", "dil"], 112),
            (["rbp", "ebp", "bp", "bpl"], 32), (["rsp", "esp", "sp", "spl"], 152), (["rip"], 128),
            (["r8", "r8d", "r8w", "r8b"], 72), (["r9", "r9d", "r9w", "r9b"], 64), (["r10", "r10d", "r10w", "r10b"], 56),
            (["r11", "r11d", "r11w", "r11b"], 48), (["r12", "r12d", "r12w", "r12b"], 24), (["r13", "r13d", "r13w", "r13b"], 16),
            (["r14", "r14d", "r14w", "r14b"], 8), (["r15", "r15d", "r15w", "r15b"], 0),
        ];
        foreach (var (names, offset) in table)
            foreach (var n in names)
                Assert.Equal(offset, UsdtArgument.RegisterOffsetOf(n));
        Assert.Null(UsdtArgument.RegisterOffsetOf("ah"));
    }

    [Theory]
    [InlineData("%edi", 0, "SIZE@OPERAND")]
    [InlineData("-4@%edi 3@%eax", 1, "size '3'")]
    [InlineData("16@%rax", 0, "size '16'")]
    [InlineData("x@%rax", 0, "size 'x'")]
    [InlineData("4@", 0, "no operand")]
    [InlineData("4@%ah", 0, "register '%ah'")]
    [InlineData("4@%xmm0", 0, "register '%xmm0'")]
    [InlineData("4@$abc", 0, "constant 'abc'")]
    [InlineData("4@$-", 0, "constant '-'")]
    [InlineData("8@sym(%rip)", 0, "symbolic offsets")]
    [InlineData("8@8(%rax,%rbx,4)", 0, "indexed")]
    [InlineData("8@8(rax)", 0, "%register inside")]
    [InlineData("8@8(%rax", 0, "expected $CONSTANT")]
    [InlineData("8@rax", 0, "expected $CONSTANT")]
    [InlineData("8@(%bogus)", 0, "register '%bogus'")]
    public void MalformedArgumentSpecsNameTheProbeAndTheArgument(string spec, int index, string reason)
    {
        var e = Assert.Throws<UsdtArgumentException>(() => UsdtArgument.ParseAll(spec, "prov:probe"));
        Assert.Equal("prov:probe", e.Probe);
        Assert.Equal(spec, e.Spec);
        Assert.Equal(index, e.ArgumentIndex);
        Assert.Contains(reason, e.Message);
        Assert.Contains("prov:probe", e.Message);
    }

    [Fact]
    public void MoreThanTwelveArgumentsIsAnError()
    {
        string spec = string.Join(' ', Enumerable.Repeat("4@$1", 13));
        var e = Assert.Throws<UsdtArgumentException>(() => UsdtArgument.ParseAll(spec, "p:n"));
        Assert.Equal(-1, e.ArgumentIndex);
        Assert.Contains("at most 12", e.Message);
    }

    [Fact]
    public void SpecEncodingMatchesUsdtBpfHLayout()
    {
        var args = UsdtArgument.ParseAll("-4@%edi 8@-8(%rbp) 1@$200", "p:n");
        var bytes = new byte[UsdtLink.SpecSize];
        UsdtLink.EncodeSpec(args, 0x1122334455667788, bytes);
        // args[0]: val_off 0, REG, reg_off 112, signed, bitshift 32
        Assert.Equal(0L, BinaryPrimitives.ReadInt64LittleEndian(bytes));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(112, BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(12)));
        Assert.Equal((1, 32), (bytes[14], bytes[15]));
        // args[1]: val_off -8, REG_DEREF, reg_off 32, unsigned, bitshift 0
        Assert.Equal(-8L, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24)));
        Assert.Equal(32, BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(28)));
        Assert.Equal((0, 0), (bytes[30], bytes[31]));
        // args[2]: CONST 200, bitshift 56
        Assert.Equal(200L, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(32)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(40)));
        Assert.Equal(56, bytes[47]);
        Assert.All(bytes[48..192], b => Assert.Equal(0, b));
        Assert.Equal(0x1122334455667788ul, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(192)));
        Assert.Equal(3, BinaryPrimitives.ReadInt16LittleEndian(bytes.AsSpan(200)));
    }

    [Fact]
    public void SpecSizeAndOffsetsMatchTheObjectsBtf()
    {
        // The struct as clang laid it out from /usr/include/bpf/usdt.bpf.h, read back from the object's BTF.
        var spec = SharpBpf.TestUtilities.TestData.Spec("usdt.bpf.o");
        Assert.Equal((uint)UsdtLink.SpecSize, spec.Maps[UsdtLink.SpecMapName].ValueSize);
        Assert.Equal(4u, spec.Maps[UsdtLink.SpecMapName].KeySize);
    }

    private static byte[] Note(string owner, uint type, byte[] desc)
    {
        var name = Encoding.ASCII.GetBytes(owner + "\0");
        int nameLen = (name.Length + 3) & ~3, descLen = (desc.Length + 3) & ~3;
        var note = new byte[12 + nameLen + descLen];
        BinaryPrimitives.WriteUInt32LittleEndian(note, (uint)name.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(4), (uint)desc.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(note.AsSpan(8), type);
        name.CopyTo(note, 12);
        desc.CopyTo(note, 12 + nameLen);
        return note;
    }

    private static byte[] Desc(ulong pc, ulong baseAddr, ulong sema, string strings)
    {
        var s = Encoding.ASCII.GetBytes(strings);
        var d = new byte[24 + s.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(d, pc);
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(8), baseAddr);
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(16), sema);
        s.CopyTo(d, 24);
        return d;
    }

    [Fact]
    public void NotesAreParsedAndOtherOwnersSkipped()
    {
        byte[] data = [.. Note("stapsdt", 3, Desc(0x401136, 0x402010, 0x404030, "sb\0args\0-4@%edi 8@$1\0")),
                       .. Note("GNU", 3, [1, 2, 3, 4]),
                       .. Note("stapsdt", 3, Desc(0x401200, 0, 0, "prov\0noargs\0\0"))];
        var notes = UsdtNotes.ParseNotes(data, "bin", 100);
        Assert.Equal(2, notes.Count);
        Assert.Equal(("sb", "args", 0x401136ul, 0x402010ul, 0x404030ul, "-4@%edi 8@$1", 100L),
            (notes[0].Provider, notes[0].Name, notes[0].Pc, notes[0].Base, notes[0].Semaphore, notes[0].Args, notes[0].NoteOffset));
        Assert.Equal(("prov", "noargs", ""), (notes[1].Provider, notes[1].Name, notes[1].Args));
    }

    public static TheoryData<string, byte[], string> MalformedNotes()
    {
        var good = Note("stapsdt", 3, Desc(1, 2, 3, "a\0b\0c\0"));
        var hugeDesc = good.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(hugeDesc.AsSpan(4), 0xffff_fff0);
        var hugeName = good.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(hugeName, 0xffff_ffff);
        return new()
        {
            { "short header", good[..8], "12-byte note header" },
            { "truncated", good[..^4], "inside .note.stapsdt" },
            { "huge descsz", hugeDesc, "inside .note.stapsdt" },
            { "huge namesz", hugeName, "inside .note.stapsdt" },
            { "no addresses", Note("stapsdt", 3, new byte[16]), "3 addresses" },
            { "no NUL", Note("stapsdt", 3, Desc(1, 2, 3, "abc")), "NUL-terminated provider" },
            { "no args string", Note("stapsdt", 3, Desc(1, 2, 3, "a\0b\0c")), "NUL-terminated argument spec of a:b" },
            { "empty provider", Note("stapsdt", 3, Desc(1, 2, 3, "\0b\0\0")), "provider and a probe name" },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedNotes))]
    public void MalformedNotesAreTypedErrors(string what, byte[] data, string expected)
    {
        var e = Assert.Throws<BinaryFormatException>(() => UsdtNotes.ParseNotes(data, "bin", 0));
        Assert.Contains(expected, e.Message);
        Assert.Equal("bin", e.Path);
        Assert.NotEmpty(what);
    }

    [Fact]
    public void ProbesOfABuiltBinaryHaveFileOffsetsAndSemaphores()
    {
        var probes = UsdtNotes.Read(UsdtTarget.Path);
        Assert.Equal(["args", "guarded", "stack"], probes.Select(p => p.Name).Order());
        Assert.All(probes, p => Assert.Equal("sb", p.Provider));
        var table = ElfSymbolTable.Read(UsdtTarget.Path);
        foreach (var p in probes)
        {
            Assert.Equal(table.AddressToFileOffset(p.Address), p.FileOffset);
            Assert.NotEqual(p.Address, p.FileOffset); // non-PIE
            // The probe is inside the function that fires it.
            var fn = table.Find($"fire_{p.Name}");
            Assert.InRange(p.Address, fn.Address, fn.Address + fn.Size);
        }
        var guarded = probes.Single(p => p.Name == "guarded");
        var sema = table.Symbols.Single(s => s.Name == "sb_guarded_semaphore");
        Assert.Equal(sema.Address, guarded.SemaphoreAddress);
        Assert.Equal(table.AddressToFileOffset(sema.Address), guarded.SemaphoreFileOffset);
        Assert.Equal(0ul, probes.Single(p => p.Name == "args").SemaphoreAddress);
        Assert.Equal(10, probes.Single(p => p.Name == "args").ParseArguments().Count);
        Assert.DoesNotContain(UsdtNotes.Read("/bin/true"), p => p.Provider == "sb");
    }

    [Fact]
    public void ProbesOfASharedLibraryAreInsideTheirFunctions()
    {
        var table = ElfSymbolTable.Read(UsdtTarget.LibraryPath);
        Assert.Equal(3, table.ElfType); // ET_DYN
        Assert.NotNull(table.FindSection(".stapsdt.base"));
        var probes = UsdtNotes.Read(table);
        Assert.Equal(["args", "stack"], probes.Select(p => p.Name).Order());
        foreach (var p in probes)
        {
            var fn = table.Find($"fire_{p.Name}");
            Assert.InRange(p.Address, fn.Address, fn.Address + fn.Size);
            Assert.Equal(table.AddressToFileOffset(p.Address), p.FileOffset);
            Assert.NotEmpty(p.ParseArguments());
        }
    }
}
