using System.Runtime.InteropServices;
using SharpBpf.Internal;

namespace SharpBpf.Maps;

/// <summary><c>struct bpf_devmap_val</c>: the target interface and an optional XDP program run on it after the
/// redirect. Write <see cref="ProgramFd"/> (or 0); lookups return <see cref="ProgramId"/>.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct DevMapValue
{
    /// <summary>Target interface index.</summary>
    [FieldOffset(0)] public uint IfIndex;

    /// <summary>Program fd to attach (on update; 0 for none).</summary>
    [FieldOffset(4)] public int ProgramFd;

    /// <summary>Program id (on lookup; 0 for none).</summary>
    [FieldOffset(4)] public uint ProgramId;

    /// <summary>A value redirecting to <paramref name="ifIndex"/> without a program.</summary>
    public DevMapValue(uint ifIndex) => IfIndex = ifIndex;
}

/// <summary>Device map for XDP redirects (DevMap, Linux 4.14; 8-byte values Linux 5.8): index → interface.
/// The kernel resolves an interface index in the network namespace of the thread that updates the map. A native
/// redirect into a veth is delivered only while the veth's peer has an XDP program (or GRO) enabled.</summary>
public sealed class DevMap : BpfMap<uint, DevMapValue>
{
    /// <summary>Takes over <paramref name="map"/> (a DevMap with 4-byte keys and 8-byte values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public DevMap(BpfMap map)
        : base(map, MapType.DevMap)
    {
    }

    /// <summary>Creates the map.</summary>
    public static DevMap Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.DevMap, 4, 8, maxEntries, flags));

    /// <summary>Redirect slot <paramref name="index"/> to interface <paramref name="ifIndex"/>.</summary>
    public void Set(uint index, uint ifIndex) => Update(index, new DevMapValue(ifIndex));
}

/// <summary><c>struct bpf_cpumap_val</c>: the per-CPU queue size and an optional XDP program run on that CPU.</summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public struct CpuMapValue
{
    /// <summary>Queue size (frames) of the CPU's kthread; an update with 0 removes the CPU's entry.</summary>
    [FieldOffset(0)] public uint QueueSize;

    /// <summary>Program fd to attach (on update; 0 for none).</summary>
    [FieldOffset(4)] public int ProgramFd;

    /// <summary>Program id (on lookup; 0 for none).</summary>
    [FieldOffset(4)] public uint ProgramId;

    /// <summary>A value with <paramref name="queueSize"/> and no program.</summary>
    public CpuMapValue(uint queueSize) => QueueSize = queueSize;
}

/// <summary>CPU map for XDP redirects to other CPUs (CpuMap, Linux 4.15; 8-byte values 5.9): CPU → queue.</summary>
public sealed class CpuMap : BpfMap<uint, CpuMapValue>
{
    /// <summary>Takes over <paramref name="map"/> (a CpuMap with 4-byte keys and 8-byte values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public CpuMap(BpfMap map)
        : base(map, MapType.CpuMap)
    {
    }

    /// <summary>Creates the map; <paramref name="maxEntries"/> 0 means one slot per possible CPU.</summary>
    public static CpuMap Create(string name, uint maxEntries = 0, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.CpuMap, 4, 8, maxEntries == 0 ? (uint)Platform.PossibleCpus : maxEntries, flags));
}

/// <summary>Hashed device map for XDP redirects (DevMapHash, Linux 5.4): sparse u32 keys (e.g. ifindexes) → interface.</summary>
public sealed class DevMapHash : BpfMap<uint, DevMapValue>
{
    /// <summary>Takes over <paramref name="map"/> (a DevMapHash with 4-byte keys and 8-byte values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public DevMapHash(BpfMap map)
        : base(map, MapType.DevMapHash)
    {
    }

    /// <summary>Creates the map.</summary>
    public static DevMapHash Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.DevMapHash, 4, 8, maxEntries, flags));

    /// <summary>Redirect <paramref name="key"/> to interface <paramref name="ifIndex"/>.</summary>
    public void Set(uint key, uint ifIndex) => Update(key, new DevMapValue(ifIndex));
}
