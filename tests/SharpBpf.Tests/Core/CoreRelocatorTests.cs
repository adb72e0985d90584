using System.Buffers.Binary;
using SharpBpf.Asm;
using SharpBpf.Btf;
using SharpBpf.Core;
using SharpBpf.Programs;
using SharpBpf.Tests.Btf;

namespace SharpBpf.Tests.Core;

/// <summary>The CO-RE engine against synthetic local and target BTF: flavors, mismatches, ambiguity, bitfields,
/// size changes, enum64, type matching and poisoning. No kernel needed.</summary>
public class CoreRelocatorTests
{
    /// <summary>Builds BTF by type: ints, pointers, structs (bitfields set the kind flag), enums, arrays.</summary>
    private sealed class Types
    {
        public BtfBlobBuilder B { get; } = new();

        public uint Int(string name, uint size, bool signed = false) =>
            B.Add(BtfKind.Int, name, 0, size, false, (signed ? 1u << 24 : 0) | size * 8);

        public uint Ptr(uint target) => B.Add(BtfKind.Pointer, "", 0, target);

        public uint Array(uint elem, uint index, uint count) => B.Add(BtfKind.Array, "", 0, 0, false, elem, index, count);

        public uint Struct(string name, uint size, params (string Name, uint Type, uint BitOffset, uint Bitfield)[] members) =>
            Composite(BtfKind.Struct, name, size, members);

        public uint Union(string name, uint size, params (string Name, uint Type, uint BitOffset, uint Bitfield)[] members) =>
            Composite(BtfKind.Union, name, size, members);

        private uint Composite(BtfKind kind, string name, uint size, (string Name, uint Type, uint BitOffset, uint Bitfield)[] members)
        {
            bool kflag = members.Any(m => m.Bitfield != 0);
            var extra = members.SelectMany(m => new[] { B.Str(m.Name), m.Type, kflag ? m.Bitfield << 24 | m.BitOffset : m.BitOffset }).ToArray();
            return B.Add(kind, name, members.Length, size, kflag, extra);
        }

        public uint Enum(string name, params (string Name, int Value)[] values) =>
            B.Add(BtfKind.Enum, name, values.Length, 4, false, values.SelectMany(v => new[] { B.Str(v.Name), (uint)v.Value }).ToArray());

        public uint Enum64(string name, params (string Name, ulong Value)[] values) =>
            B.Add(BtfKind.Enum64, name, values.Length, 8, false, values.SelectMany(v => new[] { B.Str(v.Name), (uint)v.Value, (uint)(v.Value >> 32) }).ToArray());

        public BtfSpec Build() => BtfSpec.Parse(B.Build());
    }

    /// <summary>A one-program collection whose section "sec" carries the given core_relo records.</summary>
    private static CollectionSpec Collection(Types local, Instruction[] insns, params (int Insn, uint Type, string Access, BtfCoreRelocationKind Kind)[] relos)
    {
        uint sec = local.B.Str("sec");
        var access = relos.Select(r => local.B.Str(r.Access)).ToArray();
        var btf = local.Build();
        var ext = new byte[32 + 4 + 8 + 16 * relos.Length];
        void W(int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(ext.AsSpan(at), v);
        BinaryPrimitives.WriteUInt16LittleEndian(ext, BtfSpec.Magic);
        ext[2] = 1;
        W(4, 32);
        W(24, 0);
        W(28, (uint)(ext.Length - 32));
        W(32, 16);
        W(36, sec);
        W(40, (uint)relos.Length);
        for (int i = 0; i < relos.Length; i++)
        {
            int at = 44 + 16 * i;
            W(at, (uint)relos[i].Insn * 8);
            W(at + 4, relos[i].Type);
            W(at + 8, access[i]);
            W(at + 12, (uint)relos[i].Kind);
        }
        var prog = new ProgramSpec
        {
            Name = "p",
            Instructions = insns,
            Functions = [new LinkedFunction("p", "sec", 0, 0, insns.Length)],
        };
        return new CollectionSpec { Btf = btf, BtfExt = BtfExt.Parse(ext, btf), Programs = { ["p"] = prog } };
    }

    private static Instruction MovImm(int imm) => new(0xb7, 1, 0, 0, imm);          // r1 = imm
    private static Instruction Ldx(byte size, short off) => new((byte)(0x61 | size), 0, 1, off, 0); // r0 = *(size *)(r1 + off)
    private const byte W = 0x00, H = 0x08, B = 0x10, DW = 0x18;
    private static Instruction[] LdImm64(ulong v) => [new(0x18, 1, 0, 0, (int)(uint)v), new(0, 0, 0, 0, (int)(uint)(v >> 32))];
    private static readonly Instruction Exit = new(0x95, 0, 0, 0, 0);

    private static (IReadOnlyList<CoreRelocationResult> Results, Instruction[] Insns) Run(CollectionSpec spec, BtfSpec target)
    {
        var insns = (Instruction[])spec.Programs["p"].Instructions.Clone();
        var results = CoreRelocator.Apply("p", spec.Programs["p"], spec, target, insns);
        Assert.Equal(results, CoreRelocator.Relocate(spec, target)["p"]); // the spec-wide form computes the same
        return (results, insns);
    }

    [Theory]
    [InlineData("task_struct___old", "task_struct")]
    [InlineData("a___b___c", "a___b")]
    [InlineData("foo___", "foo___")]
    [InlineData("foo____bar", "foo____bar")]
    [InlineData("_x___1", "_x")]
    [InlineData("plain", "plain")]
    public void EssentialNamesDropTheFlavor(string name, string essential) => Assert.Equal(essential, CoreRules.EssentialName(name));

    [Fact]
    public void FlavorRelocatesLoadOffsetAndReportsBothSides()
    {
        var local = new Types();
        uint i = local.Int("int", 4, true);
        uint foo = local.Struct("foo___v2", 8, ("a", i, 0, 0), ("b", i, 32, 0));
        var target = new Types();
        uint ti = target.Int("int", 4, true), tl = target.Int("long", 8, true);
        uint tfoo = target.Struct("foo", 16, ("x", tl, 0, 0), ("a", ti, 64, 0), ("b", ti, 96, 0));
        var spec = Collection(local, [Ldx(W, 4), Exit], (0, foo, "0:1", BtfCoreRelocationKind.FieldByteOffset));
        var (results, insns) = Run(spec, target.Build());
        Assert.Equal(Ldx(W, 12), insns[0]);
        var r = Assert.Single(results);
        Assert.Equal((4ul, 12ul, false), (r.OldValue, r.NewValue, r.Poisoned));
        Assert.Equal("struct foo___v2.b", r.TypePath);
        Assert.Equal($"[{foo}] struct foo___v2.b (0:1 @ offset 4)", r.LocalSpec);
        Assert.Equal($"[{tfoo}] struct foo.b (0:2 @ offset 12)", r.TargetSpec);
        Assert.Equal(tfoo, r.TargetTypeId);
    }

    [Fact]
    public void MissingFieldPoisonsTheUseButExistenceIsZero()
    {
        var local = new Types();
        uint i = local.Int("int", 4);
        uint foo = local.Struct("foo", 8, ("a", i, 0, 0), ("gone", i, 32, 0));
        uint e = local.Enum("color", ("RED", 1), ("GONE", 2));
        var target = new Types();
        uint ti = target.Int("int", 4);
        target.Struct("foo", 4, ("a", ti, 0, 0));
        target.Enum("color", ("RED", 5));
        var spec = Collection(local, [MovImm(1), Ldx(W, 4), .. LdImm64(2), .. LdImm64(1), Exit],
            (0, foo, "0:1", BtfCoreRelocationKind.FieldExists),
            (1, foo, "0:1", BtfCoreRelocationKind.FieldByteOffset),
            (2, e, "1", BtfCoreRelocationKind.EnumValueValue),
            (4, e, "1", BtfCoreRelocationKind.EnumValueExists));
        var (results, insns) = Run(spec, target.Build());
        Assert.Equal(MovImm(0), insns[0]);
        Assert.Equal(CoreRelocator.Poison, insns[1]);
        Assert.Equal(CoreRelocator.Poison, insns[2]); // both halves of the 64-bit load
        Assert.Equal(CoreRelocator.Poison, insns[3]);
        Assert.Equal(LdImm64(0), insns[4..6]);
        Assert.Equal([false, true, true, false], results.Select(r => r.Poisoned));
        Assert.Equal("enum color::GONE", results[2].TypePath);
        Assert.Null(results[1].TargetSpec);
        Assert.Contains("no field", results[1].PoisonReason);
    }

    [Fact]
    public void DisagreeingCandidatesAreAmbiguousAgreeingOnesAreNot()
    {
        var local = new Types();
        uint i = local.Int("int", 4);
        uint foo = local.Struct("foo", 4, ("b", i, 0, 0));
        var twoWays = new Types();
        uint ti = twoWays.Int("int", 4);
        twoWays.Struct("foo", 4, ("b", ti, 0, 0));
        twoWays.Struct("foo___2", 8, ("a", ti, 0, 0), ("b", ti, 32, 0));
        var spec = Collection(local, [Ldx(W, 0), Exit], (0, foo, "0:0", BtfCoreRelocationKind.FieldByteOffset));
        var e = Assert.Throws<CoreRelocationException>(() => Run(spec, twoWays.Build()));
        Assert.Contains("ambiguity", e.Message);
        Assert.Contains("struct foo.b", e.Message);
        Assert.Equal(("p", "0:0", BtfCoreRelocationKind.FieldByteOffset), (e.ProgramName, e.AccessString, e.Kind));

        var agreeing = new Types();
        uint ai = agreeing.Int("int", 4);
        agreeing.Struct("foo", 8, ("a", ai, 0, 0), ("b", ai, 32, 0));
        agreeing.Struct("foo___dup", 8, ("z", ai, 0, 0), ("b", ai, 32, 0));
        Assert.Equal(Ldx(W, 4), Run(spec, agreeing.Build()).Insns[0]);
    }

    [Fact]
    public void IncompatibleFieldTypesDoNotMatch()
    {
        var local = new Types();
        uint i = local.Int("int", 4);
        uint foo = local.Struct("foo", 4, ("b", i, 0, 0));
        var target = new Types();
        uint ti = target.Int("int", 4);
        uint inner = target.Struct("inner", 4, ("x", ti, 0, 0));
        target.Struct("foo", 4, ("b", inner, 0, 0)); // an int locally, a struct in the target
        var spec = Collection(local, [Ldx(W, 0), MovImm(1), Exit],
            (0, foo, "0:0", BtfCoreRelocationKind.FieldByteOffset), (1, foo, "0:0", BtfCoreRelocationKind.FieldExists));
        var (results, insns) = Run(spec, target.Build());
        Assert.True(results[0].Poisoned);
        Assert.Equal(MovImm(0), insns[1]);
    }

    [Fact]
    public void LoadSizeFollowsUnsignedAndPointerFieldsAndPoisonsSignedOnes()
    {
        var local = new Types();
        uint u64 = local.Int("u64", 8), u32 = local.Int("u32", 4);
        uint foo = local.Struct("foo", 16, ("wide", u64, 0, 0), ("narrow", u32, 64, 0), ("sgn", u64, 96, 0));
        var target = new Types();
        uint t32 = target.Int("u32", 4), t64 = target.Int("u64", 8), s32 = target.Int("int", 4, true);
        target.Struct("foo", 16, ("wide", t32, 0, 0), ("narrow", t64, 64, 0), ("sgn", s32, 32, 0));
        var spec = Collection(local, [Ldx(DW, 0), Ldx(W, 8), Ldx(DW, 12), Exit],
            (0, foo, "0:0", BtfCoreRelocationKind.FieldByteOffset),
            (1, foo, "0:1", BtfCoreRelocationKind.FieldByteOffset),
            (2, foo, "0:2", BtfCoreRelocationKind.FieldByteOffset));
        var (results, insns) = Run(spec, target.Build());
        Assert.Equal(Ldx(W, 0), insns[0]);
        Assert.Equal(Ldx(DW, 8), insns[1]);
        Assert.Equal((8, 4), (results[0].OldSize, results[0].NewSize));
        Assert.Equal((4, 8), (results[1].OldSize, results[1].NewSize));
        Assert.Equal(CoreRelocator.Poison, insns[2]);
        Assert.Contains("unsigned", results[2].PoisonReason);
    }

    [Fact]
    public void BitfieldShiftsAndStorage()
    {
        var local = new Types();
        uint u = local.Int("unsigned int", 4);
        uint s = local.Struct("bits", 4, ("f", u, 0, 3), ("g", u, 3, 4));
        var target = new Types();
        uint tu = target.Int("unsigned int", 4);
        target.Struct("bits", 8, ("f", tu, 37, 3), ("g", tu, 30, 4)); // g straddles the first 4-byte word
        var kinds = new[] { BtfCoreRelocationKind.FieldByteOffset, BtfCoreRelocationKind.FieldByteSize, BtfCoreRelocationKind.FieldLShiftU64,
            BtfCoreRelocationKind.FieldRShiftU64, BtfCoreRelocationKind.FieldSigned };
        // The compiler's guesses for bitfields are not validated (libbpf neither): any immediate will do.
        var relos = kinds.Select((k, n) => (n, s, "0:0", k)).Concat(kinds.Select((k, n) => (n + 5, s, "0:1", k))).ToArray();
        var insns0 = Enumerable.Repeat(MovImm(0), 10).Append(Exit).ToArray();
        insns0[3] = MovImm(61); // right shifts are validated (64 - bits); signedness too (0: unsigned)
        insns0[8] = MovImm(60);
        var spec = Collection(local, insns0, relos);
        var (results, insns) = Run(spec, target.Build());
        Assert.Equal(new ulong[] { 4, 4, 64 - (37 + 3 - 32), 61, 0 }, results.Take(5).Select(r => r.NewValue));
        Assert.Equal(new ulong[] { 0, 8, 64 - 34, 60, 0 }, results.Skip(5).Select(r => r.NewValue));
        Assert.Equal(MovImm(30), insns[7]);
    }

    [Fact]
    public void EnumValuesReach64BitsThroughLdImm64()
    {
        var local = new Types();
        uint e = local.Enum("big___local", ("HUGE", 1), ("SMALL", 2));
        var target = new Types();
        target.Enum64("big", ("SMALL", 7), ("HUGE", 0x1_0000_0002));
        var spec = Collection(local, [.. LdImm64(1), .. LdImm64(2), Exit],
            (0, e, "0", BtfCoreRelocationKind.EnumValueValue), (2, e, "1", BtfCoreRelocationKind.EnumValueValue));
        var (results, insns) = Run(spec, target.Build());
        Assert.Equal(LdImm64(0x1_0000_0002), insns[0..2]);
        Assert.Equal(LdImm64(7), insns[2..4]);
        Assert.Equal("enum big___local::HUGE", results[0].TypePath);
    }

    [Fact]
    public void TypeRelocations()
    {
        var local = new Types();
        uint i = local.Int("int", 4, true);
        uint s = local.Struct("s___mine", 4, ("a", i, 0, 0));
        uint missing = local.Struct("nowhere", 4, ("a", i, 0, 0));
        var good = new Types();
        uint gi = good.Int("int", 4, true), gl = good.Int("long", 8, true);
        uint gs = good.Struct("s", 16, ("b", gl, 0, 0), ("a", gi, 64, 0));
        var spec = Collection(local, [MovImm(1), MovImm(1), MovImm(4), .. LdImm64(s), .. LdImm64(s), MovImm(1), Exit],
            (0, s, "0", BtfCoreRelocationKind.TypeExists),
            (1, s, "0", BtfCoreRelocationKind.TypeMatches),
            (2, s, "0", BtfCoreRelocationKind.TypeSize),
            (3, s, "0", BtfCoreRelocationKind.TypeIdTarget),
            (5, s, "0", BtfCoreRelocationKind.TypeIdLocal),
            (7, missing, "0", BtfCoreRelocationKind.TypeExists));
        var (results, insns) = Run(spec, good.Build());
        Assert.Equal([MovImm(1), MovImm(1), MovImm(16), .. LdImm64(gs), .. LdImm64(s), MovImm(0)], insns[..8]);
        Assert.All(results, r => Assert.False(r.Poisoned));

        // Same name, but 'a' is a long there: exists (kinds agree) yet does not match.
        var other = new Types();
        uint ol = other.Int("long", 8, true);
        other.Struct("s", 8, ("a", ol, 0, 0));
        var (_, insns2) = Run(spec, other.Build());
        Assert.Equal(MovImm(1), insns2[0]);
        Assert.Equal(MovImm(0), insns2[1]);
    }

    [Fact]
    public void TargetAnonymousMembersAndArraysAreWalked()
    {
        var local = new Types();
        uint i = local.Int("int", 4);
        uint idx = local.Int("__ARRAY_SIZE_TYPE__", 4);
        uint arr = local.Array(i, idx, 4);
        uint s = local.Struct("s", 20, ("n", i, 0, 0), ("arr", arr, 32, 0));
        var target = new Types();
        uint ti = target.Int("int", 4), tidx = target.Int("__ARRAY_SIZE_TYPE__", 4), tl = target.Int("long", 8);
        uint tarr = target.Array(ti, tidx, 8);
        uint anon = target.Union("", 32, ("arr", tarr, 0, 0), ("n", ti, 0, 0));
        target.Struct("s", 40, ("pad", tl, 0, 0), ("", anon, 64, 0));
        var spec = Collection(local, [MovImm(12), MovImm(0), Exit],
            (0, s, "0:1:2", BtfCoreRelocationKind.FieldByteOffset), (1, s, "0:0", BtfCoreRelocationKind.FieldByteOffset));
        var (results, insns) = Run(spec, target.Build());
        Assert.Equal(MovImm(8 + 8), insns[0]);
        Assert.Equal(MovImm(8), insns[1]);
        Assert.Equal("struct s.arr[2]", results[0].TypePath);
        Assert.Contains("(0:1:0:2 @ offset 16)", results[0].TargetSpec);

        // An index beyond the target's array does not match.
        var small = new Types();
        uint si = small.Int("int", 4), sidx = small.Int("__ARRAY_SIZE_TYPE__", 4);
        small.Struct("s", 8, ("n", si, 0, 0), ("arr", small.Array(si, sidx, 1), 32, 0));
        Assert.True(Run(spec, small.Build()).Results[0].Poisoned);
    }

    [Fact]
    public void BadRelocationsAreTypedErrors()
    {
        var local = new Types();
        uint i = local.Int("int", 4);
        uint s = local.Struct("s", 4, ("a", i, 0, 0));
        uint anon = local.Struct("", 4, ("a", i, 0, 0));
        var target = new Types();
        target.Struct("s", 4, ("a", target.Int("int", 4), 0, 0));
        var t = target.Build();

        var wrongImm = Assert.Throws<CoreRelocationException>(() => Run(Collection(local, [MovImm(99), Exit], (0, s, "0:0", BtfCoreRelocationKind.FieldByteOffset)), t));
        Assert.Contains("not the expected local value 0", wrongImm.Message);
        var badAccess = Assert.Throws<CoreRelocationException>(() => Run(Collection(local, [MovImm(0), Exit], (0, s, "0:7", BtfCoreRelocationKind.FieldByteOffset)), t));
        Assert.Contains("member index 7", badAccess.Message);
        var anonymous = Assert.Throws<CoreRelocationException>(() => Run(Collection(local, [MovImm(0), Exit], (0, anon, "0:0", BtfCoreRelocationKind.FieldByteOffset)), t));
        Assert.Contains("anonymous", anonymous.Message);
        var badInsn = Assert.Throws<CoreRelocationException>(() => Run(Collection(local, [Exit], (0, s, "0:0", BtfCoreRelocationKind.FieldByteOffset)), t));
        Assert.Contains("opcode 0x95", badInsn.Message);
    }
}

/// <summary>Random relocation records over a real object's BTF against the kernel's (or the object's own) BTF:
/// the engine either relocates or throws <see cref="CoreRelocationException"/>, never anything else.</summary>
public class CoreRelocatorFuzzTests
{
    [Fact]
    public void RandomRecordsGiveResultsOrTypedErrors()
    {
        var spec = TestData.Spec("core.bpf.o");
        var local = spec.Btf!;
        var targets = new List<BtfSpec> { local };
        if (File.Exists("/sys/kernel/btf/vmlinux")) targets.Add(BtfSpec.Kernel);
        var rng = new Random(6);
        int ok = 0, typed = 0;
        foreach (var target in targets)
        {
            var cache = new CoreRelocator.CandidateCache(target);
            for (int n = 0; n < 20_000; n++)
            {
                uint typeId = (uint)rng.Next(1, (int)local.MaxTypeId + 1);
                int len = rng.Next(1, 5);
                string access = string.Join(':', Enumerable.Range(0, len).Select(_ => rng.Next(0, 4)));
                var kind = (BtfCoreRelocationKind)rng.Next(0, 13);
                var relo = new BtfCoreRelocation(0, typeId, 0, rng.Next(8) == 0 ? "0" : access, kind);
                Instruction[] insns = rng.Next(3) switch
                {
                    0 => [new(0xb7, 1, 0, 0, rng.Next(0, 64)), new(0x95, 0, 0, 0, 0)],
                    1 => [new(0x61, 0, 1, (short)rng.Next(0, 64), 0), new(0x95, 0, 0, 0, 0)],
                    _ => [new(0x18, 1, 0, 0, rng.Next(0, 64)), new(0, 0, 0, 0, 0), new(0x95, 0, 0, 0, 0)],
                };
                try
                {
                    var r = CoreRelocator.ApplyOne("fuzz", local, target, relo, 0, insns, cache);
                    Assert.Equal(r.Poisoned, insns[0] == CoreRelocator.Poison);
                    ok++;
                }
                catch (CoreRelocationException e)
                {
                    Assert.Equal("fuzz", e.ProgramName);
                    typed++;
                }
            }
        }
        Assert.True(ok > 1000 && typed > 1000, $"{ok} relocated, {typed} typed errors");
    }
}
