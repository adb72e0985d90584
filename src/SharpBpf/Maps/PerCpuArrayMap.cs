namespace SharpBpf.Maps;

/// <summary>Per-CPU array (PerCpuArray, Linux 4.6): one <typeparamref name="T"/> per possible CPU at each index.</summary>
public sealed class PerCpuArrayMap<T> : PerCpuMap<uint, T> where T : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a PerCpuArray map with 4-byte keys and sizeof(T)-byte values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public PerCpuArrayMap(BpfMap map)
        : base(map, MapType.PerCpuArray)
    {
    }

    /// <summary>Creates the array (BPF_MAP_CREATE).</summary>
    public static unsafe PerCpuArrayMap<T> Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.PerCpuArray, 4, (uint)sizeof(T), maxEntries, flags));
}
