using System.Buffers.Binary;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class MmapTests
{
    private static byte[] U32(uint k)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, k);
        return b;
    }

    [Fact]
    public void MmapShowsSyscallWritesAndViceVersa()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "mmap_arr", Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 100, Flags = MapFlags.Mmapable });
        using var mem = map.Mmap();
        Assert.Equal(8, mem.ElementStride);
        Assert.Equal(100u, mem.Count);
        map.Update(U32(5), BitConverter.GetBytes(0xdeadbeefUL));
        Assert.Equal(0xdeadbeefUL, mem.AsSpan<ulong>()[5]);
        mem.Get<ulong>(7) = 42;
        var v = new byte[8];
        map.Lookup(U32(7), v);
        Assert.Equal(42UL, BitConverter.ToUInt64(v));
        Assert.Throws<ArgumentOutOfRangeException>(() => mem.Element(100));
    }

    [Fact]
    public void OddValueSizeUsesEightByteStride()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "mmap_odd", Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 10, Flags = MapFlags.Mmapable });
        using var mem = map.Mmap();
        Assert.Equal(8, mem.ElementStride);
        map.Update(U32(3), U32(77));
        Assert.Equal(77u, mem.Get<uint>(3));
        Assert.Throws<ArgumentException>(() => mem.AsSpan<uint>());
    }

    [Fact]
    public void MmapOfNonMmapableMapIsRefusedBeforeSyscall()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "mmap_no", Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        Assert.Throws<InvalidOperationException>(() => map.Mmap());
    }

    [Fact]
    public void FrozenMapMapsReadOnlyButNotWritable()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "mmap_frz", Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 4, Flags = MapFlags.Mmapable });
        map.Update(U32(1), BitConverter.GetBytes(9UL));
        map.Freeze();
        var ex = Assert.Throws<BpfException>(() => map.Mmap(writable: true));
        Assert.Equal("EPERM", ex.ErrnoName);
        using var ro = map.Mmap(writable: false);
        Assert.Equal(9UL, ro.Get<ulong>(1));
        ro.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ro.Span.Length);
    }
}
