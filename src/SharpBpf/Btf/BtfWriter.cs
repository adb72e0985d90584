using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>
/// Builds and serializes a BTF blob (header, type section, string section): from scratch, or as an editable copy of a
/// parsed <see cref="BtfSpec"/> for the loader's fixes before BPF_BTF_LOAD: <see cref="FixDatasecs"/> (section
/// sizes and variable offsets from the ELF symbol table, as libbpf does) and <see cref="Sanitize"/> (replace kinds
/// the running kernel lacks with ones it accepts).
/// <para>Type ids are assigned in order of addition starting at 1; strings are deduplicated.</para>
/// </summary>
public sealed class BtfWriter
{
    private const int HeaderSize = 24;

    private readonly bool _bigEndian;
    private byte[] _types;
    private int _typesLength;
    private readonly List<int> _offsets;
    private byte[] _strings;
    private int _stringsLength;
    private Dictionary<string, uint>? _stringIndex;

    /// <summary>An empty BTF (no types, string section holding only the empty string).</summary>
    public BtfWriter(bool bigEndian = false)
    {
        _bigEndian = bigEndian;
        _types = new byte[256];
        _offsets = [];
        _strings = new byte[64];
        _stringsLength = 1;
        _stringIndex = new Dictionary<string, uint>(StringComparer.Ordinal) { [""] = 0 };
    }

    private BtfWriter(bool bigEndian, byte[] types, List<int> offsets, byte[] strings)
    {
        _bigEndian = bigEndian;
        _types = types;
        _typesLength = types.Length;
        _offsets = offsets;
        _strings = strings;
        _stringsLength = strings.Length;
    }

    /// <summary>An editable copy of <paramref name="spec"/>: same type ids, same string offsets, same bytes.</summary>
    public static BtfWriter From(BtfSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Base is not null) throw new ArgumentException("split BTF (with a base) cannot be copied into a stand-alone writer", nameof(spec));
        var raw = spec.RawData.Span;
        var (ts, te) = spec.TypeSection;
        var (ss, sl) = spec.StringSection;
        var recordOffsets = spec.RecordOffsets;
        var offsets = new List<int>(recordOffsets.Length);
        foreach (int o in recordOffsets) offsets.Add(o - ts);
        return new BtfWriter(spec.IsBigEndian, raw[ts..te].ToArray(), offsets, raw.Slice(ss, sl).ToArray());
    }

    /// <summary>Whether the output is big-endian (the kernel only loads its native byte order).</summary>
    public bool IsBigEndian => _bigEndian;

    /// <summary>The highest type id so far (0 when empty).</summary>
    public uint MaxTypeId => (uint)_offsets.Count;

    /// <summary>Size in bytes of the blob <see cref="ToArray"/> returns.</summary>
    public int Length => HeaderSize + _typesLength + _stringsLength;

    /// <summary>Adds <paramref name="s"/> to the string section (once) and returns its offset.</summary>
    public uint AddString(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var index = _stringIndex ??= IndexStrings();
        if (index.TryGetValue(s, out uint off)) return off;
        int byteCount = Encoding.UTF8.GetByteCount(s);
        if (s.Contains('\0')) throw new ArgumentException("a BTF string cannot contain NUL", nameof(s));
        off = (uint)_stringsLength;
        Ensure(ref _strings, _stringsLength + byteCount + 1);
        Encoding.UTF8.GetBytes(s, _strings.AsSpan(_stringsLength));
        _strings[_stringsLength + byteCount] = 0;
        _stringsLength += byteCount + 1;
        index[s] = off;
        return off;
    }

    private Dictionary<string, uint> IndexStrings()
    {
        var index = new Dictionary<string, uint>(StringComparer.Ordinal);
        int pos = 0;
        while (pos < _stringsLength)
        {
            int nul = _strings.AsSpan(pos, _stringsLength - pos).IndexOf((byte)0);
            if (nul < 0) break;
            index.TryAdd(Encoding.UTF8.GetString(_strings, pos, nul), (uint)pos);
            pos += nul + 1;
        }
        return index;
    }

    /// <summary>The string at <paramref name="offset"/> in the string section being built.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not inside the string section.</exception>
    public string GetString(uint offset)
    {
        if (offset >= (uint)_stringsLength) throw new ArgumentOutOfRangeException(nameof(offset), offset, $"string section is {_stringsLength} bytes");
        var s = _strings.AsSpan((int)offset, _stringsLength - (int)offset);
        int nul = s.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? s : s[..nul]);
    }

    /// <summary>
    /// Appends a raw type record: <paramref name="name"/> is added to the strings, <paramref name="extra"/> is the
    /// kind-specific data after the 12-byte header (its length must match the kind and <paramref name="vlen"/>; names
    /// inside it are string offsets from <see cref="AddString"/>). Returns the new type id.
    /// </summary>
    /// <exception cref="ArgumentException">Wrong extra length, vlen out of range or kind Void.</exception>
    public uint AddType(BtfKind kind, string name, uint sizeOrType, int vlen = 0, bool kindFlag = false, params ReadOnlySpan<uint> extra)
    {
        if (kind == BtfKind.Void || kind > BtfKind.Enum64) throw new ArgumentException($"cannot encode kind {kind}", nameof(kind));
        if ((uint)vlen > 0xffff) throw new ArgumentOutOfRangeException(nameof(vlen), vlen, "vlen is 16 bits");
        int want = BtfSpec.ExtraLength(kind, vlen);
        if (extra.Length * 4 != want)
            throw new ArgumentException($"{kind} with vlen {vlen} needs {want / 4} extra words, got {extra.Length}", nameof(extra));
        uint nameOff = AddString(name);
        int at = _typesLength;
        Ensure(ref _types, at + 12 + want);
        _typesLength += 12 + want;
        W32(at, nameOff);
        W32(at + 4, ((uint)kind << 24) | (uint)vlen | (kindFlag ? 0x8000_0000u : 0));
        W32(at + 8, sizeOrType);
        for (int i = 0; i < extra.Length; i++) W32(at + 12 + 4 * i, extra[i]);
        _offsets.Add(at);
        return (uint)_offsets.Count;
    }

    /// <summary>Appends a copy of <paramref name="type"/> (from any <see cref="BtfSpec"/>), re-encoded from its parsed
    /// form with names added to this string section. Referenced type ids are copied unchanged, so adding every type
    /// of a spec in id order reproduces it. Returns the new type id.</summary>
    public uint Add(BtfType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        switch (type)
        {
            case BtfInt i:
                return AddType(BtfKind.Int, i.Name, i.Size, 0, false, ((uint)i.Encoding << 24) | ((uint)i.BitOffset << 16) | (uint)i.Bits);
            case BtfReference r:
                return AddType(r.Kind, r.Name, r.TypeId);
            case BtfArray a:
                return AddType(BtfKind.Array, a.Name, 0, 0, false, a.ElementTypeId, a.IndexTypeId, a.Count);
            case BtfComposite c:
            {
                bool bitfields = false;
                foreach (var m in c.Members) bitfields |= m.BitfieldSize != 0;
                var extra = new uint[c.Members.Count * 3];
                for (int k = 0; k < c.Members.Count; k++)
                {
                    var m = c.Members[k];
                    extra[3 * k] = AddString(m.Name);
                    extra[3 * k + 1] = m.TypeId;
                    extra[3 * k + 2] = bitfields ? ((uint)m.BitfieldSize << 24) | m.BitOffset : m.BitOffset;
                }
                return AddType(c.Kind, c.Name, c.Size, c.Members.Count, bitfields, extra);
            }
            case BtfEnum e:
            {
                bool is64 = e.Kind == BtfKind.Enum64;
                var extra = new uint[e.Values.Count * (is64 ? 3 : 2)];
                for (int k = 0, p = 0; k < e.Values.Count; k++)
                {
                    extra[p++] = AddString(e.Values[k].Name);
                    extra[p++] = (uint)e.Values[k].UnsignedValue;
                    if (is64) extra[p++] = (uint)(e.Values[k].UnsignedValue >> 32);
                }
                return AddType(e.Kind, e.Name, e.Size, e.Values.Count, e.Signed, extra);
            }
            case BtfFwd f:
                return AddType(BtfKind.Fwd, f.Name, 0, 0, f.IsUnion);
            case BtfFunc fn:
                return AddType(BtfKind.Func, fn.Name, fn.ProtoTypeId, (int)fn.Linkage);
            case BtfFuncProto fp:
            {
                var extra = new uint[fp.Parameters.Count * 2];
                for (int k = 0; k < fp.Parameters.Count; k++)
                {
                    extra[2 * k] = AddString(fp.Parameters[k].Name);
                    extra[2 * k + 1] = fp.Parameters[k].TypeId;
                }
                return AddType(BtfKind.FuncProto, "", fp.ReturnTypeId, fp.Parameters.Count, false, extra);
            }
            case BtfVar v:
                return AddType(BtfKind.Var, v.Name, v.TypeId, 0, false, (uint)v.Linkage);
            case BtfDatasec d:
            {
                var extra = new uint[d.Variables.Count * 3];
                for (int k = 0; k < d.Variables.Count; k++)
                    (extra[3 * k], extra[3 * k + 1], extra[3 * k + 2]) = (d.Variables[k].TypeId, d.Variables[k].Offset, d.Variables[k].Size);
                return AddType(BtfKind.Datasec, d.Name, d.Size, d.Variables.Count, false, extra);
            }
            case BtfFloat fl:
                return AddType(BtfKind.Float, fl.Name, fl.Size);
            case BtfDeclTag dt:
                return AddType(BtfKind.DeclTag, dt.Name, dt.TypeId, 0, false, (uint)dt.ComponentIndex);
            default:
                throw new ArgumentException($"cannot encode {type}", nameof(type));
        }
    }

    /// <summary>The serialized blob: 24-byte header, types, strings.</summary>
    public byte[] ToArray()
    {
        var blob = new byte[Length];
        WriteTo(blob);
        return blob;
    }

    /// <summary>Serializes into <paramref name="destination"/> (at least <see cref="Length"/> bytes).</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Length) throw new ArgumentException($"need {Length} bytes, got {destination.Length}", nameof(destination));
        if (_bigEndian) BinaryPrimitives.WriteUInt16BigEndian(destination, BtfSpec.Magic);
        else BinaryPrimitives.WriteUInt16LittleEndian(destination, BtfSpec.Magic);
        destination[2] = 1;
        destination[3] = 0;
        H32(destination, 4, HeaderSize);
        H32(destination, 8, 0);
        H32(destination, 12, (uint)_typesLength);
        H32(destination, 16, (uint)_typesLength);
        H32(destination, 20, (uint)_stringsLength);
        _types.AsSpan(0, _typesLength).CopyTo(destination[HeaderSize..]);
        _strings.AsSpan(0, _stringsLength).CopyTo(destination[(HeaderSize + _typesLength)..]);
    }

    /// <summary>Parses the serialized blob.</summary>
    public BtfSpec ToSpec() => BtfSpec.Parse(ToArray());

    private void H32(Span<byte> d, int at, uint v)
    {
        if (_bigEndian) BinaryPrimitives.WriteUInt32BigEndian(d[at..], v);
        else BinaryPrimitives.WriteUInt32LittleEndian(d[at..], v);
    }

    private uint R32(int at) => _bigEndian
        ? BinaryPrimitives.ReadUInt32BigEndian(_types.AsSpan(at, 4))
        : BinaryPrimitives.ReadUInt32LittleEndian(_types.AsSpan(at, 4));

    private void W32(int at, uint v)
    {
        if (_bigEndian) BinaryPrimitives.WriteUInt32BigEndian(_types.AsSpan(at, 4), v);
        else BinaryPrimitives.WriteUInt32LittleEndian(_types.AsSpan(at, 4), v);
    }

    private static void Ensure(ref byte[] buffer, int size)
    {
        if (size <= buffer.Length) return;
        Array.Resize(ref buffer, Math.Max(size, buffer.Length * 2));
    }

    private int Offset(uint id) => _offsets[(int)id - 1];
    private BtfKind KindOf(int at) => (BtfKind)((R32(at + 4) >> 24) & 0x1f);
    private int VlenOf(int at) => (int)(R32(at + 4) & 0xffff);
    private void SetInfo(int at, BtfKind kind, int vlen, bool kindFlag) =>
        W32(at + 4, ((uint)kind << 24) | (uint)vlen | (kindFlag ? 0x8000_0000u : 0));

    /// <summary>
    /// Completes DATASEC records the way libbpf does before loading an object's BTF: clang leaves a section's size
    /// and its variables' offsets 0. For each DATASEC: a zero size is set from <paramref name="sectionSizes"/> (by
    /// section name; <c>.kconfig</c>/<c>.ksyms</c>, whose data the loader synthesizes, are left alone when absent);
    /// each non-static, non-extern variable's offset is set from <paramref name="symbols"/> (by variable name), and a
    /// hidden symbol makes the variable static; the variables are then sorted by offset.
    /// </summary>
    /// <returns>The number of DATASECs changed.</returns>
    /// <exception cref="BtfFormatException">A DATASEC has no section size or a variable has no symbol, or a DATASEC
    /// entry is not a VAR.</exception>
    public int FixDatasecs(IReadOnlyDictionary<string, uint> sectionSizes, IReadOnlyDictionary<string, BtfVariableSymbol> symbols)
    {
        ArgumentNullException.ThrowIfNull(sectionSizes);
        ArgumentNullException.ThrowIfNull(symbols);
        int changed = 0;
        for (uint id = 1; id <= MaxTypeId; id++)
        {
            int at = Offset(id);
            if (KindOf(at) != BtfKind.Datasec) continue;
            string secName = GetString(R32(at));
            if (secName is ".kconfig" or ".ksyms") continue; // externs: no ELF section, laid out by FixExterns
            int vlen = VlenOf(at);
            bool modified = false;
            if (R32(at + 8) == 0)
            {
                if (sectionSizes.TryGetValue(secName, out uint size))
                {
                    W32(at + 8, size);
                    modified = true;
                }
                else if (secName is not (".kconfig" or ".ksyms") && vlen > 0)
                    throw new BtfFormatException(-1, $"an ELF section '{secName}' giving the size of DATASEC id {id}");
            }
            var entries = new (uint Type, uint Offset, uint Size)[vlen];
            for (int k = 0; k < vlen; k++)
            {
                int e = at + 12 + 12 * k;
                uint varId = R32(e);
                if (varId == 0 || varId > MaxTypeId || KindOf(Offset(varId)) != BtfKind.Var)
                    throw new BtfFormatException(-1, $"a VAR in entry {k} of DATASEC '{secName}', got type id {varId}");
                int vat = Offset(varId);
                uint linkage = R32(vat + 12);
                uint off = R32(e + 4);
                if (linkage is not ((uint)BtfVarLinkage.Static or (uint)BtfVarLinkage.GlobalExtern))
                {
                    string varName = GetString(R32(vat));
                    if (!symbols.TryGetValue(varName, out var sym))
                        throw new BtfFormatException(-1, $"an ELF symbol for variable '{varName}' of DATASEC '{secName}'");
                    if (off != sym.Offset) modified = true;
                    off = sym.Offset;
                    if (sym.Hidden)
                    {
                        W32(vat + 12, (uint)BtfVarLinkage.Static);
                        modified = true;
                    }
                }
                entries[k] = (varId, off, R32(e + 8));
            }
            var sorted = entries.ToArray();
            Array.Sort(sorted, (a, b) => a.Offset.CompareTo(b.Offset));
            for (int k = 0; k < vlen; k++)
            {
                int e = at + 12 + 12 * k;
                if (sorted[k] != entries[k]) modified = true;
                W32(e, sorted[k].Type);
                W32(e + 4, sorted[k].Offset);
                W32(e + 8, sorted[k].Size);
            }
            if (modified) changed++;
        }
        return changed;
    }

    /// <summary>Gives the global FUNCs named in <paramref name="names"/> static linkage, as libbpf does for functions
    /// of hidden visibility: the verifier then checks them inline with their caller's argument types.</summary>
    /// <returns>The number of FUNCs changed.</returns>
    internal int MakeFunctionsStatic(IReadOnlySet<string> names)
    {
        if (names.Count == 0) return 0;
        int changed = 0;
        for (uint id = 1; id <= MaxTypeId; id++)
        {
            int at = Offset(id);
            if (KindOf(at) != BtfKind.Func || VlenOf(at) != (int)BtfFuncLinkage.Global || !names.Contains(GetString(R32(at)))) continue;
            SetInfo(at, BtfKind.Func, (int)BtfFuncLinkage.Static, false);
            changed++;
        }
        return changed;
    }

    /// <summary>
    /// Makes the extern descriptions of an object loadable, as libbpf does (the kernel rejects extern linkage):
    /// VARs of DATASEC .kconfig get their offsets in the ".kconfig" map and allocated linkage, the DATASEC the map's
    /// size; DATASEC .ksyms lists 4-byte int placeholders (kfunc entries point to one added placeholder VAR); extern
    /// FUNCs become TYPEDEFs of their prototype (nothing refers to them any more).
    /// </summary>
    /// <returns>The number of types rewritten.</returns>
    internal int FixExterns(IReadOnlyDictionary<string, ExternSpec> externs, uint kconfigSize)
    {
        int changed = 0;
        uint count = MaxTypeId;
        uint intId = 0, ksymsId = 0;
        for (uint id = 1; id <= count; id++)
        {
            int at = Offset(id);
            var kind = KindOf(at);
            if (kind == BtfKind.Int && intId == 0 && R32(at + 8) == 4 && (R32(at + 12) & 0x04ff_0000) == 0 && (R32(at + 12) & 0xff) == 32) intId = id;
            if (kind == BtfKind.Datasec && GetString(R32(at)) == ".ksyms") ksymsId = id;
        }
        uint placeholder = 0;
        if (ksymsId != 0)
        {
            if (intId == 0) intId = AddType(BtfKind.Int, "int", 4, 0, false, (1u << 24) | 32);
            placeholder = AddType(BtfKind.Var, "__sharpbpf_ksym", intId, 0, false, (uint)BtfVarLinkage.GlobalAllocated);
        }
        for (uint id = 1; id <= count; id++)
        {
            int at = Offset(id);
            var kind = KindOf(at);
            if (kind == BtfKind.Func && VlenOf(at) == (int)BtfFuncLinkage.Extern)
            {
                // Not a static FUNC: the kernel wants named parameters there, and clang leaves extern ones unnamed.
                SetInfo(at, BtfKind.Typedef, 0, false);
                changed++;
                continue;
            }
            if (kind != BtfKind.Datasec) continue;
            string name = GetString(R32(at));
            int vlen = VlenOf(at);
            if (name == ".kconfig")
            {
                W32(at + 8, kconfigSize);
                var entries = new (uint Type, uint Offset, uint Size)[vlen];
                for (int k = 0; k < vlen; k++)
                {
                    int e = at + 12 + 12 * k;
                    uint varId = R32(e);
                    if (varId == 0 || varId > count || KindOf(Offset(varId)) != BtfKind.Var) throw new BtfFormatException(-1, $"a VAR in entry {k} of DATASEC '.kconfig', got type id {varId}");
                    int vat = Offset(varId);
                    string varName = GetString(R32(vat));
                    if (!externs.TryGetValue(varName, out var ext) || ext.Kind != ExternKind.Kconfig)
                        throw new BtfFormatException(-1, $"a kconfig extern for VAR '{varName}' of DATASEC '.kconfig', found none");
                    W32(vat + 12, (uint)BtfVarLinkage.GlobalAllocated);
                    entries[k] = (varId, ext.Offset, ext.Size);
                }
                Array.Sort(entries, (a, b) => a.Offset.CompareTo(b.Offset));
                for (int k = 0; k < vlen; k++)
                {
                    int e = at + 12 + 12 * k;
                    W32(e, entries[k].Type);
                    W32(e + 4, entries[k].Offset);
                    W32(e + 8, entries[k].Size);
                }
                changed++;
            }
            else if (name == ".ksyms")
            {
                W32(at + 8, (uint)(4 * vlen));
                for (int k = 0; k < vlen; k++)
                {
                    int e = at + 12 + 12 * k;
                    uint varId = R32(e);
                    if (varId >= 1 && varId <= count && KindOf(Offset(varId)) == BtfKind.Var)
                    {
                        int vat = Offset(varId);
                        W32(vat + 8, intId);
                        W32(vat + 12, (uint)BtfVarLinkage.GlobalAllocated);
                    }
                    else W32(e, placeholder);
                    W32(e + 4, (uint)(4 * k));
                    W32(e + 8, 4);
                }
                changed++;
            }
        }
        return changed;
    }

    /// <summary>
    /// Rewrites the kinds a kernel lacks into ones it accepts, keeping every type id (libbpf's rules):
    /// without DATASEC, VAR → 1-byte INT and DATASEC → STRUCT with one member per variable (dots in the section
    /// name become '_');
    /// without FUNC, FUNC_PROTO → ENUM and FUNC → TYPEDEF; without global funcs, global FUNC → static;
    /// without FLOAT, FLOAT → empty STRUCT of the same size; without DECL_TAG, DECL_TAG → 1-byte INT;
    /// without TYPE_TAG, TYPE_TAG → CONST; without ENUM64, ENUM loses its signed flag and ENUM64 → UNION of
    /// placeholder members (an INT "enum64_placeholder" is appended).
    /// </summary>
    /// <returns>The number of types rewritten.</returns>
    public int Sanitize(BtfKernelSupport support)
    {
        ArgumentNullException.ThrowIfNull(support);
        int changed = 0;
        uint placeholder = 0;
        uint count = MaxTypeId;
        for (uint id = 1; id <= count; id++)
        {
            int at = Offset(id);
            var kind = KindOf(at);
            int vlen = VlenOf(at);
            bool kflag = (R32(at + 4) & 0x8000_0000) != 0;
            switch (kind)
            {
                case BtfKind.Var when !support.Datasec:
                    SetInfo(at, BtfKind.Int, 0, false);
                    W32(at + 8, 1);
                    W32(at + 12, 8); // BTF_INT_ENC(0, 0, 8)
                    changed++;
                    break;
                case BtfKind.Datasec when !support.Datasec:
                {
                    W32(at, DotsToUnderscores(R32(at)));
                    SetInfo(at, BtfKind.Struct, vlen, false);
                    for (int k = 0; k < vlen; k++)
                    {
                        // member: the var's name, the var itself as type (it becomes a 1-byte INT), bit offset
                        int e = at + 12 + 12 * k;
                        uint varId = R32(e), off = R32(e + 4);
                        W32(e, varId >= 1 && varId <= MaxTypeId ? R32(Offset(varId)) : 0);
                        W32(e + 4, varId);
                        W32(e + 8, off * 8);
                    }
                    changed++;
                    break;
                }
                case BtfKind.FuncProto when !support.Func:
                    SetInfo(at, BtfKind.Enum, vlen, false);
                    W32(at + 8, 4);
                    for (int k = 0; k < vlen; k++) W32(at + 12 + 8 * k + 4, 0);
                    changed++;
                    break;
                case BtfKind.Func when !support.Func:
                    SetInfo(at, BtfKind.Typedef, 0, false);
                    changed++;
                    break;
                case BtfKind.Func when !support.FuncGlobal && vlen == (int)BtfFuncLinkage.Global:
                    SetInfo(at, BtfKind.Func, (int)BtfFuncLinkage.Static, false);
                    changed++;
                    break;
                case BtfKind.Float when !support.Float:
                    W32(at, 0);
                    SetInfo(at, BtfKind.Struct, 0, false);
                    changed++;
                    break;
                case BtfKind.DeclTag when !support.DeclTag:
                    W32(at, 0);
                    SetInfo(at, BtfKind.Int, 0, false);
                    W32(at + 8, 1);
                    W32(at + 12, 8);
                    changed++;
                    break;
                case BtfKind.TypeTag when !support.TypeTag:
                    W32(at, 0);
                    SetInfo(at, BtfKind.Const, 0, false);
                    changed++;
                    break;
                case BtfKind.Enum when !support.Enum64 && kflag:
                    SetInfo(at, BtfKind.Enum, vlen, false);
                    changed++;
                    break;
                case BtfKind.Enum64 when !support.Enum64:
                {
                    if (placeholder == 0)
                    {
                        placeholder = AddType(BtfKind.Int, "enum64_placeholder", 1, 0, false, 8);
                        at = Offset(id); // the buffer may have moved
                    }
                    SetInfo(at, BtfKind.Union, vlen, false);
                    for (int k = 0; k < vlen; k++)
                    {
                        W32(at + 12 + 12 * k + 4, placeholder);
                        W32(at + 12 + 12 * k + 8, 0);
                    }
                    changed++;
                    break;
                }
            }
        }
        return changed;
    }

    private uint DotsToUnderscores(uint nameOff)
    {
        if (nameOff >= (uint)_stringsLength) return nameOff;
        var s = _strings.AsSpan((int)nameOff, _stringsLength - (int)nameOff);
        int nul = s.IndexOf((byte)0);
        s = s[..nul];
        if (s.IndexOf((byte)'.') < 0) return nameOff;
        // Strings may be shared (e.g. a section name also used elsewhere): add a fixed copy instead of editing in place.
        return AddString(Encoding.UTF8.GetString(s).Replace('.', '_'));
    }
}

/// <summary>An ELF symbol of a global variable, for <see cref="BtfWriter.FixDatasecs"/>: its offset in its section
/// (<c>st_value</c>) and whether its visibility is hidden or internal.</summary>
public readonly record struct BtfVariableSymbol(uint Offset, bool Hidden = false);

/// <summary>Which BTF kinds and features the target kernel accepts (see <see cref="Features.KernelFeatures.BtfSupport"/>).
/// <see cref="All"/> means no sanitizing is needed.</summary>
public sealed record BtfKernelSupport
{
    /// <summary>Everything supported (a current kernel).</summary>
    public static BtfKernelSupport All { get; } = new();

    /// <summary>None of the optional kinds (a 4.18-era kernel with basic BTF only).</summary>
    public static BtfKernelSupport None { get; } = new()
    {
        Func = false, FuncGlobal = false, Datasec = false, Float = false, DeclTag = false, TypeTag = false, Enum64 = false,
    };

    /// <summary>FUNC and FUNC_PROTO (Linux 5.0).</summary>
    public bool Func { get; init; } = true;

    /// <summary>FUNC with global linkage (Linux 5.6).</summary>
    public bool FuncGlobal { get; init; } = true;

    /// <summary>VAR and DATASEC (Linux 5.2).</summary>
    public bool Datasec { get; init; } = true;

    /// <summary>FLOAT (Linux 5.13).</summary>
    public bool Float { get; init; } = true;

    /// <summary>DECL_TAG (Linux 5.16).</summary>
    public bool DeclTag { get; init; } = true;

    /// <summary>TYPE_TAG (Linux 5.17).</summary>
    public bool TypeTag { get; init; } = true;

    /// <summary>ENUM64 and signed ENUM (Linux 6.0).</summary>
    public bool Enum64 { get; init; } = true;
}
