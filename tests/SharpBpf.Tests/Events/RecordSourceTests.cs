using SharpBpf.Events;
using SharpBpf.Maps;
using SharpBpf.TestUtilities;
using Record = SharpBpf.Events.Record;

namespace SharpBpf.Tests.Events;

/// <summary>Both kernel readers behave the same through <see cref="IRecordSource"/>.</summary>
[Collection(KernelCollection.Name)]
public class RecordSourceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Reads <paramref name="expected"/> records through the interface only, mixing the three read styles.</summary>
    private static List<ulong> ReadThroughInterface(IRecordSource source, int expected)
    {
        var got = new List<ulong>();
        var record = new Record();
        Assert.True(source.ReadInto(ref record, TimeSpan.FromSeconds(5), Ct));
        got.Add(record.Read<ulong>());
        Assert.True(source.ReadInto(ref record, TimeSpan.Zero, Ct));
        got.Add(record.Read<ulong>());
        while (got.Count < expected)
            Assert.NotEqual(0, source.Poll(r => got.Add(r.Read<ulong>()), TimeSpan.FromSeconds(5), Ct));
        Assert.Equal(0, source.Consume(_ => Assert.Fail("no record left")));
        Assert.Equal(0, source.LostRecords);
        Assert.False(source.IsClosed);
        source.Close();
        Assert.True(source.IsClosed);
        Assert.False(source.ReadInto(ref record, TimeSpan.FromSeconds(5), Ct));
        return got;
    }

    [Fact]
    public void RingBufferAndPerfReadersAreInterchangeable()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        int cpu = EventPrograms.OnlineCpus()[0];

        using var rb = RingBufMap.Create("t_rb", 1 << 16);
        using var one = EventPrograms.Load(EmitKind.RingbufOutput, rb, 8, count: 1);
        using var many = EventPrograms.Load(EmitKind.RingbufOutput, rb, 8, count: 30);
        using IRecordSource ring = new RingBufferReader(rb);
        EventPrograms.Run(one, 0, cpu);
        EventPrograms.Run(one, 1, cpu);
        EventPrograms.Run(many, 2, cpu);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (ulong)i), ReadThroughInterface(ring, 32));

        using var array = PerfEventArray.Create("t_perf");
        using var perfOne = EventPrograms.Load(EmitKind.PerfEventOutput, array, 8, count: 1);
        using var perfMany = EventPrograms.Load(EmitKind.PerfEventOutput, array, 8, count: 30);
        using IRecordSource perf = new PerfEventReader(array, new PerfEventReaderOptions { Cpus = [cpu], PagesPerCpu = 4 });
        EventPrograms.Run(perfOne, 0, cpu);
        EventPrograms.Run(perfOne, 1, cpu);
        EventPrograms.Run(perfMany, 2, cpu);
        Assert.Equal(Enumerable.Range(0, 32).Select(i => (ulong)i), ReadThroughInterface(perf, 32));
    }

    private struct SeqCollector : IRecordHandler
    {
        public long Count;
        public ulong Sum;
        public ulong Last;
        public bool InOrder;

        public void Handle(EventRecord record)
        {
            ulong seq = record.Read<ulong>();
            InOrder &= Count == 0 || seq == Last + 1;
            Last = seq;
            Sum += seq;
            Count++;
        }
    }

    [Fact]
    public void StructHandlersSeeEveryRecordWithoutAllocating()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        int cpu = EventPrograms.OnlineCpus()[0];
        using var rb = RingBufMap.Create("t_rb", 1 << 20);
        using var ringProg = EventPrograms.Load(EmitKind.RingbufReserveSubmit, rb, 16, count: 1000);
        using var array = PerfEventArray.Create("t_perf");
        using var perfProg = EventPrograms.Load(EmitKind.PerfEventOutput, array, 16, count: 1000);
        using IRecordSource ring = new RingBufferReader(rb);
        using IRecordSource perf = new PerfEventReader(array, new PerfEventReaderOptions { Cpus = [cpu] });
        // warm up every call measured below: the first call of a generic interface method with a new struct
        // argument resolves its dispatch and instantiation, which allocates once (whether it already happened
        // depends on which tests ran before in this process)
        var warm = new SeqCollector { InOrder = true };
        for (int round = 0; round < 2; round++)
        {
            EventPrograms.Run(ringProg, 0, cpu);
            EventPrograms.Run(perfProg, 0, cpu);
            if (round == 0)
            {
                ring.Consume(ref warm);
                perf.Poll(ref warm, TimeSpan.Zero, Ct);
            }
            else
            {
                ring.Poll(ref warm, TimeSpan.Zero, Ct);
                perf.Consume(ref warm);
            }
        }

        EventPrograms.Run(ringProg, 1000, cpu);
        EventPrograms.Run(perfProg, 1000, cpu);
        var fromRing = new SeqCollector { InOrder = true };
        var fromPerf = new SeqCollector { InOrder = true };
        long before = GC.GetAllocatedBytesForCurrentThread();
        int r = ring.Poll(ref fromRing, TimeSpan.Zero, Ct);
        int p = perf.Consume(ref fromPerf);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        foreach (var (n, c) in new[] { (r, fromRing), (p, fromPerf) })
        {
            Assert.Equal(1000, n);
            Assert.Equal(1000, c.Count);
            Assert.True(c.InOrder);
            Assert.Equal(1999UL, c.Last);
            Assert.Equal((ulong)Enumerable.Range(1000, 1000).Sum(), c.Sum);
        }
    }
}
