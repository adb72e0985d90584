using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpBpf.Internal;
using SharpBpf.Interop;
using SharpBpf.Maps;

namespace SharpBpf.Events;

/// <summary>Called when a CPU's perf buffer reports records the kernel could not store (<c>PERF_RECORD_LOST</c>).</summary>
/// <param name="cpu">The CPU whose buffer was full (or paused).</param>
/// <param name="count">Records lost since the previous report on that CPU.</param>
public delegate void LostRecordsHandler(int cpu, ulong count);

/// <summary>
/// Reads what BPF programs send with <c>bpf_perf_event_output</c> to a <see cref="PerfEventArray"/>: one
/// <c>PERF_COUNT_SW_BPF_OUTPUT</c> perf event per CPU with its own mmapped buffer (a metadata page and 2^n data
/// pages), all on one epoll set. Records are handed out as spans of the buffer; the rare record that wraps around
/// the buffer end is copied into a scratch buffer first.
/// </summary>
/// <remarks>
/// Loss is exact: the kernel counts every record it could not store per CPU; <see cref="GetLostRecords"/> reads
/// that count (Linux 6.0, <c>PERF_FORMAT_LOST</c>; older kernels: the sum of the <c>PERF_RECORD_LOST</c> reports
/// consumed so far). One thread reads at a time; <see cref="RecordReader.Close"/> may be called from any thread.
/// The reader puts its events into the array on creation and removes them when closed.
/// </remarks>
public sealed unsafe class PerfEventReader : RecordReader
{
    private const uint PERF_RECORD_LOST = 2, PERF_RECORD_SAMPLE = 9;
    private const ulong PERF_COUNT_SW_BPF_OUTPUT = 10, PERF_SAMPLE_RAW = 1 << 10, PERF_FORMAT_LOST = 1 << 4;
    private const uint WatermarkBit = 1 << 14, WriteBackwardBit = 1 << 27;
    private const int MaxRecordSize = ushort.MaxValue;

    private readonly CpuBuffer[] _buffers;
    private readonly SafeBpfFd _mapFd;
    private readonly byte[] _scratch = GC.AllocateUninitializedArray<byte>(MaxRecordSize, pinned: true);
    private readonly bool _overwritable;
    private readonly int _pageSize;
    private bool _paused;
    private int _next;

    /// <summary>Opens one buffer per CPU and puts its perf event into <paramref name="map"/> at the CPU's index.</summary>
    /// <exception cref="ArgumentException">Bad options, or a CPU beyond the array's size.</exception>
    /// <exception cref="BpfException">perf_event_open, mmap or the map update failed.</exception>
    public PerfEventReader(PerfEventArray map, PerfEventReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        ObjectDisposedException.ThrowIf(map.IsDisposed, map);
        options ??= new PerfEventReaderOptions();
        if (options.PagesPerCpu < 1 || !int.IsPow2(options.PagesPerCpu))
            throw new ArgumentOutOfRangeException(nameof(options), options.PagesPerCpu, "PagesPerCpu must be a power of two (1, 2, 4, ...)");
        if (options.WakeupWatermarkBytes != 0 && options.WakeupEvents > 1)
            throw new ArgumentException($"WakeupEvents ({options.WakeupEvents}) and WakeupWatermarkBytes ({options.WakeupWatermarkBytes}) exclude each other: the kernel keeps them in one field", nameof(options));
        _pageSize = Platform.PageSize;
        long dataSize = (long)options.PagesPerCpu * _pageSize;
        if (options.WakeupWatermarkBytes >= dataSize)
            throw new ArgumentOutOfRangeException(nameof(options), options.WakeupWatermarkBytes, $"WakeupWatermarkBytes must be below the {dataSize}-byte buffer");
        var cpus = options.Cpus ?? OnlineCpus();
        if (cpus.Count == 0) throw new ArgumentException("no CPU to read from", nameof(options));
        foreach (int cpu in cpus)
            if (cpu < 0 || (uint)cpu >= map.MaxEntries)
                throw new ArgumentException($"CPU {cpu} has no slot in perf event array '{map.Name}' ({map.MaxEntries} entries)", nameof(options));
        if (cpus.Distinct().Count() != cpus.Count) throw new ArgumentException("a CPU is listed twice", nameof(options));
        _overwritable = options.Overwritable;
        Cpus = cpus.ToArray();
        _buffers = new CpuBuffer[cpus.Count];
        _mapFd = map.Handle.Duplicate();
        try
        {
            for (int i = 0; i < cpus.Count; i++)
            {
                _buffers[i] = CpuBuffer.Open(cpus[i], i, options, dataSize, _pageSize, map.Name);
                Waiter.Add(_buffers[i].Fd.Fd, (ulong)i);
                SetSlot(cpus[i], _buffers[i].Fd.Fd);
                _buffers[i].InMap = true;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The CPUs read, in source order (<see cref="EventRecord.Source"/> indexes this list).</summary>
    public IReadOnlyList<int> Cpus { get; }

    /// <summary>Size of each CPU's data area in bytes.</summary>
    public long BufferSize => _buffers.Length == 0 ? 0 : (long)_buffers[0].Mask + 1;

    /// <summary>Called for every <c>PERF_RECORD_LOST</c> report read from a buffer, in stream order.</summary>
    public LostRecordsHandler? LostRecordsHandler { get; set; }

    /// <summary>Whether the kernel gives exact lost counts on demand (<c>PERF_FORMAT_LOST</c>, Linux 6.0).</summary>
    public bool HasKernelLostCounts => _buffers.Length > 0 && _buffers[0].KernelLostCount;

    /// <summary>Records lost on all CPUs (see <see cref="GetLostRecords"/>).</summary>
    public override long LostRecords
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _buffers.Length; i++) total += (long)LostOn(_buffers[i]);
            return total;
        }
    }

    /// <summary>Records lost on <paramref name="cpu"/>'s buffer so far: the kernel's exact count when available
    /// (<see cref="HasKernelLostCounts"/>), else the <c>PERF_RECORD_LOST</c> reports consumed so far.</summary>
    /// <exception cref="ArgumentException">The reader has no buffer for <paramref name="cpu"/>.</exception>
    public ulong GetLostRecords(int cpu) => LostOn(BufferOf(cpu));

    /// <summary>Sum of the <c>PERF_RECORD_LOST</c> reports consumed so far on <paramref name="cpu"/> (these lag the
    /// kernel's count until the buffer has room for the report).</summary>
    public ulong GetReportedLostRecords(int cpu) => BufferOf(cpu).ReportedLost;

    /// <summary>Bytes waiting in <paramref name="cpu"/>'s buffer (forward buffers only).</summary>
    public long AvailableBytes(int cpu)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        var b = BufferOf(cpu);
        return (long)(Volatile.Read(ref *b.Head) - Volatile.Read(ref *b.Tail));
    }

    /// <summary>Stops the kernel from writing to the buffers (PERF_EVENT_IOC_PAUSE_OUTPUT, Linux 4.7): records
    /// sent meanwhile are dropped and counted as lost.</summary>
    public void Pause() => SetPaused(true);

    /// <summary>Lets the kernel write to the buffers again.</summary>
    public void Resume() => SetPaused(false);

    /// <summary>Whether output is paused by <see cref="Pause"/>.</summary>
    public bool IsPaused => _paused;

    private void SetPaused(bool paused)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        foreach (var b in _buffers) b.PauseOutput(paused);
        _paused = paused;
    }

    private ulong LostOn(CpuBuffer b)
    {
        if (b.KernelLostCount && !IsClosed)
        {
            ulong* values = stackalloc ulong[2]; // read_format PERF_FORMAT_LOST: { value, lost }
            if (Libc.read(b.Fd.Fd, values, 16) == 16) return values[1];
        }
        return b.ReportedLost;
    }

    private CpuBuffer BufferOf(int cpu)
    {
        foreach (var b in _buffers)
            if (b is not null && b.Cpu == cpu) return b;
        throw new ArgumentException($"the reader has no buffer for CPU {cpu} (it reads CPUs {string.Join(",", Cpus)})", nameof(cpu));
    }

    private void SetSlot(int cpu, int fd)
    {
        var attr = new MapElemAttr { map_fd = (uint)_mapFd.Fd };
        uint key = (uint)cpu;
        int value = fd;
        attr.key = Bpf.Ptr(&key);
        attr.value = Bpf.Ptr(&value);
        Bpf.Call(BpfCmd.BPF_MAP_UPDATE_ELEM, ref attr);
    }

    private void ClearSlot(int cpu)
    {
        var attr = new MapElemAttr { map_fd = (uint)_mapFd.Fd };
        uint key = (uint)cpu;
        attr.key = Bpf.Ptr(&key);
        Bpf.TryCall(BpfCmd.BPF_MAP_DELETE_ELEM, ref attr); // ENOENT: someone else cleared it already
    }

    private protected override int ConsumeCore<TVisitor>(ref TVisitor visitor, int max)
    {
        var buffers = _buffers;
        int n = buffers.Length;
        int total = 0;
        int start = _next;
        for (int k = 0; k < n && total < max && !StopRequested; k++)
        {
            int i = start + k;
            if (i >= n) i -= n;
            var b = buffers[i];
            total += _overwritable ? ConsumeBackward(b, ref visitor, max - total) : ConsumeForward(b, ref visitor, max - total);
            if (total >= max) _next = i + 1 == n ? 0 : i + 1;
        }
        return total;
    }

    private int ConsumeForward<TVisitor>(CpuBuffer b, ref TVisitor visitor, int max)
        where TVisitor : IRecordVisitor, allows ref struct
    {
        try
        {
            return ConsumeForwardCore(b, ref visitor, max);
        }
        catch
        {
            if (b.Tail != null) Volatile.Write(ref *b.Tail, b.InFlightNext); // the failing record counts as read
            throw;
        }
    }

    // No exception handling in here (see RingBufferReader.ConsumeRingCore).
    // Fully optimised from the first call: one call may drain millions of records, too few calls for tiering.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int ConsumeForwardCore<TVisitor>(CpuBuffer b, ref TVisitor visitor, int max)
        where TVisitor : IRecordVisitor, allows ref struct
    {
        ulong head = Volatile.Read(ref *b.Head);
        ulong tail = *b.Tail; // only we write it
        if (tail >= head) return 0;
        b.InFlightNext = tail;
        byte* data = b.Data;
        ulong mask = b.Mask;
        int cpu = b.Cpu, source = b.Index;
        int count = 0;
        while (tail < head)
        {
            ulong offset = tail & mask;
            byte* record = data + offset;
            uint size = *(ushort*)(record + 6);
            if (size < 8) ThrowCorrupt(b, tail, size);
            if (offset + size > mask + 1) record = Unwrap(data, offset, size, mask);
            ulong next = tail + size;
            bool more = true;
            uint type = *(uint*)record;
            if (type == PERF_RECORD_SAMPLE)
            {
                uint rawSize = *(uint*)(record + 8);
                if (rawSize + 12 > size) ThrowCorrupt(b, tail, size);
                b.InFlightNext = next;
                more = visitor.Visit(new ReadOnlySpan<byte>(record + 12, (int)rawSize), cpu, source);
                count++;
            }
            else if (type == PERF_RECORD_LOST && size >= 24)
            {
                ulong lost = *(ulong*)(record + 16);
                b.InFlightNext = next;
                b.ReportedLost += lost;
                LostRecordsHandler?.Invoke(b.Cpu, lost);
            }
            tail = next;
            if (!more || count >= max || StopRequested) break;
        }
        Volatile.Write(ref *b.Tail, tail); // release: the kernel may now reuse the space
        return count;
    }

    /// <summary>Copies a record that wraps around the end of the data area into the scratch buffer.</summary>
    private byte* Unwrap(byte* data, ulong offset, uint size, ulong mask)
    {
        int first = (int)(mask + 1 - offset);
        fixed (byte* scratch = _scratch) // pinned array: the pointer stays valid after the fixed block
        {
            new ReadOnlySpan<byte>(data + offset, first).CopyTo(new Span<byte>(scratch, first));
            new ReadOnlySpan<byte>(data, (int)size - first).CopyTo(new Span<byte>(scratch + first, (int)size - first));
            return scratch;
        }
    }

    private static void ThrowCorrupt(CpuBuffer b, ulong position, uint size) =>
        throw new InvalidDataException($"perf buffer of CPU {b.Cpu}: record at position {position} has an impossible size {size}");

    /// <summary>Overwritable buffer: when the last snapshot is used up, pause output, copy what the kernel wrote
    /// since the previous snapshot (newest first in the buffer), resume; deliver the snapshot oldest first.</summary>
    private int ConsumeBackward<TVisitor>(CpuBuffer b, ref TVisitor visitor, int max)
        where TVisitor : IRecordVisitor, allows ref struct
    {
        if (b.SnapshotNext < 0 && !TakeSnapshot(b)) return 0;
        int count = 0;
        fixed (byte* snap = b.Snapshot)
        {
            while (b.SnapshotNext >= 0 && count < max && !StopRequested)
            {
                byte* record = snap + b.SnapshotOffsets![b.SnapshotNext--];
                uint size = *(ushort*)(record + 6);
                uint type = *(uint*)record;
                if (type != PERF_RECORD_SAMPLE) continue;
                uint rawSize = *(uint*)(record + 8);
                if (rawSize + 12 > size) ThrowCorrupt(b, 0, size);
                count++;
                if (!visitor.Visit(new ReadOnlySpan<byte>(record + 12, (int)rawSize), b.Cpu, b.Index)) break;
            }
        }
        return count;
    }

    private bool TakeSnapshot(CpuBuffer b)
    {
        ulong size = b.Mask + 1;
        if (!_paused) b.PauseOutput(true);
        try
        {
            ulong head = Volatile.Read(ref *b.Head);
            ulong written = b.PreviousHead - head; // the head moves down in a backward buffer
            if (written == 0) return false;
            ulong limit = Math.Min(written, size);
            ulong pos = head;
            b.Snapshot ??= GC.AllocateUninitializedArray<byte>((int)size, pinned: true);
            b.SnapshotOffsets ??= new int[(int)(size / 16)];
            int n = 0;
            while (pos - head < limit)
            {
                byte* header = b.Data + (pos & b.Mask);
                uint recSize = *(ushort*)(header + 6);
                if (recSize == 0 || pos - head + recSize > limit) break; // unwritten, or partly overwritten
                b.SnapshotOffsets[n++] = (int)(pos - head);
                pos += recSize;
            }
            int bytes = (int)(pos - head);
            int offset = (int)(head & b.Mask);
            int first = Math.Min(bytes, (int)size - offset);
            new ReadOnlySpan<byte>(b.Data + offset, first).CopyTo(b.Snapshot);
            if (bytes > first) new ReadOnlySpan<byte>(b.Data, bytes - first).CopyTo(b.Snapshot.AsSpan(first));
            b.PreviousHead = head;
            b.SnapshotNext = n - 1;
            return n > 0;
        }
        finally
        {
            if (!_paused) b.PauseOutput(false);
        }
    }

    private protected override void ReleaseResources()
    {
        foreach (var b in _buffers)
        {
            if (b is null) continue;
            if (b.InMap) ClearSlot(b.Cpu);
            b.Dispose();
        }
        _mapFd.Dispose();
    }

    private static int[] OnlineCpus()
    {
        string text = File.ReadAllText("/sys/devices/system/cpu/online").Trim();
        var cpus = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-');
            if (!int.TryParse(range[0], out int lo) || !int.TryParse(range[^1], out int hi))
                throw new FormatException($"cannot parse the online CPU list '{text}'");
            for (int c = lo; c <= hi; c++) cpus.Add(c);
        }
        return cpus.ToArray();
    }

    private sealed class CpuBuffer : IDisposable
    {
        private SafeMmap? _mapping;

        public required int Cpu { get; init; }
        public required int Index { get; init; }
        public required SafeBpfFd Fd { get; init; }
        public required bool KernelLostCount { get; init; }
        public ulong* Head { get; private set; }
        public ulong* Tail { get; private set; }
        public byte* Data { get; private set; }
        public ulong Mask { get; private set; }
        public ulong ReportedLost { get; set; }
        /// <summary>Tail after the record being handed out (committed if the handler throws).</summary>
        public ulong InFlightNext;
        public bool InMap { get; set; }
        // overwritable mode
        public ulong PreviousHead { get; set; }
        public byte[]? Snapshot { get; set; }
        public int[]? SnapshotOffsets { get; set; }
        public int SnapshotNext { get; set; } = -1;

        public static CpuBuffer Open(int cpu, int index, PerfEventReaderOptions options, long dataSize, int pageSize, string mapName)
        {
            var attr = new PerfEventAttr
            {
                type = PerfEvent.PERF_TYPE_SOFTWARE,
                config = PERF_COUNT_SW_BPF_OUTPUT,
                sample_period = 1,
                sample_type = PERF_SAMPLE_RAW,
                read_format = PERF_FORMAT_LOST,
                wakeup_events = options.WakeupWatermarkBytes != 0 ? options.WakeupWatermarkBytes : Math.Max(1, options.WakeupEvents),
                disabled = (options.WakeupWatermarkBytes != 0 ? WatermarkBit : 0) | (options.Overwritable ? WriteBackwardBit : 0),
            };
            int fd = PerfEvent.TryOpen(ref attr, pid: -1, cpu);
            bool kernelLost = true;
            if (fd == -Errno.EINVAL)
            {
                attr.read_format = 0; // before Linux 6.0: no PERF_FORMAT_LOST
                kernelLost = false;
                fd = PerfEvent.TryOpen(ref attr, pid: -1, cpu);
            }
            if (fd < 0)
                throw new BpfException("perf_event_open", -fd, $"BPF output event on CPU {cpu} for perf event array '{mapName}'{(options.Overwritable ? " (write_backward)" : "")}");
            var b = new CpuBuffer { Cpu = cpu, Index = index, Fd = new SafeBpfFd(fd), KernelLostCount = kernelLost };
            try
            {
                b._mapping = SafeMmap.Map(fd, (nuint)(pageSize + dataSize), writable: !options.Overwritable, 0, $"perf buffer of CPU {cpu}");
                byte* page = b._mapping.Address;
                b.Head = (ulong*)(page + PerfMmapPage.DataHead);
                b.Tail = (ulong*)(page + PerfMmapPage.DataTail);
                ulong offset = *(ulong*)(page + PerfMmapPage.DataOffset);
                b.Data = page + (offset != 0 ? offset : (ulong)pageSize);
                b.Mask = (ulong)dataSize - 1;
                if (Libc.ioctl(fd, PerfIoctl.PERF_EVENT_IOC_ENABLE, 0) < 0)
                    throw new BpfException("ioctl(PERF_EVENT_IOC_ENABLE)", Marshal.GetLastPInvokeError(), $"perf event of CPU {cpu}");
            }
            catch
            {
                b.Dispose();
                throw;
            }
            return b;
        }

        public void PauseOutput(bool pause)
        {
            if (Libc.ioctl(Fd.Fd, PerfIoctl.PERF_EVENT_IOC_PAUSE_OUTPUT, pause ? 1 : 0) < 0)
                throw new BpfException("ioctl(PERF_EVENT_IOC_PAUSE_OUTPUT)", Marshal.GetLastPInvokeError(), $"perf buffer of CPU {Cpu}");
        }

        public void Dispose()
        {
            Head = Tail = null;
            Data = null;
            _mapping?.Dispose();
            Fd.Dispose();
        }
    }
}
