using System.Runtime.CompilerServices;
using SharpBpf.Asm;
using SharpBpf.Btf;
using SharpBpf.Programs;

namespace SharpBpf.Core;

/// <summary>
/// The CO-RE relocation engine: applies the <c>.BTF.ext</c> core_relo records of an object's programs against a
/// target BTF (normally the running kernel's), as libbpf's <c>bpf_core_apply_relo</c> does.
/// <para>
/// For each relocation the local access path is resolved in the object's BTF; candidates are the target types whose
/// name equals the local root type's name without its <c>___flavor</c> suffix and whose kind matches; each candidate
/// is matched with libbpf's rules (fields by name through anonymous members, compatible field types, array bounds;
/// type compatibility; type matching for TYPE_MATCHES; enumerators by name). All matching candidates must agree,
/// else the relocation is ambiguous. The instruction is patched (ALU immediate, load/store offset and access size,
/// 64-bit immediate); an unresolvable relocation poisons it (a call to invalid helper 0xbad2310), so that only a
/// reachable use fails verification.
/// </para>
/// <para>Pure spec-side code: no syscalls. <see cref="BpfCollection.Load"/> uses it on every program it loads.</para>
/// </summary>
public static class CoreRelocator
{
    /// <summary>The helper id of a poisoned instruction (libbpf: 0xbad2310, "bad relo").</summary>
    public const int PoisonHelperId = 0xbad2310;

    private static readonly ConditionalWeakTable<BtfSpec, Dictionary<string, uint[]>> EssentialIndexes = new();

    /// <summary>libbpf's short name of a relocation kind.</summary>
    public static string KindName(BtfCoreRelocationKind kind) => kind switch
    {
        BtfCoreRelocationKind.FieldByteOffset => "byte_off",
        BtfCoreRelocationKind.FieldByteSize => "byte_sz",
        BtfCoreRelocationKind.FieldExists => "field_exists",
        BtfCoreRelocationKind.FieldSigned => "signed",
        BtfCoreRelocationKind.FieldLShiftU64 => "lshift_u64",
        BtfCoreRelocationKind.FieldRShiftU64 => "rshift_u64",
        BtfCoreRelocationKind.TypeIdLocal => "local_type_id",
        BtfCoreRelocationKind.TypeIdTarget => "target_type_id",
        BtfCoreRelocationKind.TypeExists => "type_exists",
        BtfCoreRelocationKind.TypeSize => "type_size",
        BtfCoreRelocationKind.EnumValueExists => "enumval_exists",
        BtfCoreRelocationKind.EnumValueValue => "enumval_value",
        BtfCoreRelocationKind.TypeMatches => "type_matches",
        _ => "unknown",
    };

    /// <summary>The core_relo records that apply to <paramref name="program"/>, with their instruction index in the
    /// linked program (subprogram copies included), in program order.</summary>
    /// <exception cref="ArgumentException">The program's <see cref="ProgramSpec.Functions"/> no longer describe its
    /// instructions (they were replaced), so the records cannot be placed.</exception>
    public static IReadOnlyList<(int Instruction, BtfCoreRelocation Relocation)> RelocationsOf(ProgramSpec program, BtfExt ext)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(ext);
        var sites = new List<(int, BtfCoreRelocation)>();
        foreach (var f in program.Functions)
        {
            if (!ext.Sections.TryGetValue(f.SectionName, out var sec) || sec.CoreRelocations.Count == 0) continue;
            if (f.Start < 0 || f.Length < 0 || f.Start + f.Length > program.Instructions.Length)
                throw new ArgumentException($"program '{program.Name}': function '{f.Name}' at [{f.Start}, +{f.Length}) lies outside its {program.Instructions.Length} instructions (were they replaced?)", nameof(program));
            foreach (var r in sec.CoreRelocations)
            {
                int idx = r.InstructionIndex - f.SectionOffset;
                if (idx >= 0 && idx < f.Length) sites.Add((f.Start + idx, r));
            }
        }
        sites.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return sites;
    }

    /// <summary>
    /// Computes every relocation of every program of <paramref name="spec"/> against <paramref name="target"/>
    /// without changing the spec: per program name, the results in instruction order.
    /// </summary>
    /// <exception cref="CoreRelocationException">A relocation cannot be applied (malformed, ambiguous, or its
    /// instruction has an unexpected form).</exception>
    public static IReadOnlyDictionary<string, IReadOnlyList<CoreRelocationResult>> Relocate(CollectionSpec spec, BtfSpec target)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(target);
        var all = new Dictionary<string, IReadOnlyList<CoreRelocationResult>>(StringComparer.Ordinal);
        var cache = new CandidateCache(target);
        foreach (var (name, prog) in spec.Programs)
        {
            var insns = (Instruction[])prog.Instructions.Clone();
            all[name] = Apply(name, prog, spec, target, insns, cache);
        }
        return all;
    }

    /// <summary>
    /// Applies the relocations of <paramref name="program"/> (named <paramref name="programName"/>, from
    /// <paramref name="collection"/>) to <paramref name="instructions"/> (the program's instructions or a copy of
    /// them, patched in place) against <paramref name="target"/>.
    /// </summary>
    /// <returns>One result per relocation, in instruction order (empty when the object has no CO-RE records).</returns>
    /// <exception cref="CoreRelocationException">A relocation cannot be applied.</exception>
    public static IReadOnlyList<CoreRelocationResult> Apply(string programName, ProgramSpec program, CollectionSpec collection, BtfSpec target, Instruction[] instructions) =>
        Apply(programName, program, collection, target, instructions, new CandidateCache(target));

    internal static IReadOnlyList<CoreRelocationResult> Apply(string programName, ProgramSpec program, CollectionSpec collection, BtfSpec target,
        Instruction[] instructions, CandidateCache cache)
    {
        ArgumentNullException.ThrowIfNull(programName);
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(collection);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(instructions);
        if (collection.BtfExt is not { } ext || collection.Btf is not { } local) return [];
        var sites = RelocationsOf(program, ext);
        if (sites.Count == 0) return [];
        var results = new CoreRelocationResult[sites.Count];
        for (int i = 0; i < sites.Count; i++)
        {
            var (at, relo) = sites[i];
            results[i] = ApplyOne(programName, local, target, relo, at, instructions, cache);
        }
        return results;
    }

    private struct Outcome
    {
        public ulong OldValue, NewValue;
        public int OldSize, NewSize;
        public uint OldTypeId, NewTypeId;
        public bool Poison, Validate, FailMemSizeAdjust;
        public string? PoisonReason;
    }

    internal static CoreRelocationResult ApplyOne(string prog, BtfSpec local, BtfSpec target, BtfCoreRelocation relo, int at,
        Instruction[] insns, CandidateCache cache)
    {
        string fallbackPath = local.TryTypeById(relo.TypeId, out var rootType) ? CoreSpec.TypeName(rootType) : $"type id {relo.TypeId}";
        CoreSpec localSpec;
        try
        {
            localSpec = CoreSpec.Parse(local, relo);
        }
        catch (Exception e) when (e is FormatException or BtfFormatException or KeyNotFoundException)
        {
            throw new CoreRelocationException(prog, relo.Kind, fallbackPath, relo.AccessString, "invalid relocation: " + e.Message);
        }
        string path = localSpec.Path();
        CoreRelocationException Fail(string message) => new(prog, relo.Kind, path, relo.AccessString, $"instruction {at}: {message}");

        if ((uint)at >= (uint)insns.Length) throw Fail($"the instruction is outside the program's {insns.Length} instructions");
        try
        {
            return Patch(prog, local, relo, at, insns, cache, localSpec, path, Fail);
        }
        catch (Exception e) when (e is BtfFormatException or KeyNotFoundException)
        {
            // Malformed BTF met while matching or computing (a reference loop, a type without size where one is needed).
            throw Fail(e.Message);
        }
    }

    private static CoreRelocationResult Patch(string prog, BtfSpec local, BtfCoreRelocation relo, int at, Instruction[] insns, CandidateCache cache,
        CoreSpec localSpec, string path, Func<string, CoreRelocationException> Fail)
    {
        Outcome outcome;
        CoreSpec? chosen = null;
        if (relo.Kind == BtfCoreRelocationKind.TypeIdLocal)
        {
            outcome = new Outcome { OldValue = relo.TypeId, NewValue = relo.TypeId, Validate = false };
        }
        else
        {
            var root = local.TypeById(relo.TypeId);
            if (root.Name.Length == 0) throw Fail("relocations against anonymous types are not supported (libbpf neither)");
            outcome = default;
            bool any = false;
            foreach (var cand in cache.Candidates(root))
            {
                CoreSpec? candSpec;
                try
                {
                    candSpec = CoreRules.Match(localSpec, cand);
                }
                catch (Exception e) when (e is BtfFormatException or KeyNotFoundException)
                {
                    throw Fail($"matching candidate {cand}: {e.Message}");
                }
                if (candSpec is null) continue;
                var res = Calculate(localSpec, candSpec, Fail);
                if (!any)
                {
                    outcome = res;
                    chosen = candSpec;
                    any = true;
                }
                else if (candSpec.BitOffset != chosen!.BitOffset)
                    throw Fail($"field offset ambiguity: candidates {chosen} and {candSpec} put it at bit {chosen.BitOffset} and {candSpec.BitOffset}");
                else if (res.Poison != outcome.Poison || res.NewValue != outcome.NewValue)
                    throw Fail($"relocation decision ambiguity: {chosen} gives {(outcome.Poison ? "failure" : outcome.NewValue.ToString(System.Globalization.CultureInfo.InvariantCulture))}, " +
                               $"{candSpec} gives {(res.Poison ? "failure" : res.NewValue.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
            }
            if (!any) outcome = Calculate(localSpec, null, Fail);
        }

        var insn = insns[at];
        // What the instruction carried, as libbpf reports it (bitfield and type id values are not validated, so the
        // compiler's guess may differ from the value computed from the local types).
        ulong carried = (insn.OpCode & 0x07) switch
        {
            0x04 or 0x07 => (ulong)(long)insn.Imm,
            0x01 or 0x02 or 0x03 => (ulong)(long)insn.Offset,
            _ when insn.OpCode == 0x18 && at + 1 < insns.Length => (uint)insn.Imm | (ulong)(uint)insns[at + 1].Imm << 32,
            _ => outcome.OldValue,
        };
        bool poisoned = outcome.Poison;
        string? reason = outcome.PoisonReason;
        int oldSize = 0, newSize = 0;
        if (!poisoned)
        {
            byte cls = (byte)(insn.OpCode & 0x07);
            switch (cls)
            {
                case 0x04 or 0x07: // ALU, ALU64
                    if ((insn.OpCode & 0x08) != 0) throw Fail($"an ALU instruction with an immediate operand, got opcode 0x{insn.OpCode:x2}");
                    if (outcome.Validate && (ulong)(long)insn.Imm != outcome.OldValue)
                        throw Fail($"the instruction's immediate {insn.Imm} is not the expected local value {outcome.OldValue} (-> {outcome.NewValue})");
                    insns[at] = new Instruction(insn.OpCode, insn.Dst, insn.Src, insn.Offset, unchecked((int)outcome.NewValue));
                    break;
                case 0x01 or 0x02 or 0x03: // LDX, ST, STX
                {
                    if (outcome.Validate && (ulong)(long)insn.Offset != outcome.OldValue)
                        throw Fail($"the instruction's offset {insn.Offset} is not the expected local value {outcome.OldValue} (-> {outcome.NewValue})");
                    if (outcome.NewValue > (ulong)short.MaxValue)
                        throw Fail($"the new offset {outcome.NewValue} does not fit a load/store instruction");
                    if (outcome.FailMemSizeAdjust)
                    {
                        poisoned = true;
                        reason = $"the field is {outcome.NewSize} bytes in the target, {outcome.OldSize} locally, and is not a pointer or unsigned integer whose access size can be changed";
                        break;
                    }
                    byte opcode = insn.OpCode;
                    if (outcome.NewSize != outcome.OldSize)
                    {
                        int current = SizeBytes(opcode);
                        if (current != outcome.OldSize)
                            throw Fail($"the instruction accesses {current} bytes, the local field is {outcome.OldSize}");
                        int code = outcome.NewSize switch { 8 => 0x18, 4 => 0x00, 2 => 0x08, 1 => 0x10, _ => -1 };
                        if (code < 0) throw Fail($"the target field size {outcome.NewSize} is not a load/store size");
                        opcode = (byte)((opcode & ~0x18) | code);
                        (oldSize, newSize) = (outcome.OldSize, outcome.NewSize);
                    }
                    insns[at] = new Instruction(opcode, insn.Dst, insn.Src, (short)outcome.NewValue, insn.Imm);
                    break;
                }
                case 0x00 when insn.OpCode == 0x18:
                {
                    if (at + 1 >= insns.Length || insn.Src != 0 || insn.Offset != 0 || insns[at + 1].OpCode != 0 || insns[at + 1].Dst != 0
                        || insns[at + 1].Src != 0 || insns[at + 1].Offset != 0)
                        throw Fail("a plain 64-bit immediate load (ldimm64 without pseudo source) of unexpected form");
                    ulong imm = (uint)insn.Imm | (ulong)(uint)insns[at + 1].Imm << 32;
                    if (outcome.Validate && imm != outcome.OldValue)
                        throw Fail($"the instruction's immediate {imm} is not the expected local value {outcome.OldValue} (-> {outcome.NewValue})");
                    insns[at] = new Instruction(insn.OpCode, insn.Dst, insn.Src, insn.Offset, unchecked((int)(uint)outcome.NewValue));
                    var hi = insns[at + 1];
                    insns[at + 1] = new Instruction(hi.OpCode, hi.Dst, hi.Src, hi.Offset, unchecked((int)(uint)(outcome.NewValue >> 32)));
                    break;
                }
                default:
                    throw Fail($"an ALU, load/store or 64-bit immediate instruction to relocate, got opcode 0x{insn.OpCode:x2}");
            }
        }
        if (poisoned)
        {
            if (insn.OpCode == 0x18 && at + 1 < insns.Length) insns[at + 1] = Poison;
            insns[at] = Poison;
        }
        return new CoreRelocationResult
        {
            ProgramName = prog,
            Instruction = at,
            Kind = relo.Kind,
            LocalTypeId = relo.TypeId,
            AccessString = relo.AccessString,
            TypePath = path,
            LocalSpec = localSpec.ToString(),
            TargetSpec = chosen?.ToString(),
            TargetTypeId = chosen?.RootTypeId ?? 0,
            OldValue = carried,
            NewValue = poisoned ? 0 : outcome.NewValue,
            OldSize = oldSize,
            NewSize = newSize,
            Poisoned = poisoned,
            PoisonReason = poisoned ? reason ?? "no matching type in the target BTF" : null,
        };
    }

    /// <summary>The poison instruction: <c>call 0xbad2310</c>; the verifier reports it as <c>invalid func unknown#195896080</c>.</summary>
    public static Instruction Poison => new(0x85, 0, 0, 0, PoisonHelperId);

    private static int SizeBytes(byte opcode) => (opcode & 0x18) switch { 0x18 => 8, 0x00 => 4, 0x08 => 2, _ => 1 };

    private static Outcome Calculate(CoreSpec local, CoreSpec? target, Func<string, CoreRelocationException> fail)
    {
        var o = new Outcome { Validate = true };
        var kind = local.Kind;
        if (CoreSpec.IsFieldBased(kind))
        {
            CalcField(local, kind, out o.OldValue, out o.OldSize, out o.OldTypeId, out bool validate, fail);
            o.Validate = validate;
            if (kind == BtfCoreRelocationKind.FieldExists) o.NewValue = target is null ? 0UL : 1UL;
            else if (target is null)
            {
                o.Poison = true;
                o.PoisonReason = "no field matching it in the target BTF";
                return o;
            }
            if (target is not null)
            {
                CalcField(target, kind, out o.NewValue, out o.NewSize, out o.NewTypeId, out _, fail);
                if (o.OldSize != o.NewSize)
                {
                    var ot = local.Btf.TypeById(o.OldTypeId);
                    var nt = target.Btf.TypeById(o.NewTypeId);
                    bool ok = (ot is BtfPointer && nt is BtfPointer)
                        || (ot is BtfInt oi && nt is BtfInt ni && oi.Encoding != BtfIntEncoding.Signed && ni.Encoding != BtfIntEncoding.Signed);
                    o.FailMemSizeAdjust = !ok;
                }
            }
            return o;
        }
        if (CoreSpec.IsTypeBased(kind))
        {
            o.OldValue = TypeValue(local, kind, fail);
            o.NewValue = target is null ? 0 : TypeValue(target, kind, fail);
            if (kind == BtfCoreRelocationKind.TypeIdTarget) o.Validate = false; // ids move during linking
            return o;
        }
        o.OldValue = EnumValue(local, kind);
        if (target is null)
        {
            if (kind == BtfCoreRelocationKind.EnumValueValue)
            {
                o.Poison = true;
                o.PoisonReason = "no enumerator of that name in a matching enum of the target BTF";
            }
            o.NewValue = 0;
            return o;
        }
        o.NewValue = EnumValue(target, kind);
        return o;
    }

    private static ulong TypeValue(CoreSpec spec, BtfCoreRelocationKind kind, Func<string, CoreRelocationException> fail) => kind switch
    {
        BtfCoreRelocationKind.TypeIdTarget => spec.RootTypeId,
        BtfCoreRelocationKind.TypeExists or BtfCoreRelocationKind.TypeMatches => 1,
        BtfCoreRelocationKind.TypeSize => CoreSpec.SizeOrMinusOne(spec.Btf, spec.Btf.TypeById(spec.RootTypeId)) is var s and >= 0
            ? (ulong)s : throw fail($"{spec.Btf.TypeById(spec.RootTypeId)} has no size"),
        _ => throw fail("unexpected type relocation kind"),
    };

    private static ulong EnumValue(CoreSpec spec, BtfCoreRelocationKind kind)
    {
        if (kind == BtfCoreRelocationKind.EnumValueExists) return 1;
        var acc = spec.Accessors[0];
        var e = (BtfEnum)spec.Btf.TypeById(acc.TypeId);
        var v = e.Values[acc.Index];
        // A 32-bit enum value goes into the instruction as its 32 bits (libbpf: the __u32/__s32 val widened to u64).
        return e.Kind == BtfKind.Enum ? (e.Signed ? unchecked((ulong)(long)(int)v.Value) : (uint)v.Value) : v.UnsignedValue;
    }

    private static void CalcField(CoreSpec spec, BtfCoreRelocationKind kind, out ulong value, out int fieldSize, out uint typeId,
        out bool validate, Func<string, CoreRelocationException> fail)
    {
        fieldSize = 0;
        typeId = 0;
        validate = true;
        if (kind == BtfCoreRelocationKind.FieldExists)
        {
            value = 1;
            return;
        }
        var btf = spec.Btf;
        var acc = spec.Accessors[^1];
        if (acc.Name is null)
        {
            long sz = CoreSpec.SizeOrMinusOne(btf, btf.TypeById(acc.TypeId));
            if (sz < 0) throw fail($"array element {btf.TypeById(acc.TypeId)} has no size");
            if (kind == BtfCoreRelocationKind.FieldByteOffset)
            {
                value = (ulong)(spec.BitOffset / 8);
                fieldSize = (int)sz;
                typeId = acc.TypeId;
            }
            else if (kind == BtfCoreRelocationKind.FieldByteSize) value = (ulong)sz;
            else throw fail($"<{KindName(kind)}> cannot be applied to an array element access");
            return;
        }
        var holder = (BtfComposite)btf.TypeById(acc.TypeId);
        var m = holder.Members[acc.Index];
        var mt = btf.Resolve(m.Type);
        long bitOff = spec.BitOffset;
        int bitSize = m.BitfieldSize;
        bool bitfield = bitSize > 0;
        long byteOff, byteSize;
        if (bitfield)
        {
            byteSize = CoreSpec.SizeOrMinusOne(btf, mt);
            if (byteSize <= 0) throw fail($"bitfield of {mt}, which has no size");
            byteOff = bitOff / 8 / byteSize * byteSize;
            while (bitOff + bitSize - byteOff * 8 > byteSize * 8)
            {
                if (byteSize >= 8) throw fail("the bitfield cannot be read with one 64-bit load");
                byteSize *= 2;
                byteOff = bitOff / 8 / byteSize * byteSize;
            }
        }
        else
        {
            byteSize = CoreSpec.SizeOrMinusOne(btf, mt);
            if (byteSize < 0) throw fail($"field type {mt} has no size");
            byteOff = bitOff / 8;
            bitSize = (int)(byteSize * 8);
        }
        validate = !bitfield; // bitfield placement may legitimately differ from the compiler's guess
        switch (kind)
        {
            case BtfCoreRelocationKind.FieldByteOffset:
                value = (ulong)byteOff;
                if (!bitfield)
                {
                    fieldSize = (int)byteSize;
                    typeId = mt.Id;
                }
                break;
            case BtfCoreRelocationKind.FieldByteSize:
                value = (ulong)byteSize;
                break;
            case BtfCoreRelocationKind.FieldSigned:
                value = (mt is BtfEnum { Signed: true } || mt is BtfInt i && (i.Encoding & BtfIntEncoding.Signed) != 0) ? 1UL : 0UL;
                validate = true;
                break;
            case BtfCoreRelocationKind.FieldLShiftU64:
                value = (ulong)(64 - (bitOff + bitSize - byteOff * 8)); // little-endian
                break;
            case BtfCoreRelocationKind.FieldRShiftU64:
                value = (ulong)(64 - bitSize);
                validate = true;
                break;
            default:
                throw fail("unexpected field relocation kind");
        }
    }

    /// <summary>Candidate target types per local root type, found by essential name and kind: the target's types of
    /// exactly that name plus its flavored ones (<c>name___x</c>, indexed once per target BTF: only names that carry a
    /// flavor, so the index stays small); the per-type lists live for one relocation run.</summary>
    internal sealed class CandidateCache(BtfSpec target)
    {
        private readonly Dictionary<(BtfSpec, uint), List<BtfType>> _byLocal = [];

        public List<BtfType> Candidates(BtfType localRoot)
        {
            if (_byLocal.TryGetValue((localRoot.Owner, localRoot.Id), out var list)) return list;
            list = [];
            string essential = CoreRules.EssentialName(localRoot.Name);
            foreach (var t in target.TypesByName(essential))
                if (CoreRules.KindsCompatible(localRoot, t)) list.Add(t);
            if (EssentialIndexes.GetValue(target, BuildFlavorIndex).TryGetValue(essential, out var ids))
            {
                foreach (uint id in ids)
                {
                    var t = target.TypeById(id);
                    if (CoreRules.KindsCompatible(localRoot, t)) list.Add(t);
                }
                list.Sort((a, b) => a.Id.CompareTo(b.Id));
            }
            _byLocal[(localRoot.Owner, localRoot.Id)] = list;
            return list;
        }

        // Essential name -> ids of the types whose name has a flavor suffix.
        private static Dictionary<string, uint[]> BuildFlavorIndex(BtfSpec btf)
        {
            var lists = new Dictionary<string, List<uint>>(StringComparer.Ordinal);
            foreach (var (name, ids) in btf.NamedTypeIds)
            {
                if (!name.Contains("___", StringComparison.Ordinal)) continue;
                int len = CoreRules.EssentialNameLength(name);
                if (len == name.Length) continue;
                string key = name[..len];
                if (!lists.TryGetValue(key, out var l)) lists[key] = l = [];
                l.AddRange(ids);
            }
            var index = new Dictionary<string, uint[]>(lists.Count, StringComparer.Ordinal);
            foreach (var (k, l) in lists) index[k] = [.. l];
            return index;
        }
    }
}
