namespace SharpBpf.Maps;

/// <summary>Array of maps (ArrayOfMaps, Linux 4.12): index → inner map. Every inner map must match the inner
/// map spec the outer map was created with.</summary>
public sealed class ArrayOfMaps : BpfMap
{
    /// <summary>Takes over <paramref name="map"/> (an ArrayOfMaps).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public ArrayOfMaps(BpfMap map)
        : base(MapChecks.Check(map, 4, 4, typeof(uint), typeof(int), [MapType.ArrayOfMaps]))
    {
    }

    /// <summary>Creates the outer map; <paramref name="innerMap"/> describes the maps it may hold.</summary>
    public static ArrayOfMaps Create(string name, uint maxEntries, MapSpec innerMap, MapFlags flags = MapFlags.None) =>
        new(MapOfMapsCreate.Create(name, MapType.ArrayOfMaps, 4, maxEntries, innerMap, flags));

    /// <summary>Stores <paramref name="inner"/> at <paramref name="index"/>.</summary>
    public void Set(uint index, BpfMap inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        SetFdCore(index, inner.Fd, UpdateFlags.Any);
    }

    /// <summary>Stores the map <paramref name="innerMapFd"/> at <paramref name="index"/>.</summary>
    public void Set(uint index, int innerMapFd) => SetFdCore(index, innerMapFd, UpdateFlags.Any);

    /// <summary>Empties slot <paramref name="index"/>; false when it was empty.</summary>
    public bool Clear(uint index) => DeleteCore(index);

    /// <summary>The id of the inner map at <paramref name="index"/> (open it with <see cref="BpfMap.FromId"/>).</summary>
    public bool TryGetInnerMapId(uint index, out uint mapId)
    {
        bool found = TryLookupScalarCore(index, out ulong id);
        mapId = (uint)id;
        return found;
    }
}

/// <summary>Hash of maps (HashOfMaps, Linux 4.12): <typeparamref name="TKey"/> → inner map.</summary>
public sealed unsafe class HashOfMaps<TKey> : BpfMap where TKey : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a HashOfMaps with sizeof(TKey)-byte keys).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public HashOfMaps(BpfMap map)
        : base(MapChecks.Check(map, (uint)sizeof(TKey), 4, typeof(TKey), typeof(int), [MapType.HashOfMaps]))
    {
    }

    /// <summary>Creates the outer map; <paramref name="innerMap"/> describes the maps it may hold.</summary>
    public static HashOfMaps<TKey> Create(string name, uint maxEntries, MapSpec innerMap, MapFlags flags = MapFlags.None) =>
        new(MapOfMapsCreate.Create(name, MapType.HashOfMaps, (uint)sizeof(TKey), maxEntries, innerMap, flags));

    /// <summary>Stores <paramref name="inner"/> under <paramref name="key"/>.</summary>
    public void Set(in TKey key, BpfMap inner, UpdateFlags flags = UpdateFlags.Any)
    {
        ArgumentNullException.ThrowIfNull(inner);
        SetFdCore(key, inner.Fd, flags);
    }

    /// <summary>Stores the map <paramref name="innerMapFd"/> under <paramref name="key"/>.</summary>
    public void Set(in TKey key, int innerMapFd, UpdateFlags flags = UpdateFlags.Any) => SetFdCore(key, innerMapFd, flags);

    /// <summary>Removes <paramref name="key"/>; false when absent.</summary>
    public bool Delete(in TKey key) => DeleteCore(key);

    /// <summary>The id of the inner map under <paramref name="key"/>.</summary>
    public bool TryGetInnerMapId(in TKey key, out uint mapId)
    {
        bool found = TryLookupScalarCore(key, out ulong id);
        mapId = (uint)id;
        return found;
    }

    /// <summary>The keys.</summary>
    public MapKeys<TKey> Keys => new(this);
}

internal static class MapOfMapsCreate
{
    public static BpfMap Create(string name, MapType type, uint keySize, uint maxEntries, MapSpec innerMap, MapFlags flags)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(innerMap);
        if (maxEntries == 0) throw new ArgumentOutOfRangeException(nameof(maxEntries), $"a {type} map needs max_entries > 0");
        return BpfMap.Create(new MapSpec { Name = name, Type = type, KeySize = keySize, ValueSize = 4, MaxEntries = maxEntries, Flags = flags, InnerMap = innerMap });
    }
}
