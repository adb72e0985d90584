using SharpBpf.Interop;

namespace SharpBpf.Maps;

/// <summary>Stack trace map (StackTrace, Linux 4.6): stack id (from bpf_get_stackid) → instruction pointers,
/// innermost first, zero after the last frame.</summary>
public sealed unsafe class StackTraceMap : BpfMap
{
    /// <summary>Default depth: the kernel's sysctl kernel.perf_event_max_stack default.</summary>
    public const uint DefaultDepth = 127;

    /// <summary>Takes over <paramref name="map"/> (a StackTrace map with 4-byte keys and 8-byte frames, no build ids).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes, or a build-id map.</exception>
    public StackTraceMap(BpfMap map)
        : base(CheckMap(map))
    {
    }

    private static BpfMap CheckMap(BpfMap map)
    {
        uint valueSize = map?.ValueSize ?? 8;
        MapChecks.Check(map!, 4, valueSize, typeof(uint), typeof(ulong), [MapType.StackTrace]);
        if (valueSize == 0 || valueSize % 8 != 0 || (map!.Flags & MapFlags.StackBuildId) != 0)
            throw new ArgumentException($"map '{map!.Name}' does not hold 8-byte instruction pointers (value size {valueSize}, flags {map.Flags})", nameof(map));
        return map;
    }

    /// <summary>Frames per stack.</summary>
    public int Depth => (int)(ValueSize / 8);

    /// <summary>Creates the map with room for <paramref name="maxEntries"/> stacks of <paramref name="depth"/> frames.</summary>
    public static StackTraceMap Create(string name, uint maxEntries, uint depth = DefaultDepth, MapFlags flags = MapFlags.None)
    {
        if (depth == 0) throw new ArgumentOutOfRangeException(nameof(depth), "a stack needs at least one frame");
        if ((flags & MapFlags.StackBuildId) != 0) throw new ArgumentException("build-id stack maps hold struct bpf_stack_build_id, not addresses; create them with BpfMap.Create", nameof(flags));
        return new(MapChecks.Create(name, MapType.StackTrace, 4, checked(depth * 8), maxEntries, flags));
    }

    /// <summary>Copies stack <paramref name="stackId"/> into <paramref name="frames"/> (at least <see cref="Depth"/> long).</summary>
    public bool TryLookup(uint stackId, Span<ulong> frames)
    {
        if (frames.Length < Depth) throw new ArgumentException($"stack map '{Name}' holds {Depth} frames per stack, the span has room for {frames.Length}", nameof(frames));
        fixed (ulong* f = frames)
        {
            int r = RawLookup(&stackId, f, 0);
            if (r == 0) return true;
            if (r == -Errno.ENOENT) return false;
            ThrowFailed("BPF_MAP_LOOKUP_ELEM", r);
            return false;
        }
    }

    /// <summary>Frees stack <paramref name="stackId"/>; false when absent.</summary>
    public bool Delete(uint stackId) => DeleteCore(stackId);
}
