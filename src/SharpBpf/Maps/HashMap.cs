namespace SharpBpf.Maps;

/// <summary>Hash table (Hash, Linux 3.19) with unmanaged <typeparamref name="TKey"/> keys and <typeparamref name="TValue"/> values.</summary>
public sealed class HashMap<TKey, TValue> : BpfMap<TKey, TValue>
    where TKey : unmanaged
    where TValue : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a Hash map with matching key and value sizes).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public HashMap(BpfMap map)
        : base(map, MapType.Hash)
    {
    }

    /// <summary>Creates the map (BPF_MAP_CREATE).</summary>
    public static unsafe HashMap<TKey, TValue> Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.Hash, (uint)sizeof(TKey), (uint)sizeof(TValue), maxEntries, flags));
}
