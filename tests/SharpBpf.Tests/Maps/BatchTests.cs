using System.Buffers.Binary;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class BatchTests
{
    private static BpfMap Hash(uint maxEntries, MapFlags flags = MapFlags.None) =>
        BpfMap.Create(new MapSpec { Name = "batch_hash", Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = maxEntries, Flags = flags });

    private static byte[] Key(uint k)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, k);
        return b;
    }

    [Fact]
    public void HashLookupBatchWalksAllElementsWithPartialLastBatch()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = Hash(64);
        const int n = 37;
        var keys = new byte[n * 4];
        var values = new byte[n * 8];
        for (uint i = 0; i < n; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(keys.AsSpan((int)i * 4), i);
            BinaryPrimitives.WriteUInt64LittleEndian(values.AsSpan((int)i * 8), i * 1000UL);
        }
        map.UpdateBatch(keys, values);

        var seen = new Dictionary<uint, ulong>();
        var cursor = new MapBatchCursor();
        var k = new byte[10 * 4];
        var v = new byte[10 * 8];
        int calls = 0, got;
        while ((got = map.LookupBatch(ref cursor, k, v)) > 0)
        {
            calls++;
            for (int i = 0; i < got; i++)
                seen.Add(BinaryPrimitives.ReadUInt32LittleEndian(k.AsSpan(i * 4)), BinaryPrimitives.ReadUInt64LittleEndian(v.AsSpan(i * 8)));
        }
        Assert.True(cursor.IsDone);
        Assert.True(calls >= 4, $"37 elements in batches of 10 took {calls} calls");
        Assert.Equal(n, seen.Count);
        foreach (var (key, value) in seen) Assert.Equal(key * 1000UL, value);
        Assert.Equal(0, map.LookupBatch(ref cursor, k, v)); // done stays done

        map.DeleteBatch(keys.AsSpan(0, 10 * 4));
        Assert.False(map.TryLookup(Key(3), new byte[8]));
        Assert.True(map.TryLookup(Key(30), new byte[8]));
        var ex = Assert.Throws<MapBatchException>(() => map.DeleteBatch(keys.AsSpan(0, 4)));
        Assert.Equal("ENOENT", ex.ErrnoName);
        Assert.Equal(0, ex.Processed);
    }

    [Fact]
    public void BatchOnEmptyMapReturnsZeroAndIsDone()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = Hash(8);
        var cursor = new MapBatchCursor();
        Assert.Equal(0, map.LookupBatch(ref cursor, new byte[16], new byte[32]));
        Assert.True(cursor.IsDone);
        var c2 = new MapBatchCursor();
        Assert.Equal(0, map.LookupAndDeleteBatch(ref c2, new byte[16], new byte[32]));
    }

    [Fact]
    public void LookupAndDeleteBatchEmptiesHash()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = Hash(32);
        for (uint i = 0; i < 20; i++) map.Update(Key(i), new byte[8]);
        var cursor = new MapBatchCursor();
        int total = 0, got;
        var k = new byte[7 * 4];
        var v = new byte[7 * 8];
        while ((got = map.LookupAndDeleteBatch(ref cursor, k, v)) > 0) total += got;
        Assert.Equal(20, total);
        Assert.False(map.TryGetNextKey(default, new byte[4]));
    }

    [Fact]
    public void ArrayLookupBatchUsesKeyCursor()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = BpfMap.Create(new MapSpec { Name = "batch_arr", Type = MapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 10 });
        for (uint i = 0; i < 10; i++) map.Update(Key(i), Key(i + 100));
        var cursor = new MapBatchCursor();
        var k = new byte[4 * 4];
        var v = new byte[4 * 4];
        var counts = new List<int>();
        var values = new List<uint>();
        int got;
        while ((got = map.LookupBatch(ref cursor, k, v)) > 0)
        {
            counts.Add(got);
            for (int i = 0; i < got; i++) values.Add(BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(i * 4)));
        }
        Assert.Equal([4, 4, 2], counts);
        Assert.Equal(Enumerable.Range(100, 10).Select(x => (uint)x), values);
        // arrays cannot delete
        Assert.Throws<MapBatchException>(() => map.DeleteBatch(Key(1)));
    }

    [Fact]
    public void HashBucketLargerThanBatchIsEnospcAndRetryable()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // 2 buckets, fixed hash seed: find two keys sharing a bucket by trying, then a batch of 1 cannot hold it.
        using var map = Hash(2, MapFlags.ZeroSeed);
        map.Update(Key(0), new byte[8]);
        bool found = false;
        for (uint other = 1; other < 64 && !found; other++)
        {
            map.Update(Key(other), new byte[8]);
            var cursor = new MapBatchCursor();
            try
            {
                while (map.LookupBatch(ref cursor, new byte[4], new byte[8]) > 0) { }
            }
            catch (MapBatchException e) when (e.ErrnoName == "ENOSPC")
            {
                found = true;
                Assert.Contains("retry with larger buffers", e.Message);
                // the cursor did not move: retrying from it with room for two succeeds and finishes the walk
                int total = 0, got;
                while ((got = map.LookupBatch(ref cursor, new byte[8], new byte[16])) > 0) total += got;
                Assert.True(total >= 2);
            }
            if (!found) map.Delete(Key(other));
        }
        Assert.True(found, "no two keys out of 64 shared one of two hash buckets");
    }

    [Fact]
    public void BadBufferSizesAreArgumentExceptions()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = Hash(8);
        var cursor = new MapBatchCursor();
        Assert.Throws<ArgumentException>(() => map.LookupBatch(ref cursor, new byte[6], new byte[16]));
        Assert.Throws<ArgumentException>(() => map.LookupBatch(ref cursor, new byte[8], new byte[8]));
        Assert.Throws<ArgumentException>(() => map.UpdateBatch(new byte[8], new byte[16], UpdateFlags.NoExist));
        Assert.Throws<ArgumentException>(() => map.DeleteBatch(ReadOnlySpan<byte>.Empty));
        using var other = BpfMap.Create(new MapSpec { Name = "batch_other", Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 4 });
        var c = new MapBatchCursor();
        Assert.Equal(1, other.LookupBatch(ref c, new byte[4], new byte[8]));
        Assert.False(c.IsDone);
        var ex = Assert.Throws<ArgumentException>(() => map.LookupBatch(ref c, new byte[4], new byte[8]));
        Assert.Contains("belongs to map id", ex.Message);
    }
}
