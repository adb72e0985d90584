using System.Globalization;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>
/// Writes BTF as C declarations, like <c>bpftool btf dump file X format c</c> (a <c>vmlinux.h</c>): forward
/// declarations of every named struct/union, then named enums, then typedefs, structs and unions in an order where
/// everything used by value is defined first (anonymous types inline). Names that clash (duplicate types, enumerators
/// shared by several enums) get libbpf's <c>___N</c> suffix. Member offsets and sizes match the BTF: gaps become anonymous
/// <c>long: N</c> bitfields and structs that need it get <c>__attribute__((packed))</c>.
/// </summary>
public sealed class BtfCDump
{
    private readonly BtfSpec _spec;
    private readonly TextWriter _w;
    private readonly byte[] _state; // 0 not emitted, 1 in progress, 2 done
    private readonly string?[] _names;

    private BtfCDump(BtfSpec spec, TextWriter w)
    {
        _spec = spec;
        _w = w;
        _state = new byte[spec.MaxTypeId + 1];
        _names = new string?[spec.MaxTypeId + 1];
    }

    /// <summary>Writes the header for every type of <paramref name="spec"/>.</summary>
    public static void Write(BtfSpec spec, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(writer);
        new BtfCDump(spec, writer).Run();
    }

    private void Run()
    {
        AssignNames();
        _w.Write("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n");
        _w.Write("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n");
        _w.Write("#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n");

        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in _spec.Types)
        {
            if (t is BtfComposite { Name.Length: > 0 } or BtfFwd)
            {
                string decl = Tag(t) + ";";
                if (declared.Add(decl)) _w.Write(decl + "\n");
            }
        }
        _w.Write('\n');

        var enumerators = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in _spec.Types)
        {
            if (t is not BtfEnum e) continue;
            if (e.Name.Length == 0 && IsReferenced(e.Id)) continue; // emitted inline where used
            _w.Write(EnumBody(e, enumerators, 0));
            _w.Write(";\n\n");
            _state[e.Id] = 2;
        }

        foreach (var t in _spec.Types)
        {
            switch (t)
            {
                case BtfComposite { Name.Length: > 0 }:
                    Define(t.Id);
                    break;
                case BtfTypedef when t.Name != "__builtin_va_list": // a clang builtin, like libbpf skips it
                    EmitTypedef(t.Id);
                    break;
            }
        }

        _w.Write("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n");
    }

    private HashSet<uint>? _referenced;

    private bool IsReferenced(uint id)
    {
        if (_referenced is null)
        {
            _referenced = [];
            foreach (var t in _spec.Types)
            {
                switch (t)
                {
                    case BtfReference r: _referenced.Add(r.TypeId); break;
                    case BtfArray a: _referenced.Add(a.ElementTypeId); break;
                    case BtfComposite c: foreach (var m in c.Members) _referenced.Add(m.TypeId); break;
                    case BtfFuncProto p:
                        _referenced.Add(p.ReturnTypeId);
                        foreach (var prm in p.Parameters) _referenced.Add(prm.TypeId);
                        break;
                    case BtfVar v: _referenced.Add(v.TypeId); break;
                }
            }
        }
        return _referenced.Contains(id);
    }

    /// <summary>Unique C names: struct/union/enum tags share one namespace, typedefs another.</summary>
    private void AssignNames()
    {
        var tags = new Dictionary<string, (int Count, BtfType First)>(StringComparer.Ordinal);
        var ordinary = new Dictionary<string, (int Count, BtfType First)>(StringComparer.Ordinal);
        foreach (var t in _spec.Types)
        {
            if (t.Name.Length == 0) continue;
            var space = t switch
            {
                BtfComposite or BtfEnum => tags,
                BtfTypedef => ordinary,
                _ => null,
            };
            if (space is null) continue;
            if (!space.TryGetValue(t.Name, out var seen))
            {
                space[t.Name] = (1, t);
                _names[t.Id] = t.Name;
                continue;
            }
            int n = seen.Count + 1;
            space[t.Name] = (n, seen.First);
            _names[t.Id] = $"{t.Name}___{n}";
        }
    }

    private string NameOf(BtfType t) => _names[t.Id] ?? t.Name;

    private string Tag(BtfType t) => t switch
    {
        BtfStruct => "struct " + NameOf(t),
        BtfUnion => "union " + NameOf(t),
        BtfFwd f => (f.IsUnion ? "union " : "struct ") + t.Name,
        BtfEnum => "enum " + NameOf(t),
        _ => NameOf(t),
    };

    private void Define(uint id)
    {
        if (_state[id] != 0) return;
        _state[id] = 1;
        var c = (BtfComposite)_spec.TypeById(id);
        foreach (var m in c.Members) RequireComplete(m.TypeId);
        _w.Write(CompositeBody(c, 0));
        _w.Write(";\n\n");
        _state[id] = 2;
    }

    private void EmitTypedef(uint id)
    {
        if (_state[id] != 0 || _spec.TypeById(id).Name == "__builtin_va_list") return;
        _state[id] = 1;
        var t = (BtfTypedef)_spec.TypeById(id);
        RequireDeclared(t.TypeId);
        _w.Write("typedef " + Decl(t.TypeId, NameOf(t), 0) + ";\n\n");
        _state[id] = 2;
    }

    /// <summary>Everything needed to use the type by value (a member or array element).</summary>
    private void RequireComplete(uint id)
    {
        for (int depth = 0; depth < 64; depth++)
        {
            var t = _spec.TypeById(id);
            switch (t)
            {
                case BtfTypedef td:
                    EmitTypedef(td.Id);
                    id = td.TypeId;
                    continue;
                case BtfPointer p:
                    RequireDeclared(p.TypeId);
                    return;
                case BtfReference r: // const, volatile, restrict, type tag
                    id = r.TypeId;
                    continue;
                case BtfArray a:
                    id = a.ElementTypeId;
                    continue;
                case BtfComposite c when c.Name.Length > 0:
                    Define(c.Id);
                    return;
                case BtfComposite c:
                    foreach (var m in c.Members) RequireComplete(m.TypeId);
                    return;
                case BtfFuncProto fp:
                    RequireDeclared(fp.ReturnTypeId);
                    foreach (var p in fp.Parameters) RequireDeclared(p.TypeId);
                    return;
                default:
                    return;
            }
        }
    }

    /// <summary>Everything needed to name the type (behind a pointer, in a typedef or prototype).</summary>
    private void RequireDeclared(uint id)
    {
        for (int depth = 0; depth < 64; depth++)
        {
            var t = _spec.TypeById(id);
            switch (t)
            {
                case BtfTypedef td:
                    EmitTypedef(td.Id);
                    return;
                case BtfReference r:
                    id = r.TypeId;
                    continue;
                case BtfArray a:
                    RequireComplete(a.ElementTypeId); // C wants complete array element types, even in a typedef
                    return;
                case BtfComposite c when c.Name.Length == 0:
                    foreach (var m in c.Members) RequireComplete(m.TypeId);
                    return;
                case BtfFuncProto fp:
                    RequireDeclared(fp.ReturnTypeId);
                    foreach (var p in fp.Parameters) RequireDeclared(p.TypeId);
                    return;
                default:
                    return;
            }
        }
    }

    private static string Indent(int level) => new('\t', level);

    private string CompositeBody(BtfComposite c, int level)
    {
        var sb = new StringBuilder();
        sb.Append(c is BtfUnion ? "union" : "struct");
        if (c.Name.Length > 0) sb.Append(' ').Append(NameOf(c));
        sb.Append(" {\n");
        bool packed = IsPacked(c);
        long cur = 0; // bits laid out so far (structs)
        foreach (var m in c.Members)
        {
            if (c is BtfStruct)
            {
                long natural = Place(m, cur, packed);
                if (natural < m.BitOffset) Pad(sb, cur, m.BitOffset, level + 1);
            }
            sb.Append(Indent(level + 1)).Append(Decl(m.TypeId, m.Name, level + 1));
            if (m.BitfieldSize != 0) sb.Append(": ").Append(m.BitfieldSize.ToString(CultureInfo.InvariantCulture));
            sb.Append(";\n");
            cur = m.BitOffset + (m.BitfieldSize != 0 ? m.BitfieldSize : SafeSize(m.TypeId) * 8);
        }
        if (c is BtfStruct && cur < (long)c.Size * 8)
        {
            long align = packed ? 1 : AlignOf(c.Id, 0);
            if (AlignUp(cur, align * 8) < (long)c.Size * 8) Pad(sb, cur, (long)c.Size * 8, level + 1);
        }
        sb.Append(Indent(level)).Append('}');
        if (packed) sb.Append(" __attribute__((packed))");
        return sb.ToString();
    }

    private static long AlignUp(long v, long a) => a <= 1 ? v : (v + a - 1) / a * a;

    private long SafeSize(uint id)
    {
        try
        {
            return _spec.SizeOf(_spec.TypeById(id));
        }
        catch (ArgumentException)
        {
            return 0;
        }
    }

    /// <summary>Where C would put the member after <paramref name="cur"/> bits (natural or packed layout).</summary>
    private long Place(BtfMember m, long cur, bool packed)
    {
        if (m.BitfieldSize != 0)
        {
            if (packed) return cur;
            long unit = Math.Max(1, SafeSize(m.TypeId)) * 8;
            return cur / unit == (cur + m.BitfieldSize - 1) / unit ? cur : AlignUp(cur, unit);
        }
        return AlignUp(cur, (packed ? 1 : AlignOf(m.TypeId, 0)) * 8);
    }

    /// <summary>Whether the natural layout would place some member after its real offset or overshoot the size.</summary>
    private bool IsPacked(BtfComposite c)
    {
        if (c is BtfUnion)
        {
            long max = 0;
            foreach (var m in c.Members) max = Math.Max(max, SafeSize(m.TypeId));
            return AlignUp(max, RawAlign(c, 0)) > c.Size;
        }
        long cur = 0;
        foreach (var m in c.Members)
        {
            if (Place(m, cur, false) > m.BitOffset) return true;
            cur = m.BitOffset + (m.BitfieldSize != 0 ? m.BitfieldSize : SafeSize(m.TypeId) * 8);
        }
        return c.Size % RawAlign(c, 0) != 0;
    }

    /// <summary>Natural alignment in bytes.</summary>
    private long AlignOf(uint id, int depth)
    {
        if (depth > 64) return 1;
        var t = _spec.TypeById(id);
        switch (t)
        {
            case BtfInt i: return Math.Min(Math.Max(i.Size, 1u), 8u);
            case BtfFloat f: return Math.Min(Math.Max(f.Size, 1u), 8u);
            case BtfEnum e: return Math.Min(Math.Max(e.Size, 1u), 8u);
            case BtfPointer: return 8;
            case BtfArray a: return AlignOf(a.ElementTypeId, depth + 1);
            case BtfReference r: return AlignOf(r.TypeId, depth + 1);
            case BtfComposite c:
            {
                if (_alignCache.TryGetValue(c.Id, out long cached)) return cached;
                long align = IsPacked(c) ? 1 : RawAlign(c, depth);
                _alignCache[c.Id] = align;
                return align;
            }
            default: return 1;
        }
    }

    private readonly Dictionary<uint, long> _alignCache = [];

    /// <summary>Alignment of a struct/union from its members, ignoring packing.</summary>
    private long RawAlign(BtfComposite c, int depth)
    {
        long align = 1;
        foreach (var m in c.Members) align = Math.Max(align, AlignOf(m.TypeId, depth + 1));
        return align;
    }

    /// <summary>Anonymous bitfields covering bits [from, to), in 64-bit storage units like libbpf.</summary>
    private static void Pad(StringBuilder sb, long from, long to, int level)
    {
        while (from < to)
        {
            long room = 64 - from % 64;
            long w = Math.Min(room, to - from);
            sb.Append(Indent(level)).Append("long: ").Append(w.ToString(CultureInfo.InvariantCulture)).Append(";\n");
            from += w;
        }
    }

    private string EnumBody(BtfEnum e, Dictionary<string, int>? enumerators, int level)
    {
        var sb = new StringBuilder("enum");
        if (e.Name.Length > 0) sb.Append(' ').Append(NameOf(e));
        sb.Append(" {\n");
        enumerators ??= _inlineEnumerators;
        foreach (var v in e.Values)
        {
            string name = v.Name;
            if (enumerators.TryGetValue(name, out int n))
            {
                enumerators[name] = n + 1;
                name = $"{name}___{n + 1}";
            }
            else enumerators[name] = 1;
            sb.Append(Indent(level + 1)).Append(name).Append(" = ");
            if (e.Kind == BtfKind.Enum64)
                sb.Append(e.Signed ? v.Value.ToString(CultureInfo.InvariantCulture) + "LL" : v.UnsignedValue.ToString(CultureInfo.InvariantCulture) + "ULL");
            else
                sb.Append(e.Signed ? ((int)v.Value).ToString(CultureInfo.InvariantCulture) : ((uint)v.UnsignedValue).ToString(CultureInfo.InvariantCulture));
            sb.Append(",\n");
        }
        sb.Append(Indent(level)).Append('}');
        if (e.Size < 4) sb.Append(" __attribute__((packed))"); // a 1- or 2-byte enum, as the kernel declares it
        return sb.ToString();
    }

    private readonly Dictionary<string, int> _inlineEnumerators = new(StringComparer.Ordinal);

    /// <summary>The C declaration of <paramref name="inner"/> (a name, possibly with pointer/array decorations) of type <paramref name="id"/>.</summary>
    private string Decl(uint id, string inner, int level)
    {
        string Space(string s) => s.Length == 0 ? s : " " + s;
        for (int depth = 0; depth < 256; depth++)
        {
            var t = _spec.TypeById(id);
            switch (t)
            {
                case BtfVoid:
                    return "void" + Space(inner);
                case BtfInt or BtfFloat:
                    return t.Name + Space(inner);
                case BtfTypedef:
                    return NameOf(t) + Space(inner);
                case BtfFwd:
                    return Tag(t) + Space(inner);
                case BtfComposite c:
                    return (c.Name.Length > 0 ? Tag(c) : CompositeBody(c, level)) + Space(inner);
                case BtfEnum e:
                    return (e.Name.Length > 0 ? Tag(e) : EnumBody(e, null, level)) + Space(inner);
                case BtfPointer p:
                {
                    var target = _spec.TypeById(p.TypeId);
                    inner = target is BtfArray or BtfFuncProto ? "(*" + inner + ")" : "*" + inner;
                    id = p.TypeId;
                    continue;
                }
                case BtfConst or BtfVolatile or BtfRestrict:
                {
                    var r = (BtfReference)t;
                    string q = t is BtfConst ? "const" : t is BtfVolatile ? "volatile" : "restrict";
                    if (_spec.TypeById(r.TypeId) is BtfPointer)
                    {
                        inner = q + Space(inner);
                        id = r.TypeId;
                        continue;
                    }
                    if (t is BtfRestrict) { id = r.TypeId; continue; }
                    string d = Decl(r.TypeId, inner, level);
                    return d.StartsWith(q + " ", StringComparison.Ordinal) ? d : q + " " + d; // const array of const T
                }
                case BtfTypeTag tt:
                    id = tt.TypeId;
                    continue;
                case BtfArray a:
                    inner = inner + "[" + a.Count.ToString(CultureInfo.InvariantCulture) + "]";
                    id = a.ElementTypeId;
                    continue;
                case BtfFuncProto fp:
                {
                    var ps = new StringBuilder();
                    if (fp.Parameters.Count == 0) ps.Append("void");
                    for (int i = 0; i < fp.Parameters.Count; i++)
                    {
                        if (i > 0) ps.Append(", ");
                        var p = fp.Parameters[i];
                        ps.Append(p.TypeId == 0 && p.Name.Length == 0 && i == fp.Parameters.Count - 1 ? "..." : Decl(p.TypeId, p.Name, level));
                    }
                    inner = inner + "(" + ps + ")";
                    id = fp.ReturnTypeId;
                    continue;
                }
                default:
                    return "void" + Space(inner); // var, datasec, func, decl tag: not types a declaration can use
            }
        }
        throw new BtfFormatException(-1, $"a type chain shorter than 256 at type id {id}");
    }
}
