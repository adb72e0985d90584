using SharpBpf.Internal;

namespace SharpBpf.Maps;

/// <summary>BPF ring buffer (RingBuf, Linux 5.8): a multi-producer, single-consumer byte buffer shared by all
/// CPUs. Read it with a ring buffer reader (Events).</summary>
public sealed class RingBufMap : BpfMap
{
    /// <summary>Takes over <paramref name="map"/> (a RingBuf map).</summary>
    /// <exception cref="ArgumentException">Wrong map type.</exception>
    public RingBufMap(BpfMap map)
        : base(MapChecks.Check(map, 0, 0, typeof(void), typeof(void), [MapType.RingBuf]))
    {
    }

    /// <summary>Size of the data area in bytes (max_entries).</summary>
    public uint Size => MaxEntries;

    /// <summary>Creates a ring buffer of <paramref name="size"/> bytes: a power of two and a multiple of the page size.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Size is not a power-of-two number of pages (checked before the syscall).</exception>
    public static RingBufMap Create(string name, uint size, MapFlags flags = MapFlags.None)
    {
        CheckSize(size);
        return new(MapChecks.Create(name, MapType.RingBuf, 0, 0, size, flags));
    }

    internal static void CheckSize(uint size)
    {
        int page = Platform.PageSize;
        if (size < page || !uint.IsPow2(size) || size % page != 0)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"a ring buffer's size must be a power of two and a multiple of the {page}-byte page size");
    }
}
