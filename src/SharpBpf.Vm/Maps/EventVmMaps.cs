using System.Numerics;
using SharpBpf.Events;
using SharpBpf.Maps;

namespace SharpBpf.Vm;

/// <summary>BPF_MAP_TYPE_RINGBUF in VM memory, with the kernel's record format (8-byte header: length, busy and
/// discard bits; records 8-byte aligned). Programs reserve/submit/discard/output; the host reads through
/// <see cref="CreateReader"/>, an <see cref="IRecordSource"/> like <see cref="RingBufferReader"/>.</summary>
public sealed unsafe class RingBufVmMap : VmMap, IVmRecordProducer
{
    private const uint BusyBit = 1u << 31, DiscardBit = 1u << 30, HeaderSize = 8;
    private readonly byte* _data;
    private readonly ulong _mask;
    private readonly uint _region;
    private long _producer, _consumer;
    private long _dropped;
    private readonly List<VmRecordReader> _readers = [];

    internal RingBufVmMap(BpfVm vm, MapSpec spec) : base(vm, spec)
    {
        if (spec.MaxEntries < 4096 || !BitOperations.IsPow2(spec.MaxEntries) || spec.KeySize != 0 || spec.ValueSize != 0)
            throw new ArgumentException($"ring buffer '{spec.Name}' needs max_entries a power of 2 of at least 4096 and no key or value", nameof(spec));
        _data = Alloc(spec.MaxEntries);
        _mask = spec.MaxEntries - 1;
        _region = vm.AddRegion(RegionKind.RingBuffer, _data, spec.MaxEntries, writable: true, this);
    }

    /// <summary>Reservations that failed because the buffer was full.</summary>
    public long DroppedRecords => Interlocked.Read(ref _dropped);

    /// <summary>Bytes written and not yet consumed.</summary>
    public long AvailableBytes => Volatile.Read(ref _producer) - Volatile.Read(ref _consumer);

    /// <summary>A reader of this ring buffer's records (one consumer at a time).</summary>
    public IRecordSource CreateReader()
    {
        var r = new VmRecordReader(this);
        lock (_readers) _readers.Add(r);
        return r;
    }

    internal ulong Reserve(ulong size, ulong flags)
    {
        if (flags != 0 || size == 0 || size > (MaxEntries >> 1)) return 0;
        uint total = (uint)((size + HeaderSize + 7) & ~7UL);
        long prod = _producer, free = MaxEntries - (prod - Volatile.Read(ref _consumer));
        ulong offset = (ulong)prod & _mask;
        uint pad = offset + total > MaxEntries ? (uint)(MaxEntries - offset) : 0;
        if (pad + total > free)
        {
            Interlocked.Increment(ref _dropped);
            return 0;
        }
        if (pad != 0)
        {
            *(uint*)(_data + offset) = (pad - HeaderSize) | DiscardBit;
            prod += pad;
            offset = 0;
        }
        *(uint*)(_data + offset) = (uint)size | BusyBit;
        *(uint*)(_data + offset + 4) = 0;
        Volatile.Write(ref _producer, prod + total);
        return ((ulong)_region << Mem.RegionShift) + offset + HeaderSize;
    }

    /// <summary>Completes a reservation (false when <paramref name="address"/> is not a busy record of this ring).</summary>
    internal bool Commit(ulong address, bool discard)
    {
        if ((uint)(address >> Mem.RegionShift) != _region) return false;
        ulong offset = (uint)address;
        if (offset < HeaderSize || offset > MaxEntries || (offset & 7) != 0) return false;
        uint* header = (uint*)(_data + offset - HeaderSize);
        uint h = *header;
        if ((h & BusyBit) == 0) return false;
        Volatile.Write(ref *header, (h & ~BusyBit) | (discard ? DiscardBit : 0));
        Vm.NoteRecordsProduced();
        return true;
    }

    internal long Output(ReadOnlySpan<byte> data, ulong flags)
    {
        if ((flags & ~3UL) != 0) return -EINVAL;
        ulong a = Reserve((ulong)data.Length, 0);
        if (a == 0) return -ENOSPC;
        data.CopyTo(new Span<byte>(_data + (uint)a, data.Length));
        Commit(a, false);
        return 0;
    }

    int IVmRecordProducer.Consume<TVisitor>(ref TVisitor visitor, int max)
    {
        int n = 0;
        long cons = Volatile.Read(ref _consumer);
        while (n < max && cons < Volatile.Read(ref _producer))
        {
            ulong offset = (ulong)cons & _mask;
            uint h = Volatile.Read(ref *(uint*)(_data + offset));
            if ((h & BusyBit) != 0) break;
            uint len = h & ~(BusyBit | DiscardBit);
            long next = cons + (long)((len + HeaderSize + 7) & ~7u);
            bool more = true;
            if ((h & DiscardBit) == 0)
            {
                n++;
                more = visitor.Visit(new ReadOnlySpan<byte>(_data + offset + HeaderSize, (int)len), -1, 0);
            }
            cons = next;
            Volatile.Write(ref _consumer, cons);
            if (!more) break;
        }
        return n;
    }

    internal override void AfterRun()
    {
        lock (_readers)
            foreach (var r in _readers) r.Wake();
    }

    long IVmRecordProducer.Lost => DroppedRecords;

    /// <inheritdoc/>
    public override bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value) => false;

    /// <inheritdoc/>
    public override void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any) =>
        ThrowIfError(-EINVAL, "update");

    /// <inheritdoc/>
    public override bool Delete(ReadOnlySpan<byte> key)
    {
        ThrowIfError(-EINVAL, "delete");
        return false;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<(byte[] Key, byte[] Value)> Entries() => [];

    internal override void Release()
    {
        lock (_readers)
            foreach (var r in _readers) r.Close();
        Free(_data);
    }
}

/// <summary>BPF_MAP_TYPE_PERF_EVENT_ARRAY: one buffer per emulated CPU; <c>bpf_perf_event_output</c> appends a
/// sample (raw size padded like the kernel's: size + 4 rounded up to 8, minus 4); the host reads through
/// <see cref="CreateReader"/>, an <see cref="IRecordSource"/> like <see cref="PerfEventReader"/>.</summary>
public sealed class PerfEventArrayVmMap : VmMap, IVmRecordProducer
{
    private readonly byte[][] _buffers;
    private readonly long[] _head, _tail;
    private long _lost;
    private readonly List<VmRecordReader> _readers = [];

    internal PerfEventArrayVmMap(BpfVm vm, MapSpec spec, int bytesPerCpu = 1 << 20) : base(vm, spec)
    {
        int cpus = vm.Options.CpuCount;
        _buffers = new byte[cpus][];
        for (int i = 0; i < cpus; i++) _buffers[i] = new byte[bytesPerCpu];
        _head = new long[cpus];
        _tail = new long[cpus];
    }

    /// <summary>Samples dropped because a CPU's buffer was full.</summary>
    public long LostSamples => Interlocked.Read(ref _lost);

    /// <summary>A reader of every CPU's samples (one consumer at a time).</summary>
    public IRecordSource CreateReader()
    {
        var r = new VmRecordReader(this);
        lock (_readers) _readers.Add(r);
        return r;
    }

    internal long Output(ulong flags, ReadOnlySpan<byte> data)
    {
        ulong index = flags & 0xffffffffUL;
        if ((flags >> 32) != 0) return -EINVAL;
        int cpu = index == 0xffffffffUL ? Vm.Options.Cpu : (int)Math.Min(index, int.MaxValue);
        if (index != 0xffffffffUL && (long)index != Vm.Options.Cpu) return -EINVAL; // the kernel: only the current CPU's event
        if (cpu >= _buffers.Length) return -ENOENT;
        int raw = ((data.Length + 4 + 7) & ~7) - 4;
        int total = 4 + raw;
        var buf = _buffers[cpu];
        lock (buf)
        {
            long head = _head[cpu], tail = _tail[cpu];
            if (buf.Length - (head - tail) < total)
            {
                Interlocked.Increment(ref _lost);
                return -ENOSPC;
            }
            Span<byte> len = stackalloc byte[4];
            BitConverter.TryWriteBytes(len, raw);
            WriteWrapped(buf, head, len);
            WriteWrapped(buf, head + 4, data);
            ZeroWrapped(buf, head + 4 + data.Length, raw - data.Length);
            _head[cpu] = head + total;
        }
        Vm.NoteRecordsProduced();
        return 0;
    }

    private static void WriteWrapped(byte[] buf, long pos, ReadOnlySpan<byte> data)
    {
        int off = (int)(pos % buf.Length);
        int first = Math.Min(data.Length, buf.Length - off);
        data[..first].CopyTo(buf.AsSpan(off));
        data[first..].CopyTo(buf);
    }

    private static void ZeroWrapped(byte[] buf, long pos, int n)
    {
        for (int i = 0; i < n; i++) buf[(pos + i) % buf.Length] = 0;
    }

    private byte[] _scratch = new byte[256];

    int IVmRecordProducer.Consume<TVisitor>(ref TVisitor visitor, int max)
    {
        int n = 0;
        Span<byte> len = stackalloc byte[4];
        for (int cpu = 0; cpu < _buffers.Length && n < max; cpu++)
        {
            var buf = _buffers[cpu];
            while (n < max)
            {
                int raw;
                lock (buf)
                {
                    long tail = _tail[cpu];
                    if (tail >= _head[cpu]) break;
                    for (int i = 0; i < 4; i++) len[i] = buf[(tail + i) % buf.Length];
                    raw = BitConverter.ToInt32(len);
                    if (_scratch.Length < raw) _scratch = new byte[BitOperations.RoundUpToPowerOf2((uint)raw)];
                    int off = (int)((tail + 4) % buf.Length);
                    int first = Math.Min(raw, buf.Length - off);
                    buf.AsSpan(off, first).CopyTo(_scratch);
                    buf.AsSpan(0, raw - first).CopyTo(_scratch.AsSpan(first));
                    _tail[cpu] = tail + 4 + raw;
                }
                n++;
                if (!visitor.Visit(_scratch.AsSpan(0, raw), cpu, cpu)) return n;
            }
        }
        return n;
    }

    internal override void AfterRun()
    {
        lock (_readers)
            foreach (var r in _readers) r.Wake();
    }

    long IVmRecordProducer.Lost => LostSamples;

    /// <inheritdoc/>
    public override bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value) => false;

    /// <inheritdoc/>
    public override void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, UpdateFlags flags = UpdateFlags.Any) =>
        ThrowIfError(-EINVAL, "update (the VM's perf buffers need no event fds)");

    /// <inheritdoc/>
    public override bool Delete(ReadOnlySpan<byte> key) => false;

    /// <inheritdoc/>
    public override IReadOnlyList<(byte[] Key, byte[] Value)> Entries() => [];

    internal override void Release()
    {
        lock (_readers)
            foreach (var r in _readers) r.Close();
    }
}
