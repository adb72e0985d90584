using SharpBpf.Externs;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Externs;

/// <summary>Kconfig value semantics (libbpf's), kernel version parsing, config and kallsyms parsing, the extern
/// specs ElfReader builds, and the typed errors for externs that cannot be resolved.</summary>
public class ExternResolutionTests
{
    private static ExternSpec K(string name, KconfigType type, uint size, uint offset = 0, bool weak = false, bool signed = false) =>
        new(name, ExternKind.Kconfig, weak, 1, offset, size, type, signed);

    private static byte[] Build(ExternSpec ext, string? value) =>
        ExternResolver.BuildKconfig([ext], ext.Offset + ext.Size, _ => value, () => "test config");

    [Theory]
    [InlineData(KconfigType.Bool, 1u, "y", new byte[] { 1 })]
    [InlineData(KconfigType.Bool, 1u, "n", new byte[] { 0 })]
    [InlineData(KconfigType.Bool, 1u, "1", new byte[] { 1 })]
    [InlineData(KconfigType.Tristate, 4u, "m", new byte[] { 2, 0, 0, 0 })]
    [InlineData(KconfigType.Tristate, 4u, "y", new byte[] { 1, 0, 0, 0 })]
    [InlineData(KconfigType.Char, 1u, "m", new byte[] { (byte)'m' })]
    [InlineData(KconfigType.Int, 4u, "250", new byte[] { 250, 0, 0, 0 })]
    [InlineData(KconfigType.Int, 2u, "0x1234", new byte[] { 0x34, 0x12 })]
    [InlineData(KconfigType.Int, 2u, "010", new byte[] { 8, 0 })]
    [InlineData(KconfigType.CharArray, 4u, "\"abcdef\"", new byte[] { (byte)'a', (byte)'b', (byte)'c', 0 })]
    [InlineData(KconfigType.CharArray, 4u, "\"a\"", new byte[] { (byte)'a', 0, 0, 0 })]
    public void ValuesAreStoredLikeLibbpf(KconfigType type, uint size, string value, byte[] expected) =>
        Assert.Equal(expected, Build(K("CONFIG_X", type, size), value));

    [Fact]
    public void SignedIntsTakeNegativeValuesAndRangesAreChecked()
    {
        Assert.Equal(new byte[] { 0xff, 0xff }, Build(K("CONFIG_X", KconfigType.Int, 2, signed: true), "-1"));
        Assert.Equal(new byte[] { 0x7f }, Build(K("CONFIG_X", KconfigType.Char, 1, signed: true), "127"));
        var e = Assert.Throws<ExternException>(() => Build(K("CONFIG_X", KconfigType.Char, 1, signed: true), "128"));
        Assert.Equal("CONFIG_X", e.ExternName);
        Assert.Contains("does not fit", e.Message);
        Assert.Throws<ExternException>(() => Build(K("CONFIG_X", KconfigType.Int, 2), "65536"));
    }

    [Theory]
    [InlineData(KconfigType.Bool, 1u, "m", "bool")]
    [InlineData(KconfigType.Bool, 1u, "2", "0 or 1")]
    [InlineData(KconfigType.Int, 4u, "y", "y/n/m")]
    [InlineData(KconfigType.Int, 4u, "\"s\"", "char array")]
    [InlineData(KconfigType.CharArray, 4u, "\"open", "ending")]
    [InlineData(KconfigType.Tristate, 4u, "1", "numeric")]
    [InlineData(KconfigType.Int, 4u, "12abc", "a number")]
    public void BadValuesNameTheExtern(KconfigType type, uint size, string value, string expected)
    {
        var e = Assert.Throws<ExternException>(() => Build(K("CONFIG_BAD", type, size), value));
        Assert.Equal("CONFIG_BAD", e.ExternName);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MissingWeakIsZeroAndMissingStrongFails()
    {
        Assert.Equal(new byte[4], Build(K("CONFIG_W", KconfigType.Int, 4, weak: true), null));
        var e = Assert.Throws<ExternException>(() => Build(K("CONFIG_S", KconfigType.Int, 4), null));
        Assert.Equal("CONFIG_S", e.ExternName);
        Assert.Contains("not set in test config", e.Message);
    }

    [Theory]
    [InlineData("6.18.44-fc-v782", null, null, 0x0612_2c)]
    [InlineData("5.4.0-1021-aws", "Ubuntu 5.4.0-1021.21-aws 5.4.73", null, 0x0504_49)]
    [InlineData("6.1.0-13-amd64", null, "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)", 0x0601_37)]
    [InlineData("4.19.300", null, null, 0x0413_ff)] // patch level capped at 255 like KERNEL_VERSION
    [InlineData("6.8", null, null, 0x0608_00)]
    public void KernelVersionCodes(string release, string? signature, string? version, int expected) =>
        Assert.Equal((uint)expected, KernelConfig.ParseKernelVersion(release, signature, version));

    [Fact]
    public void KernelVersionWithoutNumbersIsAFormatError() =>
        Assert.Contains("'abc'", Assert.Throws<FormatException>(() => KernelConfig.ParseKernelVersion("abc")).Message);

    [Fact]
    public void ConfigParsingSkipsCommentsAndRejectsMalformedLines()
    {
        var c = KernelConfig.Parse(new StringReader("# comment\nCONFIG_A=y\n# CONFIG_B is not set\n\nCONFIG_C=\"x y\"\n"), "cfg");
        Assert.Equal(2, c.Count);
        Assert.True(c.TryGetValue("CONFIG_C", out var v));
        Assert.Equal("\"x y\"", v);
        Assert.False(c.TryGetValue("CONFIG_B", out _));
        var e = Assert.Throws<FormatException>(() => KernelConfig.Parse(new StringReader("CONFIG_A=y\nCONFIG_BROKEN\n"), "cfg"));
        Assert.Contains("cfg line 2", e.Message);
    }

    [Fact]
    public void KallsymsLookupFindsRequestedNamesAndRejectsAmbiguity()
    {
        const string text = "ffffffff81000000 T _stext\nffffffff81000010 t helper\t[mod]\nffffffff81000020 t other\n";
        var found = KernelSymbols.Lookup(new StringReader(text), ["_stext", "helper", "absent"]);
        Assert.Equal(0xffffffff81000000ul, found["_stext"]);
        Assert.Equal(0xffffffff81000010ul, found["helper"]);
        Assert.False(found.ContainsKey("absent"));
        var e = Assert.Throws<ExternException>(() => KernelSymbols.Lookup(new StringReader(text + "ffffffff81000030 t other\n"), ["other"]));
        Assert.Equal("other", e.ExternName);
        Assert.Throws<FormatException>(() => KernelSymbols.Lookup(new StringReader("garbage\n"), ["x"]));
    }

    [Fact]
    public void ElfReaderDescribesEachExtern()
    {
        var spec = TestData.Spec("externs.bpf.o");
        Assert.Equal(ExternKind.Kfunc, spec.Externs["bpf_cpumask_create"].Kind);
        Assert.True(spec.Externs["bpf_sharpbpf_not_a_kfunc"].IsWeak);
        Assert.Equal(ExternKind.Ksym, spec.Externs["_stext"].Kind);
        var hz = spec.Externs["CONFIG_HZ"];
        Assert.Equal((ExternKind.Kconfig, KconfigType.Int, 4u, true), (hz.Kind, hz.Type, hz.Size, hz.IsSigned));
        Assert.Equal(KconfigType.Tristate, spec.Externs["CONFIG_BPF_JIT"].Type);
        Assert.Equal(KconfigType.Bool, spec.Externs["CONFIG_BPF_SYSCALL"].Type);
        Assert.Equal((KconfigType.CharArray, 16u), (spec.Externs["CONFIG_DEFAULT_HOSTNAME"].Type, spec.Externs["CONFIG_DEFAULT_HOSTNAME"].Size));
        // Laid out by descending alignment, each slot aligned, inside the map value.
        var kconfig = spec.Externs.Values.Where(e => e.Kind == ExternKind.Kconfig).OrderBy(e => e.Offset).ToList();
        var map = spec.Maps[ExternSpec.KconfigMapName];
        Assert.Equal(8u, kconfig[0].Size); // CONFIG_NR_CPUS (unsigned long long) first
        for (int i = 1; i < kconfig.Count; i++) Assert.True(kconfig[i].Offset >= kconfig[i - 1].Offset + kconfig[i - 1].Size);
        Assert.True(kconfig[^1].Offset + kconfig[^1].Size <= map.ValueSize);
        Assert.Equal(0u, map.ValueSize % 8);
        Assert.Contains(spec.Programs["read_kconfig"].MapReferences, r => r.MapName == ExternSpec.KconfigMapName);
    }
}

/// <summary>Extern failures at load time are typed and name the extern.</summary>
[Collection(KernelCollection.Name)]
public class ExternFailureTests
{
    [Fact]
    public void MissingStrongExternsNameTheExtern()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("externs.bpf.o");
        spec.Programs["read_percpu_ksym"].AutoLoad = false;
        spec.Externs["CONFIG_SHARPBPF_NOT_THERE"] = spec.Externs["CONFIG_SHARPBPF_NOT_THERE"] with { IsWeak = false };
        var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
        Assert.Equal(("extern", "CONFIG_SHARPBPF_NOT_THERE"), (e.Kind, e.Name));
        // The config comes from /proc/config.gz or, without IKCONFIG_PROC, /boot/config-RELEASE (the matrix kernels).
        Assert.Matches(@"not set in (/proc/config\.gz|/boot/config-)", e.Message);
        if (!KernelTest.Has("kfunc-cpumask")) return; // the object's strong kfuncs would fail first

        spec = TestData.Spec("externs.bpf.o");
        spec.Externs["bpf_sharpbpf_not_a_kfunc"] = spec.Externs["bpf_sharpbpf_not_a_kfunc"] with { IsWeak = false };
        e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
        Assert.Equal(("extern", "bpf_sharpbpf_not_a_kfunc"), (e.Kind, e.Name));
        Assert.IsType<ExternException>(e.InnerException);
    }

    [Fact]
    public void AReachablePoisonedKfuncCallFailsInTheVerifier()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("kfunc-cpumask"); // externs.bpf.o calls kfuncs of 6.2/6.3
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("externs.bpf.o");
        foreach (var p in spec.Programs.Values) p.AutoLoad = p.Name == "call_kfuncs";
        // Make the guarded call reachable: the 64-bit load of the missing weak kfunc (0) becomes 1.
        var prog = spec.Programs["call_kfuncs"];
        var load = prog.ExternReferences.First(r => r.ExternName == "bpf_sharpbpf_not_a_kfunc" && prog.Instructions[r.Instruction].OpCode == 0x18);
        prog.ExternReferences.Remove(load);
        var insn = prog.Instructions[load.Instruction];
        prog.Instructions[load.Instruction] = new SharpBpf.Asm.Instruction(0x18, insn.Dst, 0, 0, 1);
        var e = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
        Assert.Equal(("program", "call_kfuncs"), (e.Kind, e.Name));
        Assert.Contains("20020000", Assert.IsType<SharpBpf.Programs.BpfVerifierException>(e.InnerException).Log); // invalid func unknown#20020000NN
    }
}
