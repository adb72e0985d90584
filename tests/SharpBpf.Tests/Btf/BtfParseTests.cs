using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf;

using SharpBpf.Btf;

public class BtfParseTests
{
    [Fact]
    public void KernelBtfHasEveryKindAndEveryTypeMaterialises()
    {
        var btf = BtfSpec.Parse(KernelBtfBlob.Copy());
        Assert.True(btf.MaxTypeId > 10_000, $"only {btf.MaxTypeId} types");
        var kinds = new HashSet<BtfKind>();
        uint expectedId = 1;
        foreach (var t in btf.Types)
        {
            Assert.Equal(expectedId++, t.Id);
            Assert.Same(t, btf.TypeById(t.Id));
            kinds.Add(t.Kind);
        }
        Assert.Equal(btf.MaxTypeId + 1, expectedId);
        foreach (var kind in Enum.GetValues<BtfKind>())
            if (kind != BtfKind.Void) Assert.Contains(kind, kinds);
        Assert.IsType<BtfVoid>(btf.TypeById(0));
        Assert.False(btf.TryTypeById(btf.MaxTypeId + 1, out _));
        Assert.Throws<KeyNotFoundException>(() => btf.TypeById(btf.MaxTypeId + 1));
    }

    [Fact]
    public void KernelBtfKnownTypes()
    {
        var btf = BtfSpec.Parse(KernelBtfBlob.Copy());

        var i = Assert.IsType<BtfInt>(btf.TypeByName("int", BtfKind.Int));
        Assert.Equal(4u, i.Size);
        Assert.Equal(32, i.Bits);
        Assert.Equal(BtfIntEncoding.Signed, i.Encoding);

        var u32 = btf.TypeByName<BtfTypedef>("u32");
        var resolved = Assert.IsType<BtfInt>(u32.Resolve());
        Assert.Equal("unsigned int", resolved.Name);
        Assert.Equal(4, btf.SizeOf(u32));

        var info = btf.TypeByName<BtfStruct>("bpf_prog_info");
        var gpl = info.FindMember("gpl_compatible");
        Assert.NotNull(gpl);
        Assert.Equal(1, gpl.BitfieldSize);
        Assert.Equal(info.FindMember("ifindex")!.BitOffset + 32, gpl.BitOffset);
        var tag = info.FindMember("tag")!;
        var tagArray = Assert.IsType<BtfArray>(tag.Type);
        Assert.Equal(8u, tagArray.Count);
        Assert.Equal(8, btf.SizeOf(tagArray));
        Assert.Equal(info.Size, (uint)btf.SizeOf(info));
        Assert.Equal(0u, info.FindMember("type")!.BitOffset);

        var attr = btf.TypeByName<BtfUnion>("bpf_attr");
        Assert.Contains(attr.Members, m => m.Name == "link_create");
        Assert.Contains(attr.Members, m => m.Name.Length == 0 && m.Type is BtfStruct);

        var funcIds = btf.TypeByName<BtfEnum>("bpf_func_id");
        Assert.True(funcIds.TryGetValue("BPF_FUNC_map_lookup_elem", out long lookup));
        Assert.Equal(1, lookup);
        Assert.Equal(BtfKind.Enum, funcIds.Kind);

        var e64 = btf.Types.OfType<BtfEnum>().First(e => e.Kind == BtfKind.Enum64 && e.Values.Any(v => v.UnsignedValue > int.MaxValue));
        Assert.Equal(8u, e64.Size);

        var func = btf.TypeByName<BtfFunc>("bpf_fentry_test1");
        var proto = Assert.IsType<BtfFuncProto>(func.Proto);
        Assert.Single(proto.Parameters);
        Assert.Equal("a", proto.Parameters[0].Name);
        Assert.Equal("int", btf.TypeById(proto.ReturnTypeId).Name);
        Assert.False(proto.IsVariadic);

        var percpu = btf.TypeByName<BtfDatasec>(".data..percpu");
        Assert.NotEmpty(percpu.Variables);
        var firstVar = Assert.IsType<BtfVar>(btf.TypeById(percpu.Variables[0].TypeId));
        Assert.NotEmpty(firstVar.Name);

        var declTag = btf.Types.OfType<BtfDeclTag>().First();
        Assert.True(declTag.ComponentIndex >= -1);
        Assert.True(btf.ContainsId(declTag.TypeId));
        var typeTag = btf.Types.OfType<BtfTypeTag>().First();
        Assert.NotEmpty(typeTag.Name);

        Assert.Throws<ArgumentException>(() => btf.SizeOf(func));
        Assert.Throws<ArgumentException>(() => btf.SizeOf(btf.TypeById(0)));
        Assert.Throws<KeyNotFoundException>(() => btf.TypeByName("no_such_type_in_any_kernel", BtfKind.Struct));
        Assert.Empty(btf.TypesByName("no_such_type_in_any_kernel"));
        Assert.Equal(8, btf.SizeOf(btf.TypesByName("sk_buff").OfType<BtfStruct>().First().Members.First(m => m.Type.Resolve() is BtfPointer).Type));
    }

    [Fact]
    public void ParsingIsDeterministic()
    {
        var blob = KernelBtfBlob.Copy();
        var a = BtfSpec.Parse(blob);
        var b = BtfSpec.Parse((byte[])blob.Clone());
        Assert.Equal(a.MaxTypeId, b.MaxTypeId);
        foreach (uint id in new uint[] { 1, 2, 3, 100, 1000, a.MaxTypeId / 2, a.MaxTypeId })
            Assert.Equal(Describe(a.TypeById(id)), Describe(b.TypeById(id)));
        var s1 = a.TypeByName<BtfStruct>("task_struct");
        var s2 = b.TypeByName<BtfStruct>("task_struct");
        Assert.Equal(s1.Id, s2.Id);
        Assert.Equal(s1.Members.Select(m => (m.Name, m.TypeId, m.BitOffset, m.BitfieldSize)),
                     s2.Members.Select(m => (m.Name, m.TypeId, m.BitOffset, m.BitfieldSize)));
    }

    private static string Describe(BtfType t) => t switch
    {
        BtfComposite c => $"{t} size {c.Size}: " + string.Join(",", c.Members),
        BtfEnum e => $"{t} size {e.Size}: " + string.Join(",", e.Values),
        _ => t.ToString(),
    };

    [Fact]
    public void HandBuiltBlobCoversEveryKind()
    {
        var b = new BtfBlobBuilder();
        uint @int = b.Add(BtfKind.Int, "int", 0, 4, false, (1u << 24) | 32);                 // 1
        uint ptr = b.Add(BtfKind.Pointer, "", 0, @int);                                        // 2
        uint arr = b.Add(BtfKind.Array, "", 0, 0, false, @int, @int, 3);                       // 3
        uint st = b.Add(BtfKind.Struct, "s", 2, 8, true,                                       // 4
            b.Str("a"), @int, (3u << 24) | 0, b.Str("b"), @int, 32);
        uint un = b.Add(BtfKind.Union, "u", 1, 4, false, b.Str("x"), @int, 0);                // 5
        uint en = b.Add(BtfKind.Enum, "e", 2, 4, true, b.Str("NEG"), unchecked((uint)-5), b.Str("POS"), 7); // 6
        uint fwd = b.Add(BtfKind.Fwd, "fu", 0, 0, true);                                      // 7
        uint td = b.Add(BtfKind.Typedef, "td", 0, @int);                                      // 8
        uint vo = b.Add(BtfKind.Volatile, "", 0, td);                                         // 9
        uint co = b.Add(BtfKind.Const, "", 0, vo);                                            // 10
        uint re = b.Add(BtfKind.Restrict, "", 0, ptr);                                        // 11
        uint proto = b.Add(BtfKind.FuncProto, "", 2, @int, false, b.Str("p"), co, 0, 0);      // 12
        uint fn = b.Add(BtfKind.Func, "f", 1, proto);                                         // 13
        uint var = b.Add(BtfKind.Var, "v", 0, arr, false, 1);                                 // 14
        uint sec = b.Add(BtfKind.Datasec, ".data", 1, 12, false, var, 0, 12);                 // 15
        uint fl = b.Add(BtfKind.Float, "double", 0, 8);                                       // 16
        uint dt = b.Add(BtfKind.DeclTag, "tag", 0, st, false, 1);                             // 17
        uint tt = b.Add(BtfKind.TypeTag, "user", 0, @int);                                    // 18
        uint e64 = b.Add(BtfKind.Enum64, "e64", 1, 8, false, b.Str("BIG"), 0xffff_fffe, 0xffff_ffff); // 19

        foreach (bool bigEndian in new[] { false, true })
        {
            byte[] blob = bigEndian ? Rebuild(b) : b.Build();
            var btf = BtfSpec.Parse(blob);
            Assert.Equal(bigEndian, btf.IsBigEndian);
            Assert.Equal(19u, btf.MaxTypeId);
            Assert.Equal(4, btf.SizeOf(btf.TypeById(@int)));
            Assert.Equal(8, btf.SizeOf(btf.TypeById(ptr)));
            Assert.Equal(12, btf.SizeOf(btf.TypeById(arr)));
            var s = Assert.IsType<BtfStruct>(btf.TypeById(st));
            Assert.Equal(("a", 0u, (byte)3), (s.Members[0].Name, s.Members[0].BitOffset, s.Members[0].BitfieldSize));
            Assert.Equal(("b", 32u, (byte)0), (s.Members[1].Name, s.Members[1].BitOffset, s.Members[1].BitfieldSize));
            Assert.Equal("x", Assert.IsType<BtfUnion>(btf.TypeById(un)).Members[0].Name);
            var e = Assert.IsType<BtfEnum>(btf.TypeById(en));
            Assert.True(e.Signed);
            Assert.Equal([new BtfEnumValue("NEG", -5), new BtfEnumValue("POS", 7)], e.Values);
            Assert.True(Assert.IsType<BtfFwd>(btf.TypeById(fwd)).IsUnion);
            Assert.Same(btf.TypeById(@int), btf.Resolve(btf.TypeById(co)));
            Assert.Equal(4, btf.SizeOf(btf.TypeById(co)));
            Assert.IsType<BtfPointer>(btf.Resolve(btf.TypeById(re)));
            var p = Assert.IsType<BtfFuncProto>(btf.TypeById(proto));
            Assert.True(p.IsVariadic);
            Assert.Equal(new BtfParameter("p", co), p.Parameters[0]);
            var f = Assert.IsType<BtfFunc>(btf.TypeById(fn));
            Assert.Equal(BtfFuncLinkage.Global, f.Linkage);
            Assert.Same(p, f.Proto);
            var v = Assert.IsType<BtfVar>(btf.TypeById(var));
            Assert.Equal(BtfVarLinkage.GlobalAllocated, v.Linkage);
            Assert.Equal(new BtfVarSecInfo(var, 0, 12), Assert.IsType<BtfDatasec>(btf.TypeById(sec)).Variables[0]);
            Assert.Equal(8, btf.SizeOf(btf.TypeById(fl)));
            var d = Assert.IsType<BtfDeclTag>(btf.TypeById(dt));
            Assert.Equal((st, 1), (d.TypeId, d.ComponentIndex));
            Assert.Equal("user", btf.TypeById(tt).Name);
            var big = Assert.IsType<BtfEnum>(btf.TypeById(e64));
            Assert.Equal(BtfKind.Enum64, big.Kind);
            Assert.Equal(0xffff_ffff_ffff_fffeUL, big.Values[0].UnsignedValue);
            Assert.Equal("td", btf.TypeByName("td", BtfKind.Typedef).Name);
            Assert.Equal("e64", btf.GetString(b.Str("e64")));
        }
    }

    private static byte[] Rebuild(BtfBlobBuilder little)
    {
        // Same records, big-endian: swap every 32-bit word of header (after magic/version) and type section.
        var le = little.Build();
        var be = (byte[])le.Clone();
        (be[0], be[1]) = (le[1], le[0]);
        int typeEnd = 24 + BitConverter.ToInt32(le, 12);
        for (int at = 4; at < typeEnd; at += 4) Array.Reverse(be, at, 4);
        return be;
    }

    [Fact]
    public void LoopsAreFormatErrors()
    {
        var b = new BtfBlobBuilder();
        b.Add(BtfKind.Typedef, "a", 0, 2);       // 1 -> 2
        b.Add(BtfKind.Const, "", 0, 1);          // 2 -> 1
        b.Add(BtfKind.Array, "", 0, 0, false, 3, 3, 2); // 3: array of itself
        var btf = BtfSpec.Parse(b.Build());
        var ex = Assert.Throws<BtfFormatException>(() => btf.Resolve(btf.TypeById(1)));
        Assert.Contains("loop", ex.Message);
        Assert.Equal(24, ex.Offset);
        Assert.Throws<BtfFormatException>(() => btf.SizeOf(btf.TypeById(1)));
        Assert.Throws<BtfFormatException>(() => btf.SizeOf(btf.TypeById(3)));
    }

    [Fact]
    public void MalformedBlobsGiveTypedErrors()
    {
        var good = new BtfBlobBuilder();
        good.Add(BtfKind.Int, "int", 0, 4, false, 32);
        byte[] blob = good.Build();
        Assert.Equal(1u, BtfSpec.Parse(blob).MaxTypeId);

        AssertBad(blob[..10], 0, "header");
        AssertBad(Patch(blob, 0, 0x12), 0, "magic");
        AssertBad(Patch(blob, 2, 2), 2, "version");
        AssertBad(Patch(blob, 12, 0xff), 8, "type section");          // type_len past the end
        AssertBad(Patch(blob, 20, 0x7f), 16, "string section");       // str_len past the end
        AssertBad(Patch(blob, 24, 0x40), 24, "name offset");           // type name offset out of range
        AssertBad(Patch(blob, 31, 20), 28, "known kind");             // kind 20
        AssertBad(Patch(blob, 31, 0), 28, "known kind");              // kind 0
        AssertBad(Patch(blob, 12, 8), 24, "12-byte type record");     // type section cut mid-record
        AssertBad(Patch(blob, 36, 0), 36, "int encoding");            // 0 bits

        var badRef = new BtfBlobBuilder();
        badRef.Add(BtfKind.Pointer, "", 0, 7);
        AssertBad(badRef.Build(), 32, "type id at most 1");

        var badMember = new BtfBlobBuilder();
        badMember.Add(BtfKind.Struct, "s", 1, 4, false, 999, 0, 0);
        AssertBad(badMember.Build(), 36, "string offset");

        var manyMembers = new BtfBlobBuilder();
        manyMembers.Add(BtfKind.Struct, "s", 0xffff, 4);
        AssertBad(manyMembers.Build(), 24, "bytes for type id 1");

        var btf = BtfSpec.Parse(blob);
        Assert.Throws<BtfFormatException>(() => btf.GetString(1000));
        Assert.Equal("int", btf.GetString(1));
    }

    private static byte[] Patch(byte[] blob, int at, byte value)
    {
        var copy = (byte[])blob.Clone();
        copy[at] = value;
        return copy;
    }

    private static void AssertBad(byte[] blob, long offset, string expected)
    {
        var ex = Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(blob));
        Assert.Equal(offset, ex.Offset);
        Assert.Contains(expected, ex.Message);
    }
}
