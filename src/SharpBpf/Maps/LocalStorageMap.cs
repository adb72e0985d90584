namespace SharpBpf.Maps;

/// <summary>
/// Base of the local storage maps (task, socket, inode, cgroup): a <typeparamref name="TValue"/> attached to a
/// kernel object, addressed from user space by an fd of that object (a pidfd, a socket, an open file, a cgroup
/// directory). The kernel requires map BTF for them (an int key type and the value's type) and
/// <see cref="MapFlags.NoPrealloc"/>; they cannot be walked or batched.
/// </summary>
public abstract class LocalStorageMap<TValue> : BpfMap<int, TValue> where TValue : unmanaged
{
    private protected LocalStorageMap(BpfMap map, MapType type)
        : base(map, type)
    {
    }

    private protected static unsafe BpfMap CreateStorage(string name, MapType type, int btfFd, uint btfKeyTypeId, uint btfValueTypeId, MapFlags flags)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (btfFd <= 0) throw new ArgumentOutOfRangeException(nameof(btfFd), btfFd, $"{type} maps need a BTF object fd describing key and value");
        if (btfKeyTypeId == 0 || btfValueTypeId == 0) throw new ArgumentException($"{type} maps need BTF type ids for key and value", nameof(btfKeyTypeId));
        return Create(new MapSpec
        {
            Name = name, Type = type, KeySize = 4, ValueSize = (uint)sizeof(TValue), MaxEntries = 0,
            Flags = flags | MapFlags.NoPrealloc, BtfFd = btfFd, BtfKeyTypeId = btfKeyTypeId, BtfValueTypeId = btfValueTypeId,
        });
    }
}

/// <summary>Task local storage (TaskStorage, Linux 5.11; user-space access by pidfd): keys are pidfds.</summary>
public sealed class TaskStorageMap<TValue> : LocalStorageMap<TValue> where TValue : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a TaskStorage map).</summary>
    public TaskStorageMap(BpfMap map) : base(map, MapType.TaskStorage) { }

    /// <summary>Creates the map with its BTF (an int key type and the value type).</summary>
    public static TaskStorageMap<TValue> Create(string name, int btfFd, uint btfKeyTypeId, uint btfValueTypeId, MapFlags flags = MapFlags.None) =>
        new(CreateStorage(name, MapType.TaskStorage, btfFd, btfKeyTypeId, btfValueTypeId, flags));
}

/// <summary>Socket local storage (SkStorage, Linux 5.2): keys are socket fds.</summary>
public sealed class SkStorageMap<TValue> : LocalStorageMap<TValue> where TValue : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (an SkStorage map).</summary>
    public SkStorageMap(BpfMap map) : base(map, MapType.SkStorage) { }

    /// <summary>Creates the map with its BTF (an int key type and the value type).</summary>
    public static SkStorageMap<TValue> Create(string name, int btfFd, uint btfKeyTypeId, uint btfValueTypeId, MapFlags flags = MapFlags.None) =>
        new(CreateStorage(name, MapType.SkStorage, btfFd, btfKeyTypeId, btfValueTypeId, flags));
}

/// <summary>Inode local storage (InodeStorage, Linux 5.10, needs the BPF LSM): keys are fds of open files.</summary>
public sealed class InodeStorageMap<TValue> : LocalStorageMap<TValue> where TValue : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (an InodeStorage map).</summary>
    public InodeStorageMap(BpfMap map) : base(map, MapType.InodeStorage) { }

    /// <summary>Creates the map with its BTF (an int key type and the value type).</summary>
    public static InodeStorageMap<TValue> Create(string name, int btfFd, uint btfKeyTypeId, uint btfValueTypeId, MapFlags flags = MapFlags.None) =>
        new(CreateStorage(name, MapType.InodeStorage, btfFd, btfKeyTypeId, btfValueTypeId, flags));
}

/// <summary>cgroup local storage (CgrpStorage, Linux 6.2): keys are fds of cgroup directories.</summary>
public sealed class CgroupStorageMap<TValue> : LocalStorageMap<TValue> where TValue : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a CgrpStorage map).</summary>
    public CgroupStorageMap(BpfMap map) : base(map, MapType.CgrpStorage) { }

    /// <summary>Creates the map with its BTF (an int key type and the value type).</summary>
    public static CgroupStorageMap<TValue> Create(string name, int btfFd, uint btfKeyTypeId, uint btfValueTypeId, MapFlags flags = MapFlags.None) =>
        new(CreateStorage(name, MapType.CgrpStorage, btfFd, btfKeyTypeId, btfValueTypeId, flags));
}
