using System.Diagnostics;
using System.Runtime.InteropServices;
using SharpBpf.Symbols;
using SharpBpf.Tests.Links;

namespace SharpBpf.Tests.Symbols;

public class ElfSymbolTableTests
{
    private static string Libc => BinaryLocator.Resolve("libc.so.6");

    [Fact]
    public void ResolvesFunctionsOfAnExecutableThroughTheLoadSegments()
    {
        var table = ElfSymbolTable.Read(ProbeTarget.Path);
        Assert.Equal(2, table.ElfType); // -no-pie: ET_EXEC
        var target = table.Find("sb_target");
        Assert.Equal(SymbolKind.Function, target.Kind);
        Assert.False(target.IsDynamic);
        var text = Assert.Single(table.LoadSegments, s => s.IsExecutable && target.Address >= s.VirtualAddress && target.Address < s.VirtualAddress + s.FileSize);
        Assert.Equal(target.Address - text.VirtualAddress + text.FileOffset, table.ResolveFileOffset("sb_target"));
        Assert.NotEqual(target.Address, table.ResolveFileOffset("sb_target"));
        Assert.NotEqual(table.ResolveFileOffset("sb_target"), table.ResolveFileOffset("sb_second"));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.AddressToFileOffset(0x10));
    }

    [Fact]
    public void VersionedSymbolsOfLibc()
    {
        Assert.SkipUnless(RuntimeInformation.ProcessArchitecture == Architecture.X64, "glibc symbol versions checked here are x86-64's");
        var table = ElfSymbolTable.Read(Libc);
        Assert.Equal(3, table.ElfType);
        var malloc = table.Find("malloc@@GLIBC_2.2.5");
        Assert.Equal(malloc, table.Find("malloc"));
        Assert.Equal(malloc, table.Find("malloc@GLIBC_2.2.5"));
        Assert.True(malloc.IsDynamic);
        Assert.Equal("malloc@@GLIBC_2.2.5", malloc.FullName);

        // memcpy: a hidden compatibility version and a default one at different addresses; the plain name is the default.
        var plain = table.Find("memcpy");
        Assert.True(plain.IsDefaultVersion);
        Assert.Equal("GLIBC_2.14", plain.Version);
        var old = table.Find("memcpy@GLIBC_2.2.5");
        Assert.False(old.IsDefaultVersion);
        Assert.NotEqual(plain.Address, old.Address);
        var e = Assert.Throws<SymbolNotFoundException>(() => table.Find("memcpy@@GLIBC_2.2.5"));
        Assert.Contains("memcpy@GLIBC_2.2.5", e.Message); // lists the versions that exist
        Assert.Equal(Libc, e.Binary);

        Assert.Equal(SymbolKind.IndirectFunction, table.Find("strlen").Kind);
        Assert.Throws<ArgumentException>(() => table.Find("malloc@"));
        Assert.Throws<ArgumentException>(() => table.Find("@GLIBC_2.2.5"));
    }

    /// <summary>Every defined function and its version in libc's .dynsym and in the test binary's .symtab, as readelf
    /// prints them, equals what the table read.</summary>
    [Theory]
    [InlineData("libc", "--dyn-syms", true)]
    [InlineData("target", "--syms", false)]
    public void AgreesWithReadelf(string which, string option, bool dynamic)
    {
        string path = which == "libc" ? Libc : ProbeTarget.Path;
        var psi = new ProcessStartInfo("readelf", ["-W", option, path]) { RedirectStandardOutput = true };
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Skip("readelf (binutils) is not installed");
            return;
        }
        var expected = new HashSet<string>();
        using (p)
        {
            string? line;
            while ((line = p.StandardOutput.ReadLine()) is not null)
            {
                // "  1448: 00000000000d54e0     8 FUNC    WEAK   DEFAULT   16 getpid@@GLIBC_2.2.5"
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 8 || f[3] is not ("FUNC" or "IFUNC") || f[6] == "UND") continue;
                expected.Add($"{f[7]} {ulong.Parse(f[1], System.Globalization.NumberStyles.HexNumber):x}");
            }
            p.WaitForExit();
        }
        var table = ElfSymbolTable.Read(path);
        var actual = table.Symbols.Where(s => s.IsDynamic == dynamic && s.Kind is SymbolKind.Function or SymbolKind.IndirectFunction)
            .Select(s => $"{s.FullName} {s.Address:x}").ToHashSet();
        Assert.True(expected.Count > 10, $"readelf listed only {expected.Count} functions");
        Assert.Empty(expected.Except(actual));
        Assert.Empty(actual.Except(expected));
    }

    [Fact]
    public void NotAnElfFileOrTruncatedFilesGiveBinaryFormatException()
    {
        string dir = Directory.CreateTempSubdirectory("sharpbpf-symtest-").FullName;
        try
        {
            string text = Path.Combine(dir, "script");
            File.WriteAllText(text, "#!/bin/sh\necho hello, this is long enough to hold an ELF header but it is not one at all...\n");
            var e = Assert.Throws<BinaryFormatException>(() => ElfSymbolTable.Read(text));
            Assert.Equal(text, e.Path);
            Assert.Contains("ELF magic", e.Message);

            // Every truncation of a real binary is either still readable or a BinaryFormatException, never anything else.
            byte[] bytes = File.ReadAllBytes(ProbeTarget.Path);
            string cut = Path.Combine(dir, "cut");
            for (int len = 0; len < bytes.Length; len += Math.Max(1, bytes.Length / 97))
            {
                File.WriteAllBytes(cut, bytes.AsSpan(0, len).ToArray());
                try
                {
                    ElfSymbolTable.Read(cut);
                }
                catch (BinaryFormatException)
                {
                }
            }

            // Garbage in header fields.
            var rng = new Random(7);
            for (int i = 0; i < 300; i++)
            {
                var copy = (byte[])bytes.Clone();
                int pos = rng.Next(16, 64);
                copy[pos] = (byte)rng.Next(256);
                File.WriteAllBytes(cut, copy);
                try
                {
                    var t = ElfSymbolTable.Read(cut);
                    try { t.Find("sb_target"); } catch (SymbolResolutionException) { }
                }
                catch (BinaryFormatException)
                {
                }
            }
            bytes[4] = 1; // ELFCLASS32
            File.WriteAllBytes(cut, bytes);
            Assert.Contains("64-bit", Assert.Throws<BinaryFormatException>(() => ElfSymbolTable.Read(cut)).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}

public class BinaryLocatorTests
{
    [Fact]
    public void ShortLibraryNameFindsTheVersionedLibrary()
    {
        string libc = BinaryLocator.Resolve("c");
        Assert.StartsWith("libc.so.", Path.GetFileName(libc));
        Assert.Equal(libc, BinaryLocator.Resolve("libc.so.6"));
        Assert.Equal(0x7f, File.ReadAllBytes(libc)[0]);
    }

    [Fact]
    public void ProcessMapsAreSearchedForAPid()
    {
        string mapped = BinaryLocator.Resolve("c", Environment.ProcessId);
        Assert.StartsWith($"/proc/{Environment.ProcessId}/root/", mapped);
        Assert.Contains("libc.so", mapped);
        Assert.Null(BinaryLocator.FindMapped(Environment.ProcessId, "sharpbpf_not_mapped"));
    }

    [Fact]
    public void ExecutablesAreFoundOnPathAndPathsAreKept()
    {
        Assert.EndsWith("/sh", BinaryLocator.Resolve("sh"));
        Assert.Equal("/bin/sh", BinaryLocator.Resolve("/bin/sh"));
        var e = Assert.Throws<LibraryNotFoundException>(() => BinaryLocator.Resolve("/no/such/file"));
        Assert.Equal("/no/such/file", e.Name);
        var nf = Assert.Throws<LibraryNotFoundException>(() => BinaryLocator.Resolve("sharpbpf_nothing"));
        Assert.Contains("ld.so.cache", nf.Message);
    }

    [Fact]
    public void LdSoCacheParses()
    {
        var entries = BinaryLocator.ReadLdSoCache("/etc/ld.so.cache");
        Assert.Contains(entries, e => e.Key == "libc.so.6" && File.Exists(e.Value));

        byte[] real = File.ReadAllBytes("/etc/ld.so.cache");
        Assert.Throws<BinaryFormatException>(() => BinaryLocator.ParseLdSoCache("not a cache"u8, "x"));
        Assert.Throws<BinaryFormatException>(() => BinaryLocator.ParseLdSoCache(real.AsSpan(0, 40), "x"));
        Assert.Throws<BinaryFormatException>(() => BinaryLocator.ParseLdSoCache(real.AsSpan(0, 100), "x"));
        // An old-format header (libc5 entries) in front of the new cache is skipped.
        var withOld = new byte[16 + 12 * 2];
        "ld.so-1.7.0"u8.CopyTo(withOld);
        withOld[12] = 2;
        var combined = withOld.Concat(real).ToArray();
        Assert.Equal(entries, BinaryLocator.ParseLdSoCache(combined, "x"));
    }

    [Fact]
    public void MapsLinesGiveTheirPath()
    {
        Assert.Equal("/usr/lib/x86_64-linux-gnu/libc.so.6",
            BinaryLocator.MappedPath("7f1c2a600000-7f1c2a628000 r--p 00000000 fe:01 1234 /usr/lib/x86_64-linux-gnu/libc.so.6"));
        Assert.Null(BinaryLocator.MappedPath("7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [stack]"));
        Assert.Null(BinaryLocator.MappedPath("7ffd1000-7ffd2000 rw-p 00000000 00:00 0"));
        Assert.Null(BinaryLocator.MappedPath("7ffd1000-7ffd2000 r-xp 00000000 fe:01 99 /tmp/gone (deleted)"));
    }
}
