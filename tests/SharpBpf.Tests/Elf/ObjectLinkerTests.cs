using System.Buffers.Binary;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Elf;

/// <summary>
/// The static linker on testdata/link: link_a calls a global function, writes a map and a global variable that
/// link_b defines (externs in link_a), calls a weak function link_b overrides, has a CO-RE relocation and its own
/// .rodata constant; both have a static subprogram named <c>scale</c>, a static .data variable and a string literal. The linked object loads and its programs
/// run with the values only correct linking gives.
/// </summary>
[Collection(KernelCollection.Name)]
public class ObjectLinkerTests
{
    private static ObjectLinkInput Input(string file) => new(file, TestData.Read(file));

    private static byte[] LinkPair(bool reversed = false) => ObjectLinker.Link(reversed
        ? [Input("link/link_b.bpf.o"), Input("link/link_a.bpf.o")]
        : [Input("link/link_a.bpf.o"), Input("link/link_b.bpf.o")]);

    private static ulong U64(BpfMap map, uint key)
    {
        Span<byte> v = stackalloc byte[8];
        map.Lookup(BitConverter.GetBytes(key), v);
        return BitConverter.ToUInt64(v);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LinkedPairLoadsAndEveryCrossObjectReferenceWorks(bool reversed)
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = ElfReader.Read(LinkPair(reversed), "linked");
        Assert.Equal(new[] { "link_a_prog", "link_b_prog" }, spec.Programs.Keys.Order());
        using var c = BpfCollection.Load(spec);
        Assert.Equal(2u, c.Programs["link_a_prog"].TestRun(Frames.Udp4(1)).ReturnValue); // XDP_PASS
        Assert.Equal(2u, c.Programs["link_b_prog"].TestRun(Frames.Udp4(1)).ReturnValue);
        var results = c.Maps["link_results"]; // defined in link_b, extern in link_a: one map for both
        Assert.Equal(7ul + 1000 + 7 * 5, U64(results, 0)); // link_a's rodata into link_b's global function (its rodata, its scale)
        Assert.Equal(7ul * 3, U64(results, 1));            // link_a's own static scale, not link_b's
        var pid = BtfSpec.LoadKernel().TypeByName<BtfStruct>("task_struct").Members.Single(m => m.Name == "pid");
        Assert.Equal((ulong)(pid.BitOffset / 8), U64(results, 2)); // the CO-RE record followed its instruction
        Assert.Equal(2ul * 5 + 1000, U64(results, 3));   // link_b_prog: its scale and rodata at their merged offsets
        Assert.Equal(5ul + 10, U64(results, 4));         // link_b's .data variable, changed by link_a
        Assert.Equal(42ul, U64(results, 5));             // the strong link_weak, whichever object came first
        // String literals of both objects in one merged .rodata.str1.1, static .data variables of both in one .data:
        // reached through section symbols whose in-place offsets the linker shifted.
        Assert.Equal(BitConverter.ToUInt64("linkB!!\0"u8), U64(results, 6));
        Assert.Equal(BitConverter.ToUInt64("linkA!!\0"u8), U64(results, 7));
        Assert.Equal(11ul + 1, U64(results, 8));
        Assert.Equal(13ul + 2, U64(results, 9));
        Assert.Equal(30ul + 12, U64(results, 10)); // a struct link_a only declares, passed to link_b's global function
    }

    [Fact]
    public void FilesAreLinkedAndBothRodataValuesSurvive()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sharpbpf-link-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string output = Path.Combine(dir, "linked.bpf.o");
            ObjectLinker.LinkFiles([TestData.PathOf("link/link_a.bpf.o"), TestData.PathOf("link/link_b.bpf.o")], output);
            Assert.Equal(LinkPair(), File.ReadAllBytes(output)); // deterministic, same as the in-memory API
            Assert.Equal([output], Directory.GetFiles(dir));     // no temporary file left behind
            var spec = ElfReader.ReadFile(output);
            var rodata = spec.Maps[".rodata"].Contents![0].Value;
            Assert.Equal(7ul, BinaryPrimitives.ReadUInt64LittleEndian(rodata));          // a_rodata at 0
            Assert.Equal(1000ul, BinaryPrimitives.ReadUInt64LittleEndian(rodata.AsSpan(8))); // b_rodata after it
            var datasec = (BtfDatasec)spec.Btf!.TypeByName(".rodata", BtfKind.Datasec);
            Assert.Equal(new[] { ("a_rodata", 0u), ("b_rodata", 8u) }, datasec.Variables.Select(v => (spec.Btf.TypeById(v.TypeId).Name, v.Offset)));
            // One FUNC per global: link_add is described once, with the definition's named parameter.
            var linkAdd = Assert.Single(spec.Btf.TypesByName("link_add"));
            var fn = Assert.IsType<BtfFunc>(linkAdd);
            Assert.Equal(BtfFuncLinkage.Global, fn.Linkage);
            Assert.Equal("x", ((BtfFuncProto)spec.Btf.TypeById(fn.ProtoTypeId)).Parameters[0].Name);
            // Static subprograms stay per object: two 'scale' symbols; their identical static FUNCs are one BTF type
            // after deduplication (as with libbpf), and no other type is left twice.
            Assert.Equal(2, ElfFile.Parse(File.ReadAllBytes(output)).Symbols.Count(s => s.Name == "scale" && s.Type == ElfSymbol.STT_FUNC && s.Bind == ElfSymbol.STB_LOCAL));
            Assert.Single(spec.Btf.TypesByName("scale"));
            var described = spec.Btf.Types.Where(t => t.Name.Length > 0).Select(t => $"{t.Kind} {t.Name}").ToList();
            Assert.Equal(described.Distinct().Count(), described.Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Every testdata object linked alone reads back as the same collection: programs (instructions,
    /// map references, linked functions, extern references), maps with their contents, variables, externs and
    /// .BTF.ext records, with BTF types compared by what they are rather than by id. This covers every section
    /// kind the objects use (.bss, .data, .rodata, .maps with values, legacy maps, version, .kconfig/.ksyms externs,
    /// callbacks, USDT, dozens of program sections).</summary>
    [Theory]
    [MemberData(nameof(TestData.ObjectNames), MemberType = typeof(TestData))]
    public void EveryObjectLinkedAloneReadsBackTheSame(string file)
    {
        var original = TestData.Spec(file);
        var relinked = ElfReader.Read(ObjectLinker.Link([Input(file)]), original.Name);
        Assert.Equal(Summary(original), Summary(relinked));
    }

    /// <summary>Every testdata object linked after another one (global_data: .text, .rodata, .data, .bss and .maps
    /// pieces of its own, so every section of the object moves) loads, and each of its programs verifies to the same
    /// number of xlated instructions as the object alone: relocations, callbacks, map values, CO-RE and func/line
    /// records all followed their code.</summary>
    [Theory]
    [MemberData(nameof(TestData.ObjectNames), MemberType = typeof(TestData))]
    public void EveryObjectLinkedAfterAnotherLoadsTheSame(string file)
    {
        KernelTest.Require();
        const string prefix = "global_data.bpf.o";
        if (file is prefix or "xdp_port_drop.bpf.o") return; // itself; another license text ("Dual BSD/GPL")
        using var leak = new FdLeakCheck();
        var original = TestData.Spec(file);
        var linked = ElfReader.Read(ObjectLinker.Link([Input(prefix), Input(file)]), original.Name);
        foreach (var spec in new[] { original, linked })
            foreach (var (name, p) in spec.Programs)
                if (CollectionLoadTests.KnownUnloadable.ContainsKey(name) || name is "unchecked_read" or "core_unguarded"
                    || (name == "read_percpu_ksym" && !Externs.ExternLoadTests.HasKallsymsData))
                    p.AutoLoad = false;
        Dictionary<string, uint> Sizes(CollectionSpec spec)
        {
            using var pins = new PinDirectory();
            using var c = BpfCollection.Load(spec, new CollectionLoadOptions { PinPath = pins.Path });
            return c.Programs.ToDictionary(kv => kv.Key, kv => kv.Value.GetInfo().XlatedSize);
        }
        var alone = Sizes(original);
        var together = Sizes(linked);
        foreach (var (name, size) in alone) Assert.True(together.TryGetValue(name, out uint t) && t == size, $"{name}: {size} xlated bytes alone, {t} linked");
        Assert.Contains("global_data", together.Keys);
    }

    private static string[] Summary(CollectionSpec spec)
    {
        var btf = spec.Btf;
        string T(uint id) => btf is null || id == 0 ? id.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{btf.TypeById(id).Kind} {btf.TypeById(id).Name}";
        string Contents(MapSpec m) => m.Contents is null ? "" : string.Join(";", m.Contents.Select(e => $"{Convert.ToHexString(e.Key)}={Convert.ToHexString(e.Value)}{e.ProgramName}{e.MapName}"));
        string Map(MapSpec m) => $"{m.Type} {m.KeySize}/{m.ValueSize}/{m.MaxEntries} {m.Flags} {m.Pinning} {m.NumaNode} {m.MapExtra} key {T(m.BtfKeyTypeId)} value {T(m.BtfValueTypeId)} [{Contents(m)}]"
            + (m.InnerMap is { } inner ? " inner " + Map(inner) : "");
        var lines = new List<string> { $"license {spec.License} version {spec.KernelVersion}" };
        lines.AddRange(spec.Maps.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"map {kv.Key}: {Map(kv.Value)}"));
        foreach (var (name, p) in spec.Programs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            lines.Add($"prog {name} {p.Type} {p.ExpectedAttachType} {p.SectionName} {p.AttachTo} {p.Flags}: {string.Join(" ", p.Instructions.Select(i => i.ToString()))}");
            lines.Add($"  refs {string.Join(", ", p.MapReferences)}; functions {string.Join(", ", p.Functions)}; externs {string.Join(", ", p.ExternReferences)}");
        }
        lines.AddRange(spec.Variables.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"var {kv.Value}"));
        lines.AddRange(spec.Externs.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"extern {kv.Key} {kv.Value.Kind} weak {kv.Value.IsWeak} {T(kv.Value.BtfTypeId)} at {kv.Value.Offset}+{kv.Value.Size}"));
        if (spec.BtfExt is { } ext)
            foreach (var (name, sec) in ext.Sections.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                lines.AddRange(sec.FuncInfos.Select(f => $"{name} func {f.InstructionOffset} {T(f.TypeId)}"));
                lines.AddRange(sec.LineInfos.Select(l => $"{name} line {l.InstructionOffset} {l}"));
                lines.AddRange(sec.CoreRelocations.Select(c => $"{name} core {c.InstructionOffset} {T(c.TypeId)} {c.AccessString} {c.Kind}"));
            }
        return [.. lines];
    }

    [Theory]
    [InlineData("link/link_b.bpf.o")]
    [InlineData("global_data.bpf.o")]
    public void LinkingAnObjectWithItselfIsADuplicateSymbol(string file)
    {
        var e = Assert.Throws<ObjectLinkException>(() => ObjectLinker.Link([Input(file), Input(file)]));
        Assert.NotNull(e.Symbol);
        Assert.Equal(file, e.File);
        Assert.Equal(file, e.OtherFile);
        Assert.Contains($"duplicate symbol '{e.Symbol}'", e.Message);
        var globals = ElfFile.Parse(TestData.Read(file)).Symbols.Where(s => s.Bind == ElfSymbol.STB_GLOBAL && s.SectionIndex != 0).Select(s => s.Name);
        Assert.Contains(e.Symbol!, globals);
    }

    [Fact]
    public void ConflictingMapDefinitionIsRejectedNamingBothFiles()
    {
        var e = Assert.Throws<ObjectLinkException>(() => ObjectLinker.Link([Input("link/link_b.bpf.o"), Input("link/link_conflict.bpf.o")]));
        Assert.Equal("link_results", e.Symbol);
        Assert.Equal("link/link_conflict.bpf.o", e.File);
        Assert.Equal("link/link_b.bpf.o", e.OtherFile);
        Assert.Contains("max_entries 16 against 32", e.Message);
    }

    [Fact]
    public void UnresolvedExternsAreAllowedUnlessStrict()
    {
        var alone = ElfFile.Parse(ObjectLinker.Link([Input("link/link_a.bpf.o")]));
        Assert.Equal(new[] { "b_counter", "link_add", "link_pair_sum", "link_results", "link_text" },
            alone.Symbols.Where(s => s.IsGlobal && s.SectionIndex == ElfSymbol.SHN_UNDEF).Select(s => s.Name).Order());
        var e = Assert.Throws<ObjectLinkException>(() => ObjectLinker.Link([Input("link/link_a.bpf.o")], new ObjectLinkOptions { Strict = true }));
        Assert.Contains("unresolved extern", e.Message);
        Assert.Contains(e.Symbol!, new[] { "b_counter", "link_add", "link_pair_sum", "link_results", "link_text" });
        // A linked library links again: (a) then b gives the same programs as a with b.
        var twice = ElfReader.Read(ObjectLinker.Link([new ObjectLinkInput("a-linked", ObjectLinker.Link([Input("link/link_a.bpf.o")])), Input("link/link_b.bpf.o")]));
        var once = ElfReader.Read(LinkPair());
        Assert.Equal(once.Programs.Keys.Order().ToArray(), twice.Programs.Keys.Order().ToArray());
        foreach (var (name, p) in once.Programs) Assert.Equal(p.Instructions, twice.Programs[name].Instructions);
    }

    [Fact]
    public void BadInputsAreTypedErrorsNamingTheFile()
    {
        var notElf = Assert.Throws<ObjectLinkException>(() => ObjectLinker.Link([new ObjectLinkInput("junk.o", new byte[100])]));
        Assert.Equal("junk.o", notElf.File);
        Assert.IsType<ElfFormatException>(notElf.InnerException);

        var x86 = TestData.Read("link/link_b.bpf.o");
        BinaryPrimitives.WriteUInt16LittleEndian(x86.AsSpan(18), 62); // EM_X86_64
        var machine = Assert.Throws<ObjectLinkException>(() => ObjectLinker.Link([Input("link/link_a.bpf.o"), new ObjectLinkInput("x86.o", x86)]));
        Assert.Equal("x86.o", machine.File);
        Assert.Contains("EM_BPF", machine.Message);

        // Every truncation of an input is a typed error (or, where only unused tail bytes go, a link).
        var bytes = TestData.Read("link/link_b.bpf.o");
        for (int len = 0; len < bytes.Length; len += 97)
        {
            try
            {
                ObjectLinker.Link([new ObjectLinkInput("cut.o", bytes.AsMemory(0, len))]);
            }
            catch (ObjectLinkException e)
            {
                Assert.Equal("cut.o", e.File);
            }
        }
    }

    /// <summary>Corrupted inputs (random bytes changed anywhere) link or fail with <see cref="ObjectLinkException"/>,
    /// never with another exception.</summary>
    [Fact]
    public void CorruptedInputsNeverEscapeAsUntypedErrors()
    {
        var a = TestData.Read("link/link_a.bpf.o");
        var b = TestData.Read("link/link_b.bpf.o");
        var random = new Random(6);
        var failures = new List<string>();
        for (int round = 0; round < 3000; round++)
        {
            var bytes = (byte[])(round % 2 == 0 ? a : b).Clone();
            int changes = 1 + random.Next(3);
            var where = new List<int>();
            for (int k = 0; k < changes; k++)
            {
                int at = random.Next(bytes.Length);
                bytes[at] = (byte)random.Next(256);
                where.Add(at);
            }
            try
            {
                var linked = ObjectLinker.Link(round % 2 == 0 ? [new ObjectLinkInput("bad.o", bytes), Input("link/link_b.bpf.o")] : [Input("link/link_a.bpf.o"), new ObjectLinkInput("bad.o", bytes)]);
                ElfFile.Parse(linked); // whatever links is a well-formed ELF
            }
            catch (ObjectLinkException)
            {
            }
            catch (Exception e)
            {
                failures.Add($"round {round}, bytes {string.Join(",", where)}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} untyped failures, first: {failures.FirstOrDefault()}");
    }

    [Fact]
    public void MissingInputFileLeavesNoOutput()
    {
        string output = Path.Combine(Path.GetTempPath(), "sharpbpf-link-" + Guid.NewGuid().ToString("N")[..8] + ".o");
        var e = Assert.Throws<ObjectLinkException>(() => ObjectLinker.LinkFiles([TestData.PathOf("link/link_a.bpf.o"), "/nonexistent/x.bpf.o"], output));
        Assert.Equal("/nonexistent/x.bpf.o", e.File);
        Assert.False(File.Exists(output));
        Assert.Throws<ObjectLinkException>(() => ObjectLinker.LinkFiles([TestData.PathOf("link/link_b.bpf.o"), TestData.PathOf("link/link_b.bpf.o")], output));
        Assert.False(File.Exists(output));
    }

    /// <summary>Our output against <c>bpftool gen object</c>'s (libbpf's linker) on the same inputs: same sections with
    /// the same sizes, same symbols at the same places, same relocations, same DATASECs and the same .BTF.ext records
    /// (by function, instruction and source line), and after deduplication the same BTF.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OutputMatchesBpftoolGenObject(bool reversed)
    {
        if (!File.Exists("/usr/sbin/bpftool") && !File.Exists("/usr/bin/bpftool"))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail("bpftool is missing in CI (.ci/run installs it)");
            Assert.Skip("bpftool is not installed");
        }
        string theirsPath = Path.Combine(Path.GetTempPath(), "sharpbpf-genobj-" + Guid.NewGuid().ToString("N")[..8] + ".o");
        try
        {
            string a = TestData.PathOf("link/link_a.bpf.o"), b = TestData.PathOf("link/link_b.bpf.o");
            var (rc, output) = BpftoolCrossCheckTests.Bpftool($"gen object {theirsPath} {(reversed ? $"{b} {a}" : $"{a} {b}")}");
            Assert.True(rc == 0, output);
            var ours = Describe(LinkPair(reversed));
            var theirs = Describe(File.ReadAllBytes(theirsPath));
            Assert.Equal(theirs.Sections, ours.Sections);
            Assert.Equal(theirs.Symbols, ours.Symbols);
            Assert.Equal(theirs.Relocations, ours.Relocations);
            Assert.Equal(theirs.Datasecs, ours.Datasecs);
            Assert.Equal(theirs.Ext, ours.Ext);
            // After deduplication the BTF is libbpf's, type for type, in the same order.
            string oursPath = theirsPath + ".ours";
            File.WriteAllBytes(oursPath, LinkPair(reversed));
            try
            {
                var (rc1, ourDump) = BpftoolCrossCheckTests.Bpftool($"btf dump file {oursPath}");
                var (rc2, theirDump) = BpftoolCrossCheckTests.Bpftool($"btf dump file {theirsPath}");
                Assert.True(rc1 == 0 && rc2 == 0, ourDump + theirDump);
                Assert.Equal(theirDump, ourDump);
            }
            finally
            {
                File.Delete(oursPath);
            }
        }
        finally
        {
            File.Delete(theirsPath);
        }
    }

    /// <summary>libbpf (bpftool prog loadall) opens and loads our linked object, with the same xlated program sizes
    /// as when we load it.</summary>
    [Fact]
    public void LibbpfLoadsOurOutputLikeWeDo()
    {
        KernelTest.Require();
        if (!File.Exists("/usr/sbin/bpftool") && !File.Exists("/usr/bin/bpftool"))
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") Assert.Fail("bpftool is missing in CI (.ci/run installs it)");
            Assert.Skip("bpftool is not installed");
        }
        using var leak = new FdLeakCheck();
        string obj = Path.Combine(Path.GetTempPath(), "sharpbpf-linked-" + Guid.NewGuid().ToString("N")[..8] + ".bpf.o");
        string pins = Path.Combine(Pinning.BpfFs.DefaultPath, "sharpbpf-linkload-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            File.WriteAllBytes(obj, LinkPair());
            var (rc, output) = BpftoolCrossCheckTests.Bpftool($"prog loadall {obj} {pins}");
            Assert.True(rc == 0, output);
            using var c = BpfCollection.LoadFile(obj);
            foreach (var (name, prog) in c.Programs)
            {
                var (showRc, json) = BpftoolCrossCheckTests.Bpftool($"prog show pinned {Path.Combine(pins, name)} --json");
                Assert.True(showRc == 0, json);
                Assert.Equal(prog.GetInfo().XlatedSize, System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("bytes_xlated").GetUInt32());
            }
            Assert.Equal(new[] { "link_a_prog", "link_b_prog" }, Directory.GetFiles(pins).Select(Path.GetFileName).Order());
        }
        finally
        {
            File.Delete(obj);
            if (Directory.Exists(pins))
            {
                foreach (var f in Directory.GetFiles(pins)) File.Delete(f);
                Directory.Delete(pins);
            }
        }
    }

    private sealed record Description(string[] Sections, string[] Symbols, string[] Relocations, string[] Datasecs, string[] Ext);

    private static Description Describe(byte[] bytes)
    {
        var elf = ElfFile.Parse(bytes);
        string SectionName(ushort index) => index == 0 ? "UND" : index >= ElfSymbol.SHN_LORESERVE ? $"0x{index:x}" : elf.Sections[index].Name;
        var sections = elf.Sections.Where(s => s.Type is ElfSection.SHT_PROGBITS or ElfSection.SHT_NOBITS && s.Name is not (".BTF" or ".BTF.ext"))
            .Select(s => $"{s.Name} type {s.Type} flags 0x{s.Flags:x} size {s.Size}").Order(StringComparer.Ordinal).ToArray();
        var symbols = elf.Symbols.Skip(1).Where(s => s.Type != ElfSymbol.STT_SECTION)
            .Select(s => $"{s.Name} {s.Type}/{s.Bind}/{s.Other} in {SectionName(s.SectionIndex)} at {s.Value} size {s.Size}").Order(StringComparer.Ordinal).ToArray();
        var relocations = elf.Sections.Where(s => s.Type == ElfSection.SHT_REL).SelectMany(rel => elf.Relocations(rel).Select(r =>
        {
            var sym = elf.Symbols[r.SymbolIndex];
            string target = sym.Type == ElfSymbol.STT_SECTION ? "section " + elf.Sections[sym.SectionIndex].Name : sym.Name;
            var insn = elf.SectionData(elf.Sections[rel.Info]).Slice((int)r.Offset, 8);
            return $"{elf.Sections[rel.Info].Name}+{r.Offset} type {r.Type} -> {target} imm {BinaryPrimitives.ReadInt32LittleEndian(insn[4..])}";
        })).Order(StringComparer.Ordinal).ToArray();
        var btfSection = elf.Sections.Single(s => s.Name == ".BTF");
        var btf = BtfSpec.Parse(elf.SectionMemory(btfSection));
        var datasecs = btf.Types.OfType<BtfDatasec>()
            .Select(d => $"{d.Name} size {d.Size}: " + string.Join(", ", d.Variables.Select(v => $"{btf.TypeById(v.TypeId).Kind} {btf.TypeById(v.TypeId).Name}@{v.Offset}+{v.Size}")))
            .Order(StringComparer.Ordinal).ToArray();
        var ext = BtfExt.Parse(elf.SectionMemory(elf.Sections.Single(s => s.Name == ".BTF.ext")), btf);
        var records = ext.Sections.Values.SelectMany(s =>
            s.FuncInfos.Select(f => $"{s.Name} func {f.InstructionOffset} {btf.TypeById(f.TypeId).Name}")
            .Concat(s.LineInfos.Select(l => $"{s.Name} line {l.InstructionOffset} {l}"))
            .Concat(s.CoreRelocations.Select(c => $"{s.Name} core {c.InstructionOffset} {btf.TypeById(c.TypeId).Name} {c.AccessString} {c.Kind}")))
            .ToArray();
        return new Description(sections, symbols, relocations, datasecs, records);
    }
}
