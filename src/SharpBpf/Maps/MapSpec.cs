namespace SharpBpf.Maps;

/// <summary>Description of a map to create. Pure data: editable until <see cref="BpfMap.Create(MapSpec)"/>.</summary>
public sealed record class MapSpec
{
    /// <summary>Object name (at most 15 characters are kept by the kernel).</summary>
    public string Name { get; set; } = "";

    /// <summary>The map type.</summary>
    public MapType Type { get; set; }

    /// <summary>Key size in bytes (0 for queue, stack, bloom filter, ring buffers).</summary>
    public uint KeySize { get; set; }

    /// <summary>Value size in bytes (per CPU for per-CPU maps).</summary>
    public uint ValueSize { get; set; }

    /// <summary>Maximum number of entries (ring buffers: size in bytes, a power of two multiple of the page size).</summary>
    public uint MaxEntries { get; set; }

    /// <summary>Creation flags.</summary>
    public MapFlags Flags { get; set; }

    /// <summary>NUMA node (used with <see cref="MapFlags.NumaNode"/>).</summary>
    public uint NumaNode { get; set; }

    /// <summary>map_extra: bloom filter hash count, arena address (Linux 5.16).</summary>
    public ulong MapExtra { get; set; }

    /// <summary>For array/hash of maps: the shape of inner maps.</summary>
    public MapSpec? InnerMap { get; set; }

    /// <summary>BTF object fd and type ids, when the map carries BTF (set by the ELF loader).</summary>
    public int BtfFd { get; set; }

    /// <summary>BTF type id of the key.</summary>
    public uint BtfKeyTypeId { get; set; }

    /// <summary>BTF type id of the value.</summary>
    public uint BtfValueTypeId { get; set; }

    /// <summary>Network interface for offloaded maps (0: host).</summary>
    public uint IfIndex { get; set; }

    /// <summary>A copy that can be edited without touching this one (deep for <see cref="InnerMap"/>).</summary>
    public MapSpec Copy() => this with { InnerMap = InnerMap?.Copy() };

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Type} '{Name}' key={KeySize} value={ValueSize} max_entries={MaxEntries} flags={Flags}";
}
