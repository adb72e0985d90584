using System.Buffers.Binary;
using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf;

/// <summary>.BTF.ext of clang-14 objects (testdata/ext.bpf.c): func_info, line_info and core_relo per section,
/// checked against the source; bad input gives <see cref="BtfFormatException"/> only.</summary>
public class BtfExtTests
{
    private static (BtfSpec Btf, BtfExt Ext, byte[] ExtBlob) Load(string obj)
    {
        var elf = TestObjects.Read(obj);
        var btf = BtfSpec.Parse(TestObjects.Section(elf, ".BTF")!);
        var blob = TestObjects.Section(elf, ".BTF.ext")!;
        return (btf, BtfExt.Parse(blob, btf), blob);
    }

    [Fact]
    public void FuncInfoNamesEveryFunctionAtItsSectionStart()
    {
        var (btf, ext, _) = Load("ext.bpf.o");
        Assert.Equal(new[] { ".text", "socket", "xdp" }, ext.Sections.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(8, ext.FuncInfoRecordSize);
        Assert.Equal(16, ext.LineInfoRecordSize);
        string FuncAt(string sec, int index) =>
            btf.TypeById(Assert.Single(ext.GetSection(sec).FuncInfos, f => f.InstructionIndex == index).TypeId).Name;
        Assert.Equal("xdp_count", FuncAt("xdp", 0));
        Assert.Equal("sock_core", FuncAt("socket", 0));
        Assert.Equal("add", FuncAt(".text", 0));
        Assert.Empty(ext.GetSection("nonexistent").FuncInfos);
    }

    [Fact]
    public void LineInfoMatchesTheSourceText()
    {
        var (btf, ext, _) = Load("ext.bpf.o");
        var source = File.ReadAllLines(TestObjects.PathOf("ext.bpf.c"));
        int checkedLines = 0;
        foreach (var sec in ext.Sections.Values)
        {
            Assert.NotEmpty(sec.LineInfos);
            foreach (var li in sec.LineInfos)
            {
                Assert.EndsWith("ext.bpf.c", li.FileName);
                Assert.Equal(btf.GetString(li.FileNameOffset), li.FileName);
                if (li.LineNumber == 0) continue; // compiler-generated code has no line
                Assert.InRange(li.LineNumber, 1u, (uint)source.Length);
                Assert.Equal(source[li.LineNumber - 1].Trim(), li.Line.Trim());
                Assert.InRange(li.Column, 0u, (uint)source[li.LineNumber - 1].Length + 1);
                checkedLines++;
            }
        }
        Assert.True(checkedLines >= 8, $"{checkedLines} line records");
        // llvm-objdump -l: xdp insn 0 is line 21 ("counter = add(counter, 1);"), insn 6 is line 22 ("return XDP_PASS;").
        var xdp = ext.GetSection("xdp").LineInfos;
        Assert.Equal(21u, xdp.Single(l => l.InstructionIndex == 0).LineNumber);
        Assert.Contains("counter = add(counter, 1);", xdp.Single(l => l.InstructionIndex == 0).Line);
        Assert.Equal(22u, xdp.Single(l => l.InstructionIndex == 6).LineNumber);
        Assert.Equal(2u, xdp.Single(l => l.InstructionIndex == 6).Column); // after the tab
    }

    [Fact]
    public void CoreRelocationsNameTheAccessedFields()
    {
        var (btf, ext, _) = Load("ext.bpf.o");
        var relos = ext.GetSection("socket").CoreRelocations;
        Assert.Equal(4, relos.Count);
        Assert.All(relos, r =>
        {
            Assert.Equal(BtfCoreRelocationKind.FieldByteOffset, r.Kind);
            Assert.Equal("task_like", btf.TypeById(r.TypeId).Name);
        });
        // llvm-objdump: stores to local.pid (insn 3) and local.flags (insn 5), then loads of t->flags (11) and t->pid (12).
        Assert.Equal(new[] { ("0:0", 3), ("0:1", 5), ("0:1", 11), ("0:0", 12) },
            relos.Select(r => (r.AccessString, r.InstructionIndex)).OrderBy(r => r.InstructionIndex));
        Assert.Empty(ext.GetSection("xdp").CoreRelocations);
        Assert.Equal(16, ext.CoreRelocationRecordSize);
    }

    [Fact]
    public void ParsingTwiceGivesEqualRecords()
    {
        var (btf, a, blob) = Load("ext.bpf.o");
        var b = BtfExt.Parse(blob, btf);
        foreach (var (name, sec) in a.Sections)
        {
            Assert.Equal(sec.FuncInfos, b.Sections[name].FuncInfos);
            Assert.Equal(sec.LineInfos, b.Sections[name].LineInfos);
            Assert.Equal(sec.CoreRelocations, b.Sections[name].CoreRelocations);
        }
    }

    [Fact]
    public void MalformedHeadersNameTheProblem()
    {
        var (btf, _, blob) = Load("ext.bpf.o");
        byte[] Mut(Action<byte[]> m) { var c = (byte[])blob.Clone(); m(c); return c; }
        var e = Assert.Throws<BtfFormatException>(() => BtfExt.Parse(blob.AsMemory(0, 10), btf));
        Assert.Contains("header", e.Message);
        e = Assert.Throws<BtfFormatException>(() => BtfExt.Parse(Mut(b => b[0] = 0), btf));
        Assert.Contains("magic", e.Message);
        e = Assert.Throws<BtfFormatException>(() => BtfExt.Parse(Mut(b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), 1_000_000)), btf));
        Assert.Contains("func_info subsection", e.Message);
        Assert.Equal(8, e.Offset);
        // func_info record size 4 (below struct bpf_func_info)
        int hdr = BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(4));
        int funcOff = hdr + BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(8));
        e = Assert.Throws<BtfFormatException>(() => BtfExt.Parse(Mut(b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(funcOff), 4)), btf));
        Assert.Contains("record size", e.Message);
        Assert.Equal(funcOff, e.Offset);
        // first func record's type id → a non-func type
        e = Assert.Throws<BtfFormatException>(() => BtfExt.Parse(Mut(b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(funcOff + 4 + 8 + 4), 1)), btf));
        Assert.Contains("func type id", e.Message);
    }

    [Fact]
    public void TruncationsAndFlipsGiveOnlyFormatExceptions()
    {
        var (btf, _, blob) = Load("ext.bpf.o");
        int rejected = 0;
        for (int len = 0; len < blob.Length; len++)
        {
            try { BtfExt.Parse(blob.AsMemory(0, len), btf); }
            catch (BtfFormatException) { rejected++; }
        }
        Assert.True(rejected > blob.Length / 2, $"only {rejected} of {blob.Length} truncations rejected");
        var rng = new Random(55);
        int parsed = 0, errors = 0;
        for (int i = 0; i < 20_000; i++)
        {
            var copy = (byte[])blob.Clone();
            for (int f = rng.Next(1, 4); f > 0; f--) copy[rng.Next(copy.Length)] = (byte)rng.Next(256);
            try
            {
                var ext = BtfExt.Parse(copy, btf);
                foreach (var s in ext.Sections.Values) _ = s.ToString();
                parsed++;
            }
            catch (BtfFormatException) { errors++; }
        }
        Assert.True(errors > 1000 && parsed > 100, $"{errors} rejected, {parsed} parsed");
    }
}
