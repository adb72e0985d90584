using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class BpfMapCoreTests
{
    [Fact]
    public void HashMapBytesRoundTrip()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "core_hash", Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 16 });
        Assert.Equal("core_hash", map.Name);
        Assert.NotEqual(0u, map.Id);
        byte[] key = [1, 0, 0, 0];
        byte[] value = new byte[8];
        Assert.False(map.TryLookup(key, value));
        map.Update(key, [9, 8, 7, 6, 5, 4, 3, 2]);
        Assert.True(map.TryLookup(key, value));
        Assert.Equal(new byte[] { 9, 8, 7, 6, 5, 4, 3, 2 }, value);
        var ex = Assert.Throws<BpfException>(() => map.Update(key, value, UpdateFlags.NoExist));
        Assert.Equal("EEXIST", ex.ErrnoName);
        Assert.Contains("BPF_MAP_UPDATE_ELEM", ex.Message);
        Assert.Contains(map.Id, BpfMap.EnumerateIds());
        using (var again = BpfMap.FromId(map.Id)) Assert.Equal(MapType.Hash, again.Type);
        Assert.True(map.Delete(key));
        Assert.False(map.Delete(key));
        Assert.Throws<ArgumentException>(() => map.Update([1, 2], value));
    }
}
