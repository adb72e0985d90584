using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace SharpBpf.Symbols;

/// <summary>The kind of an ELF symbol.</summary>
public enum SymbolKind
{
    /// <summary>STT_NOTYPE.</summary>
    NoType,
    /// <summary>STT_OBJECT: data.</summary>
    Object,
    /// <summary>STT_FUNC: a function.</summary>
    Function,
    /// <summary>STT_GNU_IFUNC: an indirect function (its address is the resolver's).</summary>
    IndirectFunction,
    /// <summary>Any other type (section, file, TLS ...).</summary>
    Other,
}

/// <summary>One defined symbol of a user-space binary.</summary>
/// <param name="Name">The name without version.</param>
/// <param name="Version">The symbol version (e.g. <c>GLIBC_2.2.5</c>), null when unversioned.</param>
/// <param name="IsDefaultVersion">Whether the version is the default one (<c>name@@VERSION</c>) rather than a hidden
/// compatibility version (<c>name@VERSION</c>); true when unversioned.</param>
/// <param name="Address">The symbol's virtual address (st_value).</param>
/// <param name="Size">st_size.</param>
/// <param name="Kind">Function, object ...</param>
/// <param name="Binding">0 local, 1 global, 2 weak (STB_*).</param>
/// <param name="IsDynamic">Whether it comes from .dynsym (else .symtab).</param>
public readonly record struct BinarySymbol(
    string Name, string? Version, bool IsDefaultVersion, ulong Address, ulong Size, SymbolKind Kind, byte Binding, bool IsDynamic)
{
    /// <summary>The name as <c>name</c>, <c>name@@VERSION</c> or <c>name@VERSION</c>.</summary>
    public string FullName => Version is null ? Name : $"{Name}{(IsDefaultVersion ? "@@" : "@")}{Version}";

    /// <inheritdoc/>
    public override string ToString() => $"{FullName} 0x{Address:x} ({Kind})";
}

/// <summary>A PT_LOAD program header: how a range of virtual addresses maps to the file.</summary>
/// <param name="VirtualAddress">p_vaddr.</param>
/// <param name="FileOffset">p_offset.</param>
/// <param name="FileSize">p_filesz.</param>
/// <param name="MemorySize">p_memsz.</param>
/// <param name="Flags">p_flags (1 execute, 2 write, 4 read).</param>
public readonly record struct LoadSegment(ulong VirtualAddress, ulong FileOffset, ulong FileSize, ulong MemorySize, uint Flags)
{
    /// <summary>Whether the segment is executable (PF_X).</summary>
    public bool IsExecutable => (Flags & 1) != 0;
}

/// <summary>
/// The symbols (.symtab and .dynsym, with GNU symbol versions) and PT_LOAD segments of a user-space ELF64 binary
/// (executable or shared library), read without loading the whole file. Resolves a function name to the file
/// offset a uprobe attaches at. Every header and table is checked against the file size: a malformed binary gives
/// <see cref="BinaryFormatException"/>.
/// </summary>
public sealed class ElfSymbolTable
{
    private const uint SHT_NOBITS = 8, SHT_SYMTAB = 2, SHT_DYNSYM = 11, SHT_GNU_verdef = 0x6ffffffd, SHT_GNU_versym = 0x6fffffff;
    private const uint PT_LOAD = 1;
    private const int SymbolSize = 24, MaxTableBytes = 256 << 20;

    private ElfSymbolTable(string path, ushort type, BinarySymbol[] symbols, LoadSegment[] segments, ElfSection[] sections)
    {
        Path = path;
        ElfType = type;
        Symbols = symbols;
        LoadSegments = segments;
        Sections = sections;
    }

    /// <summary>The section headers with their names (empty when the binary has none).</summary>
    internal IReadOnlyList<ElfSection> Sections { get; }

    /// <summary>The first section named <paramref name="name"/>, or null.</summary>
    internal ElfSection? FindSection(string name)
    {
        foreach (var s in Sections) if (s.Name == name) return s;
        return null;
    }

    /// <summary>The file contents of <paramref name="section"/> (empty for SHT_NOBITS), checked against the file size.</summary>
    internal byte[] ReadSection(ElfSection section)
    {
        if (section.Type == SHT_NOBITS) return [];
        using var file = File.OpenHandle(Path, FileMode.Open, FileAccess.Read);
        return new Reader(file, RandomAccess.GetLength(file), Path).Read(section.Offset, section.Size, (long)section.HeaderOffset, $"section {section.Name}");
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>e_type: 2 executable (ET_EXEC), 3 shared object or PIE (ET_DYN).</summary>
    public ushort ElfType { get; }

    /// <summary>Defined symbols of .symtab, then .dynsym.</summary>
    public IReadOnlyList<BinarySymbol> Symbols { get; }

    /// <summary>PT_LOAD segments in header order.</summary>
    public IReadOnlyList<LoadSegment> LoadSegments { get; }

    /// <summary>Reads the symbol tables and program headers of the ELF binary at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="BinaryFormatException">Not an ELF64 little-endian file, or a table lies outside it.</exception>
    public static ElfSymbolTable Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        long length = RandomAccess.GetLength(file);
        var reader = new Reader(file, length, path);

        Span<byte> h = stackalloc byte[64];
        if (length < 64) throw new BinaryFormatException(path, 0, $"a 64-byte ELF64 header, the file has {length} bytes");
        reader.ReadExactly(0, h);
        if (h[0] != 0x7f || h[1] != (byte)'E' || h[2] != (byte)'L' || h[3] != (byte)'F')
            throw new BinaryFormatException(path, 0, "the ELF magic \\x7fELF");
        if (h[4] != 2) throw new BinaryFormatException(path, 4, $"a 64-bit binary (ELFCLASS64), got class {h[4]}");
        if (h[5] != 1) throw new BinaryFormatException(path, 5, $"a little-endian binary (ELFDATA2LSB), got encoding {h[5]}");
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(h[16..]);
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(h[32..]);
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(h[40..]);
        ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[54..]);
        ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(h[56..]);
        ushort shentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[58..]);
        ushort shnum = BinaryPrimitives.ReadUInt16LittleEndian(h[60..]);
        ushort shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(h[62..]);

        var segments = new List<LoadSegment>();
        if (phnum > 0)
        {
            if (phentsize < 56) throw new BinaryFormatException(path, 54, $"program header size 56, got {phentsize}");
            byte[] ph = reader.Read(phoff, (ulong)phnum * phentsize, 32, "program headers");
            for (int i = 0; i < phnum; i++)
            {
                var p = ph.AsSpan(i * phentsize, phentsize);
                if (BinaryPrimitives.ReadUInt32LittleEndian(p) != PT_LOAD) continue;
                segments.Add(new LoadSegment(
                    VirtualAddress: BinaryPrimitives.ReadUInt64LittleEndian(p[16..]),
                    FileOffset: BinaryPrimitives.ReadUInt64LittleEndian(p[8..]),
                    FileSize: BinaryPrimitives.ReadUInt64LittleEndian(p[32..]),
                    MemorySize: BinaryPrimitives.ReadUInt64LittleEndian(p[40..]),
                    Flags: BinaryPrimitives.ReadUInt32LittleEndian(p[4..])));
            }
        }

        var symbols = new List<BinarySymbol>();
        var named = Array.Empty<ElfSection>();
        if (shnum > 0)
        {
            if (shentsize < 64) throw new BinaryFormatException(path, 58, $"section header size 64, got {shentsize}");
            byte[] sh = reader.Read(shoff, (ulong)shnum * shentsize, 40, "section headers");
            var sections = new Section[shnum];
            for (int i = 0; i < shnum; i++)
            {
                var s = sh.AsSpan(i * shentsize, shentsize);
                sections[i] = new Section(
                    BinaryPrimitives.ReadUInt32LittleEndian(s[4..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(s[24..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(s[32..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(s[40..]),
                    shoff + (ulong)(i * shentsize),
                    BinaryPrimitives.ReadUInt32LittleEndian(s),
                    BinaryPrimitives.ReadUInt64LittleEndian(s[16..]));
            }
            if (shstrndx != 0 && shstrndx < shnum)
            {
                var shstr = sections[shstrndx];
                byte[] names = shstr.Type == SHT_NOBITS ? [] : reader.Read(shstr.Offset, shstr.Size, (long)shstr.HeaderOffset, "section name table");
                named = new ElfSection[shnum];
                for (int i = 0; i < shnum; i++)
                {
                    var sec = sections[i];
                    named[i] = new ElfSection(i == 0 ? "" : CString(names, sec.NameOffset, path, (long)sec.HeaderOffset),
                        sec.Type, sec.Address, sec.Offset, sec.Size, sec.HeaderOffset);
                }
            }
            ReadSymbols(reader, sections, SHT_SYMTAB, symbols);
            ReadSymbols(reader, sections, SHT_DYNSYM, symbols);
        }
        return new ElfSymbolTable(path, type, [.. symbols], [.. segments], named);
    }

    /// <summary>
    /// The file offset of function <paramref name="symbol"/>: <c>name</c> (the default version when the binary has
    /// several), <c>name@@VERSION</c> (the default version only) or <c>name@VERSION</c> (that version, hidden or
    /// default).
    /// </summary>
    /// <exception cref="SymbolNotFoundException">No such function.</exception>
    /// <exception cref="SymbolResolutionException">The name is not a function or names several functions.</exception>
    public ulong ResolveFileOffset(string symbol) => AddressToFileOffset(ResolveAddress(symbol), symbol);

    /// <summary>The virtual address of function <paramref name="symbol"/> (see <see cref="ResolveFileOffset"/>).</summary>
    public ulong ResolveAddress(string symbol) => Find(symbol).Address;

    /// <summary>The defined function <paramref name="symbol"/> (see <see cref="ResolveFileOffset"/> for the forms).</summary>
    public BinarySymbol Find(string symbol)
    {
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        string name = symbol;
        string? version = null;
        bool requireDefault = false;
        int at = symbol.IndexOf('@');
        if (at >= 0)
        {
            name = symbol[..at];
            requireDefault = symbol.AsSpan(at).StartsWith("@@");
            version = symbol[(at + (requireDefault ? 2 : 1))..];
            if (name.Length == 0 || version.Length == 0 || version.Contains('@'))
                throw new ArgumentException($"'{symbol}' is not a symbol name (expected name, name@VERSION or name@@VERSION)", nameof(symbol));
        }

        var matches = new List<BinarySymbol>();
        bool nonFunction = false;
        foreach (var s in Symbols)
        {
            if (s.Name != name) continue;
            if (version is not null && (s.Version != version || (requireDefault && !s.IsDefaultVersion))) continue;
            if (s.Kind is SymbolKind.Function or SymbolKind.IndirectFunction && s.Address != 0) matches.Add(s);
            else nonFunction = true;
        }
        if (matches.Count == 0)
        {
            if (nonFunction) throw new SymbolResolutionException(symbol, Path, $"'{symbol}' in {Path} is not a function");
            string? hint = version is null ? null : VersionsOf(name);
            throw new SymbolNotFoundException(symbol, Path, hint);
        }
        // A plain name prefers the default version over hidden compatibility versions (memcpy@@GLIBC_2.14 over
        // memcpy@GLIBC_2.2.5), then the strongest binding (global, weak, local).
        if (version is null && matches.Exists(m => m.IsDefaultVersion)) matches.RemoveAll(m => !m.IsDefaultVersion);
        int Rank(byte binding) => binding switch { 1 => 0, 2 => 1, _ => 2 };
        int best = matches.Min(m => Rank(m.Binding));
        matches.RemoveAll(m => Rank(m.Binding) != best);
        var addresses = matches.Select(m => m.Address).Distinct().ToList();
        if (addresses.Count > 1)
            throw new SymbolResolutionException(symbol, Path,
                $"'{symbol}' names {addresses.Count} different functions in {Path} (at {string.Join(", ", addresses.Select(a => $"0x{a:x}"))}); give a version or an offset");
        return matches[0];
    }

    private string? VersionsOf(string name)
    {
        var versions = Symbols.Where(s => s.Name == name).Select(s => s.FullName).Distinct().ToList();
        return versions.Count == 0 ? null : $"it has {string.Join(", ", versions)}";
    }

    /// <summary>The file offset of virtual address <paramref name="address"/>, through the PT_LOAD segment that
    /// contains it (for binaries without program headers the address is taken as the offset).</summary>
    /// <exception cref="ArgumentOutOfRangeException">No PT_LOAD segment maps the address to the file.</exception>
    public ulong AddressToFileOffset(ulong address) => AddressToFileOffset(address, null);

    private ulong AddressToFileOffset(ulong address, string? symbol)
    {
        if (LoadSegments.Count == 0) return address;
        foreach (var seg in LoadSegments)
            if (address >= seg.VirtualAddress && address - seg.VirtualAddress < seg.FileSize)
                return address - seg.VirtualAddress + seg.FileOffset;
        throw new ArgumentOutOfRangeException(nameof(address),
            $"address 0x{address:x}{(symbol is null ? "" : $" of '{symbol}'")} is not inside any file-backed PT_LOAD segment of {Path}");
    }

    private readonly record struct Section(uint Type, ulong Offset, ulong Size, uint Link, ulong HeaderOffset, uint NameOffset, ulong Address);

    private static void ReadSymbols(Reader reader, Section[] sections, uint tableType, List<BinarySymbol> into)
    {
        int index = Array.FindIndex(sections, s => s.Type == tableType);
        if (index < 0) return;
        var table = sections[index];
        if (table.Link >= sections.Length)
            throw new BinaryFormatException(reader.Path, (long)table.HeaderOffset + 40, $"a string table index below {sections.Length}, got {table.Link}");
        var strtab = sections[table.Link];
        byte[] syms = reader.Read(table.Offset, table.Size, (long)table.HeaderOffset, "symbol table");
        byte[] strings = reader.Read(strtab.Offset, strtab.Size, (long)strtab.HeaderOffset, "symbol string table");
        bool dynamic = tableType == SHT_DYNSYM;

        byte[]? versym = null;
        string?[]? versionNames = null;
        if (dynamic)
        {
            int vs = Array.FindIndex(sections, s => s.Type == SHT_GNU_versym);
            if (vs >= 0) versym = reader.Read(sections[vs].Offset, sections[vs].Size, (long)sections[vs].HeaderOffset, ".gnu.version");
            int vd = Array.FindIndex(sections, s => s.Type == SHT_GNU_verdef);
            if (vd >= 0) versionNames = ReadVersionDefinitions(reader, sections, sections[vd]);
        }

        int count = syms.Length / SymbolSize;
        for (int i = 1; i < count; i++)
        {
            var s = syms.AsSpan(i * SymbolSize, SymbolSize);
            ushort shndx = BinaryPrimitives.ReadUInt16LittleEndian(s[6..]);
            if (shndx == 0) continue; // undefined: an import, not a place to probe
            uint nameOff = BinaryPrimitives.ReadUInt32LittleEndian(s);
            string name = CString(strings, nameOff, reader.Path, (long)table.Offset + i * SymbolSize);
            if (name.Length == 0) continue;
            byte info = s[4];
            var kind = (info & 0xf) switch { 0 => SymbolKind.NoType, 1 => SymbolKind.Object, 2 => SymbolKind.Function, 10 => SymbolKind.IndirectFunction, _ => SymbolKind.Other };
            string? version = null;
            bool isDefault = true;
            int at = name.IndexOf('@');
            if (at > 0)
            {
                // .symtab spells versions into the name: "memcpy@@GLIBC_2.14", "memcpy@GLIBC_2.2.5".
                isDefault = name.AsSpan(at).StartsWith("@@");
                version = name[(at + (isDefault ? 2 : 1))..];
                name = name[..at];
            }
            else if (versym is not null && versionNames is not null && (i + 1) * 2 <= versym.Length)
            {
                ushort v = BinaryPrimitives.ReadUInt16LittleEndian(versym.AsSpan(i * 2));
                int idx = v & 0x7fff;
                if (idx >= 2 && idx < versionNames.Length && versionNames[idx] is string vn)
                {
                    version = vn;
                    isDefault = (v & 0x8000) == 0;
                }
            }
            into.Add(new BinarySymbol(name, version, isDefault,
                BinaryPrimitives.ReadUInt64LittleEndian(s[8..]), BinaryPrimitives.ReadUInt64LittleEndian(s[16..]),
                kind, (byte)(info >> 4), dynamic));
        }
    }

    /// <summary>Version names by version index from .gnu.version_d (the first aux entry of each definition).</summary>
    private static string?[] ReadVersionDefinitions(Reader reader, Section[] sections, Section verdef)
    {
        if (verdef.Link >= sections.Length) return [];
        byte[] data = reader.Read(verdef.Offset, verdef.Size, (long)verdef.HeaderOffset, ".gnu.version_d");
        byte[] strings = reader.Read(sections[verdef.Link].Offset, sections[verdef.Link].Size, (long)sections[verdef.Link].HeaderOffset, ".gnu.version_d strings");
        var names = new string?[16];
        long pos = 0;
        for (int guard = 0; guard < 65536 && pos >= 0 && pos + 20 <= data.Length; guard++)
        {
            var d = data.AsSpan((int)pos);
            ushort ndx = BinaryPrimitives.ReadUInt16LittleEndian(d[4..]);
            uint aux = BinaryPrimitives.ReadUInt32LittleEndian(d[12..]);
            uint next = BinaryPrimitives.ReadUInt32LittleEndian(d[16..]);
            long auxPos = pos + aux;
            if (aux != 0 && auxPos + 8 <= data.Length)
            {
                uint nameOff = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan((int)auxPos));
                int idx = ndx & 0x7fff;
                if (idx >= names.Length) Array.Resize(ref names, Math.Max(idx + 1, names.Length * 2));
                names[idx] = CString(strings, nameOff, reader.Path, (long)verdef.Offset + auxPos);
            }
            if (next == 0) break;
            pos += next;
        }
        return names;
    }

    private static string CString(byte[] table, uint offset, string path, long where)
    {
        if (offset >= table.Length) throw new BinaryFormatException(path, where, $"a string offset below {table.Length}, got {offset}");
        var rest = table.AsSpan((int)offset);
        int end = rest.IndexOf((byte)0);
        if (end < 0) throw new BinaryFormatException(path, where, "a NUL-terminated string");
        return Encoding.UTF8.GetString(rest[..end]);
    }

    private readonly struct Reader(SafeFileHandle file, long length, string path)
    {
        public string Path => path;

        public void ReadExactly(long offset, Span<byte> into)
        {
            while (into.Length > 0)
            {
                int n = RandomAccess.Read(file, into, offset);
                if (n <= 0) throw new BinaryFormatException(path, offset, $"{into.Length} more bytes (the file ended)");
                into = into[n..];
                offset += n;
            }
        }

        public byte[] Read(ulong offset, ulong size, long headerOffset, string what)
        {
            if (offset > (ulong)length || size > (ulong)length - offset || size > MaxTableBytes)
                throw new BinaryFormatException(path, headerOffset, $"the {what} ({size} bytes at {offset}) inside the {length}-byte file");
            var bytes = new byte[size];
            ReadExactly((long)offset, bytes);
            return bytes;
        }
    }
}

/// <summary>A section header of a user-space binary: name, sh_type, sh_addr, sh_offset, sh_size and where the header
/// itself is (for error messages).</summary>
internal readonly record struct ElfSection(string Name, uint Type, ulong Address, ulong Offset, ulong Size, ulong HeaderOffset);
