using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class PerCpuMapTests
{
    [Fact]
    public void DistinctValuesPerCpuAligned()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = PerCpuHashMap<uint, ulong>.Create("t_pcpu", 8);
        int n = map.CpuCount;
        Assert.True(n >= 1);
        var values = new ulong[n];
        for (int i = 0; i < n; i++) values[i] = 1000UL + (ulong)i;
        map.Update(1, values);
        var back = new ulong[n];
        Assert.True(map.TryLookup(1, back));
        Assert.Equal(values, back);
        Assert.False(map.TryLookup(2, back));
        Assert.Throws<ArgumentException>(() => map.TryLookup(1, new ulong[n + 1]));
        Assert.Throws<ArgumentException>(() => map.Update(1, new ulong[n + 1]));
        map.UpdateAll(2, 7);
        Assert.True(map.TryLookup(2, back));
        Assert.All(back, x => Assert.Equal(7UL, x));
        Assert.True(map.Delete(2));
    }

    [Fact]
    public void ValueSizesNotMultipleOfEightArePacked()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var small = PerCpuArrayMap<uint>.Create("t_pcpu_u32", 4);
        int n = small.CpuCount;
        var values = new uint[n];
        for (int i = 0; i < n; i++) values[i] = 0xA0u + (uint)i;
        small.Update(2, values);
        var back = new uint[n];
        small.Lookup(2, back);
        Assert.Equal(values, back);
        // the same bytes through the byte-level API: each CPU's value 8 bytes apart
        var raw = new byte[small.ValueBufferSize];
        Assert.Equal(8 * n, raw.Length);
        Assert.True(small.TryLookup(BitConverter.GetBytes(2u), raw));
        for (int i = 0; i < n; i++) Assert.Equal(values[i], BitConverter.ToUInt32(raw, i * 8));

        using var odd = LruPerCpuHashMap<ulong, Odd12>.Create("t_pcpu_odd", 16);
        var odds = new Odd12[n];
        for (int i = 0; i < n; i++) odds[i] = new Odd12((uint)i, (uint)i * 2, (uint)i * 3 + 1);
        odd.Update(42, odds);
        var oddBack = new Odd12[n];
        odd.Lookup(42, oddBack);
        Assert.Equal(odds, oddBack);
    }

    [Fact]
    public void PerCpuBatchWithPackedValues()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = PerCpuHashMap<uint, Odd12>.Create("t_pcpu_batch", 32);
        int n = map.CpuCount;
        uint[] keys = [1, 2, 3, 4, 5];
        var values = new Odd12[keys.Length * n];
        for (int i = 0; i < values.Length; i++) values[i] = new Odd12((uint)i, 7, 9);
        map.UpdateBatch(keys, values);
        var cursor = new MapBatchCursor();
        var k = new uint[8];
        var v = new Odd12[8 * n];
        var seen = new Dictionary<uint, Odd12[]>();
        int got;
        while ((got = map.LookupBatch(ref cursor, k, v)) > 0)
            for (int i = 0; i < got; i++) seen[k[i]] = v.AsSpan(i * n, n).ToArray();
        Assert.Equal(5, seen.Count);
        for (int i = 0; i < keys.Length; i++) Assert.Equal(values.AsSpan(i * n, n).ToArray(), seen[keys[i]]);
        map.DeleteBatch(keys.AsSpan(0, 2));
        Assert.False(map.TryLookup(1, new Odd12[n]));
        Assert.Throws<ArgumentException>(() => map.LookupBatch(ref cursor, k, new Odd12[8]));
    }

    [Fact]
    public void PerCpuArrayKeysAndTakeOver()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var raw = BpfMap.Create(new MapSpec { Name = "t_pcpu_raw", Type = MapType.PerCpuArray, KeySize = 4, ValueSize = 8, MaxEntries = 3 });
        Assert.Throws<ArgumentException>(() => new PerCpuArrayMap<uint>(raw));
        Assert.Throws<ArgumentException>(() => new PerCpuHashMap<uint, ulong>(raw));
        var map = new PerCpuArrayMap<long>(raw);
        var keys = new List<uint>();
        foreach (uint key in map.Keys) keys.Add(key);
        Assert.Equal([0u, 1, 2], keys);
    }
}
