using System.Text;
using SharpBpf.Btf;

namespace SharpBpf.Core;

/// <summary>One "turning point" of an access: a named member (<see cref="Name"/> set) of composite
/// <see cref="TypeId"/>, an array element (<see cref="Name"/> null, <see cref="TypeId"/> the element type) or, for
/// enum relocations, an enumerator.</summary>
internal readonly record struct CoreAccessor(uint TypeId, int Index, string? Name);

/// <summary>A relocation's access path resolved in one BTF (libbpf's <c>struct bpf_core_spec</c>): the high-level
/// accessors (named members and array indexes), the raw access indexes, and the resulting bit offset.</summary>
internal sealed class CoreSpec
{
    /// <summary>libbpf's BPF_CORE_SPEC_MAX_LEN.</summary>
    public const int MaxLength = 64;

    public CoreSpec(BtfSpec btf, uint rootTypeId, BtfCoreRelocationKind kind)
    {
        Btf = btf;
        RootTypeId = rootTypeId;
        Kind = kind;
    }

    public BtfSpec Btf { get; }
    public uint RootTypeId { get; }
    public BtfCoreRelocationKind Kind { get; }
    public List<CoreAccessor> Accessors { get; } = [];
    public List<int> Raw { get; } = [];
    public long BitOffset { get; set; }

    public static bool IsFieldBased(BtfCoreRelocationKind k) => k <= BtfCoreRelocationKind.FieldRShiftU64;

    public static bool IsTypeBased(BtfCoreRelocationKind k) =>
        k is BtfCoreRelocationKind.TypeIdLocal or BtfCoreRelocationKind.TypeIdTarget or BtfCoreRelocationKind.TypeExists
            or BtfCoreRelocationKind.TypeSize or BtfCoreRelocationKind.TypeMatches;

    public static bool IsEnumValueBased(BtfCoreRelocationKind k) =>
        k is BtfCoreRelocationKind.EnumValueExists or BtfCoreRelocationKind.EnumValueValue;

    /// <summary>Parses the access string of <paramref name="relo"/> against the object's BTF.</summary>
    /// <exception cref="FormatException">The access string is malformed or does not fit the types (message says why).</exception>
    public static CoreSpec Parse(BtfSpec btf, BtfCoreRelocation relo)
    {
        var spec = new CoreSpec(btf, relo.TypeId, relo.Kind);
        string s = relo.AccessString;
        if (s.Length == 0 || s[0] == ':') throw new FormatException($"access string '{s}' is empty or starts with ':'");
        if (IsTypeBased(relo.Kind))
        {
            if (s != "0") throw new FormatException($"a type relocation's access string must be \"0\", got '{s}'");
            return spec;
        }
        foreach (var part in s.Split(':'))
        {
            if (!int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int idx))
                throw new FormatException($"access string '{s}' has a non-numeric element '{part}'");
            if (spec.Raw.Count == MaxLength) throw new FormatException($"access string '{s}' is longer than {MaxLength} elements");
            spec.Raw.Add(idx);
        }
        if (!btf.TryTypeById(relo.TypeId, out var root) || relo.TypeId == 0)
            throw new FormatException($"root type id {relo.TypeId} is not in the object's BTF");
        var t = btf.Resolve(root);
        int access = spec.Raw[0];
        if (IsEnumValueBased(relo.Kind))
        {
            if (t is not BtfEnum e || spec.Raw.Count > 1 || access >= e.Values.Count)
                throw new FormatException($"an enumerator index of an enum, got '{s}' on {t}");
            spec.Accessors.Add(new CoreAccessor(t.Id, access, e.Values[access].Name));
            return spec;
        }
        spec.Accessors.Add(new CoreAccessor(t.Id, access, null));
        long size = SizeOrThrow(btf, t);
        spec.BitOffset = access * size * 8;
        uint id = t.Id;
        for (int i = 1; i < spec.Raw.Count; i++)
        {
            t = btf.Resolve(btf.TypeById(id));
            access = spec.Raw[i];
            if (t is BtfComposite c)
            {
                if ((uint)access >= (uint)c.Members.Count)
                    throw new FormatException($"member index {access} of {c} ({c.Members.Count} members) in '{s}'");
                var m = c.Members[access];
                spec.BitOffset += m.BitOffset;
                if (m.Name.Length > 0) spec.Accessors.Add(new CoreAccessor(c.Id, access, m.Name));
                id = m.TypeId;
            }
            else if (t is BtfArray a)
            {
                var elem = btf.Resolve(a.ElementType);
                bool flex = IsFlexArray(btf, spec.Accessors[^1], a);
                if (access < 0 || (!flex && access >= a.Count))
                    throw new FormatException($"array index {access} of {a} ({a.Count} elements) in '{s}'");
                spec.Accessors.Add(new CoreAccessor(elem.Id, access, null));
                spec.BitOffset += access * SizeOrThrow(btf, elem) * 8;
                id = elem.Id;
            }
            else throw new FormatException($"element {i} of '{s}' indexes into {t}, which is neither a struct, union nor array");
        }
        return spec;
    }

    internal static long SizeOrThrow(BtfSpec btf, BtfType t)
    {
        try { return btf.SizeOf(t); }
        catch (ArgumentException) { throw new FormatException($"{t} has no size"); }
    }

    internal static long SizeOrMinusOne(BtfSpec btf, BtfType t)
    {
        try { return btf.SizeOf(t); }
        catch (ArgumentException) { return -1; }
    }

    /// <summary>A zero-length array that is the last member of the struct holding it.</summary>
    internal static bool IsFlexArray(BtfSpec btf, CoreAccessor holder, BtfArray a) =>
        holder.Name is not null && a.Count == 0 && btf.TypeById(holder.TypeId) is BtfComposite c && holder.Index == c.Members.Count - 1;

    /// <summary>C-like path: <c>struct task_struct.comm[3]</c>, <c>enum pid_type::PIDTYPE_SID</c>, <c>struct task_struct</c>.</summary>
    public string Path()
    {
        var sb = new StringBuilder(TypeName(Btf.TypeById(RootTypeId)));
        if (IsEnumValueBased(Kind))
        {
            if (Accessors.Count > 0) sb.Append("::").Append(Accessors[0].Name);
            return sb.ToString();
        }
        if (!IsFieldBased(Kind)) return sb.ToString();
        for (int i = 0; i < Accessors.Count; i++)
        {
            var a = Accessors[i];
            if (a.Name is not null) sb.Append('.').Append(a.Name);
            else if (i > 0 || a.Index > 0) sb.Append('[').Append(a.Index).Append(']');
        }
        return sb.ToString();
    }

    /// <summary>libbpf's format: <c>[id] struct task_struct.pid (0:1 @ offset 20)</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder().Append('[').Append(RootTypeId).Append("] ").Append(Path());
        if (IsEnumValueBased(Kind) && Accessors.Count > 0 && Btf.Resolve(Btf.TypeById(Accessors[0].TypeId)) is BtfEnum e)
        {
            var v = e.Values[Accessors[0].Index];
            sb.Append(" = ").Append(e.Signed ? v.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) : v.UnsignedValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else if (IsFieldBased(Kind))
        {
            sb.Append(" (").AppendJoin(':', Raw).Append(" @ offset ").Append(BitOffset / 8);
            if (BitOffset % 8 != 0) sb.Append('.').Append(BitOffset % 8);
            sb.Append(')');
        }
        return sb.ToString();
    }

    public static string TypeName(BtfType t)
    {
        string kind = t.Kind switch
        {
            BtfKind.Struct => "struct",
            BtfKind.Union => "union",
            BtfKind.Enum or BtfKind.Enum64 => "enum",
            BtfKind.Fwd => ((BtfFwd)t).IsUnion ? "union" : "struct",
            BtfKind.Typedef => "typedef",
            _ => t.Kind.ToString().ToLowerInvariant(),
        };
        return t.Name.Length == 0 ? kind + " <anon>" : kind + " " + t.Name;
    }
}
