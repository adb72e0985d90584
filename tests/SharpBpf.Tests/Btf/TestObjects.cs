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

    private static (ulong Off, ulong Size, uint Name, uint Type, uint Link) Header(byte[] elf, int i)
    {
        var s = elf.AsSpan();
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(s[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(s[0x3a..]);
        var h = s[(int)(shoff + (ulong)(i * shentsize))..];
        return (BinaryPrimitives.ReadUInt64LittleEndian(h[0x18..]), BinaryPrimitives.ReadUInt64LittleEndian(h[0x20..]),
            BinaryPrimitives.ReadUInt32LittleEndian(h), BinaryPrimitives.ReadUInt32LittleEndian(h[4..]), BinaryPrimitives.ReadUInt32LittleEndian(h[0x28..]));
    }

    private static string CString(byte[] elf, ulong at)
    {
        var n = elf.AsSpan((int)at);
        return Encoding.ASCII.GetString(n[..n.IndexOf((byte)0)]);
    }

    /// <summary>Section name → (index, size) of every section.</summary>
    public static Dictionary<string, (int Index, uint Size)> Sections(byte[] elf)
    {
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3c));
        int shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3e));
        var strtab = Header(elf, shstrndx);
        var result = new Dictionary<string, (int, uint)>();
        for (int i = 1; i < shnum; i++)
        {
            var h = Header(elf, i);
            result[CString(elf, strtab.Off + h.Name)] = (i, (uint)h.Size);
        }
        return result;
    }

    /// <summary>Global/weak STT_OBJECT symbols: name → (st_value, hidden/internal visibility), as libbpf's
    /// find_elf_var_sym sees them.</summary>
    public static Dictionary<string, SharpBpf.Btf.BtfVariableSymbol> VariableSymbols(byte[] elf)
    {
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3c));
        var result = new Dictionary<string, SharpBpf.Btf.BtfVariableSymbol>();
        for (int i = 1; i < shnum; i++)
        {
            var h = Header(elf, i);
            if (h.Type != 2) continue; // SHT_SYMTAB
            var strtab = Header(elf, (int)h.Link);
            for (ulong at = h.Off + 24; at < h.Off + h.Size; at += 24)
            {
                var sym = elf.AsSpan((int)at, 24);
                byte info = sym[4], other = sym[5];
                int bind = info >> 4, type = info & 0xf, vis = other & 3;
                if (type != 1 || bind is not (1 or 2)) continue; // STT_OBJECT, STB_GLOBAL/WEAK
                string name = CString(elf, strtab.Off + BinaryPrimitives.ReadUInt32LittleEndian(sym));
                result[name] = new((uint)BinaryPrimitives.ReadUInt64LittleEndian(sym[8..]), vis is 1 or 2);
            }
        }
        return result;
    }

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

/// <summary>Runs an external tool (bpftool, clang-14) for cross-checks.</summary>
internal static class Tool
{
    public static bool Exists(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, name)));

    /// <summary>Skips (or fails under SHARPBPF_REQUIRE_KERNEL=1) when <paramref name="name"/> is not installed.</summary>
    public static void Require(string name)
    {
        if (Exists(name)) return;
        if (SharpBpf.TestUtilities.KernelTest.Required) Assert.Fail($"{name} is not installed");
        Assert.Skip($"{name} is not installed");
    }

    /// <summary>Runs the tool; returns stdout, throws with stderr on a non-zero exit.</summary>
    public static string Run(string name, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(name)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + name);
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{name} {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        return stdout;
    }
}
