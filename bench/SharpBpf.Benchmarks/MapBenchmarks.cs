using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SharpBpf.Maps;

namespace SharpBpf.Benchmarks;

/// <summary>
/// Hash map with 4-byte keys and 8-byte values, 1024 entries: SharpBpf's typed wrapper vs C with libbpf, each
/// category with libbpf as its baseline (Ratio column = SharpBpf time / libbpf time; ops/s ratio is its inverse).
/// Both sides run in this process on the same map fd.
/// </summary>
[Config(typeof(BenchConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public unsafe class MapBenchmarks
{
    private const int Entries = 1024;
    private const int Ops = 4096;
    private HashMap<uint, ulong> _map = null!;
    private readonly uint[] _keys = new uint[Entries];
    private readonly ulong[] _values = new ulong[Entries];

    [GlobalSetup]
    public void Setup()
    {
        _map = HashMap<uint, ulong>.Create("bench_hash", Entries);
        for (uint i = 0; i < Entries; i++) _map.Update(i, i * 3);
    }

    [GlobalCleanup]
    public void Cleanup() => _map.Dispose();

    [BenchmarkCategory("lookup"), Benchmark(Baseline = true, OperationsPerInvoke = Ops, Description = "libbpf bpf_map_lookup_elem")]
    public long NativeLookup() => NativePeer.mb_lookup(_map.Fd, Ops, Entries - 1);

    [BenchmarkCategory("lookup"), Benchmark(OperationsPerInvoke = Ops, Description = "SharpBpf HashMap.TryLookup")]
    public long SharpBpfLookup()
    {
        long hits = 0;
        var map = _map;
        for (int i = 0; i < Ops; i++)
            if (map.TryLookup((uint)i & (Entries - 1), out ulong v))
                hits += (long)(v & 1) + 1;
        return hits;
    }

    [BenchmarkCategory("update"), Benchmark(Baseline = true, OperationsPerInvoke = Ops, Description = "libbpf bpf_map_update_elem")]
    public int NativeUpdate() => NativePeer.mb_update(_map.Fd, Ops, Entries - 1);

    [BenchmarkCategory("update"), Benchmark(OperationsPerInvoke = Ops, Description = "SharpBpf HashMap.Update")]
    public int SharpBpfUpdate()
    {
        var map = _map;
        for (int i = 0; i < Ops; i++) map.Update((uint)i & (Entries - 1), (ulong)i);
        return 0;
    }

    [BenchmarkCategory("read-all"), Benchmark(Baseline = true, OperationsPerInvoke = Entries, Description = "libbpf lookup_batch (256/batch)")]
    public long NativeBatch()
    {
        fixed (uint* k = _keys)
        fixed (ulong* v = _values)
            return NativePeer.mb_lookup_batch(_map.Fd, k, v, Entries, 256);
    }

    [BenchmarkCategory("read-all"), Benchmark(OperationsPerInvoke = Entries, Description = "SharpBpf LookupBatch (256/batch)")]
    public long SharpBpfBatch()
    {
        var cursor = new MapBatchCursor();
        int total = 0, n;
        while (total < Entries
               && (n = _map.LookupBatch(ref cursor, _keys.AsSpan(total, Math.Min(256, Entries - total)), _values.AsSpan(total, Math.Min(256, Entries - total)))) > 0)
            total += n;
        return total;
    }

    [BenchmarkCategory("read-all"), Benchmark(OperationsPerInvoke = Entries, Description = "libbpf get_next_key + lookup")]
    public long NativeIterate()
    {
        fixed (uint* k = _keys)
        fixed (ulong* v = _values)
            return NativePeer.mb_iterate(_map.Fd, k, v, Entries);
    }

    [BenchmarkCategory("read-all"), Benchmark(OperationsPerInvoke = Entries, Description = "SharpBpf foreach (get_next_key + lookup)")]
    public long SharpBpfIterate()
    {
        int total = 0;
        foreach (var kv in _map)
        {
            _keys[total] = kv.Key;
            _values[total] = kv.Value;
            total++;
        }
        return total;
    }
}
