using System.Runtime.CompilerServices;
using SharpBpf.Internal;
using SharpBpf.Interop;
using SharpBpf.Maps;

namespace SharpBpf.Events;

/// <summary>
/// Reads one or more BPF ring buffers (<see cref="RingBufMap"/>, Linux 5.8) through shared memory: records are
/// handed out as spans of the mapped buffer (no copy), busy (reserved, not yet submitted) records end a batch,
/// discarded ones are skipped. Several ring buffers share one epoll set, as with libbpf's <c>ring_buffer__add</c>.
/// </summary>
/// <remarks>
/// The kernel keeps no count of records a program failed to reserve or output. By convention the producer counts
/// them in a per-CPU u64 array (<see cref="Add"/>'s <c>dropCounter</c>), which <see cref="LostRecords"/> sums.
/// One thread reads at a time; <see cref="RecordReader.Close"/> may be called from any thread.
/// </remarks>
public sealed unsafe class RingBufferReader : RecordReader
{
    private const uint BusyBit = 1u << 31, DiscardBit = 1u << 30, HeaderSize = 8;

    private Ring[] _rings = [];
    private int _next; // ring to start the next batch at, for fairness when batches are capped

    /// <summary>Creates a reader with no ring buffer yet (see <see cref="Add"/>).</summary>
    public RingBufferReader()
    {
    }

    /// <summary>Creates a reader for <paramref name="map"/> (source 0).</summary>
    /// <param name="map">The ring buffer.</param>
    /// <param name="dropCounter">Optional per-CPU u64 array in which the producers count the records they failed
    /// to reserve or output.</param>
    /// <param name="dropCounterIndex">Index of the counter in <paramref name="dropCounter"/>.</param>
    public RingBufferReader(RingBufMap map, PerCpuArrayMap<ulong>? dropCounter = null, uint dropCounterIndex = 0)
    {
        try
        {
            Add(map, dropCounter, dropCounterIndex);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Number of ring buffers read.</summary>
    public int Count => _rings.Length;

    /// <summary>
    /// Adds a ring buffer; returns its source index (<see cref="EventRecord.Source"/>). The reader keeps its own
    /// descriptor and mapping, so <paramref name="map"/> may be disposed afterwards. Call it from the reading thread
    /// (or before reading starts).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The reader or the map is closed.</exception>
    /// <exception cref="BpfException">mmap or epoll registration failed.</exception>
    public int Add(RingBufMap map, PerCpuArrayMap<ulong>? dropCounter = null, uint dropCounterIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(map);
        ObjectDisposedException.ThrowIf(IsClosed, this);
        if (dropCounter is not null && dropCounterIndex >= dropCounter.MaxEntries)
            throw new ArgumentOutOfRangeException(nameof(dropCounterIndex), dropCounterIndex, $"the drop counter map '{dropCounter.Name}' has {dropCounter.MaxEntries} entries");
        var ring = Ring.Open(map, _rings.Length);
        try
        {
            Waiter.Add(ring.Fd.Fd, (ulong)ring.Index);
        }
        catch
        {
            ring.Dispose();
            throw;
        }
        ring.DropCounter = dropCounter;
        ring.DropCounterIndex = dropCounterIndex;
        _rings = [.. _rings, ring];
        return ring.Index;
    }

    /// <summary>Bytes written to ring <paramref name="source"/> and not yet consumed (including headers).</summary>
    public long AvailableBytes(int source)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        var ring = _rings[CheckSource(source)];
        return (long)(Volatile.Read(ref *ring.ProducerPos) - Volatile.Read(ref *ring.ConsumerPos));
    }

    /// <summary>Size of ring <paramref name="source"/>'s data area in bytes.</summary>
    public long RingSize(int source) => (long)_rings[CheckSource(source)].Mask + 1;

    /// <summary>Sum over the rings' drop counters (all CPUs); 0 for rings added without one.</summary>
    public override long LostRecords
    {
        get
        {
            long total = 0;
            Span<ulong> perCpu = Platform.PossibleCpus <= 256 ? stackalloc ulong[Platform.PossibleCpus] : new ulong[Platform.PossibleCpus];
            foreach (var ring in _rings)
            {
                if (ring.DropCounter is not { } counter) continue;
                if (!counter.TryLookup(ring.DropCounterIndex, perCpu)) continue;
                foreach (ulong v in perCpu) total += (long)v;
            }
            return total;
        }
    }

    private int CheckSource(int source)
    {
        if ((uint)source >= (uint)_rings.Length)
            throw new ArgumentOutOfRangeException(nameof(source), source, $"the reader has {_rings.Length} ring buffer(s)");
        return source;
    }

    private protected override int ConsumeCore<TVisitor>(ref TVisitor visitor, int max)
    {
        var rings = _rings;
        int count = rings.Length;
        if (count == 1) return ConsumeRing(rings[0], ref visitor, max);
        int total = 0;
        int start = _next;
        for (int k = 0; k < count && total < max && !StopRequested; k++)
        {
            int i = (start + k) % count;
            total += ConsumeRing(rings[i], ref visitor, max - total);
            if (total >= max) _next = (i + 1) % count;
        }
        return total;
    }

    private int ConsumeRing<TVisitor>(Ring ring, ref TVisitor visitor, int max)
        where TVisitor : IRecordVisitor, allows ref struct
    {
        try
        {
            return ConsumeRingCore(ring, ref visitor, max);
        }
        catch
        {
            // the handler threw: the record it was given counts as consumed (as in libbpf), then rethrow
            if (ring.ConsumerPos != null) Volatile.Write(ref *ring.ConsumerPos, ring.InFlightNext);
            throw;
        }
    }

    // No exception handling in here: locals live across a try would be kept in memory, and the consumer position
    // is on the loop's critical path.
    // Fully optimised from the first call: one call may drain millions of records, too few calls for tiering.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int ConsumeRingCore<TVisitor>(Ring ring, ref TVisitor visitor, int max)
        where TVisitor : IRecordVisitor, allows ref struct
    {
        ulong* consumerPos = ring.ConsumerPos;
        ulong* producerPos = ring.ProducerPos;
        byte* data = ring.Data;
        ulong mask = ring.Mask;
        int source = ring.Index;
        ulong cons = *consumerPos; // only we write it
        ring.InFlightNext = cons;
        int count = 0;
        while (true)
        {
            ulong prod = Volatile.Read(ref *producerPos);
            if (cons >= prod) return count;
            do
            {
                byte* header = data + (cons & mask);
                uint len = Volatile.Read(ref *(uint*)header);
                if ((len & BusyBit) != 0) return count; // reserved, not yet submitted: records after it wait
                uint size = len & ~(BusyBit | DiscardBit);
                ulong next = cons + ((size + HeaderSize + 7) & ~7u);
                bool more = true;
                if ((len & DiscardBit) == 0)
                {
                    ring.InFlightNext = next;
                    // the data area is mapped twice in a row, so a record that wraps is still contiguous
                    more = visitor.Visit(new ReadOnlySpan<byte>(header + HeaderSize, (int)size), -1, source);
                    count++;
                }
                cons = next;
                Volatile.Write(ref *consumerPos, cons); // hand the space back to the producers at once
                if (!more || count >= max || StopRequested) return count;
            } while (cons < prod);
        }
    }

    private protected override void ReleaseResources()
    {
        foreach (var ring in _rings) ring.Dispose();
    }

    private sealed class Ring : IDisposable
    {
        private SafeMmap _consumerPage = null!;
        private SafeMmap _producerAndData = null!;

        public SafeBpfFd Fd { get; private init; } = null!;
        public int Index { get; private init; }
        public ulong* ConsumerPos { get; private set; }
        public ulong* ProducerPos { get; private set; }
        public byte* Data { get; private set; }
        public ulong Mask { get; private init; }
        public PerCpuArrayMap<ulong>? DropCounter { get; set; }
        public uint DropCounterIndex { get; set; }
        /// <summary>Consumer position after the record being handed out (committed if the handler throws).</summary>
        public ulong InFlightNext;

        public static Ring Open(RingBufMap map, int index)
        {
            ObjectDisposedException.ThrowIf(map.IsDisposed, map);
            int page = Platform.PageSize;
            uint size = map.Size;
            var fd = map.Handle.Duplicate();
            var ring = new Ring { Fd = fd, Index = index, Mask = size - 1 };
            try
            {
                ring._consumerPage = SafeMmap.Map(fd.Fd, (nuint)page, writable: true, 0, $"consumer page of ring buffer '{map.Name}'");
                ring._producerAndData = SafeMmap.Map(fd.Fd, (nuint)page + 2 * (nuint)size, writable: false, page, $"producer page and data of ring buffer '{map.Name}'");
            }
            catch
            {
                ring.Dispose();
                throw;
            }
            ring.ConsumerPos = (ulong*)ring._consumerPage.Address;
            ring.ProducerPos = (ulong*)ring._producerAndData.Address;
            ring.Data = ring._producerAndData.Address + page;
            return ring;
        }

        public void Dispose()
        {
            ConsumerPos = null;
            ProducerPos = null;
            Data = null;
            _producerAndData?.Dispose();
            _consumerPage?.Dispose();
            Fd.Dispose();
        }
    }
}
