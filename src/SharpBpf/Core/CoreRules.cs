using SharpBpf.Btf;

namespace SharpBpf.Core;

/// <summary>libbpf's CO-RE matching rules (relo_core.c): essential names, kind and type compatibility, type
/// matching, and matching a local access spec against one target candidate.</summary>
internal static class CoreRules
{
    private const int MaxDepth = 32;

    /// <summary>Length of the name without its flavor: everything from the last <c>X___Y</c> separator (X and Y not
    /// underscores) on is dropped, so <c>task_struct___old</c> is <c>task_struct</c>.</summary>
    public static int EssentialNameLength(string name)
    {
        for (int i = name.Length - 5; i >= 0; i--)
            if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' && name[i + 3] == '_' && name[i + 4] != '_') return i + 1;
        return name.Length;
    }

    public static string EssentialName(string name) => name[..EssentialNameLength(name)];

    public static bool EssentialNamesEqual(string a, string b)
    {
        int la = EssentialNameLength(a), lb = EssentialNameLength(b);
        return la == lb && string.CompareOrdinal(a, 0, b, 0, la) == 0;
    }

    private static bool IsAnyEnum(BtfType t) => t.Kind is BtfKind.Enum or BtfKind.Enum64;

    /// <summary>Same kind, or enum and enum64.</summary>
    public static bool KindsCompatible(BtfType a, BtfType b) => a.Kind == b.Kind || (IsAnyEnum(a) && IsAnyEnum(b));

    private static BtfType Skip(BtfType t) => t.Owner.Resolve(t);

    /// <summary>libbpf's <c>bpf_core_types_are_compat</c> (TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE): kinds agree
    /// level by level, through pointers, arrays and function prototypes; structs, unions, enums and fwds are
    /// compatible when their (already matched) names are; ints unless one is a legacy bitfield int.</summary>
    public static bool TypesAreCompatible(BtfType local, BtfType target, int level = MaxDepth)
    {
        if (!KindsCompatible(local, target)) return false;
        for (int depth = 0; depth < MaxDepth; depth++)
        {
            local = Skip(local);
            target = Skip(target);
            if (!KindsCompatible(local, target)) return false;
            switch (local)
            {
                case BtfVoid or BtfComposite or BtfEnum or BtfFwd:
                    return true;
                case BtfInt li:
                    return li.BitOffset == 0 && ((BtfInt)target).BitOffset == 0;
                case BtfPointer lp:
                    local = lp.Target;
                    target = ((BtfPointer)target).Target;
                    continue;
                case BtfArray la:
                    local = la.ElementType;
                    target = ((BtfArray)target).ElementType;
                    continue;
                case BtfFuncProto lf:
                {
                    var tf = (BtfFuncProto)target;
                    if (lf.Parameters.Count != tf.Parameters.Count) return false;
                    for (int i = 0; i < lf.Parameters.Count; i++)
                    {
                        if (level <= 0) return false;
                        var lpT = Skip(local.Owner.TypeById(lf.Parameters[i].TypeId));
                        var tpT = Skip(target.Owner.TypeById(tf.Parameters[i].TypeId));
                        if (!TypesAreCompatible(lpT, tpT, level - 1)) return false;
                    }
                    local = local.Owner.TypeById(lf.ReturnTypeId);
                    target = target.Owner.TypeById(tf.ReturnTypeId);
                    continue;
                }
                default:
                    return false;
            }
        }
        return false;
    }

    /// <summary>libbpf's <c>bpf_core_fields_are_compat</c>: any two composites; pointers and floats; fwds and enums
    /// with equal essential names (or one anonymous); ints unless legacy bitfield ints; arrays by element.</summary>
    public static bool FieldsAreCompatible(BtfType local, BtfType target)
    {
        for (int depth = 0; depth < MaxDepth; depth++)
        {
            local = Skip(local);
            target = Skip(target);
            if (local is BtfComposite && target is BtfComposite) return true;
            if (!KindsCompatible(local, target)) return false;
            switch (local)
            {
                case BtfPointer or BtfFloat:
                    return true;
                case BtfFwd or BtfEnum:
                    return EssentialNameLength(local.Name) == 0 || EssentialNameLength(target.Name) == 0 || EssentialNamesEqual(local.Name, target.Name);
                case BtfInt li:
                    return li.BitOffset == 0 && ((BtfInt)target).BitOffset == 0;
                case BtfArray la:
                    local = la.ElementType;
                    target = ((BtfArray)target).ElementType;
                    continue;
                default:
                    return false;
            }
        }
        return false;
    }

    /// <summary>libbpf's <c>bpf_core_names_match</c>: an anonymous target matches only an anonymous local.</summary>
    private static bool NamesMatch(string local, string target) =>
        target.Length == 0 ? local.Length == 0 : EssentialNamesEqual(local, target);

    /// <summary>libbpf's <c>bpf_core_types_match</c> (TYPE_MATCHES): same kinds (a struct/union behind a pointer may
    /// match a fwd), ints of equal size and signedness, arrays of equal length, every local member/enumerator
    /// present by name in the target, function prototypes argument by argument.</summary>
    public static bool TypesMatch(BtfType local, BtfType target, bool behindPointer = false, int level = MaxDepth)
    {
        if (level <= 0) return false;
        for (int depth = 0; depth < MaxDepth; depth++)
        {
            local = Skip(local);
            target = Skip(target);
            if (!NamesMatch(local.Name, target.Name)) return false;
            switch (local)
            {
                case BtfVoid:
                    return target is BtfVoid;
                case BtfFwd lf:
                    if (behindPointer)
                    {
                        if (target is BtfFwd tf0) return lf.IsUnion == tf0.IsUnion;
                        return (target.Kind == BtfKind.Struct && !lf.IsUnion) || (target.Kind == BtfKind.Union && lf.IsUnion);
                    }
                    return target is BtfFwd tf && lf.IsUnion == tf.IsUnion;
                case BtfEnum le:
                {
                    if (target is not BtfEnum te || le.Size != te.Size || le.Values.Count > te.Values.Count) return false;
                    foreach (var lv in le.Values)
                    {
                        bool found = false;
                        foreach (var tv in te.Values)
                            if (NamesMatch(lv.Name, tv.Name)) { found = true; break; }
                        if (!found) return false;
                    }
                    return true;
                }
                case BtfComposite lc:
                    if (behindPointer)
                    {
                        if (local.Kind == target.Kind) return true;
                        return target is BtfFwd tfw && tfw.IsUnion == (local.Kind == BtfKind.Union);
                    }
                    if (local.Kind != target.Kind) return false;
                    return CompositesMatch(lc, (BtfComposite)target, behindPointer, level);
                case BtfInt li:
                    return target is BtfInt ti && li.Size == ti.Size
                        && (li.Encoding & BtfIntEncoding.Signed) == (ti.Encoding & BtfIntEncoding.Signed);
                case BtfPointer lp:
                    if (target is not BtfPointer tp) return false;
                    behindPointer = true;
                    local = lp.Target;
                    target = tp.Target;
                    continue;
                case BtfArray la:
                    if (target is not BtfArray ta || la.Count != ta.Count) return false;
                    local = la.ElementType;
                    target = ta.ElementType;
                    continue;
                case BtfFuncProto lfp:
                {
                    if (target is not BtfFuncProto tfp || lfp.Parameters.Count != tfp.Parameters.Count) return false;
                    for (int i = 0; i < lfp.Parameters.Count; i++)
                        if (!TypesMatch(local.Owner.TypeById(lfp.Parameters[i].TypeId), target.Owner.TypeById(tfp.Parameters[i].TypeId), behindPointer, level - 1))
                            return false;
                    local = local.Owner.TypeById(lfp.ReturnTypeId);
                    target = target.Owner.TypeById(tfp.ReturnTypeId);
                    continue;
                }
                default:
                    return false;
            }
        }
        return false;
    }

    private static bool CompositesMatch(BtfComposite local, BtfComposite target, bool behindPointer, int level)
    {
        if (local.Members.Count > target.Members.Count) return false;
        foreach (var lm in local.Members)
        {
            bool matched = false;
            foreach (var tm in target.Members)
            {
                if (!NamesMatch(lm.Name, tm.Name)) continue;
                if (TypesMatch(lm.Type, tm.Type, behindPointer, level - 1))
                {
                    matched = true;
                    break;
                }
            }
            if (!matched) return false;
        }
        return true;
    }

    /// <summary>libbpf's <c>bpf_core_spec_match</c>: follows the local accessors through candidate
    /// <paramref name="target"/>, producing the target spec, or null when the candidate does not fit.</summary>
    public static CoreSpec? Match(CoreSpec local, BtfType target)
    {
        var spec = new CoreSpec(target.Owner, target.Id, local.Kind);
        var btf = target.Owner;
        if (CoreSpec.IsTypeBased(local.Kind))
        {
            var lroot = local.Btf.TypeById(local.RootTypeId);
            bool ok = local.Kind == BtfCoreRelocationKind.TypeMatches ? TypesMatch(lroot, target) : TypesAreCompatible(lroot, target);
            return ok ? spec : null;
        }
        if (CoreSpec.IsEnumValueBased(local.Kind))
        {
            if (btf.Resolve(target) is not BtfEnum e) return null;
            string name = local.Accessors[0].Name!;
            for (int i = 0; i < e.Values.Count; i++)
            {
                if (!EssentialNamesEqual(name, e.Values[i].Name)) continue;
                spec.Accessors.Add(new CoreAccessor(e.Id, i, e.Values[i].Name));
                spec.Raw.Add(i);
                return spec;
            }
            return null;
        }
        uint targetId = target.Id;
        for (int i = 0; i < local.Accessors.Count; i++)
        {
            var la = local.Accessors[i];
            var t = btf.Resolve(btf.TypeById(targetId));
            targetId = t.Id;
            if (la.Name is not null)
            {
                var localComposite = (BtfComposite)local.Btf.TypeById(la.TypeId);
                var localMember = localComposite.Members[la.Index];
                if (!MatchMember(localMember, t, spec, out targetId)) return null;
            }
            else
            {
                if (i > 0)
                {
                    if (t is not BtfArray a) return null;
                    bool flex = CoreSpec.IsFlexArray(btf, spec.Accessors[^1], a);
                    if (!flex && la.Index >= a.Count) return null;
                    targetId = btf.Resolve(a.ElementType).Id;
                }
                if (spec.Raw.Count == CoreSpec.MaxLength) return null;
                spec.Accessors.Add(new CoreAccessor(targetId, la.Index, null));
                spec.Raw.Add(la.Index);
                long size = CoreSpec.SizeOrMinusOne(btf, btf.TypeById(targetId));
                if (size < 0) return null;
                spec.BitOffset += la.Index * size * 8;
            }
        }
        return spec;
    }

    /// <summary>Finds the member named like <paramref name="localMember"/> in composite <paramref name="target"/>,
    /// descending into anonymous members; appends the raw path and accessor to <paramref name="spec"/>.</summary>
    private static bool MatchMember(BtfMember localMember, BtfType target, CoreSpec spec, out uint next)
    {
        next = 0;
        var btf = target.Owner;
        target = btf.Resolve(target);
        if (target is not BtfComposite c) return false;
        for (int i = 0; i < c.Members.Count; i++)
        {
            if (spec.Raw.Count == CoreSpec.MaxLength) return false;
            var m = c.Members[i];
            spec.BitOffset += m.BitOffset;
            spec.Raw.Add(i);
            if (m.Name.Length == 0)
            {
                if (MatchMember(localMember, m.Type, spec, out next)) return true;
            }
            else if (m.Name == localMember.Name)
            {
                spec.Accessors.Add(new CoreAccessor(c.Id, i, m.Name));
                next = m.TypeId;
                if (FieldsAreCompatible(localMember.Type, m.Type)) return true;
                spec.Accessors.RemoveAt(spec.Accessors.Count - 1);
                spec.BitOffset -= m.BitOffset;
                spec.Raw.RemoveAt(spec.Raw.Count - 1);
                return false;
            }
            spec.BitOffset -= m.BitOffset;
            spec.Raw.RemoveAt(spec.Raw.Count - 1);
        }
        return false;
    }
}
