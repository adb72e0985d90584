using System.Buffers.Binary;
using SharpBpf.Btf;
using SharpBpf.Features;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Btf;

/// <summary>BPF_BTF_LOAD of clang objects' BTF (after DATASEC fix-ups), reading it back, ids, info, refusals with the
/// kernel's reason, sanitized blobs and the BTF kind probes.</summary>
[Collection(KernelCollection.Name)]
public class BtfHandleTests
{
    private static byte[] FixedObjectBtf(string obj)
    {
        var elf = TestObjects.Read(obj);
        var w = BtfWriter.From(BtfSpec.Parse(TestObjects.Section(elf, ".BTF")!));
        w.FixDatasecs(TestObjects.Sections(elf).ToDictionary(kv => kv.Key, kv => kv.Value.Size), TestObjects.VariableSymbols(elf));
        return w.ToArray();
    }

    [Theory]
    [InlineData("ext.bpf.o")]
    [InlineData("globals.bpf.o")]
    public void LoadedObjectBtfReadsBackByteForByte(string obj)
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var blob = FixedObjectBtf(obj);
        using var btf = BtfHandle.Load(blob);
        Assert.Equal(blob, btf.ReadRaw());
        var info = btf.GetInfo();
        Assert.False(info.IsKernel);
        Assert.Equal((uint)blob.Length, info.Size);
        Assert.Equal("", info.Name);
        Assert.Contains(info.Id, BtfHandle.EnumerateIds());
        using var again = BtfHandle.FromId(info.Id);
        Assert.Equal(blob, again.ReadRaw());
        Assert.Equal(BtfWriterTests.Dump(BtfSpec.Parse(blob)), BtfWriterTests.Dump(again.ReadSpec()));
    }

    [Fact]
    public void VmlinuxIsKernelBtfAndReadsBackAsTheSysfsFile()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var sysfs = KernelBtfBlob.Copy();
        uint? vmlinuxId = null;
        foreach (uint id in BtfHandle.EnumerateIds())
        {
            using var h = BtfHandle.FromId(id);
            var info = h.GetInfo();
            Assert.Equal(id, info.Id);
            if (info is { IsKernel: true, Name: "vmlinux" })
            {
                vmlinuxId = id;
                Assert.Equal(sysfs, h.ReadRaw());
            }
        }
        Assert.NotNull(vmlinuxId);
    }

    [Fact]
    public void UnfixedDatasecIsRefusedWithTheKernelsReason()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var raw = TestObjects.Section(TestObjects.Read("globals.bpf.o"), ".BTF")!;
        var e = Assert.Throws<BtfLoadException>(() => BtfHandle.Load(raw));
        Assert.Equal(22, e.Errno); // EINVAL
        Assert.Contains("BPF_BTF_LOAD", e.Message);
        Assert.NotEmpty(e.Log);
        Assert.Contains(e.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim(), e.Message);
    }

    [Fact]
    public void CorruptedIntIsRefusedWithAReadableMessage()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var w = new BtfWriter();
        w.AddType(BtfKind.Int, "int", 4, 0, false, 64); // 64 bits in a 4-byte int
        var e = Assert.Throws<BtfLoadException>(() => BtfHandle.Load(w.ToArray()));
        Assert.Contains("[1] INT int", e.Log);
        Assert.Contains("nr_bits", e.Message); // "Invalid int_data / nr_bits"
    }

    [Fact]
    public void TruncatedBlobIsRefused()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var blob = FixedObjectBtf("ext.bpf.o");
        var cut = blob[..(blob.Length - 100)];
        var e = Assert.ThrowsAny<BpfException>(() => BtfHandle.Load(cut));
        Assert.Equal(22, e.Errno);
    }

    [Fact]
    public void EveryBtfFeatureIsSupportedHereAndItsProbeBlobLoads()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        foreach (var f in Enum.GetValues<BtfFeature>())
        {
            Assert.True(KernelFeatures.Btf(f).IsSupported, $"{f}: {KernelFeatures.Btf(f).Reason}");
            using var h = BtfHandle.Load(KernelFeatures.BtfProbeBlob(f));
        }
        Assert.Equal(BtfKernelSupport.All, KernelFeatures.BtfSupport());
    }

    [Fact]
    public void KindTheKernelDoesNotKnowIsReportedNotSupported()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // Kind 20 does not exist on this kernel: the same path a 5.x kernel takes for ENUM64.
        var blob = KernelFeatures.BtfProbeBlob(BtfFeature.Enum64);
        int rec = 24 + 16; // after [1] int
        blob[rec + 7] = (byte)((blob[rec + 7] & 0xe0) | 20);
        using var fd = BtfHandle.TryLoadRaw(blob, out int errno, out string log);
        Assert.Null(fd);
        Assert.Equal(22, errno);
        Assert.Contains("kind", log, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void SanitizedBlobsLoadForEveryMissingFeatureCombination()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var variants = new[]
        {
            BtfKernelSupport.None,
            BtfKernelSupport.All with { Enum64 = false },
            BtfKernelSupport.All with { TypeTag = false, DeclTag = false },
            BtfKernelSupport.All with { Datasec = false },
            BtfKernelSupport.All with { Float = false, FuncGlobal = false },
        };
        foreach (var support in variants)
        {
            var w = BtfWriterTests.EveryKind();
            w.Sanitize(support);
            using var h = BtfHandle.Load(w.ToArray());
            Assert.True(h.GetInfo().Id > 0);
        }
        // and a real object, fixed and fully sanitized
        var elf = TestObjects.Read("globals.bpf.o");
        var obj = BtfWriter.From(BtfSpec.Parse(TestObjects.Section(elf, ".BTF")!));
        obj.FixDatasecs(TestObjects.Sections(elf).ToDictionary(kv => kv.Key, kv => kv.Value.Size), TestObjects.VariableSymbols(elf));
        Assert.True(obj.Sanitize(BtfKernelSupport.None) > 10);
        using var loaded = BtfHandle.Load(obj.ToArray());
    }
}
