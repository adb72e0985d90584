using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf;

/// <summary>BtfWriter round trips (vmlinux and clang objects), bpftool-identical raw dumps, DATASEC fix-ups against
/// the symbol table (cross-checked with what libbpf loads) and sanitizing (no kernel needed here).</summary>
public class BtfWriterTests
{
    internal static string Dump(BtfSpec spec)
    {
        var sw = new StringWriter();
        BtfDump.WriteRaw(spec, sw);
        return sw.ToString();
    }

    internal static BtfSpec ObjectBtf(string obj) => BtfSpec.Parse(TestObjects.Section(TestObjects.Read(obj), ".BTF")!);

    [Fact]
    public void RawDumpOfVmlinuxEqualsBpftool()
    {
        var blob = KernelBtfBlob.Copy();
        Tool.Require("bpftool");
        string expected = Tool.Run("bpftool", "btf", "dump", "file", KernelBtfBlob.Path, "format", "raw");
        string actual = Dump(BtfSpec.Parse(blob));
        AssertSameLines(expected, actual);
    }

    [Theory]
    [InlineData("ext.bpf.o")]
    [InlineData("globals.bpf.o")]
    public void RawDumpOfClangObjectEqualsBpftool(string obj)
    {
        Tool.Require("bpftool");
        AssertSameLines(Tool.Run("bpftool", "btf", "dump", "file", TestObjects.PathOf(obj), "format", "raw"), Dump(ObjectBtf(obj)));
    }

    private static void AssertSameLines(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (int i = 0; i < Math.Min(e.Length, a.Length); i++)
            if (e[i] != a[i]) Assert.Fail($"line {i + 1} differs:\n  bpftool: {e[i]}\n  ours:    {a[i]}");
        Assert.Equal(e.Length, a.Length);
    }

    [Fact]
    public void CopyOfVmlinuxSerializesToTheSameBytes()
    {
        var blob = KernelBtfBlob.Copy();
        var spec = BtfSpec.Parse(blob);
        var w = BtfWriter.From(spec);
        Assert.Equal(spec.MaxTypeId, w.MaxTypeId);
        Assert.Equal(blob, w.ToArray()); // vmlinux has the canonical layout: header, types, strings
    }

    [Fact]
    public void ReencodingEveryVmlinuxTypeParsesToTheSameTypes()
    {
        var spec = BtfSpec.Parse(KernelBtfBlob.Copy());
        var w = new BtfWriter();
        foreach (var t in spec.Types) Assert.Equal(t.Id, w.Add(t));
        var again = w.ToSpec();
        Assert.Equal(Dump(spec), Dump(again));
        // parse(write(parse(x))) = parse(x), and writing the re-parsed spec is a fixed point
        var w2 = new BtfWriter();
        foreach (var t in again.Types) w2.Add(t);
        Assert.Equal(w.ToArray(), w2.ToArray());
    }

    [Theory]
    [InlineData("ext.bpf.o")]
    [InlineData("globals.bpf.o")]
    public void ReencodingAClangObjectParsesToTheSameTypes(string obj)
    {
        var spec = ObjectBtf(obj);
        var w = new BtfWriter();
        foreach (var t in spec.Types) w.Add(t);
        Assert.Equal(Dump(spec), Dump(w.ToSpec()));
        Assert.Equal(Dump(spec), Dump(BtfWriter.From(spec).ToSpec()));
    }

    [Fact]
    public void AddTypeChecksTheRecordShape()
    {
        var w = new BtfWriter();
        Assert.Throws<ArgumentException>(() => w.AddType(BtfKind.Struct, "s", 4, 1)); // vlen 1 needs 3 words
        Assert.Throws<ArgumentException>(() => w.AddType(BtfKind.Void, "", 0));
        Assert.Throws<ArgumentException>(() => w.AddString("a\0b"));
        Assert.Equal(w.AddString("x"), w.AddString("x"));
        Assert.Equal(0u, w.AddString(""));
        Assert.Equal(0u, w.MaxTypeId);
    }

    [Fact]
    public void FixDatasecsSetsSizesAndOffsetsLikeLibbpf()
    {
        var elf = TestObjects.Read("globals.bpf.o");
        var spec = BtfSpec.Parse(TestObjects.Section(elf, ".BTF")!);
        var sections = TestObjects.Sections(elf).ToDictionary(kv => kv.Key, kv => kv.Value.Size);
        var symbols = TestObjects.VariableSymbols(elf);
        var w = BtfWriter.From(spec);
        Assert.Equal(5, w.FixDatasecs(sections, symbols));
        var fixedSpec = w.ToSpec();
        var data = fixedSpec.TypeByName<BtfDatasec>(".data");
        Assert.Equal(24u, data.Size);
        Assert.Equal(new uint[] { 0, 8, 16, 20 }, data.Variables.Select(v => v.Offset));
        Assert.Equal(new[] { "data_one", "data_two", "data_hidden", "data_static" }, data.Variables.Select(v => fixedSpec.TypeById(v.TypeId).Name));
        Assert.Equal(BtfVarLinkage.Static, fixedSpec.TypeByName<BtfVar>("data_hidden").Linkage); // hidden visibility
        var bss = fixedSpec.TypeByName<BtfDatasec>(".bss");
        Assert.Equal(40u, bss.Size);
        Assert.Equal(new uint[] { 0, 16, 32 }, bss.Variables.Select(v => v.Offset));
        Assert.Equal(0, BtfWriter.From(fixedSpec).FixDatasecs(sections, symbols)); // idempotent

        // What libbpf 1.1 loads (bpftool dumps the loaded object's BTF; see testdata/libbpf-globals.txt, produced by
        // `bpftool prog load globals.bpf.o PIN` + `bpftool btf dump id N`) equals ours, except that libbpf 1.1 predates
        // "hidden globals become static".
        var libbpf = File.ReadAllText(TestObjects.PathOf("libbpf-globals.txt"))
            .Replace("[14] VAR 'data_hidden' type_id=6, linkage=global", "[14] VAR 'data_hidden' type_id=6, linkage=static");
        Assert.Equal(libbpf, Dump(fixedSpec));
    }

    [Fact]
    public void FixDatasecsNamesAMissingSymbolOrSection()
    {
        var elf = TestObjects.Read("globals.bpf.o");
        var spec = BtfSpec.Parse(TestObjects.Section(elf, ".BTF")!);
        var sections = TestObjects.Sections(elf).ToDictionary(kv => kv.Key, kv => kv.Value.Size);
        var symbols = TestObjects.VariableSymbols(elf);
        symbols.Remove("ro_limit");
        var e = Assert.Throws<BtfFormatException>(() => BtfWriter.From(spec).FixDatasecs(sections, symbols));
        Assert.Contains("'ro_limit'", e.Message);
        Assert.Contains("'.rodata'", e.Message);
        sections.Remove(".bss");
        e = Assert.Throws<BtfFormatException>(() => BtfWriter.From(spec).FixDatasecs(sections, TestObjects.VariableSymbols(elf)));
        Assert.Contains("'.bss'", e.Message);
    }

    /// <summary>A blob with every kind (and a signed enum) for the sanitizer.</summary>
    internal static BtfWriter EveryKind()
    {
        var w = new BtfWriter();
        uint i32 = w.AddType(BtfKind.Int, "int", 4, 0, false, (1u << 24) | 32);
        uint ptr = w.AddType(BtfKind.Pointer, "", i32);
        uint arr = w.AddType(BtfKind.Array, "", 0, 0, false, i32, i32, 3);
        uint st = w.AddType(BtfKind.Struct, "s", 8, 2, true, w.AddString("a"), i32, (3u << 24) | 0, w.AddString("b"), i32, 32);
        w.AddType(BtfKind.Union, "u", 4, 1, false, w.AddString("x"), i32, 0);
        w.AddType(BtfKind.Enum, "e", 4, 2, true, w.AddString("NEG"), unchecked((uint)-5), w.AddString("POS"), 7);
        w.AddType(BtfKind.Fwd, "fu", 0, 0, true);
        uint td = w.AddType(BtfKind.Typedef, "td", i32);
        uint vo = w.AddType(BtfKind.Volatile, "", td);
        uint co = w.AddType(BtfKind.Const, "", vo);
        w.AddType(BtfKind.Restrict, "", ptr);
        uint proto = w.AddType(BtfKind.FuncProto, "", i32, 1, false, w.AddString("p"), co);
        uint fn = w.AddType(BtfKind.Func, "f", proto, (int)BtfFuncLinkage.Global);
        uint v = w.AddType(BtfKind.Var, "v", arr, 0, false, (uint)BtfVarLinkage.GlobalAllocated);
        w.AddType(BtfKind.Datasec, ".data.x", 12, 1, false, v, 0, 12);
        w.AddType(BtfKind.Float, "double", 8);
        w.AddType(BtfKind.DeclTag, "tag", st, 0, false, 1);
        w.AddType(BtfKind.DeclTag, "ftag", fn, 0, false, unchecked((uint)-1));
        uint tt = w.AddType(BtfKind.TypeTag, "user", i32);
        w.AddType(BtfKind.Pointer, "", tt);
        w.AddType(BtfKind.Enum64, "e64", 8, 2, false, w.AddString("BIG"), 0xffff_fffe, 0xffff_ffff, w.AddString("SMALL"), 1, 0);
        return w;
    }

    [Fact]
    public void SanitizeWithNothingSupportedLeavesOnlyOldKinds()
    {
        var w = EveryKind();
        uint before = w.MaxTypeId;
        Assert.Equal(0, EveryKind().Sanitize(BtfKernelSupport.All));
        int changed = w.Sanitize(BtfKernelSupport.None);
        var s = w.ToSpec();
        Assert.Equal(before + 1, s.MaxTypeId); // + the enum64 placeholder int
        var old = new HashSet<BtfKind> { BtfKind.Int, BtfKind.Pointer, BtfKind.Array, BtfKind.Struct, BtfKind.Union, BtfKind.Enum,
            BtfKind.Fwd, BtfKind.Typedef, BtfKind.Volatile, BtfKind.Const, BtfKind.Restrict };
        Assert.All(s.Types, t => Assert.Contains(t.Kind, old));
        Assert.Equal(10, changed); // signed enum, proto, func, var, datasec, float, 2 decl tags, type tag, enum64
        var sec = s.TypeByName<BtfStruct>("_data_x"); // dots replaced
        Assert.Equal(("v", 0u), (sec.Members[0].Name, sec.Members[0].BitOffset));
        Assert.Equal(BtfKind.Int, sec.Members[0].Type.Kind); // the former VAR, as libbpf does
        Assert.False(s.TypeByName<BtfEnum>("e").Signed);
        var u = s.TypeByName<BtfUnion>("e64");
        Assert.Equal(new[] { "BIG", "SMALL" }, u.Members.Select(m => m.Name));
        Assert.All(u.Members, m => Assert.Equal("enum64_placeholder", m.Type.Name));
        Assert.Equal(BtfKind.Struct, s.TypeById(16).Kind); // float → struct of the same size
        Assert.Equal(8u, ((BtfStruct)s.TypeById(16)).Size);
        Assert.Equal(BtfKind.Typedef, s.TypeById(13).Kind); // func → typedef
    }

    [Fact]
    public void SanitizeOnlyGlobalFuncMakesItStatic()
    {
        var w = EveryKind();
        Assert.Equal(1, w.Sanitize(BtfKernelSupport.All with { FuncGlobal = false }));
        Assert.Equal(BtfFuncLinkage.Static, w.ToSpec().TypeByName<BtfFunc>("f").Linkage);
    }
}

/// <summary>The C dump of vmlinux compiles with clang-14 and serves as vmlinux.h for a CO-RE program.</summary>
public class BtfCDumpTests
{
    [Fact]
    public void VmlinuxHeaderCompilesAndBuildsACoreProgram()
    {
        var spec = BtfSpec.Parse(KernelBtfBlob.Copy());
        Tool.Require("clang-14");
        string dir = Directory.CreateTempSubdirectory("sharpbpf-vmlinux-").FullName;
        try
        {
            string header = Path.Combine(dir, "vmlinux.h");
            using (var w = new StreamWriter(header)) BtfCDump.Write(spec, w);
            var text = File.ReadAllText(header);
            Assert.Contains("struct task_struct {", text);
            Assert.Contains("typedef int (*", text); // function pointer typedefs
            // -Werror: not even a warning (duplicate qualifiers, incomplete types, redefinitions)
            Tool.Run("clang-14", "-target", "bpf", "-fsyntax-only", "-Werror", header);

            // Layouts match the kernel's: cacheline-aligned, packed, packed bitfields, 1-byte enums, holes.
            string sizes = Path.Combine(dir, "sizes.c");
            var asserts = new System.Text.StringBuilder("#include \"vmlinux.h\"\n");
            foreach (string name in new[] { "task_struct", "mm_struct", "inode", "orc_entry", "bvec_iter", "blk_integrity",
                         "sk_buff", "bpf_prog_info", "xdp_md", "request_queue", "zone", "net" })
            {
                if (!spec.TryTypeByName(name, BtfKind.Struct, out var st)) continue;
                long size = spec.SizeOf(st);
                asserts.Append($"_Static_assert(sizeof(struct {name}) == {size}, \"{name}\");\n");
                foreach (var m in ((BtfStruct)st).Members)
                    if (m.Name.Length > 0 && m.BitfieldSize == 0)
                        asserts.Append($"_Static_assert(__builtin_offsetof(struct {name}, {m.Name}) == {m.BitOffset / 8}, \"{name}.{m.Name}\");\n");
            }
            File.WriteAllText(sizes, asserts.ToString());
            Tool.Run("clang-14", "-target", "bpf", "-fsyntax-only", "-Werror", "-I", dir, sizes);

            string prog = Path.Combine(dir, "core.bpf.c");
            File.WriteAllText(prog, """
                #include "vmlinux.h"
                #include <bpf/bpf_helpers.h>
                #include <bpf/bpf_core_read.h>
                SEC("tp_btf/sched_switch")
                int on_switch(u64 *ctx)
                {
                    struct task_struct *t = (void *)bpf_get_current_task();
                    return BPF_CORE_READ(t, real_parent, tgid) + bpf_core_field_exists(t->pid);
                }
                char LICENSE[] SEC("license") = "GPL";
                """);
            string obj = Path.Combine(dir, "core.bpf.o");
            Tool.Run("clang-14", "-target", "bpf", "-O2", "-g", "-Werror", "-I", dir, "-c", prog, "-o", obj);
            var elf = File.ReadAllBytes(obj);
            var btf = BtfSpec.Parse(TestObjects.Section(elf, ".BTF")!);
            var ext = BtfExt.Parse(TestObjects.Section(elf, ".BTF.ext")!, btf);
            var relos = ext.GetSection("tp_btf/sched_switch").CoreRelocations;
            Assert.Contains(relos, r => btf.TypeById(r.TypeId).Name == "task_struct" && r.Kind == BtfCoreRelocationKind.FieldExists);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void EveryKindDumpsToCompilableC()
    {
        var spec = BtfWriterTests.EveryKind().ToSpec();
        Tool.Require("clang-14");
        string file = Path.Combine(Path.GetTempPath(), $"sharpbpf-everykind-{Environment.ProcessId}.h");
        try
        {
            using (var w = new StreamWriter(file)) BtfCDump.Write(spec, w);
            var text = File.ReadAllText(file);
            Assert.Contains("struct s {\n\tint a: 3;\n\tint b;\n};", text);
            Assert.Contains("BIG = 18446744073709551614ULL,", text);
            Assert.Contains("NEG = -5,", text);
            Tool.Run("clang-14", "-target", "bpf", "-fsyntax-only", "-Werror", file);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
