namespace SharpBpf.Maps;

/// <summary>Hash table that evicts the least recently used elements when full (LruHash, Linux 4.10) with unmanaged <typeparamref name="TKey"/> keys and <typeparamref name="TValue"/> values.</summary>
public sealed class LruHashMap<TKey, TValue> : BpfMap<TKey, TValue>
    where TKey : unmanaged
    where TValue : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a LruHash map with matching key and value sizes).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public LruHashMap(BpfMap map)
        : base(map, MapType.LruHash)
    {
    }

    /// <summary>Creates the map (BPF_MAP_CREATE).</summary>
    public static unsafe LruHashMap<TKey, TValue> Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.LruHash, (uint)sizeof(TKey), (uint)sizeof(TValue), maxEntries, flags));
}
