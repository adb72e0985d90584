using System.Buffers.Binary;
using System.Diagnostics;
using SharpBpf.Events;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;
using Record = SharpBpf.Events.Record;

namespace SharpBpf.Tests.Events;

[Collection(KernelCollection.Name)]
public class PerfEventReaderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The raw sample size the kernel stores: the u32 size plus the data, padded to 8 bytes.</summary>
    private static int RawSize(int size) => (size + 4 + 7) / 8 * 8 - 4;

    [Theory]
    [InlineData(8)]
    [InlineData(128)]
    public void EveryRecordArrivesOnceInOrderPerCpu(int size)
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf");
        using var prog = EventPrograms.Load(EmitKind.PerfEventOutput, array, size, count: 300);
        using var reader = new PerfEventReader(array, new PerfEventReaderOptions { PagesPerCpu = 64 });
        var cpus = EventPrograms.OnlineCpus();
        Assert.Equal(cpus, reader.Cpus);
        var perCpu = cpus.ToDictionary(c => c, _ => new List<ulong>());
        for (int round = 0; round < 4; round++)
            foreach (int cpu in cpus)
                EventPrograms.Run(prog, (ulong)(cpu * 1_000_000 + round * 300), cpu);
        int n = reader.Consume(r =>
        {
            Assert.Equal(RawSize(size), r.Data.Length);
            Assert.Equal(reader.Cpus[r.Source], r.Cpu);
            ulong seq = r.Read<ulong>();
            if (size >= 16) Assert.Equal(seq, BinaryPrimitives.ReadUInt64LittleEndian(r.Data[(size - 8)..]));
            perCpu[r.Cpu].Add(seq);
        });
        Assert.Equal(cpus.Length * 1200, n);
        foreach (int cpu in cpus)
            Assert.Equal(Enumerable.Range(0, 1200).Select(i => (ulong)(cpu * 1_000_000 + i)), perCpu[cpu]);
        Assert.Equal(0, reader.LostRecords);
        Assert.Equal(0, reader.Consume(_ => Assert.Fail("nothing left")));
    }

    [Theory]
    [InlineData(200)]
    [InlineData(248)]
    public void RecordsWrappingTheBufferEndArriveWhole(int size)
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf");
        using var prog = EventPrograms.Load(EmitKind.PerfEventOutput, array, size, count: 7);
        int cpu = EventPrograms.OnlineCpus()[0];
        using var reader = new PerfEventReader(array, new PerfEventReaderOptions { PagesPerCpu = 1, Cpus = [cpu] });
        var record = new Record();
        ulong expected = 0;
        int wrapped = 0;
        ulong position = 0;
        int recordBytes = 8 + 4 + RawSize(size);
        for (int run = 0; run < 60; run++)
        {
            EventPrograms.Run(prog, (ulong)run * 7, cpu);
            while (reader.TryRead(ref record))
            {
                Assert.Equal(expected, record.Read<ulong>());
                Assert.Equal(expected, BinaryPrimitives.ReadUInt64LittleEndian(record.Data[(size - 8)..]));
                if (position % (ulong)Environment.SystemPageSize + (ulong)recordBytes > (ulong)Environment.SystemPageSize) wrapped++;
                position += (ulong)recordBytes;
                expected++;
            }
        }
        Assert.Equal(420UL, expected);
        Assert.True(wrapped > 10, $"only {wrapped} records wrapped");
        Assert.Equal(0, reader.LostRecords);
    }

    [Fact]
    public void SlowConsumerLostCountsAreExactPerCpu()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf");
        using var prog = EventPrograms.Load(EmitKind.PerfEventOutput, array, 8, count: 1000);
        var cpus = EventPrograms.OnlineCpus();
        using var reader = new PerfEventReader(array, new PerfEventReaderOptions { PagesPerCpu = 1 });
        Assert.True(reader.HasKernelLostCounts);
        var reported = new Dictionary<int, ulong>();
        reader.LostRecordsHandler = (cpu, count) => reported[cpu] = reported.GetValueOrDefault(cpu) + count;
        // nobody reads: CPU 0 gets 3000 records, the last CPU 1000 (when there are two)
        for (int i = 0; i < 3; i++) EventPrograms.Run(prog, (ulong)i * 1000, cpus[0]);
        if (cpus.Length > 1) EventPrograms.Run(prog, 0, cpus[^1]);
        var read = cpus.ToDictionary(c => c, _ => 0UL);
        var last = cpus.ToDictionary(c => c, _ => -1L);
        reader.Consume(r =>
        {
            long seq = (long)r.Read<ulong>();
            Assert.True(seq > last[r.Cpu], "records arrive in order");
            last[r.Cpu] = seq;
            read[r.Cpu]++;
        });
        ulong emitted0 = 3000;
        Assert.InRange(read[cpus[0]], 100UL, 200UL); // a 4 KiB buffer holds 170 24-byte samples
        Assert.Equal(emitted0 - read[cpus[0]], reader.GetLostRecords(cpus[0]));
        ulong total = emitted0 - read[cpus[0]];
        if (cpus.Length > 1)
        {
            Assert.Equal(1000 - read[cpus[^1]], reader.GetLostRecords(cpus[^1]));
            total += 1000 - read[cpus[^1]];
        }
        Assert.Equal((long)total, reader.LostRecords);
        // the in-stream report comes with the next record that fits: then both counts agree
        using var one = EventPrograms.Load(EmitKind.PerfEventOutput, array, 8, count: 1);
        foreach (int cpu in cpus) EventPrograms.Run(one, 5000, cpu);
        int after = reader.Consume(r => Assert.Equal(5000UL, r.Read<ulong>()));
        Assert.Equal(cpus.Length, after);
        foreach (int cpu in cpus)
        {
            Assert.Equal(reader.GetLostRecords(cpu), reader.GetReportedLostRecords(cpu));
            Assert.Equal(reader.GetLostRecords(cpu), reported[cpu]);
        }
    }

    [Fact]
    public async Task WakeupEventsBatchesWakeUps()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf");
        using var five = EventPrograms.Load(EmitKind.PerfEventOutput, array, 8, count: 5);
        int cpu = EventPrograms.OnlineCpus()[0];
        using var reader = new PerfEventReader(array, new PerfEventReaderOptions { PagesPerCpu = 4, WakeupEvents = 10, Cpus = [cpu] });
        var got = new List<ulong>();
        var poll = Task.Run(() => reader.Poll(r => got.Add(r.Read<ulong>()), TimeSpan.FromSeconds(20)), Ct);
        await Task.Delay(200, Ct);
        EventPrograms.Run(five, 0, cpu);
        await Task.Delay(300, Ct);
        Assert.False(poll.IsCompleted, "5 records must not wake a reader waiting for 10");
        EventPrograms.Run(five, 5, cpu);
        Assert.Equal(10, await poll.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (ulong)i), got);
    }

    [Fact]
    public async Task WatermarkWakesOnceEnoughBytesAreBuffered()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf");
        using var prog = EventPrograms.Load(EmitKind.PerfEventOutput, array, 128, count: 10); // 10 × 144 bytes
        int cpu = EventPrograms.OnlineCpus()[0];
        using var reader = new PerfEventReader(array, new PerfEventReaderOptions { PagesPerCpu = 4, WakeupWatermarkBytes = 2000, Cpus = [cpu] });
        int received = 0;
        var poll = Task.Run(() => reader.Poll(_ => received++, TimeSpan.FromSeconds(20)), Ct);
        await Task.Delay(200, Ct);
        EventPrograms.Run(prog, 0, cpu); // 1440 bytes: below the watermark
        await Task.Delay(300, Ct);
        Assert.False(poll.IsCompleted, "1440 bytes must not wake a reader with a 2000-byte watermark");
        EventPrograms.Run(prog, 10, cpu); // 2880 bytes
        Assert.Equal(20, await poll.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Fact]
    public void OverwritableBufferKeepsTheNewestRecordsOldestFirst()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf");
        using var prog = EventPrograms.Load(EmitKind.PerfEventOutput, array, 8, count: 1000);
        using var few = EventPrograms.Load(EmitKind.PerfEventOutput, array, 8, count: 5);
        int cpu = EventPrograms.OnlineCpus()[0];
        using var reader = new PerfEventReader(array, new PerfEventReaderOptions { PagesPerCpu = 1, Overwritable = true, Cpus = [cpu] });
        EventPrograms.Run(prog, 0, cpu);
        var got = new List<ulong>();
        reader.Consume(r => got.Add(r.Read<ulong>()));
        Assert.InRange(got.Count, 100, 171);
        Assert.Equal(Enumerable.Range(1000 - got.Count, got.Count).Select(i => (ulong)i), got); // the newest, in order
        Assert.Equal(0, reader.LostRecords);
        // only what came after the previous read is delivered next time
        EventPrograms.Run(few, 2000, cpu);
        got.Clear();
        var record = new Record();
        while (reader.TryRead(ref record)) got.Add(record.Read<ulong>());
        Assert.Equal([2000UL, 2001, 2002, 2003, 2004], got);
        Assert.Equal(0, reader.Consume(_ => { }));
    }

    [Fact]
    public void PausedOutputIsDroppedAndCountedAsLost()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf");
        using var prog = EventPrograms.Load(EmitKind.PerfEventOutput, array, 8, count: 100);
        int cpu = EventPrograms.OnlineCpus()[^1];
        using var reader = new PerfEventReader(array);
        reader.Pause();
        Assert.True(reader.IsPaused);
        EventPrograms.Run(prog, 0, cpu);
        Assert.Equal(0, reader.Consume(_ => { }));
        Assert.Equal(100UL, reader.GetLostRecords(cpu));
        reader.Resume();
        EventPrograms.Run(prog, 100, cpu);
        var got = new List<ulong>();
        reader.Consume(r => got.Add(r.Read<ulong>()));
        Assert.Equal(Enumerable.Range(100, 100).Select(i => (ulong)i), got);
        Assert.Equal(100UL, reader.GetReportedLostRecords(cpu));
        Assert.Equal(100, reader.LostRecords);
    }

    [Fact]
    public async Task CloseWakesAWaitingPollAndClearsTheArray()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf");
        var reader = new PerfEventReader(array);
        var poll = Task.Run(() => reader.Poll(_ => { }, Timeout.InfiniteTimeSpan), Ct);
        await Task.Delay(200, Ct);
        var sw = Stopwatch.StartNew();
        reader.Close();
        Assert.Equal(0, await poll.WaitAsync(TimeSpan.FromSeconds(2), Ct));
        Assert.InRange(sw.ElapsedMilliseconds, 0, 1000);
        foreach (int cpu in reader.Cpus) Assert.False(array.Clear((uint)cpu), $"slot {cpu} still set after close");
    }

    [Fact]
    public async Task AsyncEnumerationReadsBothCpus()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf");
        using var prog = EventPrograms.Load(EmitKind.PerfEventOutput, array, 8, count: 50);
        var cpus = EventPrograms.OnlineCpus();
        var reader = new PerfEventReader(array);
        var got = new List<ulong>();
        var consume = Task.Run(async () =>
        {
            await foreach (ulong v in reader.ReadAllAsync<ulong>(Ct))
                lock (got) got.Add(v);
        }, Ct);
        for (int i = 0; i < cpus.Length; i++) EventPrograms.Run(prog, (ulong)i * 50, cpus[i]);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            lock (got) if (got.Count >= 50 * cpus.Length) break;
            await Task.Delay(10, Ct);
        }
        reader.Close();
        await consume.WaitAsync(TimeSpan.FromSeconds(2), Ct);
        got.Sort();
        Assert.Equal(Enumerable.Range(0, 50 * cpus.Length).Select(i => (ulong)i), got);
    }

    [Fact]
    public void ReadIntoAndPollAllocateNothingPerRecord()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf");
        using var prog = EventPrograms.Load(EmitKind.PerfEventOutput, array, 128, count: 500);
        int cpu = EventPrograms.OnlineCpus()[0];
        using var reader = new PerfEventReader(array, new PerfEventReaderOptions { Cpus = [cpu] });
        var record = new Record();
        EventPrograms.Run(prog, 0, cpu);
        Assert.True(reader.TryRead(ref record));
        EventPrograms.Run(prog, 500, cpu);
        ulong sum = 0;
        RecordHandler handler = r => sum += r.Read<ulong>();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 1; i < 500; i++)
        {
            Assert.True(reader.ReadInto(ref record, TimeSpan.Zero, Ct));
            sum += record.Read<ulong>();
        }
        int polled = reader.Poll(handler, TimeSpan.Zero, Ct);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(500, polled);
        Assert.Equal(Enumerable.Range(1, 999).Sum(i => (long)i), (long)sum);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void BadOptionsAreRejectedBeforeAnyKernelObjectIsCreated()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var array = PerfEventArray.Create("t_perf", maxEntries: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PerfEventReader(array, new PerfEventReaderOptions { PagesPerCpu = 3 }));
        Assert.Throws<ArgumentException>(() => new PerfEventReader(array, new PerfEventReaderOptions { WakeupEvents = 5, WakeupWatermarkBytes = 100 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new PerfEventReader(array, new PerfEventReaderOptions { PagesPerCpu = 1, WakeupWatermarkBytes = 1 << 20 }));
        var ex = Assert.Throws<ArgumentException>(() => new PerfEventReader(array, new PerfEventReaderOptions { Cpus = [0, 1] }));
        Assert.Contains("CPU 1", ex.Message);
        Assert.Throws<ArgumentException>(() => new PerfEventReader(array, new PerfEventReaderOptions { Cpus = [] }));
        using var reader = new PerfEventReader(array, new PerfEventReaderOptions { Cpus = [0] });
        Assert.Throws<ArgumentException>(() => reader.GetLostRecords(1));
    }
}
