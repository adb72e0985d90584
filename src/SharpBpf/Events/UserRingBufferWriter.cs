using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpBpf.Internal;
using SharpBpf.Interop;
using SharpBpf.Maps;

namespace SharpBpf.Events;

/// <summary>A sample reserved in a user ring buffer: write <see cref="Span"/>, then
/// <see cref="UserRingBufferWriter.Submit"/> or <see cref="UserRingBufferWriter.Discard"/> it.</summary>
public readonly unsafe ref struct UserRingBufferReservation
{
    private readonly byte* _header;

    internal UserRingBufferReservation(byte* header, int size)
    {
        _header = header;
        Span = new Span<byte>(header + 8, size);
    }

    /// <summary>The sample's bytes in the shared buffer.</summary>
    public Span<byte> Span { get; }

    internal byte* Header => _header;
}

/// <summary>
/// Producer side of a user ring buffer (<see cref="MapType.UserRingBuf"/>, Linux 6.1): user space writes samples
/// into the mmapped ring and BPF programs consume them with <c>bpf_user_ringbuf_drain</c>. Samples become
/// visible to the kernel in reservation order once submitted; a reserved but unsubmitted sample holds back the
/// ones after it. One thread produces at a time.
/// </summary>
public sealed unsafe class UserRingBufferWriter : IDisposable
{
    private const uint BusyBit = 1u << 31, DiscardBit = 1u << 30, HeaderSize = 8;

    private readonly SafeBpfFd _fd;
    private readonly SafeMmap _consumerPage;
    private readonly SafeMmap _producerAndData;
    private readonly ulong* _consumerPos;
    private readonly ulong* _producerPos;
    private readonly byte* _data;
    private readonly ulong _mask;

    /// <summary>Maps <paramref name="map"/> (a user ring buffer); keeps its own descriptor, so the map may be
    /// disposed afterwards.</summary>
    /// <exception cref="ArgumentException"><paramref name="map"/> is not a user ring buffer.</exception>
    /// <exception cref="BpfException">mmap failed.</exception>
    public UserRingBufferWriter(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        ObjectDisposedException.ThrowIf(map.IsDisposed, map);
        if (map.Type != MapType.UserRingBuf)
            throw new ArgumentException($"map '{map.Name}' is a {map.Type}, not a UserRingBuf", nameof(map));
        int page = Platform.PageSize;
        uint size = map.MaxEntries;
        _fd = map.Handle.Duplicate();
        try
        {
            // the consumer page is read-only for user space here; the producer page and the data are ours
            _consumerPage = SafeMmap.Map(_fd.Fd, (nuint)page, writable: false, 0, $"consumer page of user ring buffer '{map.Name}'");
            _producerAndData = SafeMmap.Map(_fd.Fd, (nuint)page + 2 * (nuint)size, writable: true, page, $"producer page and data of user ring buffer '{map.Name}'");
        }
        catch
        {
            _consumerPage?.Dispose();
            _fd.Dispose();
            throw;
        }
        _consumerPos = (ulong*)_consumerPage.Address;
        _producerPos = (ulong*)_producerAndData.Address;
        _data = _producerAndData.Address + page;
        _mask = size - 1;
    }

    /// <summary>Size of the data area in bytes.</summary>
    public long Size => (long)_mask + 1;

    /// <summary>The largest sample that fits in an empty ring.</summary>
    public int MaxSampleSize => (int)Math.Min(int.MaxValue, (long)_mask + 1 - HeaderSize);

    /// <summary>Bytes free for new samples (each takes its size plus 8, rounded up to 8).</summary>
    public long FreeBytes
    {
        get
        {
            ThrowIfDisposed();
            return (long)(_mask + 1 - (Volatile.Read(ref *_producerPos) - Volatile.Read(ref *_consumerPos)));
        }
    }

    /// <summary>Reserves <paramref name="size"/> bytes; false when the ring has no room now.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is negative or larger than
    /// <see cref="MaxSampleSize"/>.</exception>
    public bool TryReserve(int size, out UserRingBufferReservation reservation)
    {
        ThrowIfDisposed();
        if ((uint)size > (uint)MaxSampleSize)
            throw new ArgumentOutOfRangeException(nameof(size), size, $"a sample of this user ring buffer holds 0 to {MaxSampleSize} bytes");
        ulong cons = Volatile.Read(ref *_consumerPos);
        ulong prod = *_producerPos; // only we write it
        ulong total = ((ulong)size + HeaderSize + 7) & ~7UL;
        if (_mask + 1 - (prod - cons) < total)
        {
            reservation = default;
            return false;
        }
        byte* header = _data + (prod & _mask);
        *(uint*)header = (uint)size | BusyBit;
        *(uint*)(header + 4) = 0;
        Volatile.Write(ref *_producerPos, prod + total); // the kernel sees a busy sample and waits for it
        reservation = new UserRingBufferReservation(header, size);
        return true;
    }

    /// <summary>Hands a reserved sample to the kernel.</summary>
    public void Submit(in UserRingBufferReservation reservation) => Commit(reservation, 0);

    /// <summary>Drops a reserved sample (the kernel skips it).</summary>
    public void Discard(in UserRingBufferReservation reservation) => Commit(reservation, DiscardBit);

    private void Commit(in UserRingBufferReservation reservation, uint flag)
    {
        ThrowIfDisposed();
        if (reservation.Header == null) throw new ArgumentException("not a reservation of this writer", nameof(reservation));
        uint* len = (uint*)reservation.Header;
        uint value = *len;
        if ((value & BusyBit) == 0) throw new InvalidOperationException("the sample was already submitted or discarded");
        Interlocked.Exchange(ref *len, (value & ~BusyBit) | flag);
    }

    /// <summary>Copies <paramref name="data"/> into a new sample and submits it; false when the ring is full.</summary>
    public bool TryWrite(ReadOnlySpan<byte> data)
    {
        if (!TryReserve(data.Length, out var r)) return false;
        data.CopyTo(r.Span);
        Submit(r);
        return true;
    }

    /// <summary>Writes <paramref name="value"/> as one sample; false when the ring is full.</summary>
    public bool TryWrite<T>(in T value) where T : unmanaged =>
        TryWrite(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_fd.IsClosed, this);

    /// <summary>Unmaps the ring and closes the descriptor.</summary>
    public void Dispose()
    {
        _producerAndData.Dispose();
        _consumerPage.Dispose();
        _fd.Dispose();
    }
}
