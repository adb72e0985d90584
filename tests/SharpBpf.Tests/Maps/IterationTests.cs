using System.Buffers.Binary;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class IterationTests
{
    private static byte[] Key(uint k)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, k);
        return b;
    }

    [Fact]
    public void KeyBytesVisitsEveryKeyOnce()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "iter_hash", Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 64 });
        for (uint i = 0; i < 50; i++) map.Update(Key(i), Key(i));
        var seen = new List<uint>();
        foreach (var key in map.EnumerateKeyBytes()) seen.Add(BinaryPrimitives.ReadUInt32LittleEndian(key));
        Assert.Equal(Enumerable.Range(0, 50).Select(x => (uint)x), seen.Order());
    }

    [Fact]
    public void DeletingTheCurrentKeyDuringTheWalkIsSafe()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "iter_del", Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 64 });
        for (uint i = 0; i < 40; i++) map.Update(Key(i), Key(i));
        var seen = new HashSet<uint>();
        foreach (var key in map.EnumerateKeyBytes())
        {
            Assert.True(seen.Add(BinaryPrimitives.ReadUInt32LittleEndian(key)), "a deleted key came back");
            Assert.True(map.Delete(key));
        }
        Assert.Equal(40, seen.Count);
        Assert.False(map.TryGetNextKey(default, new byte[4]));
    }

    [Fact]
    public void ArrayWalkYieldsEveryIndex()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "iter_arr", Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 7 });
        var seen = new List<uint>();
        foreach (var key in map.EnumerateKeyBytes()) seen.Add(BinaryPrimitives.ReadUInt32LittleEndian(key));
        Assert.Equal([0u, 1, 2, 3, 4, 5, 6], seen);
    }

    [Fact]
    public void WalkOfChurningMapAborts()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "iter_churn", Type = MapType.Hash, KeySize = 4, ValueSize = 4, MaxEntries = 4 });
        for (uint i = 0; i < 3; i++) map.Update(Key(i), Key(i));
        uint next = 100;
        Assert.Throws<MapIterationAbortedException>(() =>
        {
            // every step deletes the current key and adds a new one: the walk restarts forever
            foreach (var key in map.EnumerateKeyBytes())
            {
                map.Delete(key);
                map.Update(Key(next++), Key(0));
            }
        });
    }
}
