using SharpBpf.Btf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Btf;

/// <summary>Split BTF (a module's BTF on top of vmlinux): ids and string offsets continue after the base's, types
/// refer across the boundary, lookups see both, and bad split blobs are typed errors.</summary>
public class SplitBtfTests
{
    // Base: [1] int, [2] struct base_s { int a; } ; strings "\0int\0base_s\0a\0" (14 bytes).
    private static BtfSpec Base()
    {
        var b = new BtfBlobBuilder();
        uint i = b.Add(BtfKind.Int, "int", 0, 4, false, (1u << 24) | 32);
        b.Add(BtfKind.Struct, "base_s", 1, 4, false, b.Str("a"), i, 0);
        return BtfSpec.Parse(b.Build());
    }

    private static uint StringsSize(BtfSpec spec) => (uint)BitConverter.ToInt32(spec.RawData.Span[20..]);

    [Fact]
    public void SplitTypesContinueTheBaseIdsAndStrings()
    {
        var baseSpec = Base();
        var b = new BtfBlobBuilder(firstId: baseSpec.MaxTypeId + 1, stringBase: StringsSize(baseSpec));
        uint ptr = b.Add(BtfKind.Pointer, "", 0, 2); // -> base struct
        uint mod = b.Add(BtfKind.Struct, "mod_s", 2, 16, false, b.Str("p"), ptr, 0, b.Str("a"), 1, 64);
        uint a2 = b.AddRaw(1, (uint)BtfKind.Typedef << 24, 1); // name "int" straight from the base's strings
        var split = BtfSpec.Parse(b.Build(), baseSpec);

        Assert.Same(baseSpec, split.Base);
        Assert.Equal(3u, split.FirstTypeId);
        Assert.Equal((3u, 4u, 5u), (ptr, mod, a2));
        Assert.Equal(5u, split.MaxTypeId);
        Assert.Equal([3u, 4u, 5u], split.Types.Select(t => t.Id));
        var s = Assert.IsType<BtfStruct>(split.TypeById(mod));
        Assert.Equal("mod_s", s.Name);
        Assert.Equal(["p", "a"], s.Members.Select(m => m.Name));
        Assert.Equal("base_s", Assert.IsType<BtfStruct>(Assert.IsType<BtfPointer>(s.Members[0].Type).Target).Name);
        Assert.Same(baseSpec.TypeById(1), s.Members[1].Type);
        Assert.Equal("int", split.TypeById(a2).Name);
        Assert.Equal(8 + 8, split.SizeOf(s));
        // Name lookups see the base's types too, base first.
        Assert.True(split.TryTypeByName("base_s", BtfKind.Struct, out var fromBase));
        Assert.Equal(2u, fromBase.Id);
        Assert.Equal([1u, 5u], split.TypesByName("int").Select(t => t.Id));
        Assert.False(baseSpec.TryTypeByName("mod_s", BtfKind.Struct, out _));
        Assert.Throws<ArgumentException>(() => BtfWriter.From(split));
    }

    [Fact]
    public void SplitWithoutOwnTypesOrStringsIsValid()
    {
        var baseSpec = Base();
        var split = BtfSpec.Parse(new BtfBlobBuilder(firstId: 3, stringBase: StringsSize(baseSpec)).Build(), baseSpec);
        Assert.Equal(2u, split.MaxTypeId);
        Assert.Empty(split.Types);
        Assert.Equal("base_s", split.TypeById(2).Name);
    }

    [Fact]
    public void IdsAndStringsBeyondBaseAndSplitAreTypedErrors()
    {
        var baseSpec = Base();
        uint strings = StringsSize(baseSpec);
        var badRef = new BtfBlobBuilder(firstId: 3, stringBase: strings);
        badRef.Add(BtfKind.Pointer, "", 0, 4); // id 4 does not exist (max 3)
        var e = Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(badRef.Build(), baseSpec));
        Assert.Contains("a type id at most 3, got 4", e.Message);

        var badName = new BtfBlobBuilder(firstId: 3, stringBase: strings);
        badName.AddRaw(strings + 100, (uint)BtfKind.Typedef << 24, 1);
        e = Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(badName.Build(), baseSpec));
        Assert.Contains("name offset", e.Message);

        // Parsed stand-alone, split BTF is rejected: it refers to ids and strings it does not have.
        var split = new BtfBlobBuilder(firstId: 3, stringBase: strings);
        split.Add(BtfKind.Pointer, "", 0, 2);
        split.Add(BtfKind.Struct, "mod_s", 0, 0);
        Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(split.Build()));

        var bigEndian = new BtfBlobBuilder(firstId: 3, stringBase: strings) { BigEndian = true };
        bigEndian.Add(BtfKind.Pointer, "", 0, 2);
        e = Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(bigEndian.Build(), baseSpec));
        Assert.Contains("byte order", e.Message);
    }

    [Fact]
    public void ModuleBtfNamesAreChecked()
    {
        Assert.Throws<ArgumentException>(() => BtfSpec.LoadKernelModule("vmlinux"));
        Assert.Throws<ArgumentException>(() => BtfSpec.LoadKernelModule("../etc"));
        Assert.Throws<FileNotFoundException>(() => BtfSpec.LoadKernelModule("sharpbpf_no_such_module"));
    }

    [Fact]
    public void LoadedModulesParseOnTopOfVmlinux()
    {
        var probe = SharpBpf.Features.KernelFeatures.Attach("module-btf");
        KernelTest.RequireFeature("module-btf", probe.IsSupported ? null : probe.Reason + " (the kernel-matrix run covers modules)");
        var modules = Directory.GetFiles("/sys/kernel/btf").Select(Path.GetFileName).Where(n => n != "vmlinux").ToList();
        foreach (var m in modules)
        {
            var spec = BtfSpec.LoadKernelModule(m!);
            Assert.NotNull(spec.Base);
            foreach (var t in spec.Types) Assert.NotNull(t.Name);
        }
    }
}
