using SharpBpf.Internal;

namespace SharpBpf.Maps;

/// <summary>Perf event array (PerfEventArray, Linux 4.3): index (usually a CPU) → perf event fd, the target of
/// bpf_perf_event_output. User space can set and clear slots but not read them back.</summary>
public sealed class PerfEventArray : BpfMap
{
    /// <summary>Takes over <paramref name="map"/> (a PerfEventArray with 4-byte keys and values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public PerfEventArray(BpfMap map)
        : base(MapChecks.Check(map, 4, 4, typeof(uint), typeof(int), [MapType.PerfEventArray]))
    {
    }

    /// <summary>Creates the array; <paramref name="maxEntries"/> 0 means one slot per possible CPU.</summary>
    public static PerfEventArray Create(string name, uint maxEntries = 0, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.PerfEventArray, 4, 4, maxEntries == 0 ? (uint)Platform.PossibleCpus : maxEntries, flags));

    /// <summary>Puts the perf event <paramref name="perfEventFd"/> at <paramref name="index"/>.</summary>
    public void Set(uint index, int perfEventFd) => SetFdCore(index, perfEventFd, UpdateFlags.Any);

    /// <summary>Empties slot <paramref name="index"/>; false when it was empty.</summary>
    public bool Clear(uint index) => DeleteCore(index);
}
