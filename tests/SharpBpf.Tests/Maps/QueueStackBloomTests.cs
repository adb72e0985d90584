using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class QueueStackBloomTests
{
    [Fact]
    public void QueueIsFifo()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var q = QueueMap<Pair>.Create("t_queue", 3);
        Assert.False(q.TryPop(out _));
        q.Push(new Pair(1, 1));
        q.Push(new Pair(2, 2));
        q.Push(new Pair(3, 3));
        Assert.False(q.TryPush(new Pair(4, 4)));
        Assert.Equal("E2BIG", Assert.Throws<BpfException>(() => q.Push(new Pair(4, 4))).ErrnoName);
        q.Push(new Pair(4, 4), UpdateFlags.Exist); // drops the oldest
        Assert.True(q.TryPeek(out var head));
        Assert.Equal(new Pair(2, 2), head);
        var order = new List<int>();
        while (q.TryPop(out var p)) order.Add(p.A);
        Assert.Equal([2, 3, 4], order);
    }

    [Fact]
    public void StackIsLifo()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var s = StackMap<ulong>.Create("t_stack", 8);
        for (ulong i = 1; i <= 5; i++) s.Push(i);
        Assert.True(s.TryPeek(out ulong top));
        Assert.Equal(5UL, top);
        var order = new List<ulong>();
        while (s.TryPop(out ulong x)) order.Add(x);
        Assert.Equal([5UL, 4, 3, 2, 1], order);
        Assert.False(s.TryPeek(out _));
    }

    [Fact]
    public void QueueTakeOverChecksType()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var raw = BpfMap.Create(new MapSpec { Name = "t_q_raw", Type = MapType.Stack, ValueSize = 8, MaxEntries = 2 });
        Assert.Throws<ArgumentException>(() => new QueueMap<ulong>(raw));
        Assert.Throws<ArgumentException>(() => new StackMap<uint>(raw));
        new StackMap<ulong>(raw).Push(1);
    }

    [Fact]
    public void BloomFilterHasNoFalseNegatives()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var bloom = BloomFilterMap<ulong>.Create("t_bloom", 1000, hashCount: 3);
        Assert.Equal(3UL, bloom.GetInfo().MapExtra);
        for (ulong i = 0; i < 100; i++) bloom.Add(i * 7919);
        for (ulong i = 0; i < 100; i++) Assert.True(bloom.Contains(i * 7919));
        int falsePositives = 0;
        for (ulong i = 0; i < 1000; i++) if (bloom.Contains(1_000_000_007UL + i)) falsePositives++;
        Assert.True(falsePositives < 100, $"{falsePositives} false positives out of 1000 with 100 of 1000 entries used");
        Assert.Throws<ArgumentOutOfRangeException>(() => BloomFilterMap<ulong>.Create("t_bloom2", 10, hashCount: 16));
    }
}
