using System.Runtime.InteropServices;

namespace SharpBpf.Maps;

/// <summary>Key of an LPM trie: <c>struct bpf_lpm_trie_key_u8</c> = a u32 prefix length in bits, then the data
/// (e.g. an IPv4 address in network byte order as 4 bytes). Packed: the data starts at offset 4 whatever its
/// alignment, and sizeof is 4 + sizeof(<typeparamref name="T"/>), as the kernel expects.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct LpmKey<T> where T : unmanaged
{
    /// <summary>Number of leading bits of <see cref="Data"/> that count.</summary>
    public uint PrefixLength;

    /// <summary>The data, most significant byte first.</summary>
    public T Data;

    /// <summary>Creates a key.</summary>
    public LpmKey(uint prefixLength, T data)
    {
        PrefixLength = prefixLength;
        Data = data;
    }

    /// <inheritdoc/>
    public override readonly string ToString() => $"{Data}/{PrefixLength}";
}

/// <summary>Longest-prefix-match trie (LpmTrie, Linux 4.11) from prefixes of <typeparamref name="TData"/> to
/// <typeparamref name="TValue"/>. A lookup with a full-length key returns the value of the longest stored prefix
/// that matches it.</summary>
public sealed class LpmTrieMap<TData, TValue> : BpfMap<LpmKey<TData>, TValue>
    where TData : unmanaged
    where TValue : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (an LpmTrie with 4 + sizeof(TData)-byte keys).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public LpmTrieMap(BpfMap map)
        : base(map, MapType.LpmTrie)
    {
    }

    /// <summary>Bits of <typeparamref name="TData"/>: the longest prefix.</summary>
    public static unsafe uint MaxPrefixLength => (uint)sizeof(TData) * 8;

    /// <summary>Creates the trie (BPF_MAP_CREATE; <see cref="MapFlags.NoPrealloc"/> is added, the kernel requires it).</summary>
    public static unsafe LpmTrieMap<TData, TValue> Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.LpmTrie, (uint)sizeof(LpmKey<TData>), (uint)sizeof(TValue), maxEntries, flags | MapFlags.NoPrealloc));

    /// <summary>Longest-prefix match of the full <paramref name="data"/>.</summary>
    public bool TryMatch(in TData data, out TValue value) => TryLookup(new LpmKey<TData>(MaxPrefixLength, data), out value);
}
