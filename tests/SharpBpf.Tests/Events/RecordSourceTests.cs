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
}
