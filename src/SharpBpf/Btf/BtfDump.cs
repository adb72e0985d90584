using System.Globalization;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>Text dumps of BTF. <see cref="WriteRaw"/> prints one entry per type exactly like
/// <c>bpftool btf dump file X format raw</c> (members, values and parameters on tab-indented lines).</summary>
public static class BtfDump
{
    /// <summary>Writes every type of <paramref name="spec"/> in id order, bpftool's raw format.</summary>
    public static void WriteRaw(BtfSpec spec, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(writer);
        var sb = new StringBuilder(256);
        foreach (var t in spec.Types)
        {
            sb.Clear();
            AppendRaw(sb, t);
            sb.Append('\n');
            writer.Write(sb);
        }
    }

    /// <summary>One type in bpftool's raw format (several lines for types with members, no trailing newline).</summary>
    public static string FormatRaw(BtfType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var sb = new StringBuilder(64);
        AppendRaw(sb, type);
        return sb.ToString();
    }

    /// <summary>bpftool's kind names (BTF_KIND_* without the prefix).</summary>
    public static string KindName(BtfKind kind) => kind switch
    {
        BtfKind.Void => "UNKN",
        BtfKind.Int => "INT",
        BtfKind.Pointer => "PTR",
        BtfKind.Array => "ARRAY",
        BtfKind.Struct => "STRUCT",
        BtfKind.Union => "UNION",
        BtfKind.Enum => "ENUM",
        BtfKind.Fwd => "FWD",
        BtfKind.Typedef => "TYPEDEF",
        BtfKind.Volatile => "VOLATILE",
        BtfKind.Const => "CONST",
        BtfKind.Restrict => "RESTRICT",
        BtfKind.Func => "FUNC",
        BtfKind.FuncProto => "FUNC_PROTO",
        BtfKind.Var => "VAR",
        BtfKind.Datasec => "DATASEC",
        BtfKind.Float => "FLOAT",
        BtfKind.DeclTag => "DECL_TAG",
        BtfKind.TypeTag => "TYPE_TAG",
        BtfKind.Enum64 => "ENUM64",
        _ => "UNKN",
    };

    private static string Quoted(string name) => name.Length == 0 ? "'(anon)'" : "'" + name + "'";

    private static void AppendRaw(StringBuilder sb, BtfType t)
    {
        var inv = CultureInfo.InvariantCulture;
        sb.Append('[').Append(t.Id.ToString(inv)).Append("] ").Append(KindName(t.Kind)).Append(' ').Append(Quoted(t.Name));
        switch (t)
        {
            case BtfInt i:
                string enc = i.Encoding switch
                {
                    BtfIntEncoding.None => "(none)",
                    BtfIntEncoding.Signed => "SIGNED",
                    BtfIntEncoding.Char => "CHAR",
                    BtfIntEncoding.Bool => "BOOL",
                    _ => "UNKN",
                };
                sb.Append(inv, $" size={i.Size} bits_offset={i.BitOffset} nr_bits={i.Bits} encoding={enc}");
                break;
            case BtfReference r:
                sb.Append(inv, $" type_id={r.TypeId}");
                break;
            case BtfArray a:
                sb.Append(inv, $" type_id={a.ElementTypeId} index_type_id={a.IndexTypeId} nr_elems={a.Count}");
                break;
            case BtfComposite c:
                sb.Append(inv, $" size={c.Size} vlen={c.Members.Count}");
                foreach (var m in c.Members)
                {
                    sb.Append(inv, $"\n\t{Quoted(m.Name)} type_id={m.TypeId} bits_offset={m.BitOffset}");
                    if (m.BitfieldSize != 0) sb.Append(inv, $" bitfield_size={m.BitfieldSize}");
                }
                break;
            case BtfEnum e:
                sb.Append(inv, $" encoding={(e.Signed ? "SIGNED" : "UNSIGNED")} size={e.Size} vlen={e.Values.Count}");
                foreach (var v in e.Values)
                {
                    sb.Append("\n\t").Append(Quoted(v.Name)).Append(" val=");
                    if (e.Kind == BtfKind.Enum64)
                        sb.Append(e.Signed ? v.Value.ToString(inv) + "LL" : v.UnsignedValue.ToString(inv) + "ULL");
                    else
                        sb.Append(e.Signed ? ((int)v.Value).ToString(inv) : ((uint)v.UnsignedValue).ToString(inv));
                }
                break;
            case BtfFwd f:
                sb.Append(f.IsUnion ? " fwd_kind=union" : " fwd_kind=struct");
                break;
            case BtfFunc fn:
                string linkage = fn.Linkage switch
                {
                    BtfFuncLinkage.Static => "static",
                    BtfFuncLinkage.Global => "global",
                    BtfFuncLinkage.Extern => "extern",
                    _ => "(unknown)",
                };
                sb.Append(inv, $" type_id={fn.ProtoTypeId} linkage={linkage}");
                break;
            case BtfFuncProto fp:
                sb.Append(inv, $" ret_type_id={fp.ReturnTypeId} vlen={fp.Parameters.Count}");
                foreach (var p in fp.Parameters) sb.Append(inv, $"\n\t{Quoted(p.Name)} type_id={p.TypeId}");
                break;
            case BtfVar v:
                string vl = v.Linkage switch
                {
                    BtfVarLinkage.Static => "static",
                    BtfVarLinkage.GlobalAllocated => "global",
                    BtfVarLinkage.GlobalExtern => "extern",
                    _ => "(unknown)",
                };
                sb.Append(inv, $" type_id={v.TypeId}, linkage={vl}");
                break;
            case BtfDatasec d:
                sb.Append(inv, $" size={d.Size} vlen={d.Variables.Count}");
                foreach (var v in d.Variables)
                {
                    sb.Append(inv, $"\n\ttype_id={v.TypeId} offset={v.Offset} size={v.Size}");
                    if (t.Owner.TryTypeById(v.TypeId, out var vt))
                        sb.Append(" (").Append(KindName(vt.Kind)).Append(" '").Append(vt.Id == 0 ? "" : vt.Name).Append("')");
                }
                break;
            case BtfFloat fl:
                sb.Append(inv, $" size={fl.Size}");
                break;
            case BtfDeclTag dt:
                sb.Append(inv, $" type_id={dt.TypeId} component_idx={dt.ComponentIndex}");
                break;
        }
    }
}
