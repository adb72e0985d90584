using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpBpf.Internal;
using SharpBpf.Interop;

namespace SharpBpf.Maps;

/// <summary>
/// A live BPF map: owns its fd and closes it on <see cref="BpfObject.Dispose()"/>. Byte-span operations check sizes before
/// any syscall; typed wrappers (HashMap, ArrayMap ...) sit on top of this class.
/// </summary>
public unsafe partial class BpfMap : BpfObject
{
    internal BpfMap(SafeBpfFd fd, MapType type, uint keySize, uint valueSize, uint maxEntries, MapFlags flags, string name, uint id)
        : base(fd)
    {
        Type = type;
        KeySize = keySize;
        ValueSize = valueSize;
        MaxEntries = maxEntries;
        Flags = flags;
        Name = name;
        Id = id;
        ValueBufferSize = IsPerCpu(type) ? checked((int)Align8(valueSize) * Platform.PossibleCpus) : (int)valueSize;
    }

    /// <summary>Takes over another map object (its fd and description): typed wrappers wrap an existing map this way.
    /// Both objects then share the fd; dispose only one of them.</summary>
    protected BpfMap(BpfMap other)
        : this(other.Handle, other.Type, other.KeySize, other.ValueSize, other.MaxEntries, other.Flags, other.Name, other.Id)
    {
    }


    /// <summary>Map type.</summary>
    public MapType Type { get; }
    /// <summary>Key size in bytes.</summary>
    public uint KeySize { get; }
    /// <summary>Value size in bytes (of one CPU's value for per-CPU maps).</summary>
    public uint ValueSize { get; }
    /// <summary>Maximum entries.</summary>
    public uint MaxEntries { get; }
    /// <summary>Creation flags.</summary>
    public MapFlags Flags { get; }
    /// <summary>Kernel object name.</summary>
    public string Name { get; }
    /// <summary>Kernel object id.</summary>
    public uint Id { get; }

    /// <summary>Bytes a value buffer must have for lookups: <see cref="ValueSize"/>, or for per-CPU maps
    /// round_up(<see cref="ValueSize"/>, 8) × possible CPUs.</summary>
    public int ValueBufferSize { get; }

    /// <summary>Whether values of this map type are per CPU.</summary>
    public static bool IsPerCpu(MapType type) =>
        type is MapType.PerCpuHash or MapType.PerCpuArray or MapType.LruPerCpuHash or MapType.PerCpuCgroupStorage;

    internal static uint Align8(uint v) => (v + 7) & ~7u;

    /// <summary>Creates a map from <paramref name="spec"/> (BPF_MAP_CREATE).</summary>
    /// <exception cref="BpfException">The kernel refused; the message names the spec.</exception>
    public static BpfMap Create(MapSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        SafeBpfFd? inner = null;
        try
        {
            var attr = new MapCreateAttr
            {
                map_type = (uint)spec.Type,
                key_size = spec.KeySize,
                value_size = spec.ValueSize,
                max_entries = spec.MaxEntries,
                map_flags = (uint)spec.Flags,
                numa_node = spec.NumaNode,
                map_extra = spec.MapExtra,
                map_ifindex = spec.IfIndex,
                btf_fd = (uint)spec.BtfFd,
                btf_key_type_id = spec.BtfKeyTypeId,
                btf_value_type_id = spec.BtfValueTypeId,
                btf_vmlinux_value_type_id = spec.BtfVmlinuxValueTypeId,
            };
            ObjectName.Write(spec.Name, attr.map_name);
            if (spec.Type is MapType.ArrayOfMaps or MapType.HashOfMaps)
            {
                if (spec.InnerMap is null)
                    throw new ArgumentException($"map '{spec.Name}' of type {spec.Type} needs an InnerMap spec", nameof(spec));
                using var innerMap = Create(spec.InnerMap);
                inner = innerMap.Handle.Duplicate();
                attr.inner_map_fd = (uint)inner.Fd;
            }
            int fd = Bpf.TryCallRetrying(BpfCmd.BPF_MAP_CREATE, ref attr);
            if (fd < 0) throw new BpfException("BPF_MAP_CREATE", -fd, $"creating {spec}");
            var handle = new SafeBpfFd(fd);
            try
            {
                var info = GetInfo(handle);
                return new BpfMap(handle, spec.Type, spec.KeySize, spec.ValueSize, spec.MaxEntries, spec.Flags, info.Name, info.Id);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
        finally
        {
            inner?.Dispose();
        }
    }

    /// <summary>Opens the map with kernel id <paramref name="id"/> (BPF_MAP_GET_FD_BY_ID).</summary>
    public static BpfMap FromId(uint id)
    {
        var attr = new GetIdAttr { map_id = id };
        return FromHandle(Bpf.CallFd(BpfCmd.BPF_MAP_GET_FD_BY_ID, ref attr));
    }

    /// <summary>Ids of all maps in the system (BPF_MAP_GET_NEXT_ID), ascending.</summary>
    public static IEnumerable<uint> EnumerateIds() => ObjectIds.Enumerate(BpfCmd.BPF_MAP_GET_NEXT_ID);

    /// <summary>Opens a map pinned in bpffs (BPF_OBJ_GET).</summary>
    /// <exception cref="ArgumentException">The pinned object is not a map.</exception>
    public static BpfMap FromPinned(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return FromHandle(Pinning.BpfFs.Get(path));
    }

    /// <summary>Wraps a duplicate of an existing map fd; the caller keeps ownership of <paramref name="fd"/>.</summary>
    /// <exception cref="ArgumentException">The fd is not a BPF map.</exception>
    public static BpfMap FromFd(int fd) => FromHandle(DuplicateFd(fd));

    internal static BpfMap FromHandle(SafeBpfFd handle)
    {
        try
        {
            BpfObjectKind.Require(handle, BpfObjectKind.Map, "a BPF map");
            var i = GetInfo(handle);
            return new BpfMap(handle, i.Type, i.KeySize, i.ValueSize, i.MaxEntries, i.Flags, i.Name, i.Id);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Kernel info about this map (BPF_OBJ_GET_INFO_BY_FD).</summary>
    public MapInfo GetInfo() => GetInfo(Handle);

    internal static MapInfo GetInfo(SafeBpfFd fd)
    {
        BpfMapInfo info = default;
        ObjectInfo.Get(fd, ref info);
        return new MapInfo(
            (MapType)info.type, info.id, info.key_size, info.value_size, info.max_entries, (MapFlags)info.map_flags,
            ObjectName.Read(info.name), info.btf_id, info.btf_key_type_id, info.btf_value_type_id, info.map_extra, info.ifindex);
    }

    // ---- element operations over byte spans ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckKey(int length)
    {
        if (length != (int)KeySize) ThrowKeySize(length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckValue(int length)
    {
        if (length != ValueBufferSize) ThrowValueSize(length);
    }

    private void ThrowKeySize(int length) =>
        throw new ArgumentException($"map '{Name}' ({Type}) has {KeySize}-byte keys, got {length} bytes", "key");

    private void ThrowValueSize(int length) =>
        throw new ArgumentException(IsPerCpu(Type)
            ? $"per-CPU map '{Name}' needs a {ValueBufferSize}-byte value buffer (round_up({ValueSize}, 8) x {Platform.PossibleCpus} CPUs), got {length} bytes"
            : $"map '{Name}' ({Type}) has {ValueSize}-byte values, got {length} bytes", "value");

    /// <summary>Looks up <paramref name="key"/>; false when absent (ENOENT).</summary>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value, LookupFlags flags = LookupFlags.None)
    {
        CheckKey(key.Length);
        CheckValue(value.Length);
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = new MapElemAttr { map_fd = (uint)Fd, key = (ulong)k, value = (ulong)v, flags = (ulong)flags };
            int r = Bpf.TryCall(BpfCmd.BPF_MAP_LOOKUP_ELEM, ref attr);
            if (r == 0) return true;
            if (r == -Errno.ENOENT) return false;
            throw new BpfException("BPF_MAP_LOOKUP_ELEM", -r, $"map '{Name}'");
        }
    }

    /// <summary>Looks up <paramref name="key"/>; throws <see cref="KeyNotFoundException"/> when absent.</summary>
    public void Lookup(ReadOnlySpan<byte> key, Span<byte> value, LookupFlags flags = LookupFlags.None)
    {
        if (!TryLookup(key, value, flags)) throw new KeyNotFoundException($"key not found in map '{Name}'");
    }

    /// <summary>Creates or updates an element (BPF_MAP_UPDATE_ELEM).</summary>
    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any)
    {
        int r = TryUpdate(key, value, flags);
        if (r < 0) throw new BpfException("BPF_MAP_UPDATE_ELEM", -r, $"map '{Name}'");
    }

    /// <summary>Update returning 0 or -errno (EEXIST for NoExist, ENOENT for Exist, E2BIG when full).</summary>
    internal int TryUpdate(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags)
    {
        CheckKey(key.Length);
        CheckValue(value.Length);
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = new MapElemAttr { map_fd = (uint)Fd, key = (ulong)k, value = (ulong)v, flags = (ulong)flags };
            return Bpf.TryCall(BpfCmd.BPF_MAP_UPDATE_ELEM, ref attr);
        }
    }

    /// <summary>Deletes <paramref name="key"/>; false when it was absent.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key.Length);
        fixed (byte* k = key)
        {
            var attr = new MapElemAttr { map_fd = (uint)Fd, key = (ulong)k };
            int r = Bpf.TryCall(BpfCmd.BPF_MAP_DELETE_ELEM, ref attr);
            if (r == 0) return true;
            if (r == -Errno.ENOENT) return false;
            throw new BpfException("BPF_MAP_DELETE_ELEM", -r, $"map '{Name}'");
        }
    }

    /// <summary>Gets the key after <paramref name="key"/> (the first key when <paramref name="key"/> is empty);
    /// false at the end.</summary>
    public bool TryGetNextKey(ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        if (!key.IsEmpty) CheckKey(key.Length);
        CheckKey(nextKey.Length);
        fixed (byte* k = key)
        fixed (byte* n = nextKey)
        {
            var attr = new MapElemAttr { map_fd = (uint)Fd, key = key.IsEmpty ? 0 : (ulong)k, next_key = (ulong)n };
            int r = Bpf.TryCall(BpfCmd.BPF_MAP_GET_NEXT_KEY, ref attr);
            if (r == 0) return true;
            if (r == -Errno.ENOENT) return false;
            throw new BpfException("BPF_MAP_GET_NEXT_KEY", -r, $"map '{Name}'");
        }
    }

    /// <summary>Looks up and deletes <paramref name="key"/> atomically (queue/stack: pops, key empty);
    /// false when absent/empty.</summary>
    public bool TryLookupAndDelete(ReadOnlySpan<byte> key, Span<byte> value, LookupFlags flags = LookupFlags.None)
    {
        CheckKey(key.Length);
        CheckValue(value.Length);
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = new MapElemAttr { map_fd = (uint)Fd, key = key.IsEmpty ? 0 : (ulong)k, value = (ulong)v, flags = (ulong)flags };
            int r = Bpf.TryCall(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM, ref attr);
            if (r == 0) return true;
            if (r == -Errno.ENOENT) return false;
            throw new BpfException("BPF_MAP_LOOKUP_AND_DELETE_ELEM", -r, $"map '{Name}'");
        }
    }

    // ---- raw element operations for typed wrappers: sizes were checked when the wrapper was built ----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int RawLookup(void* key, void* value, ulong flags)
    {
        var attr = new MapElemAttr { map_fd = (uint)Fd, key = (ulong)key, value = (ulong)value, flags = flags };
        return Bpf.TryCall(BpfCmd.BPF_MAP_LOOKUP_ELEM, ref attr);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int RawUpdate(void* key, void* value, ulong flags)
    {
        var attr = new MapElemAttr { map_fd = (uint)Fd, key = (ulong)key, value = (ulong)value, flags = flags };
        return Bpf.TryCall(BpfCmd.BPF_MAP_UPDATE_ELEM, ref attr);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int RawDelete(void* key)
    {
        var attr = new MapElemAttr { map_fd = (uint)Fd, key = (ulong)key };
        return Bpf.TryCall(BpfCmd.BPF_MAP_DELETE_ELEM, ref attr);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int RawNextKey(void* key, void* nextKey)
    {
        var attr = new MapElemAttr { map_fd = (uint)Fd, key = (ulong)key, next_key = (ulong)nextKey };
        return Bpf.TryCall(BpfCmd.BPF_MAP_GET_NEXT_KEY, ref attr);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int RawLookupAndDelete(void* key, void* value, ulong flags)
    {
        var attr = new MapElemAttr { map_fd = (uint)Fd, key = (ulong)key, value = (ulong)value, flags = flags };
        return Bpf.TryCall(BpfCmd.BPF_MAP_LOOKUP_AND_DELETE_ELEM, ref attr);
    }

    /// <summary>Throws the <see cref="BpfException"/> for a failed element command on this map.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void ThrowFailed(string command, int negErrno) =>
        throw new BpfException(command, -negErrno, $"map '{Name}' ({Type})");

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void ThrowKeyNotFound() => throw new KeyNotFoundException($"key not found in map '{Name}' ({Type})");

    /// <summary>Makes the map read-only for user space (BPF_MAP_FREEZE, Linux 5.2).</summary>
    public void Freeze()
    {
        var attr = new MapElemAttr { map_fd = (uint)Fd };
        Bpf.Call(BpfCmd.BPF_MAP_FREEZE, ref attr);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Type} map '{Name}' (id {Id})";
}

/// <summary>Kernel info of a map (<c>struct bpf_map_info</c>).</summary>
public sealed record MapInfo(
    MapType Type, uint Id, uint KeySize, uint ValueSize, uint MaxEntries, MapFlags Flags, string Name,
    uint BtfId, uint BtfKeyTypeId, uint BtfValueTypeId, ulong MapExtra, uint IfIndex);
