using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpBpf.Internal;
using SharpBpf.Interop;

namespace SharpBpf.Maps;

public unsafe partial class BpfMap
{
    /// <summary>
    /// Maps the values of a <see cref="MapFlags.Mmapable"/> array into this process (Linux 5.5). Element i starts
    /// at i × round_up(<see cref="ValueSize"/>, 8). Writes through the mapping are seen by programs and syscalls
    /// at once, and the other way round.
    /// </summary>
    /// <param name="writable">Map read-write (fails with EPERM on a frozen map) or read-only.</param>
    /// <exception cref="InvalidOperationException">The map is not an array created with <see cref="MapFlags.Mmapable"/>.</exception>
    public MapMemory Mmap(bool writable = true)
    {
        if (Type != MapType.Array || (Flags & MapFlags.Mmapable) == 0)
            throw new InvalidOperationException($"map '{Name}' ({Type}, flags {Flags}) cannot be mmapped: only arrays created with MapFlags.Mmapable can");
        long stride = Align8(ValueSize);
        long bytes = stride * MaxEntries;
        long page = Platform.PageSize;
        nuint length = (nuint)((bytes + page - 1) / page * page);
        int prot = Libc.PROT_READ | (writable ? Libc.PROT_WRITE : 0);
        void* p = Libc.mmap(null, length, prot, Libc.MAP_SHARED, Fd, 0);
        if (p == (void*)-1) throw new BpfException("mmap", Marshal.GetLastPInvokeError(), $"mapping map '{Name}' ({length} bytes, {(writable ? "read-write" : "read-only")})");
        return new MapMemory(p, length, (int)bytes, (int)stride, MaxEntries, writable);
    }
}

/// <summary>
/// An mmapped <see cref="MapFlags.Mmapable"/> array (from <see cref="BpfMap.Mmap"/>). Owns the mapping and unmaps it
/// on <see cref="Dispose"/>; spans taken from it must not be used afterwards. The mapping keeps the map alive
/// even after the map's fd is closed.
/// </summary>
public sealed unsafe class MapMemory : IDisposable
{
    private void* _address;
    private readonly nuint _mappedLength;
    private readonly int _length;

    internal MapMemory(void* address, nuint mappedLength, int length, int elementStride, uint count, bool writable)
    {
        _address = address;
        _mappedLength = mappedLength;
        _length = length;
        ElementStride = elementStride;
        Count = count;
        IsWritable = writable;
    }

    /// <summary>Bytes between consecutive elements: round_up(value size, 8).</summary>
    public int ElementStride { get; }

    /// <summary>Number of elements (the array's max_entries).</summary>
    public uint Count { get; }

    /// <summary>Whether the mapping is writable (writing a read-only mapping crashes the process).</summary>
    public bool IsWritable { get; }

    /// <summary>All element bytes (Count × ElementStride).</summary>
    public Span<byte> Span => new(Address, _length);

    /// <summary>The bytes of element <paramref name="index"/> (ElementStride bytes).</summary>
    public Span<byte> Element(uint index)
    {
        if (index >= Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the array has {Count} elements");
        return new Span<byte>((byte*)Address + (long)index * ElementStride, ElementStride);
    }

    /// <summary>Element <paramref name="index"/> as a <typeparamref name="T"/> (sizeof(T) ≤ ElementStride).</summary>
    public ref T Get<T>(uint index) where T : unmanaged
    {
        if (sizeof(T) > ElementStride) throw new ArgumentException($"{typeof(T).Name} has {sizeof(T)} bytes, more than the {ElementStride}-byte element stride", nameof(T));
        if (index >= Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"the array has {Count} elements");
        return ref Unsafe.AsRef<T>((byte*)Address + (long)index * ElementStride);
    }

    /// <summary>All elements as a <see cref="Span{T}"/>; needs sizeof(T) == ElementStride (a value size that is a
    /// multiple of 8), otherwise use <see cref="Get{T}"/>.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        if (sizeof(T) != ElementStride)
            throw new ArgumentException($"{typeof(T).Name} has {sizeof(T)} bytes but elements are {ElementStride} bytes apart; use Get<T>(index)", nameof(T));
        return new Span<T>(Address, (int)Count);
    }

    private void* Address
    {
        get
        {
            ObjectDisposedException.ThrowIf(_address == null, this);
            return _address;
        }
    }

    /// <summary>Unmaps the memory.</summary>
    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    private void Release()
    {
        void* p = _address;
        _address = null;
        if (p != null) Libc.munmap(p, _mappedLength);
    }

    /// <summary>Unmaps a forgotten mapping.</summary>
    ~MapMemory() => Release();
}
