using System.Runtime.CompilerServices;
using SharpBpf.Interop;

namespace SharpBpf.Maps;

/// <summary>Base of <see cref="QueueMap{T}"/> (FIFO) and <see cref="StackMap{T}"/> (LIFO): keyless maps of
/// <typeparamref name="T"/> values (Linux 4.20).</summary>
public abstract unsafe class QueueStackMap<T> : BpfMap where T : unmanaged
{
    private protected QueueStackMap(BpfMap map, MapType type)
        : base(MapChecks.Check(map, 0, (uint)sizeof(T), typeof(void), typeof(T), [type]))
    {
    }

    /// <summary>Pushes <paramref name="value"/>. With <see cref="UpdateFlags.Exist"/> a full map drops its oldest
    /// element to make room.</summary>
    /// <exception cref="BpfException">E2BIG when full (without <see cref="UpdateFlags.Exist"/>).</exception>
    public void Push(in T value, UpdateFlags flags = UpdateFlags.Any)
    {
        int r = PushCore(value, flags);
        if (r < 0) ThrowFailed("BPF_MAP_UPDATE_ELEM", r);
    }

    /// <summary>Pushes <paramref name="value"/>; false when the map is full.</summary>
    public bool TryPush(in T value)
    {
        int r = PushCore(value, UpdateFlags.Any);
        if (r == -Errno.E2BIG) return false;
        if (r < 0) ThrowFailed("BPF_MAP_UPDATE_ELEM", r);
        return true;
    }

    private int PushCore(in T value, UpdateFlags flags)
    {
        fixed (T* v = &value) return RawUpdate(null, v, (ulong)flags);
    }

    /// <summary>Removes and returns the next element (BPF_MAP_LOOKUP_AND_DELETE_ELEM); false when empty.</summary>
    public bool TryPop(out T value)
    {
        Unsafe.SkipInit(out value);
        fixed (T* v = &value) return Check(RawLookupAndDelete(null, v, 0), v, "BPF_MAP_LOOKUP_AND_DELETE_ELEM");
    }

    /// <summary>Returns the next element without removing it (BPF_MAP_LOOKUP_ELEM); false when empty.</summary>
    public bool TryPeek(out T value)
    {
        Unsafe.SkipInit(out value);
        fixed (T* v = &value) return Check(RawLookup(null, v, 0), v, "BPF_MAP_LOOKUP_ELEM");
    }

    private bool Check(int r, T* v, string command)
    {
        if (r == 0) return true;
        *v = default;
        if (r == -Errno.ENOENT) return false;
        ThrowFailed(command, r);
        return false;
    }
}

/// <summary>FIFO queue of <typeparamref name="T"/> (Queue, Linux 4.20): pops return the oldest element.</summary>
public sealed class QueueMap<T> : QueueStackMap<T> where T : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a Queue map with sizeof(T)-byte values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public QueueMap(BpfMap map)
        : base(map, MapType.Queue)
    {
    }

    /// <summary>Creates the queue (BPF_MAP_CREATE).</summary>
    public static unsafe QueueMap<T> Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.Queue, 0, (uint)sizeof(T), maxEntries, flags));
}

/// <summary>LIFO stack of <typeparamref name="T"/> (Stack, Linux 4.20): pops return the newest element.</summary>
public sealed class StackMap<T> : QueueStackMap<T> where T : unmanaged
{
    /// <summary>Takes over <paramref name="map"/> (a Stack map with sizeof(T)-byte values).</summary>
    /// <exception cref="ArgumentException">Wrong map type or sizes.</exception>
    public StackMap(BpfMap map)
        : base(map, MapType.Stack)
    {
    }

    /// <summary>Creates the stack (BPF_MAP_CREATE).</summary>
    public static unsafe StackMap<T> Create(string name, uint maxEntries, MapFlags flags = MapFlags.None) =>
        new(MapChecks.Create(name, MapType.Stack, 0, (uint)sizeof(T), maxEntries, flags));
}
