using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Tests.Btf;

/// <summary>The checked-in clang-14 objects under tests/SharpBpf.Tests/Btf/testdata (rebuilt by its build.sh) and a
/// minimal ELF64 section lookup, enough to pull .BTF and .BTF.ext out of them without the library's ELF reader.</summary>
internal static class TestObjects
{
    public static string Dir { get; } = FindDir();

    private static string FindDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SharpBpf.slnx")))
                return Path.Combine(dir.FullName, "tests", "SharpBpf.Tests", "Btf", "testdata");
        throw new DirectoryNotFoundException("repository root (SharpBpf.slnx) not found above " + AppContext.BaseDirectory);
    }

    public static string PathOf(string name) => Path.Combine(Dir, name);

    public static byte[] Read(string name) => File.ReadAllBytes(PathOf(name));

    /// <summary>The contents of section <paramref name="name"/> of a little-endian ELF64 file, or null.</summary>
    public static byte[]? Section(byte[] elf, string name)
    {
        var s = elf.AsSpan();
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(s[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(s[0x3a..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(s[0x3c..]);
        int shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(s[0x3e..]);
        (ulong Off, ulong Size, uint Name) Header(int i)
        {
            var h = elf.AsSpan((int)(shoff + (ulong)(i * shentsize)));
            return (BinaryPrimitives.ReadUInt64LittleEndian(h[0x18..]), BinaryPrimitives.ReadUInt64LittleEndian(h[0x20..]),
                BinaryPrimitives.ReadUInt32LittleEndian(h));
        }
        var strtab = Header(shstrndx);
        for (int i = 1; i < shnum; i++)
        {
            var h = Header(i);
            var n = s[(int)(strtab.Off + h.Name)..];
            if (Encoding.ASCII.GetString(n[..n.IndexOf((byte)0)]) == name) return s.Slice((int)h.Off, (int)h.Size).ToArray();
        }
        return null;
    }
}
