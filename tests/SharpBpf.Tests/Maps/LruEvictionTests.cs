using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class LruEvictionTests
{
    [Fact]
    public void FillingBeyondMaxEntriesEvictsOldestKeepsRecent()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        const uint max = 1024;
        using var map = LruHashMap<uint, uint>.Create("t_lru_evict", max);
        // The common LRU keeps per-CPU pending lists: stay on one CPU so the kernel sees one insertion order.
        TestNative.OnOneCpu(() =>
        {
            for (uint i = 0; i < max; i++) map.Update(i, i);
            map.Update(7, 7777); // re-written: now among the most recently used
            for (uint i = max; i < max + 64; i++) map.Update(i, i);
        });
        int count = map.Count();
        Assert.True(count <= max, $"{count} elements in an LRU of {max}");
        Assert.False(map.TryLookup(0, out _), "the oldest key survived");
        Assert.False(map.TryLookup(1, out _), "the second oldest key survived");
        Assert.Equal(7777u, map.Lookup(7));
        Assert.Equal(max + 63, map.Lookup(max + 63));
        Assert.Equal(max - 1, map.Lookup(max - 1));
    }
}
