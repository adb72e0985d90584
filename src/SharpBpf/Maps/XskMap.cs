namespace SharpBpf.Maps;

/// <summary>AF_XDP socket map (XskMap, Linux 4.18) for <c>bpf_redirect_map</c> into user-space rings: queue index →
/// AF_XDP socket. Only bound AF_XDP sockets (with a UMEM) are accepted; lookups from user space are not allowed.</summary>
public sealed class XskMap : BpfMap
{
    /// <summary>Takes over <paramref name="map"/> (an XskMap with 4-byte keys and values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public XskMap(BpfMap map)
        : base(MapChecks.Check(map, 4, 4, typeof(uint), typeof(int), [MapType.XskMap]))
    {
    }

    /// <summary>Creates the map (BPF_MAP_CREATE); usually one slot per receive queue.</summary>
    public static XskMap Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.XskMap, 4, 4, maxEntries, flags));

    /// <summary>Puts the bound AF_XDP socket <paramref name="xskFd"/> at <paramref name="index"/>.</summary>
    /// <exception cref="BpfException">EOPNOTSUPP when the fd is not a bound AF_XDP socket.</exception>
    public void Set(uint index, int xskFd, UpdateFlags flags = UpdateFlags.Any) => SetFdCore(index, xskFd, flags);

    /// <summary>Removes the socket at <paramref name="index"/>. The kernel reports success for an empty slot too,
    /// so this returns true for every index below <see cref="BpfMap.MaxEntries"/>.</summary>
    public bool Clear(uint index) => DeleteCore(index);
}
