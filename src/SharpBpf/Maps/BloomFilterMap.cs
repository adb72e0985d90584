using SharpBpf.Interop;

namespace SharpBpf.Maps;

/// <summary>Bloom filter of <typeparamref name="T"/> values (BloomFilter, Linux 5.16): <see cref="Contains"/> has
/// no false negatives and some false positives; elements cannot be removed.</summary>
public sealed unsafe class BloomFilterMap<T> : BpfMap where T : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a BloomFilter with sizeof(T)-byte values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public BloomFilterMap(BpfMap map)
        : base(MapChecks.Check(map, 0, (uint)sizeof(T), typeof(void), typeof(T), [MapType.BloomFilter]))
    {
    }

    /// <summary>Creates the filter. <paramref name="hashCount"/> (1..15) goes into map_extra; 0 lets the kernel use 5.</summary>
    public static BloomFilterMap<T> Create(string name, uint maxEntries, uint hashCount = 0, MapFlags flags = MapFlags.None)
    {
        if (hashCount > 15) throw new ArgumentOutOfRangeException(nameof(hashCount), hashCount, "a bloom filter uses 1 to 15 hash functions (0: kernel default)");
        return new(MapChecks.Create(name, MapType.BloomFilter, 0, (uint)sizeof(T), maxEntries, flags, hashCount));
    }

    /// <summary>Adds <paramref name="value"/>.</summary>
    public void Add(in T value)
    {
        fixed (T* v = &value)
        {
            int r = RawUpdate(null, v, 0);
            if (r < 0) ThrowFailed("BPF_MAP_UPDATE_ELEM", r);
        }
    }

    /// <summary>Whether <paramref name="value"/> may have been added (false: certainly not).</summary>
    public bool Contains(in T value)
    {
        fixed (T* v = &value)
        {
            int r = RawLookup(null, v, 0);
            if (r == 0) return true;
            if (r == -Errno.ENOENT) return false;
            ThrowFailed("BPF_MAP_LOOKUP_ELEM", r);
            return false;
        }
    }
}
