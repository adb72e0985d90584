using System.Buffers.Binary;
using System.Text;
using SharpBpf.Elf;

namespace SharpBpf.Tests.Elf;

/// <summary>Specific malformed or unsupported objects give <see cref="ElfFormatException"/> naming the problem.</summary>
public class ElfErrorTests
{
    private static ElfFormatException Fails(byte[] bytes) => Assert.Throws<ElfFormatException>(() => ElfReader.Read(bytes, "x"));

    /// <summary>Replaces the first NUL-terminated <paramref name="from"/> inside section <paramref name="section"/>.</summary>
    private static byte[] ReplaceOnce(byte[] bytes, string section, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        var f = Encoding.ASCII.GetBytes(from + "\0");
        var sec = ElfFile.Parse(bytes).Sections.First(s => s.Name == section);
        int at = bytes.AsSpan(sec.Offset, sec.Size).IndexOf(f);
        if (at >= 0) at += sec.Offset;
        Assert.True(at >= 0, $"'{from}' not found");
        var copy = (byte[])bytes.Clone();
        Encoding.ASCII.GetBytes(to).CopyTo(copy, at);
        return copy;
    }

    [Fact]
    public void EmptyAndTruncatedHeaders()
    {
        Assert.Contains("64-byte ELF64 header", Fails([]).Message);
        var bytes = TestData.Read("xdp_pass.bpf.o");
        Assert.Equal(0, Fails(bytes[..63]).Offset);
        var e = Fails(bytes[..(bytes.Length - 1)]);
        Assert.Contains("section headers", e.Message);
    }

    [Fact]
    public void WrongMagicClassEndiannessMachine()
    {
        var bytes = TestData.Read("xdp_pass.bpf.o");
        var b = (byte[])bytes.Clone(); b[1] = (byte)'X';
        Assert.Contains("magic", Fails(b).Message);
        b = (byte[])bytes.Clone(); b[4] = 1;
        Assert.Equal(4, Fails(b).Offset);
        b = (byte[])bytes.Clone(); b[5] = 2;
        Assert.Contains("big-endian", Fails(b).Message);
        b = (byte[])bytes.Clone(); BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), 62);
        Assert.Contains("EM_BPF", Fails(b).Message);
    }

    [Fact]
    public void UnknownProgramSectionIsNamed()
    {
        var bytes = ReplaceOnce(TestData.Read("socket_filter.bpf.o"), ".strtab", "socket", "sockex");
        var e = Fails(bytes);
        Assert.Contains("'sockex'", e.Message);
        Assert.Contains("unknown", e.Message);
    }

    [Fact]
    public void UnknownBtfMapAttributeIsNamed()
    {
        var bytes = ReplaceOnce(TestData.Read("pinned_maps.bpf.o"), ".BTF", "pinning", "pinnxng");
        var e = Fails(bytes);
        Assert.Contains("'pinnxng'", e.Message);
        Assert.Contains("shared_counts", e.Message);
    }

    [Fact]
    public void RelocationAgainstUnknownSymbolSectionIsReported()
    {
        // Point the map relocation of legacy_count at the license symbol instead of a map.
        var bytes = TestData.Read("legacy_maps.bpf.o");
        var elf = ElfFile.Parse(bytes);
        var rel = elf.Sections.First(s => s.Name == ".relsocket");
        var license = elf.Symbols.First(s => s.Name == "LICENSE");
        var copy = (byte[])bytes.Clone();
        ulong info = BinaryPrimitives.ReadUInt64LittleEndian(copy.AsSpan(rel.Offset + 8));
        BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(rel.Offset + 8), ((ulong)license.Index << 32) | (uint)info);
        var e = Fails(copy);
        Assert.Contains("'LICENSE'", e.Message);
        Assert.Equal(rel.Offset, e.Offset);
    }

    [Fact]
    public void StrippedObjectHasNoSymbolTable()
    {
        var bytes = TestData.Read("xdp_pass.bpf.o");
        var elf = ElfFile.Parse(bytes);
        var symtab = elf.Sections[elf.SymbolTableIndex];
        var copy = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan((int)symtab.HeaderOffset + 4), 1); // SHT_PROGBITS
        Assert.Contains("symbol table", Fails(copy).Message);
    }
}
