using System.Buffers.Binary;

namespace SharpBpf.Btf;

/// <summary>
/// Parsed <c>.BTF.ext</c> of a BPF object: per ELF code section, the function info (which BTF func starts at which
/// instruction), line info (source file, line text, line and column per instruction) and CO-RE relocation records.
/// <para>
/// Instruction offsets are kept as the file has them: bytes from the start of the ELF section. The kernel wants
/// instruction indexes relative to the loaded program; <see cref="BtfFuncInfo.InstructionIndex"/> converts.
/// </para>
/// <para>Strings (file names, line text, CO-RE access strings) live in the string section of the object's
/// <c>.BTF</c>, so parsing needs that <see cref="BtfSpec"/>. Bad input always yields <see cref="BtfFormatException"/>
/// with the offset inside the .BTF.ext blob.</para>
/// </summary>
public sealed partial class BtfExt
{
    private const int MinHeaderSize = 24;
    private const int CoreHeaderSize = 32;

    /// <summary>Minimum record sizes (the kernel/libbpf structs); larger records are accepted and their tail ignored.</summary>
    internal const int FuncInfoSize = 8, LineInfoSize = 16, CoreReloSize = 16;

    private readonly Dictionary<string, BtfExtSection> _sections;

    private BtfExt(BtfSpec btf, Dictionary<string, BtfExtSection> sections, int funcInfoRecordSize, int lineInfoRecordSize, int coreReloRecordSize)
    {
        Btf = btf;
        _sections = sections;
        FuncInfoRecordSize = funcInfoRecordSize;
        LineInfoRecordSize = lineInfoRecordSize;
        CoreRelocationRecordSize = coreReloRecordSize;
    }

    /// <summary>The object's .BTF this extension refers to (types and strings).</summary>
    public BtfSpec Btf { get; }

    /// <summary>Record size of the func_info subsection in the file (0 when absent).</summary>
    public int FuncInfoRecordSize { get; }

    /// <summary>Record size of the line_info subsection in the file (0 when absent).</summary>
    public int LineInfoRecordSize { get; }

    /// <summary>Record size of the core_relo subsection in the file (0 when absent or in a header without it).</summary>
    public int CoreRelocationRecordSize { get; }

    /// <summary>The ELF code sections that have any info, by name (e.g. <c>xdp</c>, <c>.text</c>, <c>kprobe/do_sys_open</c>).</summary>
    public IReadOnlyDictionary<string, BtfExtSection> Sections => _sections;

    /// <summary>The info of one ELF section; an empty section when the file has none for it.</summary>
    public BtfExtSection GetSection(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _sections.TryGetValue(name, out var s) ? s : new BtfExtSection(name, [], [], []);
    }

    /// <summary>Parses a .BTF.ext blob whose strings and type ids refer to <paramref name="btf"/>.</summary>
    /// <exception cref="BtfFormatException">The blob is malformed or refers to strings/types <paramref name="btf"/> lacks.</exception>
    public static BtfExt Parse(ReadOnlyMemory<byte> data, BtfSpec btf)
    {
        ArgumentNullException.ThrowIfNull(btf);
        var span = data.Span;
        if (span.Length < MinHeaderSize)
            throw new BtfFormatException(0, $"a .BTF.ext header of at least {MinHeaderSize} bytes, got {span.Length} bytes");
        bool be = btf.IsBigEndian;
        ushort magic = be ? BinaryPrimitives.ReadUInt16BigEndian(span) : BinaryPrimitives.ReadUInt16LittleEndian(span);
        if (magic != BtfSpec.Magic)
            throw new BtfFormatException(0, $".BTF.ext magic 0x{BtfSpec.Magic:X4} in the .BTF's byte order, got 0x{magic:X4}");
        if (span[2] != 1) throw new BtfFormatException(2, $".BTF.ext version 1, got {span[2]}");
        uint hdrLen = U32(span, 4, be);
        if (hdrLen < MinHeaderSize || hdrLen > span.Length)
            throw new BtfFormatException(4, $".BTF.ext header length between {MinHeaderSize} and the blob size {span.Length}, got {hdrLen}");

        var sections = new Dictionary<string, Builder>(StringComparer.Ordinal);
        var strings = new Dictionary<uint, string>();
        var ctx = new Context(span, btf, be, (int)hdrLen, sections, strings);

        int funcSize = ctx.ReadSubsection(8, "func_info", FuncInfoSize, SubKind.Func);
        int lineSize = ctx.ReadSubsection(16, "line_info", LineInfoSize, SubKind.Line);
        int coreSize = hdrLen >= CoreHeaderSize ? ctx.ReadSubsection(24, "core_relo", CoreReloSize, SubKind.Core) : 0;

        var result = new Dictionary<string, BtfExtSection>(sections.Count, StringComparer.Ordinal);
        foreach (var (name, b) in sections)
            result[name] = new BtfExtSection(name, b.Funcs?.ToArray() ?? [], b.Lines?.ToArray() ?? [], b.Cores?.ToArray() ?? []);
        return new BtfExt(btf, result, funcSize, lineSize, coreSize);
    }

    private static uint U32(ReadOnlySpan<byte> span, int offset, bool be) =>
        be ? BinaryPrimitives.ReadUInt32BigEndian(span.Slice(offset, 4)) : BinaryPrimitives.ReadUInt32LittleEndian(span.Slice(offset, 4));

    private enum SubKind { Func, Line, Core }

    private sealed class Builder
    {
        public List<BtfFuncInfo>? Funcs;
        public List<BtfLineInfo>? Lines;
        public List<BtfCoreRelocation>? Cores;
    }

    private readonly ref struct Context(ReadOnlySpan<byte> span, BtfSpec btf, bool be, int hdrLen,
        Dictionary<string, Builder> sections, Dictionary<uint, string> strings)
    {
        private readonly ReadOnlySpan<byte> _span = span;

        private uint U32(int at) => BtfExt.U32(_span, at, be);

        private string Str(uint offset, int at, string what)
        {
            if (strings.TryGetValue(offset, out var s)) return s;
            if (!btf.IsValidStringOffset(offset))
                throw new BtfFormatException(at, $"{what}: a string offset inside the .BTF string section, got {offset}");
            s = btf.GetString(offset);
            strings[offset] = s;
            return s;
        }

        /// <summary>Reads one subsection whose (offset, length) pair is at <paramref name="hdrField"/>; returns its record size.</summary>
        public int ReadSubsection(int hdrField, string what, int minRecord, SubKind kind)
        {
            uint off = U32(hdrField), len = U32(hdrField + 4);
            long available = _span.Length - hdrLen;
            if ((ulong)off + len > (ulong)available)
                throw new BtfFormatException(hdrField, $"{what} subsection [{off}, +{len}) inside the {available} bytes after the header");
            if (len == 0) return 0;
            if ((off & 3) != 0) throw new BtfFormatException(hdrField, $"a 4-byte aligned {what} offset, got {off}");
            int pos = hdrLen + (int)off, end = pos + (int)len;
            if (end - pos < 4) throw new BtfFormatException(pos, $"a 4-byte {what} record size, {end - pos} bytes left");
            uint recSize = U32(pos);
            if (recSize < minRecord || recSize > 1024 || (recSize & 3) != 0)
                throw new BtfFormatException(pos, $"a {what} record size that is a multiple of 4 between {minRecord} and 1024, got {recSize}");
            pos += 4;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (pos < end)
            {
                if (end - pos < 8)
                    throw new BtfFormatException(pos, $"an 8-byte {what} section header (name offset, count), {end - pos} bytes left");
                int secAt = pos;
                string secName = Str(U32(pos), pos, $"{what} section name");
                if (secName.Length == 0) throw new BtfFormatException(pos, $"a non-empty {what} section name");
                uint count = U32(pos + 4);
                pos += 8;
                if (count == 0) throw new BtfFormatException(pos - 4, $"at least one {what} record for section '{secName}'");
                if ((ulong)count * recSize > (ulong)(end - pos))
                    throw new BtfFormatException(pos - 4, $"{count} {what} records of {recSize} bytes for section '{secName}', {end - pos} bytes left");
                if (!seen.Add(secName)) throw new BtfFormatException(secAt, $"each section once in {what}, '{secName}' repeats");
                if (!sections.TryGetValue(secName, out var b)) sections[secName] = b = new Builder();
                uint previous = 0;
                for (uint i = 0; i < count; i++, pos += (int)recSize)
                {
                    uint insnOff = U32(pos);
                    if ((insnOff & 7) != 0)
                        throw new BtfFormatException(pos, $"a {what} instruction offset that is a multiple of 8 in '{secName}', got {insnOff}");
                    if (kind != SubKind.Core && i > 0 && insnOff < previous)
                        throw new BtfFormatException(pos, $"{what} records sorted by instruction offset in '{secName}', {insnOff} follows {previous}");
                    previous = insnOff;
                    switch (kind)
                    {
                        case SubKind.Func:
                        {
                            uint typeId = U32(pos + 4);
                            if (!btf.TryTypeById(typeId, out var t) || t.Kind != BtfKind.Func)
                                throw new BtfFormatException(pos + 4, $"a BTF func type id in func_info of '{secName}', got {typeId}");
                            (b.Funcs ??= new List<BtfFuncInfo>((int)count)).Add(new BtfFuncInfo(insnOff, typeId));
                            break;
                        }
                        case SubKind.Line:
                        {
                            uint fileOff = U32(pos + 4), lineOff = U32(pos + 8), lineCol = U32(pos + 12);
                            string file = Str(fileOff, pos + 4, "line_info file name");
                            string line = Str(lineOff, pos + 8, "line_info line text");
                            (b.Lines ??= new List<BtfLineInfo>((int)count)).Add(new BtfLineInfo(insnOff, fileOff, lineOff, lineCol, file, line));
                            break;
                        }
                        default:
                        {
                            uint typeId = U32(pos + 4), accessOff = U32(pos + 8), relo = U32(pos + 12);
                            if (!btf.ContainsId(typeId))
                                throw new BtfFormatException(pos + 4, $"a type id at most {btf.MaxTypeId} in core_relo of '{secName}', got {typeId}");
                            string access = Str(accessOff, pos + 8, "core_relo access string");
                            if (relo > (uint)BtfCoreRelocationKind.TypeMatches)
                                throw new BtfFormatException(pos + 12, $"a CO-RE relocation kind 0..{(int)BtfCoreRelocationKind.TypeMatches} in '{secName}', got {relo}");
                            (b.Cores ??= new List<BtfCoreRelocation>((int)count))
                                .Add(new BtfCoreRelocation(insnOff, typeId, accessOff, access, (BtfCoreRelocationKind)relo));
                            break;
                        }
                    }
                }
            }
            return (int)recSize;
        }
    }
}

/// <summary>The .BTF.ext records of one ELF code section.</summary>
public sealed class BtfExtSection
{
    internal BtfExtSection(string name, BtfFuncInfo[] funcs, BtfLineInfo[] lines, BtfCoreRelocation[] cores)
    {
        Name = name;
        FuncInfos = funcs;
        LineInfos = lines;
        CoreRelocations = cores;
    }

    /// <summary>The ELF section name.</summary>
    public string Name { get; }

    /// <summary>Function starts, sorted by instruction offset.</summary>
    public IReadOnlyList<BtfFuncInfo> FuncInfos { get; }

    /// <summary>Source lines, sorted by instruction offset.</summary>
    public IReadOnlyList<BtfLineInfo> LineInfos { get; }

    /// <summary>CO-RE relocations, in file order.</summary>
    public IReadOnlyList<BtfCoreRelocation> CoreRelocations { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {FuncInfos.Count} func, {LineInfos.Count} line, {CoreRelocations.Count} core_relo";
}

/// <summary>A function start: the BTF <see cref="BtfFunc"/> <paramref name="TypeId"/> begins at byte
/// <paramref name="InstructionOffset"/> of the ELF section.</summary>
public readonly record struct BtfFuncInfo(uint InstructionOffset, uint TypeId)
{
    /// <summary>Instruction index in the ELF section (offset / 8).</summary>
    public int InstructionIndex => (int)(InstructionOffset / 8);
}

/// <summary>Source position of the instruction at byte <paramref name="InstructionOffset"/> of the ELF section.
/// The string offsets point into the .BTF string section (the kernel wants them); the strings are resolved.</summary>
public readonly record struct BtfLineInfo(uint InstructionOffset, uint FileNameOffset, uint LineOffset, uint LineColumn, string FileName, string Line)
{
    /// <summary>Instruction index in the ELF section (offset / 8).</summary>
    public int InstructionIndex => (int)(InstructionOffset / 8);

    /// <summary>Line number (the upper 22 bits of line_col).</summary>
    public uint LineNumber => LineColumn >> 10;

    /// <summary>Column (the lower 10 bits of line_col).</summary>
    public uint Column => LineColumn & 0x3ff;

    /// <inheritdoc />
    public override string ToString() => $"{FileName}:{LineNumber}:{Column} {Line}";
}

/// <summary>CO-RE relocation kinds (<c>enum bpf_core_relo_kind</c>).</summary>
public enum BtfCoreRelocationKind : uint
{
    /// <summary>BPF_CORE_FIELD_BYTE_OFFSET.</summary>
    FieldByteOffset = 0,
    /// <summary>BPF_CORE_FIELD_BYTE_SIZE.</summary>
    FieldByteSize = 1,
    /// <summary>BPF_CORE_FIELD_EXISTS.</summary>
    FieldExists = 2,
    /// <summary>BPF_CORE_FIELD_SIGNED.</summary>
    FieldSigned = 3,
    /// <summary>BPF_CORE_FIELD_LSHIFT_U64.</summary>
    FieldLShiftU64 = 4,
    /// <summary>BPF_CORE_FIELD_RSHIFT_U64.</summary>
    FieldRShiftU64 = 5,
    /// <summary>BPF_CORE_TYPE_ID_LOCAL.</summary>
    TypeIdLocal = 6,
    /// <summary>BPF_CORE_TYPE_ID_TARGET.</summary>
    TypeIdTarget = 7,
    /// <summary>BPF_CORE_TYPE_EXISTS.</summary>
    TypeExists = 8,
    /// <summary>BPF_CORE_TYPE_SIZE.</summary>
    TypeSize = 9,
    /// <summary>BPF_CORE_ENUMVAL_EXISTS.</summary>
    EnumValueExists = 10,
    /// <summary>BPF_CORE_ENUMVAL_VALUE.</summary>
    EnumValueValue = 11,
    /// <summary>BPF_CORE_TYPE_MATCHES.</summary>
    TypeMatches = 12,
}

/// <summary>A CO-RE relocation (<c>struct bpf_core_relo</c>) at byte <paramref name="InstructionOffset"/> of the ELF
/// section: <paramref name="TypeId"/> is the root type in the object's BTF, <paramref name="AccessString"/> the
/// access path (e.g. <c>0:1:2</c>).</summary>
public readonly record struct BtfCoreRelocation(uint InstructionOffset, uint TypeId, uint AccessStringOffset, string AccessString, BtfCoreRelocationKind Kind)
{
    /// <summary>Instruction index in the ELF section (offset / 8).</summary>
    public int InstructionIndex => (int)(InstructionOffset / 8);
}
