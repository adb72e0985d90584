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

    /// <summary>For struct_ops maps: BTF id of the kernel's value type (<c>bpf_struct_ops_TYPE</c>) in vmlinux BTF
    /// (btf_vmlinux_value_type_id; <see cref="SharpBpf.BpfCollection"/> fills it from <see cref="StructOps"/>).</summary>
    public uint BtfVmlinuxValueTypeId { get; set; }

    /// <summary>For struct_ops maps from an object: the kernel struct they implement and their initial contents.</summary>
    public StructOpsSpec? StructOps { get; set; }

    /// <summary>Network interface for offloaded maps (0: host).</summary>
    public uint IfIndex { get; set; }

    /// <summary>How <see cref="SharpBpf.BpfCollection"/> pins the map (libbpf's <c>pinning</c> attribute).</summary>
    public PinningType Pinning { get; set; }

    /// <summary>Entries written right after creation by <see cref="SharpBpf.BpfCollection"/> (global data, the
    /// <c>values</c> of program arrays and map-in-maps). <see cref="BpfMap.Create(MapSpec)"/> ignores them.</summary>
    public List<MapEntry>? Contents { get; set; }

    /// <summary>Freeze the map after writing <see cref="Contents"/> (BPF_MAP_FREEZE: read-only for user space;
    /// .rodata). Used by <see cref="SharpBpf.BpfCollection"/>.</summary>
    public bool Freeze { get; set; }

    /// <summary>A copy that can be edited without touching this one (deep for <see cref="InnerMap"/> and
    /// <see cref="Contents"/>).</summary>
    public MapSpec Copy() => this with
    {
        InnerMap = InnerMap?.Copy(),
        StructOps = StructOps?.Copy(),
        Contents = Contents?.Select(e => e.Copy()).ToList(),
    };

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Type} '{Name}' key={KeySize} value={ValueSize} max_entries={MaxEntries} flags={Flags}";
}

/// <summary>libbpf's map pinning modes (<c>enum libbpf_pin_type</c>).</summary>
public enum PinningType
{
    /// <summary>Not pinned.</summary>
    None = 0,
    /// <summary>LIBBPF_PIN_BY_NAME: pinned as &lt;pin path&gt;/&lt;map name&gt;; an existing compatible pin is reused.</summary>
    ByName = 1,
}

/// <summary>
/// One initial entry of a map. <see cref="Value"/> holds the bytes, or for program arrays and map-in-maps the value
/// is the fd of the program (<see cref="ProgramName"/>) or map (<see cref="MapName"/>) of the same collection.
/// </summary>
public sealed record class MapEntry
{
    /// <summary>Key bytes (key_size long).</summary>
    public byte[] Key { get; set; } = [];

    /// <summary>Value bytes (value_size long), unless a reference is set.</summary>
    public byte[] Value { get; set; } = [];

    /// <summary>A program of the collection whose fd is the value (program arrays).</summary>
    public string? ProgramName { get; set; }

    /// <summary>A map of the collection whose fd is the value (array/hash of maps).</summary>
    public string? MapName { get; set; }

    /// <summary>A deep copy.</summary>
    public MapEntry Copy() => this with { Key = (byte[])Key.Clone(), Value = (byte[])Value.Clone() };
}
