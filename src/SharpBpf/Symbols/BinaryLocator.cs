using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace SharpBpf.Symbols;

/// <summary>
/// Finds the file a uprobe target names: a path; a library name (<c>libc.so.6</c>, or <c>c</c> for
/// <c>libc.so*</c>) looked up in LD_LIBRARY_PATH, /etc/ld.so.cache (entries of this architecture) and the standard
/// library directories; an executable name looked up in PATH; or, for a process id, the library or executable
/// that process has mapped (/proc/PID/maps).
/// </summary>
public static class BinaryLocator
{
    private const string LdSoCachePath = "/etc/ld.so.cache";

    /// <summary>Resolves <paramref name="nameOrPath"/> to an existing ELF file path.</summary>
    /// <param name="nameOrPath">A path (contains '/'), a library file name, a short library name or an executable name.</param>
    /// <param name="pid">When set, a library name is first looked for among the files mapped by this process.</param>
    /// <exception cref="LibraryNotFoundException">Nothing found; the message lists where it was looked for.</exception>
    public static string Resolve(string nameOrPath, int? pid = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        if (nameOrPath.Contains('/'))
        {
            if (!File.Exists(nameOrPath)) throw new LibraryNotFoundException(nameOrPath, "no such file");
            return nameOrPath;
        }
        var searched = new List<string>();
        if (pid is int p)
        {
            string? mapped = FindMapped(p, nameOrPath);
            if (mapped is not null) return mapped;
            searched.Add($"/proc/{p}/maps");
        }
        bool looksLikeLibrary = nameOrPath.StartsWith("lib", StringComparison.Ordinal) || nameOrPath.Contains(".so");
        string[] fileNames = looksLikeLibrary || nameOrPath.Contains('.') ? [nameOrPath] : [$"lib{nameOrPath}.so", nameOrPath];

        foreach (string dir in SplitPath(Environment.GetEnvironmentVariable("LD_LIBRARY_PATH")))
            foreach (string f in fileNames)
                if (IsElf(Path.Combine(dir, f))) return Path.Combine(dir, f);
        searched.Add("LD_LIBRARY_PATH");

        var cache = ReadLdSoCache(LdSoCachePath);
        foreach (string f in fileNames)
            foreach (var (key, value) in cache)
                if (key == f && IsElf(value)) return value;
        // "c" → libc.so.6: the unversioned libc.so is often a linker script (or absent), so take a versioned one.
        if (!looksLikeLibrary)
            foreach (var (key, value) in cache)
                if (key.StartsWith($"lib{nameOrPath}.so.", StringComparison.Ordinal) && IsElf(value)) return value;
        searched.Add(LdSoCachePath);

        foreach (string dir in StandardLibraryDirectories())
            foreach (string f in fileNames)
                if (IsElf(Path.Combine(dir, f))) return Path.Combine(dir, f);
        searched.Add("standard library directories");

        if (!looksLikeLibrary)
        {
            foreach (string dir in SplitPath(Environment.GetEnvironmentVariable("PATH")))
                if (IsElf(Path.Combine(dir, nameOrPath))) return Path.Combine(dir, nameOrPath);
            searched.Add("PATH");
        }
        throw new LibraryNotFoundException(nameOrPath, $"looked in {string.Join(", ", searched)}");
    }

    /// <summary>The path of a mapped file of process <paramref name="pid"/> whose name is <paramref name="name"/>, starts
    /// with <c>name.</c>/<c>name-</c>, or is <c>libNAME.so*</c>; null when none.</summary>
    internal static string? FindMapped(int pid, string name)
    {
        string maps = $"/proc/{pid}/maps";
        IEnumerable<string> lines;
        try
        {
            lines = File.ReadLines(maps);
            foreach (string line in lines)
            {
                string? path = MappedPath(line);
                if (path is null) continue;
                string file = Path.GetFileName(path);
                if (file == name || file.StartsWith(name + ".", StringComparison.Ordinal) || file.StartsWith(name + "-", StringComparison.Ordinal)
                    || file.StartsWith($"lib{name}.so", StringComparison.Ordinal) || file.StartsWith($"lib{name}-", StringComparison.Ordinal))
                {
                    // Through the process's root, so that a binary in another mount namespace is found too.
                    string viaRoot = $"/proc/{pid}/root{path}";
                    return File.Exists(viaRoot) ? viaRoot : path;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LibraryNotFoundException(name, $"{maps} is not readable: {e.Message}");
        }
        return null;
    }

    /// <summary>The file path of a /proc/PID/maps line ("addr perms offset dev inode path"), null for anonymous or
    /// pseudo mappings.</summary>
    internal static string? MappedPath(string line)
    {
        int slash = line.IndexOf('/');
        if (slash < 0) return null;
        string path = line[slash..];
        return path.EndsWith(" (deleted)", StringComparison.Ordinal) ? null : path;
    }

    /// <summary>Entries (library file name, path) of an ld.so.cache in the glibc 2.x new format (alone or after the
    /// old libc5 format), for this process's architecture. A missing or unreadable cache gives no entries.</summary>
    internal static List<(string Key, string Value)> ReadLdSoCache(string path)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
        return ParseLdSoCache(data, path);
    }

    internal static List<(string Key, string Value)> ParseLdSoCache(ReadOnlySpan<byte> data, string path)
    {
        ReadOnlySpan<byte> oldMagic = "ld.so-1.7.0"u8, newMagic = "glibc-ld.so.cache1.1"u8;
        int start = 0;
        if (data.StartsWith(oldMagic))
        {
            // Old header: magic[11] + NUL, nlibs, then 12-byte entries; the new cache follows, 8-byte aligned.
            if (data.Length < 16) throw new BinaryFormatException(path, 0, "an old-format ld.so.cache header");
            uint oldCount = BinaryPrimitives.ReadUInt32LittleEndian(data[12..]);
            long end = 16 + (long)oldCount * 12;
            start = (int)Math.Min((end + 7) & ~7L, data.Length);
        }
        var cache = data[start..];
        if (!cache.StartsWith(newMagic)) throw new BinaryFormatException(path, start, "the ld.so.cache magic 'glibc-ld.so.cache1.1'");
        if (cache.Length < 48) throw new BinaryFormatException(path, start, "a 48-byte ld.so.cache header");
        uint count = BinaryPrimitives.ReadUInt32LittleEndian(cache[20..]);
        if ((ulong)count * 24 > (ulong)(cache.Length - 48))
            throw new BinaryFormatException(path, start + 20, $"{count} 24-byte entries inside the {cache.Length - 48} bytes after the header");
        uint archFlag = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 0x0300,   // FLAG_X8664_LIB64
            Architecture.Arm64 => 0x0a00, // FLAG_AARCH64_LIB64
            _ => uint.MaxValue,
        };
        var result = new List<(string, string)>((int)count);
        for (int i = 0; i < count; i++)
        {
            var e = cache.Slice(48 + i * 24, 24);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(e);
            if ((flags & 0xff) != 3 /* FLAG_ELF_LIBC6 */ || (archFlag != uint.MaxValue && (flags & 0xff00) != archFlag)) continue;
            string? key = CString(cache, BinaryPrimitives.ReadUInt32LittleEndian(e[4..]));
            string? value = CString(cache, BinaryPrimitives.ReadUInt32LittleEndian(e[8..]));
            if (key is null || value is null) throw new BinaryFormatException(path, start + 48 + i * 24, "entry strings inside the cache");
            result.Add((key, value));
        }
        return result;
    }

    private static string? CString(ReadOnlySpan<byte> data, uint offset)
    {
        if (offset >= data.Length) return null;
        int end = data[(int)offset..].IndexOf((byte)0);
        return end < 0 ? null : Encoding.UTF8.GetString(data.Slice((int)offset, end));
    }

    private static IEnumerable<string> StandardLibraryDirectories()
    {
        string? multiarch = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x86_64-linux-gnu",
            Architecture.Arm64 => "aarch64-linux-gnu",
            _ => null,
        };
        if (multiarch is not null)
        {
            yield return $"/lib/{multiarch}";
            yield return $"/usr/lib/{multiarch}";
        }
        yield return "/lib64";
        yield return "/usr/lib64";
        yield return "/lib";
        yield return "/usr/lib";
    }

    private static IEnumerable<string> SplitPath(string? value) =>
        string.IsNullOrEmpty(value) ? [] : value.Split(':', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Whether <paramref name="path"/> is a regular file starting with the ELF magic (so linker scripts such
    /// as libc.so are skipped).</summary>
    private static bool IsElf(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            using var f = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            Span<byte> magic = stackalloc byte[4];
            return RandomAccess.Read(f, magic, 0) == 4 && magic.SequenceEqual((ReadOnlySpan<byte>)[0x7f, (byte)'E', (byte)'L', (byte)'F']);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
