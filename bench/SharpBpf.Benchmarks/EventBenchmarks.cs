using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using SharpBpf.Events;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Benchmarks;

/// <summary>Like <see cref="BenchConfig"/> with fewer iterations: every invocation moves 10^4-10^5 records.</summary>
public sealed class EventBenchConfig : BenchConfig
{
    public EventBenchConfig()
        : base(warmups: 2, iterations: 10)
    {
    }
}

/// <summary>
/// Drain rate, the reader alone: a raw_tp producer run on CPU 0 fills a 64 MiB ring buffer (or CPU 0's 32 MiB
/// perf buffer) with <see cref="Records"/> records while nobody reads; then one reader drains them. libbpf's
/// <c>ring_buffer__consume</c> / <c>perf_buffer__consume</c> is the baseline of each category; both readers'
/// callbacks count the record and add its first u64. One operation = one record.
/// </summary>
[Config(typeof(EventBenchConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public unsafe class EventDrainBenchmarks
{
    private const int Records = 200_000, PerRun = 1000, Cpu = 0;

    [Params(8, 128)]
    public int RecordSize { get; set; }

    private RingBufMap _ring = null!;
    private PerfEventArray _array = null!;
    private BpfProgram _ringProducer = null!, _perfProducer = null!;
    private RingBufferReader _ringReader = null!;
    private nint _nativeRing;
    private PerfEventReader? _perfReader;
    private nint _nativePerf;
    private long _count;
    private ulong _sum;
    private RecordHandler _handler = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ring = RingBufMap.Create("bench_ring", 64 << 20);
        _array = PerfEventArray.Create("bench_perf");
        _ringProducer = EventProducers.Load(Emit.RingbufOutput, _ring, RecordSize, PerRun);
        _perfProducer = EventProducers.Load(Emit.PerfEventOutput, _array, RecordSize, PerRun);
        _ringReader = new RingBufferReader(_ring);
        _nativeRing = EventNativePeer.RbNew(_ring.Fd);
        if (_nativeRing == 0) throw new InvalidOperationException("libbpf ring_buffer__new failed");
        _handler = r =>
        {
            _count++;
            _sum += r.Read<ulong>();
        };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        UsePerf(native: null);
        EventNativePeer.RbFree(_nativeRing);
        _ringReader.Dispose();
        _ringProducer.Dispose();
        _perfProducer.Dispose();
        _array.Dispose();
        _ring.Dispose();
    }

    /// <summary>Installs the C# or the libbpf perf reader (only one can own the array's slots), or neither.</summary>
    private void UsePerf(bool? native)
    {
        if (native != true && _nativePerf != 0)
        {
            EventNativePeer.PbFree(_nativePerf);
            _nativePerf = 0;
        }
        if (native != false && _perfReader is not null)
        {
            _perfReader.Dispose();
            _perfReader = null;
        }
        const int pages = 8192; // 32 MiB per CPU
        if (native == true && _nativePerf == 0)
        {
            _nativePerf = EventNativePeer.PbNew(_array.Fd, pages, 1);
            if (_nativePerf == 0) throw new InvalidOperationException("libbpf perf_buffer__new_raw failed");
        }
        if (native == false && _perfReader is null)
            _perfReader = new PerfEventReader(_array, new PerfEventReaderOptions { PagesPerCpu = pages });
    }

    private void Fill(BpfProgram producer)
    {
        for (int i = 0; i < Records / PerRun; i++) EventProducers.Run(producer, (ulong)(i * PerRun), Cpu);
    }

    private static long Check(long got) =>
        got == Records ? got : throw new InvalidOperationException($"drained {got} records, expected {Records}");

    [IterationSetup(Targets = [nameof(NativeRingDrain), nameof(SharpBpfRingDrain), nameof(SharpBpfRingDrainStruct)])]
    public void FillRing() => Fill(_ringProducer);

    [IterationSetup(Target = nameof(NativePerfDrain))]
    public void FillPerfNative()
    {
        UsePerf(native: true);
        Fill(_perfProducer);
    }

    [IterationSetup(Targets = [nameof(SharpBpfPerfDrain), nameof(SharpBpfPerfDrainStruct)])]
    public void FillPerfSharp()
    {
        UsePerf(native: false);
        Fill(_perfProducer);
    }

    [BenchmarkCategory("ringbuf drain"), Benchmark(Baseline = true, OperationsPerInvoke = Records, Description = "libbpf ring_buffer__consume")]
    public long NativeRingDrain() => Check(EventNativePeer.RbConsume(_nativeRing));

    [BenchmarkCategory("ringbuf drain"), Benchmark(OperationsPerInvoke = Records, Description = "SharpBpf RingBufferReader.Consume")]
    public long SharpBpfRingDrain() => Check(_ringReader.Consume(_handler));

    [BenchmarkCategory("ringbuf drain"), Benchmark(OperationsPerInvoke = Records, Description = "SharpBpf RingBufferReader.Consume<struct handler>")]
    public long SharpBpfRingDrainStruct()
    {
        var counter = new Counter();
        _ringReader.Consume(ref counter);
        _sum += counter.Sum;
        return Check(counter.Count);
    }

    [BenchmarkCategory("perf drain"), Benchmark(OperationsPerInvoke = Records, Description = "SharpBpf PerfEventReader.Consume<struct handler>")]
    public long SharpBpfPerfDrainStruct()
    {
        var counter = new Counter();
        _perfReader!.Consume(ref counter);
        _sum += counter.Sum;
        return Check(counter.Count);
    }

    private struct Counter : IRecordHandler
    {
        public long Count;
        public ulong Sum;

        public void Handle(EventRecord record)
        {
            Count++;
            Sum += record.Read<ulong>();
        }
    }

    [BenchmarkCategory("perf drain"), Benchmark(Baseline = true, OperationsPerInvoke = Records, Description = "libbpf perf_buffer__consume")]
    public long NativePerfDrain() => Check(EventNativePeer.PbConsume(_nativePerf));

    [BenchmarkCategory("perf drain"), Benchmark(OperationsPerInvoke = Records, Description = "SharpBpf PerfEventReader.Consume")]
    public long SharpBpfPerfDrain() => Check(_perfReader!.Consume(_handler));
}

/// <summary>
/// End to end on one CPU: a producer thread pinned to CPU 0 triggers a raw_tp program emitting 500 records per run;
/// the reader, pinned to the same CPU, polls (1 ms timeout) until the producer is done and the buffers are empty.
/// One operation = one record produced; records the producer could not store are counted as drops (ring buffer:
/// the producer's per-CPU counter; perf: the kernel's lost reports) and printed at cleanup.
/// </summary>
[Config(typeof(EventBenchConfig))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public unsafe class EventEndToEndBenchmarks
{
    private const int PerRun = 500, Cpu = 0, RingRuns = 1000, PerfBatchRuns = 200, PerfEachRuns = 20;
    private const int BufferBytes = 1 << 20;

    [Params(8, 128)]
    public int RecordSize { get; set; }

    private RingBufMap _ring = null!;
    private PerCpuArrayMap<ulong> _drops = null!;
    private PerfEventArray _array = null!;
    private BpfProgram _output = null!, _reserve = null!, _perf = null!;
    private RingBufferReader _ringReader = null!;
    private nint _nativeRing;
    private readonly Dictionary<string, (long Produced, long Received, long Dropped)> _stats = [];
    private long _count;
    private RecordHandler _handler = null!;

    [GlobalSetup]
    public void Setup()
    {
        _ring = RingBufMap.Create("bench_ring", BufferBytes);
        _drops = PerCpuArrayMap<ulong>.Create("bench_drops", 1);
        _array = PerfEventArray.Create("bench_perf");
        _output = EventProducers.Load(Emit.RingbufOutput, _ring, RecordSize, PerRun, _drops);
        _reserve = EventProducers.Load(Emit.RingbufReserveSubmit, _ring, RecordSize, PerRun, _drops);
        _perf = EventProducers.Load(Emit.PerfEventOutput, _array, RecordSize, PerRun);
        _ringReader = new RingBufferReader(_ring, _drops);
        _nativeRing = EventNativePeer.RbNew(_ring.Fd);
        _handler = _ => _count++;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var (name, s) in _stats)
            Console.WriteLine($"// {name} ({RecordSize} B): produced {s.Produced}, received {s.Received}, dropped {s.Dropped} ({100.0 * s.Dropped / Math.Max(1, s.Produced):F2}%)");
        _stats.Clear();
        if (_nativeReportedLost != 0) Console.WriteLine($"// libbpf perf: {_nativeReportedLost} lost reported in-stream");
        _nativeReportedLost = 0;
        EventNativePeer.RbFree(_nativeRing);
        _ringReader.Dispose();
        _output.Dispose();
        _reserve.Dispose();
        _perf.Dispose();
        _array.Dispose();
        _drops.Dispose();
        _ring.Dispose();
    }

    /// <summary>Runs the producer on a pinned thread while <paramref name="poll"/> reads on this thread, pinned to
    /// the same CPU; returns the records received.</summary>
    private long Run(string name, BpfProgram producer, int runs, Func<int, long> poll, Func<long>? dropped)
    {
        long droppedBefore = dropped?.Invoke() ?? 0;
        ulong oldMask = CpuAffinity.Pin(Cpu);
        try
        {
            int done = 0;
            var thread = new Thread(() =>
            {
                CpuAffinity.Pin(Cpu);
                for (int i = 0; i < runs; i++) EventProducers.Run(producer, (ulong)i * PerRun, Cpu);
                Volatile.Write(ref done, 1);
            });
            thread.Start();
            long received = 0;
            while (true)
            {
                bool finished = Volatile.Read(ref done) == 1;
                long n = poll(finished ? 0 : 1);
                if (n < 0) throw new InvalidOperationException($"poll failed: {n}");
                received += n;
                if (finished && n == 0) break;
            }
            thread.Join();
            // without an exact counter (libbpf's perf reader only sees the lagging in-stream reports), what did
            // not arrive was dropped
            long drops = dropped is null ? (long)runs * PerRun - received : dropped() - droppedBefore;
            var s = _stats.GetValueOrDefault(name);
            _stats[name] = (s.Produced + (long)runs * PerRun, s.Received + received, s.Dropped + drops);
            if (received + drops != (long)runs * PerRun)
                throw new InvalidOperationException($"{name}: {received} received + {drops} dropped != {runs * PerRun} produced");
            return received;
        }
        finally
        {
            CpuAffinity.Restore(oldMask);
        }
    }

    private long NativeRing(string name, BpfProgram producer) =>
        Run(name, producer, RingRuns, t => EventNativePeer.RbPoll(_nativeRing, t), () => EventProducers.Sum(_drops));

    private long SharpRing(string name, BpfProgram producer) =>
        Run(name, producer, RingRuns, t => _ringReader.Poll(_handler, t), () => _ringReader.LostRecords);

    private long NativePerf(string name, uint wakeup, int runs)
    {
        nint pb = EventNativePeer.PbNew(_array.Fd, BufferBytes / Environment.SystemPageSize, (int)wakeup);
        if (pb == 0) throw new InvalidOperationException("libbpf perf_buffer__new_raw failed");
        try
        {
            long received = Run(name, _perf, runs, t => EventNativePeer.PbPoll(pb, t), dropped: null);
            _nativeReportedLost += EventNativePeer.PbLost(pb);
            return received;
        }
        finally
        {
            EventNativePeer.PbFree(pb);
        }
    }

    private long _nativeReportedLost;

    private long SharpPerf(string name, uint wakeup, int runs)
    {
        using var reader = new PerfEventReader(_array, new PerfEventReaderOptions { PagesPerCpu = BufferBytes / Environment.SystemPageSize, WakeupEvents = wakeup });
        return Run(name, _perf, runs, t => reader.Poll(_handler, t), () => reader.LostRecords);
    }

    [BenchmarkCategory("ringbuf output e2e"), Benchmark(Baseline = true, OperationsPerInvoke = RingRuns * PerRun, Description = "libbpf ring_buffer__poll")]
    public long NativeRingOutput() => NativeRing("libbpf ringbuf output", _output);

    [BenchmarkCategory("ringbuf output e2e"), Benchmark(OperationsPerInvoke = RingRuns * PerRun, Description = "SharpBpf RingBufferReader.Poll")]
    public long SharpRingOutput() => SharpRing("SharpBpf ringbuf output", _output);

    [BenchmarkCategory("ringbuf reserve e2e"), Benchmark(Baseline = true, OperationsPerInvoke = RingRuns * PerRun, Description = "libbpf ring_buffer__poll")]
    public long NativeRingReserve() => NativeRing("libbpf ringbuf reserve", _reserve);

    [BenchmarkCategory("ringbuf reserve e2e"), Benchmark(OperationsPerInvoke = RingRuns * PerRun, Description = "SharpBpf RingBufferReader.Poll")]
    public long SharpRingReserve() => SharpRing("SharpBpf ringbuf reserve", _reserve);

    [BenchmarkCategory("perf wakeup 1 e2e"), Benchmark(Baseline = true, OperationsPerInvoke = PerfEachRuns * PerRun, Description = "libbpf perf_buffer__poll")]
    public long NativePerfEach() => NativePerf("libbpf perf wakeup 1", 1, PerfEachRuns);

    [BenchmarkCategory("perf wakeup 1 e2e"), Benchmark(OperationsPerInvoke = PerfEachRuns * PerRun, Description = "SharpBpf PerfEventReader.Poll")]
    public long SharpPerfEach() => SharpPerf("SharpBpf perf wakeup 1", 1, PerfEachRuns);

    [BenchmarkCategory("perf wakeup 500 e2e"), Benchmark(Baseline = true, OperationsPerInvoke = PerfBatchRuns * PerRun, Description = "libbpf perf_buffer__poll")]
    public long NativePerfBatch() => NativePerf("libbpf perf wakeup 500", 500, PerfBatchRuns);

    [BenchmarkCategory("perf wakeup 500 e2e"), Benchmark(OperationsPerInvoke = PerfBatchRuns * PerRun, Description = "SharpBpf PerfEventReader.Poll")]
    public long SharpPerfBatch() => SharpPerf("SharpBpf perf wakeup 500", 500, PerfBatchRuns);
}
