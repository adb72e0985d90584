namespace SharpBpf.Maps;

/// <summary>Socket array (SockMap, Linux 4.14) for sk_msg/sk_skb redirection: index → socket. Created here with
/// 8-byte values, so lookups return the socket cookie (4-byte maps accept sockets but cannot be read back).</summary>
public sealed class SockMap : BpfMap
{
    /// <summary>Takes over <paramref name="map"/> (a SockMap with 4-byte keys and 4- or 8-byte values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public SockMap(BpfMap map)
        : base(MapChecks.Check(map, 4, map?.ValueSize is 4 ? 4u : 8u, typeof(uint), typeof(ulong), [MapType.SockMap]))
    {
    }

    /// <summary>Creates the map (8-byte values).</summary>
    public static SockMap Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.SockMap, 4, 8, maxEntries, flags));

    /// <summary>Puts the socket <paramref name="socketFd"/> (TCP established/listening, or bound UDP) at <paramref name="index"/>.</summary>
    public void Set(uint index, int socketFd, UpdateFlags flags = UpdateFlags.Any) => SetFdCore(index, socketFd, flags);

    /// <summary>Removes the socket at <paramref name="index"/>; false when the slot was empty.</summary>
    public bool Clear(uint index) => DeleteCore(index);

    /// <summary>The cookie (SO_COOKIE) of the socket at <paramref name="index"/>.</summary>
    /// <exception cref="InvalidOperationException">The map has 4-byte values.</exception>
    public bool TryGetCookie(uint index, out ulong cookie)
    {
        SockMaps.CheckReadable(this);
        return TryLookupScalarCore(index, out cookie);
    }
}

/// <summary>Socket hash (SockHash, Linux 4.18): <typeparamref name="TKey"/> → socket. Created with 8-byte values
/// so lookups return the socket cookie.</summary>
public sealed unsafe class SockHash<TKey> : BpfMap where TKey : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a SockHash with sizeof(TKey)-byte keys and 4- or 8-byte values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public SockHash(BpfMap map)
        : base(MapChecks.Check(map, (uint)sizeof(TKey), map?.ValueSize is 4 ? 4u : 8u, typeof(TKey), typeof(ulong), [MapType.SockHash]))
    {
    }

    /// <summary>Creates the map (8-byte values).</summary>
    public static SockHash<TKey> Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.SockHash, (uint)sizeof(TKey), 8, maxEntries, flags));

    /// <summary>Stores the socket <paramref name="socketFd"/> under <paramref name="key"/>.</summary>
    public void Set(in TKey key, int socketFd, UpdateFlags flags = UpdateFlags.Any) => SetFdCore(key, socketFd, flags);

    /// <summary>Removes <paramref name="key"/>; false when absent.</summary>
    public bool Delete(in TKey key) => DeleteCore(key);

    /// <summary>The cookie (SO_COOKIE) of the socket under <paramref name="key"/>.</summary>
    /// <exception cref="InvalidOperationException">The map has 4-byte values.</exception>
    public bool TryGetCookie(in TKey key, out ulong cookie)
    {
        SockMaps.CheckReadable(this);
        return TryLookupScalarCore(key, out cookie);
    }

    /// <summary>The keys.</summary>
    public MapKeys<TKey> Keys => new(this);
}

internal static class SockMaps
{
    public static void CheckReadable(BpfMap map)
    {
        if (map.ValueSize != 8)
            throw new InvalidOperationException($"map '{map.Name}' has {map.ValueSize}-byte values: the kernel returns socket cookies only from maps with 8-byte values");
    }
}
