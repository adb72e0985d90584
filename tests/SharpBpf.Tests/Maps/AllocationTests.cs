using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class AllocationTests
{
    /// <summary>Bytes the current thread allocates in one run of <paramref name="loop"/>, the least of three
    /// measured runs after two warm-ups. A per-call allocation shows in every run (each loops hundreds of times);
    /// the runtime may allocate once now and then on whatever thread triggers it (tier-up bookkeeping, a
    /// background worker's Thread object), which must not fail the test.</summary>
    private static long Measure(Action loop)
    {
        loop(); // warm up: JIT, tiering, lazy statics
        loop();
        long least = long.MaxValue;
        for (int attempt = 0; attempt < 3 && least > 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            loop();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }

    [Fact]
    public void TypedLookupAndUpdateAllocateNothing()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = HashMap<uint, Pair>.Create("t_alloc", 64);
        long bytes = Measure(() =>
        {
            for (uint i = 0; i < 1000; i++)
            {
                map.Update(i % 64, new Pair((int)i, 1));
                if (!map.TryLookup(i % 64, out var p) || p.A != (int)i) throw new InvalidOperationException("lookup mismatch");
                map.Delete(i % 64);
            }
        });
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void WalksBatchesAndPerCpuAllocateNothing()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = HashMap<uint, ulong>.Create("t_alloc_walk", 64);
        for (uint i = 0; i < 50; i++) map.Update(i, i);
        using var pcpu = PerCpuArrayMap<uint>.Create("t_alloc_pcpu", 4); // 4-byte values: packed path
        using var queue = QueueMap<ulong>.Create("t_alloc_q", 8);
        var keys = new uint[16];
        var values = new ulong[16];
        var perCpu = new uint[pcpu.CpuCount];
        long bytes = Measure(() =>
        {
            for (int round = 0; round < 1000; round++)
            {
                ulong sum = 0;
                foreach (uint k in map.Keys) sum += k;
                foreach (var (k, v) in map) sum += k + v;
                var cursor = new MapBatchCursor();
                while (map.LookupBatch(ref cursor, keys, values) > 0) { }
                pcpu.Update(1, perCpu);
                pcpu.Lookup(1, perCpu);
                queue.Push(sum);
                queue.TryPop(out _);
            }
        });
        Assert.Equal(0, bytes);
    }
}
