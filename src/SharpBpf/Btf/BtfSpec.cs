using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>
/// Parsed BTF (BPF Type Format): the types of a kernel (/sys/kernel/btf/vmlinux) or of a BPF object's .BTF section.
/// <para>
/// <see cref="Parse(ReadOnlyMemory{byte})"/> validates the whole blob up front (header, sections, every record's extent, kinds, string
/// offsets and referenced type ids) and keeps only an index of record offsets; types are materialised on first access
/// over the original memory, without copying it. Bad input always yields <see cref="BtfFormatException"/>.
/// Parsing is deterministic: the same bytes give the same types with the same ids.
/// </para>
/// <para>Instances are safe to use from several threads.</para>
/// </summary>
public sealed class BtfSpec
{
    /// <summary>BTF_MAGIC.</summary>
    public const ushort Magic = 0xEB9F;

    private const int HeaderSize = 24;
    private const int TypeHeaderSize = 12;
    private const int MaxResolveDepth = 32;

    private readonly ReadOnlyMemory<byte> _data;
    private readonly bool _bigEndian;
    private readonly int _typesStart, _typesEnd;
    private readonly int _stringsStart, _stringsLength;

    // Split BTF (module BTF on top of vmlinux) has a base: ids below _firstTypeId and string offsets below
    // _firstStringOffset belong to the base. Stand-alone BTF: 1 and 0.
    private readonly BtfSpec? _base;
    private readonly uint _firstTypeId = 1;
    private readonly uint _firstStringOffset = 0;

    // _offsets[i] is the absolute offset of the record of type id _firstTypeId + i.
    private readonly int[] _offsets; // may be longer than _count (no trimming copy)
    private readonly int _count;
    private BtfType?[]? _types; // allocated on first materialisation
    private readonly BtfVoid _void;
    private Dictionary<string, uint[]>? _byName;

    private BtfSpec(ReadOnlyMemory<byte> data, bool bigEndian, int typesStart, int typesEnd, int stringsStart, int stringsLength, int[] offsets, int count,
        BtfSpec? baseSpec = null)
    {
        _base = baseSpec;
        if (baseSpec is not null)
        {
            _firstTypeId = baseSpec.MaxTypeId + 1;
            _firstStringOffset = baseSpec.StringsEnd;
        }
        _data = data;
        _bigEndian = bigEndian;
        _typesStart = typesStart;
        _typesEnd = typesEnd;
        _stringsStart = stringsStart;
        _stringsLength = stringsLength;
        _offsets = offsets;
        _count = count;
        _void = new BtfVoid(this);
    }

    /// <summary>The raw blob this BTF was parsed from.</summary>
    public ReadOnlyMemory<byte> RawData => _data;

    /// <summary>Whether the blob is big-endian.</summary>
    public bool IsBigEndian => _bigEndian;

    /// <summary>The highest valid type id (0 when there are no types besides void).</summary>
    public uint MaxTypeId => _firstTypeId + (uint)_count - 1;

    /// <summary>The base BTF of split BTF (vmlinux under a module's BTF), or null for stand-alone BTF.</summary>
    public BtfSpec? Base => _base;

    /// <summary>The first type id of this BTF's own types: 1, or the base's highest id + 1 for split BTF.</summary>
    public uint FirstTypeId => _firstTypeId;

    // One past the highest string offset: split BTF's own strings start here.
    private uint StringsEnd => _firstStringOffset + (uint)_stringsLength;

    /// <summary>This BTF's own types in id order, from <see cref="FirstTypeId"/> (void and a split BTF's base types
    /// are not included).</summary>
    public IEnumerable<BtfType> Types
    {
        get
        {
            for (uint id = _firstTypeId; id <= MaxTypeId; id++) yield return TypeById(id);
        }
    }

    /// <summary>Reads and parses the running kernel's BTF from /sys/kernel/btf/vmlinux.</summary>
    /// <exception cref="NotSupportedByKernelException">The kernel has no BTF (CONFIG_DEBUG_INFO_BTF, Linux 5.4).</exception>
    public static BtfSpec LoadKernel()
    {
        const string path = "/sys/kernel/btf/vmlinux";
        if (!File.Exists(path)) throw new NotSupportedByKernelException("kernel BTF (" + path + ")", "5.4");
        return Parse(File.ReadAllBytes(path));
    }

    /// <summary>Reads a kernel module's split BTF from /sys/kernel/btf/<paramref name="module"/> on top of the
    /// running kernel's BTF.</summary>
    /// <exception cref="FileNotFoundException">The module has no BTF there (not loaded, or built without BTF).</exception>
    /// <exception cref="ArgumentException">The name is not a plain module name.</exception>
    public static BtfSpec LoadKernelModule(string module)
    {
        ArgumentException.ThrowIfNullOrEmpty(module);
        if (module == "vmlinux" || module.Contains('/') || module is "." or "..")
            throw new ArgumentException($"a module name (not vmlinux, no '/'), got '{module}'", nameof(module));
        string path = "/sys/kernel/btf/" + module;
        if (!File.Exists(path)) throw new FileNotFoundException($"no BTF for module '{module}' at {path}", path);
        return Parse(File.ReadAllBytes(path), Kernel);
    }

    private static readonly Lazy<BtfSpec> KernelCache = new(LoadKernel);

    /// <summary>The running kernel's BTF, loaded once per process (for probes and layout checks).</summary>
    internal static BtfSpec Kernel => KernelCache.Value;

    /// <summary>Parses a BTF blob (header, type and string sections).</summary>
    /// <exception cref="BtfFormatException">The blob is malformed.</exception>
    public static BtfSpec Parse(ReadOnlyMemory<byte> data) => Parse(data, null);

    /// <summary>
    /// Parses split BTF (a kernel module's /sys/kernel/btf/MODULE) on top of <paramref name="baseSpec"/>
    /// (vmlinux): its type ids continue after the base's highest id and its string offsets after the end of the
    /// base's strings; its types may refer to the base's types and strings. Lookups by id and name see both.
    /// With a null base this is <see cref="Parse(ReadOnlyMemory{byte})"/>.
    /// </summary>
    /// <exception cref="BtfFormatException">The blob is malformed, refers to ids or strings beyond base + split, or
    /// its byte order differs from the base's.</exception>
    public static BtfSpec Parse(ReadOnlyMemory<byte> data, BtfSpec? baseSpec)
    {
        var span = data.Span;
        if (span.Length < HeaderSize)
            throw new BtfFormatException(0, $"a {HeaderSize}-byte header, got {span.Length} bytes");
        bool bigEndian;
        ushort magicLe = BinaryPrimitives.ReadUInt16LittleEndian(span);
        if (magicLe == Magic) bigEndian = false;
        else if (BinaryPrimitives.ReadUInt16BigEndian(span) == Magic) bigEndian = true;
        else throw new BtfFormatException(0, $"magic 0x{Magic:X4}, got 0x{magicLe:X4}");
        if (span[2] != 1) throw new BtfFormatException(2, $"version 1, got {span[2]}");

        uint hdrLen = U32(span, 4, bigEndian);
        if (hdrLen < HeaderSize || hdrLen > span.Length)
            throw new BtfFormatException(4, $"header length between {HeaderSize} and the blob size {span.Length}, got {hdrLen}");
        uint typeOff = U32(span, 8, bigEndian), typeLen = U32(span, 12, bigEndian);
        uint strOff = U32(span, 16, bigEndian), strLen = U32(span, 20, bigEndian);
        long available = span.Length - hdrLen;
        if ((ulong)typeOff + typeLen > (ulong)available)
            throw new BtfFormatException(8, $"type section [{typeOff}, +{typeLen}) inside the {available} bytes after the header");
        if ((typeOff & 3) != 0) throw new BtfFormatException(8, $"a 4-byte aligned type section offset, got {typeOff}");
        if ((ulong)strOff + strLen > (ulong)available)
            throw new BtfFormatException(16, $"string section [{strOff}, +{strLen}) inside the {available} bytes after the header");
        if (typeOff < strOff + (ulong)strLen && strOff < typeOff + (ulong)typeLen && typeLen > 0)
            throw new BtfFormatException(8, "type and string sections not to overlap");

        int typesStart = (int)(hdrLen + typeOff), typesEnd = typesStart + (int)typeLen;
        int stringsStart = (int)(hdrLen + strOff), stringsLength = (int)strLen;
        if (baseSpec is null && (stringsLength == 0 || span[stringsStart] != 0))
            throw new BtfFormatException(stringsStart, "a string section starting with an empty string (NUL byte)");
        if (stringsLength > 0 && span[stringsStart + stringsLength - 1] != 0)
            throw new BtfFormatException(stringsStart + stringsLength - 1, "a string section ending with a NUL byte");
        if (baseSpec is not null && baseSpec.IsBigEndian != bigEndian)
            throw new BtfFormatException(0, $"split BTF in the base's byte order ({(baseSpec.IsBigEndian ? "big" : "little")}-endian)");

        uint firstId = baseSpec is null ? 1 : baseSpec.MaxTypeId + 1;
        uint stringLimit = (baseSpec?.StringsEnd ?? 0) + (uint)stringsLength;
        if (stringLimit < (uint)stringsLength) throw new BtfFormatException(20, "base and split string sections below 4 GiB together");
        var offsets = IndexAndValidate(span, typesStart, typesEnd, stringLimit, firstId, bigEndian, out int count);
        return new BtfSpec(data, bigEndian, typesStart, typesEnd, stringsStart, stringsLength, offsets, count, baseSpec);
    }

    private static uint U32(ReadOnlySpan<byte> span, int offset, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(span.Slice(offset, 4)) : BinaryPrimitives.ReadUInt32LittleEndian(span.Slice(offset, 4));

    private uint U32(int offset) => U32(_data.Span, offset, _bigEndian);

    /// <summary>Length of the kind-specific data following a type record's 12-byte header.</summary>
    internal static int ExtraLength(BtfKind kind, int vlen) => kind switch
    {
        BtfKind.Int => 4,
        BtfKind.Array => 12,
        BtfKind.Struct or BtfKind.Union => 12 * vlen,
        BtfKind.Enum => 8 * vlen,
        BtfKind.FuncProto => 8 * vlen,
        BtfKind.Var => 4,
        BtfKind.Datasec => 12 * vlen,
        BtfKind.DeclTag => 4,
        BtfKind.Enum64 => 12 * vlen,
        _ => 0,
    };


    /// <summary>
    /// One pass over the type section: record offsets, kinds, record sizes, name and member string offsets, int
    /// encodings, and the largest referenced type id (checked against the type count once it is known), so that
    /// materialising a type later never fails.
    /// </summary>
    private static int[] IndexAndValidate(ReadOnlySpan<byte> span, int start, int end, uint stringsLength, uint firstId, bool bigEndian, out int typeCount)
    {
        // vmlinux averages ~28 bytes per record; start a little above that so one growth at most is typical.
        var offsets = new int[Math.Max(16, (end - start) / 24)];
        int count = 0;
        uint maxRef = 0;
        int maxRefAt = -1;
        int pos = start;
        while (pos < end)
        {
            uint id = firstId + (uint)count;
            if (end - pos < TypeHeaderSize)
                throw new BtfFormatException(pos, $"a {TypeHeaderSize}-byte type record for type id {id}, {end - pos} bytes left in the type section");
            uint nameOff = U32(span, pos, bigEndian);
            uint info = U32(span, pos + 4, bigEndian);
            uint sizeOrType = U32(span, pos + 8, bigEndian);
            var kind = (BtfKind)((info >> 24) & 0x1f);
            int vlen = (int)(info & 0xffff);
            if (kind == BtfKind.Void || kind > BtfKind.Enum64)
                throw new BtfFormatException(pos + 4, $"a known kind (1..{(int)BtfKind.Enum64}) for type id {id}, got {(int)kind}");
            if (nameOff >= stringsLength)
                throw new BtfFormatException(pos, $"a name offset below the string section size {stringsLength} for type id {id}, got {nameOff}");
            int extraLen = ExtraLength(kind, vlen);
            if (extraLen > end - pos - TypeHeaderSize)
                throw new BtfFormatException(pos, $"{TypeHeaderSize + extraLen} bytes for type id {id} ({kind} with vlen {vlen}), {end - pos} bytes left in the type section");
            int extra = pos + TypeHeaderSize;
            switch (kind)
            {
                case BtfKind.Int:
                {
                    uint enc = U32(span, extra, bigEndian);
                    int bits = (int)(enc & 0xff), off = (int)((enc >> 16) & 0xff);
                    if (bits == 0 || bits > 128 || off + bits > 128 || sizeOrType is not (1 or 2 or 4 or 8 or 16) || off + bits > sizeOrType * 8)
                        throw new BtfFormatException(extra, $"an int encoding with 1..128 bits fitting size {sizeOrType}, got {bits} bits at bit {off}");
                    break;
                }
                case BtfKind.Pointer or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
                    or BtfKind.TypeTag or BtfKind.Func or BtfKind.Var or BtfKind.DeclTag:
                    if (sizeOrType > maxRef) (maxRef, maxRefAt) = (sizeOrType, pos + 8);
                    break;
                case BtfKind.Array:
                {
                    uint e = U32(span, extra, bigEndian), ix = U32(span, extra + 4, bigEndian);
                    if (e > maxRef) (maxRef, maxRefAt) = (e, extra);
                    if (ix > maxRef) (maxRef, maxRefAt) = (ix, extra + 4);
                    break;
                }
                case BtfKind.Struct or BtfKind.Union:
                    for (int mp = extra, mend = extra + 12 * vlen; mp < mend; mp += 12)
                    {
                        if (U32(span, mp, bigEndian) >= stringsLength) ThrowString(span, mp, stringsLength, bigEndian);
                        uint t = U32(span, mp + 4, bigEndian);
                        if (t > maxRef) (maxRef, maxRefAt) = (t, mp + 4);
                    }
                    break;
                case BtfKind.Enum or BtfKind.Enum64:
                {
                    int rec = kind == BtfKind.Enum ? 8 : 12;
                    for (int mp = extra, mend = extra + rec * vlen; mp < mend; mp += rec)
                        if (U32(span, mp, bigEndian) >= stringsLength) ThrowString(span, mp, stringsLength, bigEndian);
                    break;
                }
                case BtfKind.FuncProto:
                    if (sizeOrType > maxRef) (maxRef, maxRefAt) = (sizeOrType, pos + 8);
                    for (int mp = extra, mend = extra + 8 * vlen; mp < mend; mp += 8)
                    {
                        if (U32(span, mp, bigEndian) >= stringsLength) ThrowString(span, mp, stringsLength, bigEndian);
                        uint t = U32(span, mp + 4, bigEndian);
                        if (t > maxRef) (maxRef, maxRefAt) = (t, mp + 4);
                    }
                    break;
                case BtfKind.Datasec:
                    for (int mp = extra, mend = extra + 12 * vlen; mp < mend; mp += 12)
                    {
                        uint t = U32(span, mp, bigEndian);
                        if (t > maxRef) (maxRef, maxRefAt) = (t, mp);
                    }
                    break;
            }
            if (count == offsets.Length) Array.Resize(ref offsets, offsets.Length * 2);
            offsets[count++] = pos;
            pos = extra + extraLen;
        }
        uint maxId = firstId - 1 + (uint)count;
        if (maxRef > maxId) throw new BtfFormatException(maxRefAt, $"a type id at most {maxId}, got {maxRef}");
        typeCount = count;
        return offsets;
    }

    private static void ThrowString(ReadOnlySpan<byte> span, int at, uint stringsLength, bool bigEndian) =>
        throw new BtfFormatException(at, $"a string offset below the string section size {stringsLength}, got {U32(span, at, bigEndian)}");

    /// <summary>Whether <paramref name="offset"/> is inside the string section.</summary>
    public bool IsValidStringOffset(uint offset) => offset < StringsEnd;

    /// <summary>The NUL-terminated string at <paramref name="offset"/> in the string section.</summary>
    /// <exception cref="BtfFormatException">The offset is outside the string section.</exception>
    public string GetString(uint offset)
    {
        if (offset < _firstStringOffset && _base is not null) return _base.GetString(offset);
        if (offset - _firstStringOffset >= (uint)_stringsLength)
            throw new BtfFormatException(-1, $"a string offset below the string section size {_stringsLength}, got {offset}");
        int local = (int)(offset - _firstStringOffset);
        var s = _data.Span.Slice(_stringsStart + local, _stringsLength - local);
        int nul = s.IndexOf((byte)0); // the section ends with NUL, so one is always found
        return nul == 0 ? string.Empty : Encoding.UTF8.GetString(s[..nul]);
    }

    /// <summary>Whether <paramref name="id"/> is a valid type id (0, void, included).</summary>
    public bool ContainsId(uint id) => id <= MaxTypeId;

    /// <summary>The type with the given id (0 is <see cref="BtfVoid"/>).</summary>
    /// <exception cref="KeyNotFoundException">No such id.</exception>
    public BtfType TypeById(uint id)
    {
        if (!TryTypeById(id, out var type)) throw new KeyNotFoundException($"BTF has no type id {id} (max {MaxTypeId})");
        return type;
    }

    /// <summary>Looks up a type by id.</summary>
    public bool TryTypeById(uint id, out BtfType type)
    {
        if (id == 0)
        {
            type = _void;
            return true;
        }
        if (id < _firstTypeId && _base is not null) return _base.TryTypeById(id, out type);
        if (id < _firstTypeId || id > MaxTypeId)
        {
            type = _void;
            return false;
        }
        int index = (int)(id - _firstTypeId);
        var types = Volatile.Read(ref _types) ?? AllocateTypes();
        type = Volatile.Read(ref types[index]) ?? Materialize(types, index);
        return true;
    }

    private BtfType?[] AllocateTypes()
    {
        var fresh = new BtfType?[_count];
        return Interlocked.CompareExchange(ref _types, fresh, null) ?? fresh;
    }

    private BtfType Materialize(BtfType?[] types, int index)
    {
        uint id = _firstTypeId + (uint)index;
        int pos = _offsets[index];
        string name = GetString(U32(pos));
        uint info = U32(pos + 4);
        var kind = (BtfKind)((info >> 24) & 0x1f);
        int vlen = (int)(info & 0xffff);
        bool kindFlag = (info & 0x8000_0000) != 0;
        uint sizeOrType = U32(pos + 8);
        int extra = pos + TypeHeaderSize;
        BtfType type = kind switch
        {
            BtfKind.Int => MakeInt(id, name, sizeOrType, U32(extra)),
            BtfKind.Pointer => new BtfPointer(this, id, name, sizeOrType),
            BtfKind.Array => new BtfArray(this, id, name, U32(extra), U32(extra + 4), U32(extra + 8)),
            BtfKind.Struct => new BtfStruct(this, id, name, sizeOrType, ReadMembers(extra, vlen, kindFlag)),
            BtfKind.Union => new BtfUnion(this, id, name, sizeOrType, ReadMembers(extra, vlen, kindFlag)),
            BtfKind.Enum => new BtfEnum(this, id, name, kind, sizeOrType, kindFlag, ReadEnum32(extra, vlen, kindFlag)),
            BtfKind.Enum64 => new BtfEnum(this, id, name, kind, sizeOrType, kindFlag, ReadEnum64(extra, vlen)),
            BtfKind.Fwd => new BtfFwd(this, id, name, kindFlag),
            BtfKind.Typedef => new BtfTypedef(this, id, name, sizeOrType),
            BtfKind.Volatile => new BtfVolatile(this, id, name, sizeOrType),
            BtfKind.Const => new BtfConst(this, id, name, sizeOrType),
            BtfKind.Restrict => new BtfRestrict(this, id, name, sizeOrType),
            BtfKind.Func => new BtfFunc(this, id, name, sizeOrType, (BtfFuncLinkage)vlen),
            BtfKind.FuncProto => new BtfFuncProto(this, id, name, sizeOrType, ReadParams(extra, vlen)),
            BtfKind.Var => new BtfVar(this, id, name, sizeOrType, (BtfVarLinkage)U32(extra)),
            BtfKind.Datasec => new BtfDatasec(this, id, name, sizeOrType, ReadSecInfo(extra, vlen)),
            BtfKind.Float => new BtfFloat(this, id, name, sizeOrType),
            BtfKind.DeclTag => new BtfDeclTag(this, id, name, sizeOrType, (int)U32(extra)),
            BtfKind.TypeTag => new BtfTypeTag(this, id, name, sizeOrType),
            _ => throw new BtfFormatException(pos + 4, $"a known kind, got {(int)kind}"), // rejected by Parse already
        };
        // Two threads may both materialise; the first one published wins so every caller sees one instance.
        return Interlocked.CompareExchange(ref types[index], type, null) ?? type;
    }

    private BtfInt MakeInt(uint id, string name, uint size, uint enc) =>
        new(this, id, name, size, (BtfIntEncoding)((enc >> 24) & 0xf), (int)((enc >> 16) & 0xff), (int)(enc & 0xff));

    private BtfMember[] ReadMembers(int pos, int vlen, bool kindFlag)
    {
        var members = new BtfMember[vlen];
        for (int i = 0; i < vlen; i++, pos += 12)
        {
            uint offset = U32(pos + 8);
            members[i] = kindFlag
                ? new BtfMember(this, GetString(U32(pos)), U32(pos + 4), offset & 0xff_ffff, (byte)(offset >> 24))
                : new BtfMember(this, GetString(U32(pos)), U32(pos + 4), offset, 0);
        }
        return members;
    }

    private BtfEnumValue[] ReadEnum32(int pos, int vlen, bool signed)
    {
        var values = new BtfEnumValue[vlen];
        for (int i = 0; i < vlen; i++, pos += 8)
        {
            uint raw = U32(pos + 4);
            values[i] = new BtfEnumValue(GetString(U32(pos)), signed ? (int)raw : (long)raw);
        }
        return values;
    }

    private BtfEnumValue[] ReadEnum64(int pos, int vlen)
    {
        var values = new BtfEnumValue[vlen];
        for (int i = 0; i < vlen; i++, pos += 12)
            values[i] = new BtfEnumValue(GetString(U32(pos)), (long)((ulong)U32(pos + 8) << 32 | U32(pos + 4)));
        return values;
    }

    private BtfParameter[] ReadParams(int pos, int vlen)
    {
        var ps = new BtfParameter[vlen];
        for (int i = 0; i < vlen; i++, pos += 8) ps[i] = new BtfParameter(GetString(U32(pos)), U32(pos + 4));
        return ps;
    }

    private BtfVarSecInfo[] ReadSecInfo(int pos, int vlen)
    {
        var vs = new BtfVarSecInfo[vlen];
        for (int i = 0; i < vlen; i++, pos += 12) vs[i] = new BtfVarSecInfo(U32(pos), U32(pos + 4), U32(pos + 8));
        return vs;
    }

    private Dictionary<string, uint[]> NameIndex
    {
        get
        {
            var index = Volatile.Read(ref _byName);
            if (index is not null) return index;
            var lists = new Dictionary<string, List<uint>>(StringComparer.Ordinal);
            for (int i = 0; i < _count; i++)
            {
                uint nameOff = U32(_offsets[i]);
                if (nameOff == 0) continue;
                string name = GetString(nameOff);
                if (!lists.TryGetValue(name, out var ids)) lists[name] = ids = new List<uint>(1);
                ids.Add(_firstTypeId + (uint)i);
            }
            index = new Dictionary<string, uint[]>(lists.Count, StringComparer.Ordinal);
            foreach (var (name, ids) in lists) index[name] = ids.ToArray();
            return Interlocked.CompareExchange(ref _byName, index, null) ?? index;
        }
    }

    /// <summary>All types called <paramref name="name"/>, in id order (a struct and a typedef can share a name).</summary>
    public IReadOnlyList<BtfType> TypesByName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var inBase = _base?.TypesByName(name) ?? [];
        if (!NameIndex.TryGetValue(name, out var ids)) return inBase;
        var result = new BtfType[inBase.Count + ids.Length];
        for (int i = 0; i < inBase.Count; i++) result[i] = inBase[i];
        for (int i = 0; i < ids.Length; i++) result[inBase.Count + i] = TypeById(ids[i]);
        return result;
    }

    /// <summary>Looks up the first type (lowest id) with this name and kind.</summary>
    public bool TryTypeByName(string name, BtfKind kind, out BtfType type)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_base is not null && _base.TryTypeByName(name, kind, out type)) return true;
        if (NameIndex.TryGetValue(name, out var ids))
        {
            foreach (uint id in ids)
            {
                var t = TypeById(id);
                if (t.Kind == kind)
                {
                    type = t;
                    return true;
                }
            }
        }
        type = _void;
        return false;
    }

    /// <summary>The first type (lowest id) with this name and kind.</summary>
    /// <exception cref="KeyNotFoundException">There is none.</exception>
    public BtfType TypeByName(string name, BtfKind kind) =>
        TryTypeByName(name, kind, out var type) ? type : throw new KeyNotFoundException($"BTF has no {kind} named '{name}'");

    /// <summary>The first type (lowest id) with this name that is a <typeparamref name="T"/>, e.g.
    /// <c>TypeByName&lt;BtfStruct&gt;("bpf_prog_info")</c>.</summary>
    /// <exception cref="KeyNotFoundException">There is none.</exception>
    public T TypeByName<T>(string name) where T : BtfType
    {
        foreach (var t in TypesByName(name))
            if (t is T match) return match;
        throw new KeyNotFoundException($"BTF has no {typeof(T).Name} named '{name}'");
    }

    /// <summary>Follows typedef, const, volatile, restrict and type tags to the underlying type.</summary>
    /// <exception cref="BtfFormatException">The chain loops (or is absurdly long).</exception>
    public BtfType Resolve(BtfType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var t = type;
        for (int depth = 0; depth <= MaxResolveDepth; depth++)
        {
            if (t is not (BtfTypedef or BtfConst or BtfVolatile or BtfRestrict or BtfTypeTag)) return t;
            t = ((BtfReference)t).Target;
        }
        throw new BtfFormatException(RecordOffset(type), $"a qualifier/typedef chain shorter than {MaxResolveDepth} from {type}, found a loop");
    }

    /// <summary>Size in bytes of a type: ints, floats, enums, structs, unions, datasecs and pointers (8 bytes) directly,
    /// arrays as count × element size, typedefs and qualifiers by their target.</summary>
    /// <exception cref="ArgumentException">The type has no size (void, func, func_proto, fwd, var, decl_tag).</exception>
    /// <exception cref="BtfFormatException">An array's element has no size, the size overflows, or references loop.</exception>
    public long SizeOf(BtfType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!ReferenceEquals(type.Owner, this)) throw new ArgumentException($"{type} belongs to another BTF", nameof(type));
        long size = SizeOf(type, 0);
        if (size < 0) throw new ArgumentException($"{type} ({Resolve(type)}) has no size", nameof(type));
        return size;
    }

    private long SizeOf(BtfType type, int depth)
    {
        if (depth > MaxResolveDepth)
            throw new BtfFormatException(RecordOffset(type), $"type nesting shallower than {MaxResolveDepth} levels, found a loop at {type}");
        switch (type)
        {
            case BtfInt i: return i.Size;
            case BtfFloat f: return f.Size;
            case BtfEnum e: return e.Size;
            case BtfComposite c: return c.Size;
            case BtfDatasec d: return d.Size;
            case BtfPointer: return 8;
            case BtfArray a:
            {
                long element = SizeOf(a.ElementType, depth + 1);
                if (element < 0)
                    throw new BtfFormatException(RecordOffset(a), $"an array element type with a size, got {a.ElementType}");
                long total = element * a.Count; // element < 2^32 and count < 2^32: no overflow in long
                return total;
            }
            case BtfReference r: return SizeOf(r.Target, depth + 1);
            default: return -1;
        }
    }

    /// <summary>Absolute offset of a type's record in <see cref="RawData"/> (-1 for void).</summary>
    internal int RecordOffset(BtfType type) => type.Id < _firstTypeId || type.Id > MaxTypeId || type.Owner != this ? -1 : _offsets[type.Id - _firstTypeId];

    /// <summary>Absolute record offsets in <see cref="RawData"/>, index 0 = type id 1 (for the writer).</summary>
    internal ReadOnlySpan<int> RecordOffsets => _offsets.AsSpan(0, _count);

    /// <summary>Range of the string section in <see cref="RawData"/>.</summary>
    internal (int Start, int Length) StringSection => (_stringsStart, _stringsLength);

    /// <summary>Range of the type section in <see cref="RawData"/> (for tests and dumps).</summary>
    internal (int Start, int End) TypeSection => (_typesStart, _typesEnd);

    /// <summary>Every name with the ids of the types that carry it (for CO-RE candidate search).</summary>
    internal IEnumerable<KeyValuePair<string, uint[]>> NamedTypeIds => NameIndex;
}
