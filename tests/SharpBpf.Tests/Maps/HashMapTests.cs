using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

internal record struct Pair(int A, int B);

internal record struct Odd12(uint A, uint B, uint C);

[Collection(KernelCollection.Name)]
public class HashMapTests
{
    [Fact]
    public void TypedCrud()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = HashMap<uint, Pair>.Create("t_hash", 16);
        Assert.Equal(MapType.Hash, map.Type);
        Assert.False(map.TryLookup(1, out var missing));
        Assert.Equal(default, missing);
        Assert.Throws<KeyNotFoundException>(() => map.Lookup(1));
        map.Update(1, new Pair(10, 20));
        Assert.Equal(new Pair(10, 20), map.Lookup(1));
        Assert.False(map.TryAdd(1, new Pair(0, 0)));
        Assert.True(map.TryAdd(2, new Pair(3, 4)));
        var ex = Assert.Throws<BpfException>(() => map.Update(3, default, UpdateFlags.Exist));
        Assert.Equal("ENOENT", ex.ErrnoName);
        Assert.Contains("BPF_MAP_UPDATE_ELEM", ex.Message);
        Assert.True(map.TryLookupAndDelete(2, out var popped));
        Assert.Equal(new Pair(3, 4), popped);
        Assert.False(map.TryLookup(2, out _));
        Assert.True(map.Delete(1));
        Assert.False(map.Delete(1));
    }

    [Fact]
    public void FullMapIsE2big()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = HashMap<uint, uint>.Create("t_full", 2);
        map.Update(1, 1);
        map.Update(2, 2);
        Assert.Equal("E2BIG", Assert.Throws<BpfException>(() => map.Update(3, 3)).ErrnoName);
    }

    [Fact]
    public void KeysAndEntriesEnumerate()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = HashMap<ulong, int>.Create("t_enum", 64);
        for (int i = 0; i < 40; i++) map.Update((ulong)i << 32, i);
        var keys = new List<ulong>();
        foreach (ulong k in map.Keys) keys.Add(k);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (ulong)i << 32), keys.Order());
        int n = 0;
        foreach (var (key, value) in map)
        {
            Assert.Equal((ulong)value << 32, key);
            n++;
        }
        Assert.Equal(40, n);
        Assert.Equal(40, map.Count()); // IEnumerable for LINQ
        foreach (var (key, _) in map) map.Delete(key); // deleting during the walk
        Assert.Empty(map);
    }

    [Fact]
    public void TakeOverValidatesTypeAndSizes()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var raw = BpfMap.Create(new MapSpec { Name = "t_raw", Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        var e1 = Assert.Throws<ArgumentException>(() => new HashMap<ulong, Pair>(raw));
        Assert.Contains("4-byte keys", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => new HashMap<uint, uint>(raw));
        Assert.Contains("8-byte values", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => new LruHashMap<uint, Pair>(raw));
        Assert.Contains("LruHash", e3.Message);
        Assert.Throws<ArgumentException>(() => new ArrayMap<Pair>(raw));
        var typed = new HashMap<uint, Pair>(raw);
        typed.Update(7, new Pair(1, 2));
        var value = new byte[8];
        Assert.True(raw.TryLookup(BitConverter.GetBytes(7u), value)); // same map underneath
        Assert.Equal(1, BitConverter.ToInt32(value));
    }

    [Fact]
    public void TypedBatchesWithPartialLastBatchAndEmptyMap()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = HashMap<uint, Pair>.Create("t_batch", 128);
        var cursor = new MapBatchCursor();
        var k = new uint[16];
        var v = new Pair[16];
        Assert.Equal(0, map.LookupBatch(ref cursor, k, v)); // empty map
        Assert.True(cursor.IsDone);

        uint[] keys = [.. Enumerable.Range(0, 50).Select(i => (uint)i)];
        Pair[] values = [.. keys.Select(x => new Pair((int)x, -(int)x))];
        map.UpdateBatch(keys, values);
        cursor.Reset();
        var seen = new Dictionary<uint, Pair>();
        int got, last = 0;
        while ((got = map.LookupBatch(ref cursor, k, v)) > 0)
        {
            for (int i = 0; i < got; i++) seen.Add(k[i], v[i]);
            last = got;
        }
        Assert.Equal(50, seen.Count);
        Assert.True(last < 16 || seen.Count % 16 == 0);
        foreach (var (key, value) in seen) Assert.Equal(new Pair((int)key, -(int)key), value);

        map.DeleteBatch(keys.AsSpan(0, 25));
        Assert.Equal(25, map.Count());
        var c2 = new MapBatchCursor();
        int deleted = 0;
        while ((got = map.LookupAndDeleteBatch(ref c2, k, v)) > 0) deleted += got;
        Assert.Equal(25, deleted);
        Assert.Empty(map);
        Assert.Throws<ArgumentException>(() => map.UpdateBatch(keys, values.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => map.UpdateBatch(keys, values, UpdateFlags.NoExist));
    }

    [Fact]
    public void LruHashCrud()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = LruHashMap<uint, ulong>.Create("t_lru", 16);
        Assert.Equal(MapType.LruHash, map.Type);
        map.Update(5, 50);
        Assert.Equal(50UL, map.Lookup(5));
        Assert.True(map.Delete(5));
    }
}
