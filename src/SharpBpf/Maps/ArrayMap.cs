namespace SharpBpf.Maps;

/// <summary>Array of <typeparamref name="T"/> indexed 0..max_entries-1 (Array, Linux 3.19). Every index always
/// exists (zero-filled at creation); elements cannot be deleted.</summary>
public sealed class ArrayMap<T> : BpfMap<uint, T> where T : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (an Array map with 4-byte keys and sizeof(T)-byte values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public ArrayMap(BpfMap map)
        : base(map, MapType.Array)
    {
    }

    /// <summary>Creates the array (BPF_MAP_CREATE); add <see cref="MapFlags.Mmapable"/> to use <see cref="BpfMap.Mmap"/>.</summary>
    public static unsafe ArrayMap<T> Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.Array, 4, (uint)sizeof(T), maxEntries, flags));

    /// <summary>Element <paramref name="index"/>.</summary>
    /// <exception cref="KeyNotFoundException">Index not below max_entries.</exception>
    public T this[uint index]
    {
        get => Lookup(index);
        set => Update(index, value);
    }
}
