namespace SharpBpf.Maps;

/// <summary>Per-CPU LRU hash table (LruPerCpuHash, Linux 4.10): one <typeparamref name="TValue"/> per possible CPU for each key.</summary>
public sealed class LruPerCpuHashMap<TKey, TValue> : PerCpuMap<TKey, TValue>
    where TKey : unmanaged
    where TValue : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a LruPerCpuHash map with matching key and value sizes).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public LruPerCpuHashMap(BpfMap map)
        : base(map, MapType.LruPerCpuHash)
    {
    }

    /// <summary>Creates the map (BPF_MAP_CREATE).</summary>
    public static unsafe LruPerCpuHashMap<TKey, TValue> Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.LruPerCpuHash, (uint)sizeof(TKey), (uint)sizeof(TValue), maxEntries, flags));
}
