using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class ArrayMapTests
{
    [Fact]
    public void IndexerKeysAndBounds()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = ArrayMap<Pair>.Create("t_array", 8);
        Assert.Equal(default, map[3]); // zero-filled
        map[3] = new Pair(1, 2);
        Assert.Equal(new Pair(1, 2), map[3]);
        Assert.Throws<KeyNotFoundException>(() => map[8]);
        Assert.Equal("E2BIG", Assert.Throws<BpfException>(() => map.Update(8, default)).ErrnoName);
        Assert.Equal("EINVAL", Assert.Throws<BpfException>(() => map.Delete(3)).ErrnoName);
        var keys = new List<uint>();
        foreach (uint k in map.Keys) keys.Add(k);
        Assert.Equal([0u, 1, 2, 3, 4, 5, 6, 7], keys);
    }

    [Fact]
    public void TypedBatchOverArrayUsesKeyCursor()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = ArrayMap<ulong>.Create("t_arr_batch", 10);
        map.UpdateBatch([0u, 1, 2, 9], [5UL, 6, 7, 8]);
        var cursor = new MapBatchCursor();
        var k = new uint[4];
        var v = new ulong[4];
        var all = new List<(uint, ulong)>();
        var sizes = new List<int>();
        int got;
        while ((got = map.LookupBatch(ref cursor, k, v)) > 0)
        {
            sizes.Add(got);
            for (int i = 0; i < got; i++) all.Add((k[i], v[i]));
        }
        Assert.Equal([4, 4, 2], sizes);
        Assert.Equal(10, all.Count);
        Assert.Equal((9u, 8UL), all[9]);
        Assert.Equal((3u, 0UL), all[3]);
    }

    [Fact]
    public void MmapableTypedArray()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = ArrayMap<ulong>.Create("t_arr_mmap", 64, MapFlags.Mmapable);
        using var mem = map.Mmap();
        mem.AsSpan<ulong>()[10] = 99;
        Assert.Equal(99UL, map[10]);
        map[11] = 123;
        Assert.Equal(123UL, mem.AsSpan<ulong>()[11]);
    }
}
