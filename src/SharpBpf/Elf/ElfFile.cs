using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Elf;

/// <summary>ELF section header fields the reader uses.</summary>
internal readonly record struct ElfSection(
    int Index, string Name, uint Type, ulong Flags, int Offset, int Size, uint Link, uint Info, ulong EntSize, long HeaderOffset)
{
    public const uint SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_RELA = 4, SHT_NOBITS = 8, SHT_REL = 9;
    public const ulong SHF_WRITE = 1, SHF_ALLOC = 2, SHF_EXECINSTR = 4;

    public bool IsExecutable => Type == SHT_PROGBITS && (Flags & SHF_EXECINSTR) != 0;
}

/// <summary>One ELF64 symbol.</summary>
internal readonly record struct ElfSymbol(int Index, string Name, byte Info, ushort SectionIndex, ulong Value, ulong Size, long FileOffset)
{
    public const byte STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2, STT_SECTION = 3;
    public const byte STB_LOCAL = 0, STB_GLOBAL = 1, STB_WEAK = 2;
    public const ushort SHN_UNDEF = 0, SHN_LORESERVE = 0xff00;

    public byte Type => (byte)(Info & 0xf);
    public byte Other { get; init; }
    public byte Bind => (byte)(Info >> 4);
    public bool IsGlobal => Bind is STB_GLOBAL or STB_WEAK;
}

/// <summary>One REL entry.</summary>
internal readonly record struct ElfRelocation(ulong Offset, uint Type, int SymbolIndex, long FileOffset);

/// <summary>
/// A little-endian ELF64 relocatable object for the BPF machine, parsed over the original bytes: the header, the
/// section table with names, the symbol table. Every offset and size is checked against the file before use.
/// </summary>
internal sealed class ElfFile
{
    public const ushort EM_BPF = 247;
    private const int HeaderSize = 64, SectionHeaderSize = 64, SymbolSize = 24, RelSize = 16;

    private readonly ReadOnlyMemory<byte> _data;

    public ElfSection[] Sections { get; }
    public ElfSymbol[] Symbols { get; }
    public int SymbolTableIndex { get; }

    public ReadOnlyMemory<byte> Data => _data;

    private ElfFile(ReadOnlyMemory<byte> data, ElfSection[] sections, ElfSymbol[] symbols, int symtab)
    {
        _data = data;
        Sections = sections;
        Symbols = symbols;
        SymbolTableIndex = symtab;
    }

    public static ElfFile Parse(ReadOnlyMemory<byte> data)
    {
        var s = data.Span;
        if (s.Length < HeaderSize) throw new ElfFormatException(0, $"a {HeaderSize}-byte ELF64 header, got {s.Length} bytes");
        if (s[0] != 0x7f || s[1] != (byte)'E' || s[2] != (byte)'L' || s[3] != (byte)'F')
            throw new ElfFormatException(0, "the ELF magic \\x7fELF");
        if (s[4] != 2) throw new ElfFormatException(4, $"a 64-bit object (ELFCLASS64), got class {s[4]}");
        if (s[5] != 1)
            throw new ElfFormatException(5, s[5] == 2
                ? "a little-endian object (ELFDATA2LSB); big-endian BPF objects (-target bpfeb) are not supported on this host"
                : $"a little-endian object (ELFDATA2LSB), got data encoding {s[5]}");
        ushort type = U16(s, 16);
        if (type != 1) throw new ElfFormatException(16, $"a relocatable object (ET_REL), got e_type {type}");
        ushort machine = U16(s, 18);
        if (machine != EM_BPF) throw new ElfFormatException(18, $"e_machine EM_BPF ({EM_BPF}), got {machine}");
        ulong shoff = U64(s, 40);
        ushort shentsize = U16(s, 58), shnum = U16(s, 60), shstrndx = U16(s, 62);
        if (shentsize != SectionHeaderSize)
            throw new ElfFormatException(58, $"section header size {SectionHeaderSize}, got {shentsize}");
        if (shnum == 0) throw new ElfFormatException(60, "at least one section header (extended section numbering is not supported)");
        if (shoff > (ulong)s.Length || (ulong)shnum * SectionHeaderSize > (ulong)s.Length - shoff)
            throw new ElfFormatException(40, $"{shnum} section headers at {shoff} inside the {s.Length}-byte file");
        if (shstrndx >= shnum) throw new ElfFormatException(62, $"a section name table index below {shnum}, got {shstrndx}");

        var raw = new (uint Name, uint Type, ulong Flags, int Offset, int Size, uint Link, uint Info, ulong EntSize, long HeaderOffset)[shnum];
        for (int i = 0; i < shnum; i++)
        {
            int h = (int)shoff + i * SectionHeaderSize;
            uint shType = U32(s, h + 4);
            ulong offset = U64(s, h + 24), size = U64(s, h + 32);
            // NOBITS sections (.bss) occupy no file bytes: their size is only checked for sanity.
            if (shType != ElfSection.SHT_NOBITS && i != 0 && (offset > (ulong)s.Length || size > (ulong)s.Length - offset))
                throw new ElfFormatException(h + 24, $"section {i} data [{offset}, +{size}) inside the {s.Length}-byte file");
            if (shType == ElfSection.SHT_NOBITS && size > int.MaxValue)
                throw new ElfFormatException(h + 32, $"section {i}: a NOBITS size below 2 GiB, got {size}");
            raw[i] = (U32(s, h), shType, U64(s, h + 8), shType == ElfSection.SHT_NOBITS || i == 0 ? 0 : (int)offset,
                i == 0 ? 0 : (int)size, U32(s, h + 40), U32(s, h + 44), U64(s, h + 56), h);
        }
        var shstr = raw[shstrndx];
        if (shstr.Type != ElfSection.SHT_STRTAB)
            throw new ElfFormatException(shstr.HeaderOffset + 4, $"the section name table (section {shstrndx}) to be SHT_STRTAB, got type {shstr.Type}");
        var sections = new ElfSection[shnum];
        for (int i = 0; i < shnum; i++)
        {
            var r = raw[i];
            string name = i == 0 ? "" : ReadString(s.Slice(shstr.Offset, shstr.Size), r.Name, shstr.Offset, r.HeaderOffset, $"section {i} name");
            sections[i] = new ElfSection(i, name, r.Type, r.Flags, r.Offset, r.Size, r.Link, r.Info, r.EntSize, r.HeaderOffset);
        }

        int symtab = -1;
        for (int i = 0; i < shnum; i++)
        {
            if (sections[i].Type != ElfSection.SHT_SYMTAB) continue;
            if (symtab >= 0) throw new ElfFormatException(sections[i].HeaderOffset, "a single symbol table, found a second one");
            symtab = i;
        }
        if (symtab < 0) throw new ElfFormatException(-1, "a symbol table (SHT_SYMTAB section); was the object stripped?");
        var st = sections[symtab];
        if (st.Size % SymbolSize != 0)
            throw new ElfFormatException(st.HeaderOffset + 32, $"a symbol table size that is a multiple of {SymbolSize}, got {st.Size}");
        if (st.Link >= shnum || sections[st.Link].Type != ElfSection.SHT_STRTAB)
            throw new ElfFormatException(st.HeaderOffset + 40, $"the symbol table's sh_link to name a string table, got {st.Link}");
        var strtab = sections[st.Link];
        var strings = s.Slice(strtab.Offset, strtab.Size);
        int count = st.Size / SymbolSize;
        var symbols = new ElfSymbol[count];
        for (int i = 0; i < count; i++)
        {
            int o = st.Offset + i * SymbolSize;
            uint nameOff = U32(s, o);
            ushort shndx = U16(s, o + 6);
            if (shndx >= shnum && shndx < ElfSymbol.SHN_LORESERVE)
                throw new ElfFormatException(o + 6, $"symbol {i}: a section index below {shnum}, got {shndx}");
            string name = nameOff == 0 ? "" : ReadString(strings, nameOff, strtab.Offset, o, $"symbol {i} name");
            symbols[i] = new ElfSymbol(i, name, s[o + 4], shndx, U64(s, o + 8), U64(s, o + 16), o) { Other = s[o + 5] };
        }
        return new ElfFile(data, sections, symbols, symtab);
    }

    public ReadOnlySpan<byte> SectionData(ElfSection section) =>
        section.Type == ElfSection.SHT_NOBITS ? default : _data.Span.Slice(section.Offset, section.Size);

    public ReadOnlyMemory<byte> SectionMemory(ElfSection section) =>
        section.Type == ElfSection.SHT_NOBITS ? default : _data.Slice(section.Offset, section.Size);

    /// <summary>The REL entries of a relocation section, each with a checked symbol index.</summary>
    public ElfRelocation[] Relocations(ElfSection rel)
    {
        if (rel.Size % RelSize != 0)
            throw new ElfFormatException(rel.HeaderOffset + 32, $"section '{rel.Name}': a size that is a multiple of {RelSize}, got {rel.Size}");
        if (rel.Link != SymbolTableIndex)
            throw new ElfFormatException(rel.HeaderOffset + 40, $"section '{rel.Name}': sh_link to the symbol table ({SymbolTableIndex}), got {rel.Link}");
        var s = _data.Span;
        var result = new ElfRelocation[rel.Size / RelSize];
        for (int i = 0; i < result.Length; i++)
        {
            int o = rel.Offset + i * RelSize;
            ulong info = U64(s, o + 8);
            ulong sym = info >> 32;
            if (sym >= (ulong)Symbols.Length)
                throw new ElfFormatException(o + 8, $"section '{rel.Name}' entry {i}: a symbol index below {Symbols.Length}, got {sym}");
            result[i] = new ElfRelocation(U64(s, o), (uint)info, (int)sym, o);
        }
        return result;
    }

    private static string ReadString(ReadOnlySpan<byte> table, uint offset, int tableFileOffset, long where, string what)
    {
        if (offset >= (uint)table.Length)
            throw new ElfFormatException(where, $"{what}: a string offset inside the {table.Length}-byte string table at {tableFileOffset}, got {offset}");
        var rest = table[(int)offset..];
        int end = rest.IndexOf((byte)0);
        if (end < 0) throw new ElfFormatException(tableFileOffset + offset, $"{what}: a NUL-terminated string");
        return end == 0 ? "" : Encoding.UTF8.GetString(rest[..end]);
    }

    internal static ushort U16(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt16LittleEndian(s[o..]);
    internal static uint U32(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt32LittleEndian(s[o..]);
    internal static ulong U64(ReadOnlySpan<byte> s, int o) => BinaryPrimitives.ReadUInt64LittleEndian(s[o..]);
}
