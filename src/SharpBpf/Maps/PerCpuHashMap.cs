namespace SharpBpf.Maps;

/// <summary>Per-CPU hash table (PerCpuHash, Linux 4.6): one <typeparamref name="TValue"/> per possible CPU for each key.</summary>
public sealed class PerCpuHashMap<TKey, TValue> : PerCpuMap<TKey, TValue>
    where TKey : unmanaged
    where TValue : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a PerCpuHash map with matching key and value sizes).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public PerCpuHashMap(BpfMap map)
        : base(map, MapType.PerCpuHash)
    {
    }

    /// <summary>Creates the map (BPF_MAP_CREATE).</summary>
    public static unsafe PerCpuHashMap<TKey, TValue> Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.PerCpuHash, (uint)sizeof(TKey), (uint)sizeof(TValue), maxEntries, flags));
}
