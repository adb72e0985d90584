using System.Buffers.Binary;
using System.Diagnostics;
using SharpBpf.Events;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;
using Record = SharpBpf.Events.Record;

namespace SharpBpf.Tests.Events;

[Collection(KernelCollection.Name)]
public class RingBufferReaderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly int Page = Environment.SystemPageSize;

    [Theory]
    [InlineData(EmitKind.RingbufOutput, 8)]
    [InlineData(EmitKind.RingbufOutput, 128)]
    [InlineData(EmitKind.RingbufReserveSubmit, 8)]
    [InlineData(EmitKind.RingbufReserveSubmit, 128)]
    public void EveryRecordArrivesOnceInOrderFromBothCpus(EmitKind kind, int size)
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", 1 << 20);
        using var drops = EventPrograms.DropCounter();
        using var prog = EventPrograms.Load(kind, rb, size, count: 500, drops);
        using var reader = new RingBufferReader(rb, drops);
        var cpus = EventPrograms.OnlineCpus();
        ulong expected = 0;
        int runs = 0;
        var seen = new List<ulong>();
        for (int round = 0; round < 6; round++)
        {
            int cpu = cpus[round % cpus.Length];
            EventPrograms.Run(prog, (ulong)runs * 500, cpu);
            runs++;
            if (round % 2 == 1)
                reader.Consume(r =>
                {
                    Assert.Equal(size, r.Data.Length);
                    Assert.Equal(-1, r.Cpu);
                    Assert.Equal(0, r.Source);
                    ulong seq = r.Read<ulong>();
                    if (size >= 16) Assert.Equal(seq, BinaryPrimitives.ReadUInt64LittleEndian(r.Data[^8..]));
                    seen.Add(seq);
                });
        }
        Assert.Equal(runs * 500, seen.Count);
        foreach (ulong s in seen) Assert.Equal(expected++, s);
        Assert.Equal(0, reader.LostRecords);
        Assert.Equal(0, reader.AvailableBytes(0));
        Assert.Equal(0, reader.Consume(_ => Assert.Fail("no record left")));
    }

    [Fact]
    public void DiscardedRecordsAreSkipped()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page * 4);
        using var prog = EventPrograms.Load(EmitKind.RingbufReserveDiscardOdd, rb, 24, count: 100);
        using var reader = new RingBufferReader(rb);
        EventPrograms.Run(prog, 1000, 0);
        var seen = new List<ulong>();
        Assert.Equal(50, reader.Consume(r => seen.Add(r.Read<ulong>())));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => 1000UL + 2 * (ulong)i), seen);
        Assert.Equal(0, reader.AvailableBytes(0));
    }

    [Theory]
    [InlineData(4000)]
    [InlineData(4088)] // with its 8-byte header exactly one page
    [InlineData(8184)]
    public void LargeRecordsWrapAroundTheRingEnd(int size)
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page * 4);
        using var prog = EventPrograms.Load(EmitKind.RingbufReserveSubmit, rb, size, count: 1);
        using var reader = new RingBufferReader(rb);
        var record = new Record();
        // 40 records through a 16 KiB ring: positions pass the end many times, at varying offsets
        for (ulong i = 0; i < 40; i++)
        {
            EventPrograms.Run(prog, i, (int)(i % (ulong)EventPrograms.OnlineCpus().Length));
            Assert.True(reader.TryRead(ref record));
            Assert.Equal(size, record.Length);
            Assert.Equal(i, record.Read<ulong>());
            Assert.Equal(i, BinaryPrimitives.ReadUInt64LittleEndian(record.Data[^8..]));
        }
        Assert.False(reader.TryRead(ref record));
    }

    [Fact]
    public void ReadIntoReusesTheRecordWithoutAllocating()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", 1 << 20);
        using var prog = EventPrograms.Load(EmitKind.RingbufOutput, rb, 128, count: 1000);
        using var reader = new RingBufferReader(rb);
        var record = new Record();
        EventPrograms.Run(prog, 0, 0);
        Assert.True(reader.ReadInto(ref record, TimeSpan.Zero, Ct)); // first read sizes the buffer
        EventPrograms.Run(prog, 1000, 0);
        ulong sum = 0;
        RecordHandler handler = r => sum += r.Read<ulong>();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 1; i < 1000; i++)
        {
            Assert.True(reader.ReadInto(ref record, TimeSpan.Zero, Ct));
            sum += record.Read<ulong>();
        }
        int polled = reader.Poll(handler, TimeSpan.Zero, Ct);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, polled);
        Assert.Equal(Enumerable.Range(1, 1999).Sum(i => (long)i), (long)sum);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task SeveralRingBuffersShareOneReader()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rbA = RingBufMap.Create("t_rb_a", (uint)Page * 4);
        using var rbB = RingBufMap.Create("t_rb_b", (uint)Page * 8);
        using var progA = EventPrograms.Load(EmitKind.RingbufOutput, rbA, 8, count: 10);
        using var progB = EventPrograms.Load(EmitKind.RingbufReserveSubmit, rbB, 16, count: 20);
        using var reader = new RingBufferReader();
        Assert.Equal(0, reader.Add(rbA));
        Assert.Equal(1, reader.Add(rbB));
        Assert.Equal(2, reader.Count);
        Assert.Equal(Page * 8, reader.RingSize(1));

        var bySource = new List<ulong>[] { [], [] };
        var waiter = Task.Run(() => reader.Poll(r => bySource[r.Source].Add(r.Read<ulong>()), TimeSpan.FromSeconds(10)), Ct);
        await Task.Delay(100, Ct);
        EventPrograms.Run(progB, 500, 0);
        Assert.Equal(20, await waiter.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        EventPrograms.Run(progA, 100, 0);
        EventPrograms.Run(progB, 600, 0);
        int n = 0;
        while (n < 30) n += reader.Poll(r => bySource[r.Source].Add(r.Read<ulong>()), TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(Enumerable.Range(100, 10).Select(i => (ulong)i), bySource[0]);
        Assert.Equal(Enumerable.Range(500, 20).Concat(Enumerable.Range(600, 20)).Select(i => (ulong)i), bySource[1]);
    }

    [Fact]
    public void PollTimesOutWithZero()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page);
        using var reader = new RingBufferReader(rb);
        var sw = Stopwatch.StartNew();
        Assert.Equal(0, reader.Poll(_ => { }, TimeSpan.FromMilliseconds(100), Ct));
        Assert.InRange(sw.ElapsedMilliseconds, 90, 5000);
        var record = new Record();
        Assert.False(reader.ReadInto(ref record, TimeSpan.FromMilliseconds(20), Ct));
    }

    [Fact]
    public async Task CloseWakesAWaitingThreadPromptly()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page);
        var reader = new RingBufferReader(rb);
        var started = new ManualResetEventSlim();
        var poll = Task.Run(() =>
        {
            started.Set();
            return reader.Poll(_ => { }, Timeout.InfiniteTimeSpan);
        }, Ct);
        var readInto = Task.Run(() =>
        {
            var record = new Record();
            return reader.ReadInto(ref record, Timeout.InfiniteTimeSpan);
        }, Ct);
        started.Wait(Ct);
        await Task.Delay(200, Ct);
        Assert.False(poll.IsCompleted);
        Assert.False(readInto.IsCompleted);
        var sw = Stopwatch.StartNew();
        reader.Close();
        Assert.Equal(0, await poll.WaitAsync(TimeSpan.FromSeconds(2), Ct));
        Assert.False(await readInto.WaitAsync(TimeSpan.FromSeconds(2), Ct));
        Assert.InRange(sw.ElapsedMilliseconds, 0, 1000);
        Assert.True(reader.IsClosed);
        Assert.Equal(0, reader.Poll(_ => { }, TimeSpan.FromSeconds(1), Ct)); // after close: returns at once
        reader.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => reader.Add(rb));
    }

    [Fact]
    public async Task CancellationWakesAWaitingThreadWithOperationCanceled()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page);
        using var prog = EventPrograms.Load(EmitKind.RingbufOutput, rb, 8, count: 3);
        using var reader = new RingBufferReader(rb);
        using var cts = new CancellationTokenSource();
        var poll = Task.Run(() => reader.Poll(_ => { }, Timeout.InfiniteTimeSpan, cts.Token), Ct);
        await Task.Delay(200, Ct);
        var sw = Stopwatch.StartNew();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => poll.WaitAsync(TimeSpan.FromSeconds(2), Ct));
        Assert.InRange(sw.ElapsedMilliseconds, 0, 1000);
        // the reader still works after a cancelled wait, and the stale wake-up does not end the next wait early
        var waiter = Task.Run(() => reader.Poll(_ => { }, TimeSpan.FromSeconds(10)), Ct);
        await Task.Delay(100, Ct);
        Assert.False(waiter.IsCompleted);
        EventPrograms.Run(prog, 0, 0);
        Assert.Equal(3, await waiter.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Fact]
    public async Task AsyncEnumerationYieldsTypedRecordsUntilClosed()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", 1 << 16);
        using var prog = EventPrograms.Load(EmitKind.RingbufOutput, rb, 8, count: 100);
        var reader = new RingBufferReader(rb);
        var got = new List<ulong>();
        var consume = Task.Run(async () =>
        {
            await foreach (ulong v in reader.ReadAllAsync<ulong>(Ct))
                lock (got) got.Add(v);
        }, Ct);
        EventPrograms.Run(prog, 0, 0);
        await Task.Delay(200, Ct);
        EventPrograms.Run(prog, 100, 1 % EventPrograms.OnlineCpus().Length);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Count(got) < 200 && DateTime.UtcNow < deadline) await Task.Delay(10, Ct);
        reader.Close();
        await consume.WaitAsync(TimeSpan.FromSeconds(2), Ct);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (ulong)i), got);
    }

    private static int Count(List<ulong> list)
    {
        lock (list) return list.Count;
    }

    [Fact]
    public async Task AsyncEnumerationStopsOnCancellation()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page);
        using var reader = new RingBufferReader(rb);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (ulong _ in reader.ReadAllAsync<ulong>(cts.Token).WithCancellation(Ct)) { }
        });
        Assert.InRange(sw.ElapsedMilliseconds, 100, 2000);
    }

    [Fact]
    public async Task AsyncEnumerationRejectsShortRecordsAfterDeliveringTheOnesBefore()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page);
        using var prog8 = EventPrograms.Load(EmitKind.RingbufOutput, rb, 8, count: 2);
        using var prog16 = EventPrograms.Load(EmitKind.RingbufOutput, rb, 16, count: 1);
        using var reader = new RingBufferReader(rb);
        EventPrograms.Run(prog16, 7, 0);
        EventPrograms.Run(prog8, 9, 0);
        var got = new List<(ulong, ulong)>();
        var ex = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var v in reader.ReadAllAsync<(ulong, ulong)>(Ct)) got.Add(v);
        });
        Assert.Contains("8-byte record", ex.Message);
        Assert.Equal([(7UL, 7UL)], got);
        // the short record was consumed; the next one is still there
        var record = new Record();
        Assert.True(reader.TryRead(ref record));
        Assert.Equal(10UL, record.Read<ulong>());
    }

    [Fact]
    public void FailedReservationsAreCountedByTheProducerAndReported()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page);
        using var drops = EventPrograms.DropCounter();
        using var prog = EventPrograms.Load(EmitKind.RingbufReserveSubmit, rb, 8, count: 1000, drops);
        using var reader = new RingBufferReader(rb, drops);
        var cpus = EventPrograms.OnlineCpus();
        EventPrograms.Run(prog, 0, cpus[0]);
        EventPrograms.Run(prog, 1000, cpus[^1]);
        int read = reader.Consume(_ => { });
        // 8-byte records take 16 bytes with their header; the kernel keeps the producer less than a full ring ahead
        Assert.Equal(Page / 16 - 1, read);
        Assert.Equal(2000 - read, reader.LostRecords);
    }

    [Fact]
    public void AHandlerExceptionConsumesItsRecordAndPropagates()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page);
        using var prog = EventPrograms.Load(EmitKind.RingbufOutput, rb, 8, count: 3);
        using var reader = new RingBufferReader(rb);
        EventPrograms.Run(prog, 0, 0);
        Assert.Throws<InvalidOperationException>(() => reader.Consume(r =>
        {
            if (r.Read<ulong>() == 1) throw new InvalidOperationException("boom");
        }));
        var rest = new List<ulong>();
        reader.Consume(r => rest.Add(r.Read<ulong>()));
        Assert.Equal([2UL], rest);
    }

    [Fact]
    public void CloseFromInsideAHandlerStopsTheBatchAndReleases()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page);
        using var prog = EventPrograms.Load(EmitKind.RingbufOutput, rb, 8, count: 10);
        var reader = new RingBufferReader(rb);
        EventPrograms.Run(prog, 0, 0);
        int n = reader.Consume(r =>
        {
            if (r.Read<ulong>() == 3) reader.Close();
        });
        Assert.Equal(4, n);
        Assert.True(reader.IsClosed);
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var rb = RingBufMap.Create("t_rb", (uint)Page);
        using var drops = EventPrograms.DropCounter();
        using var reader = new RingBufferReader(rb);
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.AvailableBytes(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.Add(rb, drops, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.Poll(_ => { }, TimeSpan.FromMilliseconds(-5), Ct));
        Assert.Throws<ArgumentNullException>(() => reader.Consume(null!));
        var disposed = RingBufMap.Create("t_rb2", (uint)Page);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => reader.Add(disposed));
    }
}
