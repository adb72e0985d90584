using System.Diagnostics;
using SharpBpf.Asm;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Links.TracingTestSupport;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class PerfEventLinkTests
{
    /// <summary>A perf_event program: per-CPU slot 0 += 1, slot 1 = bpf_get_attach_cookie(ctx).</summary>
    private static BpfProgram LoadSampler(PerCpuArrayMap<ulong> counts)
    {
        var b = new InstructionBuilder()
            .Mov64(Register.R6, Register.R1)
            .Call(GetAttachCookie)
            .Mov64(Register.R7, Register.R0)
            .StoreImm(MemorySize.Word, Register.R10, -4, 0)
            .LoadMapFd(Register.R1, counts.Fd)
            .Mov64(Register.R2, Register.R10)
            .Add64(Register.R2, -4)
            .Call(MapLookupElem)
            .Jump(JumpOp.Jeq, Register.R0, 0, "out")
            .Load(MemorySize.DWord, Register.R1, Register.R0, 0)
            .Add64(Register.R1, 1)
            .Store(MemorySize.DWord, Register.R0, 0, Register.R1)
            .StoreImm(MemorySize.Word, Register.R10, -4, 1)
            .LoadMapFd(Register.R1, counts.Fd)
            .Mov64(Register.R2, Register.R10)
            .Add64(Register.R2, -4)
            .Call(MapLookupElem)
            .Jump(JumpOp.Jeq, Register.R0, 0, "out")
            .Store(MemorySize.DWord, Register.R0, 0, Register.R7)
            .Label("out")
            .Mov64(Register.R0, 0)
            .Exit();
        return BpfProgram.Load(new ProgramSpec { Name = "sb_sampler", Type = ProgramType.PerfEvent, License = "GPL", Instructions = b.Build() });
    }

    private static void BurnAllCpus(TimeSpan duration)
    {
        var threads = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Thread(() =>
        {
            var sw = Stopwatch.StartNew();
            ulong x = 1;
            while (sw.Elapsed < duration) x = x * 6364136223846793005 + 1;
            GC.KeepAlive(x);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
    }

    [Fact]
    public void CpuClockSamplesAreCountedOnEveryCpu()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counts = PerCpuArrayMap<ulong>.Create("sb_samples", 2);
        using var prog = LoadSampler(counts);
        var cpus = PerfEventLink.OnlineCpus();
        const ulong cookie = 0xfeed;
        var values = new ulong[counts.CpuCount];
        using (var link = PerfEventLink.Attach(prog, PerfEventSource.CpuClock, new PerfEventOptions { SampleFrequency = 1000, Cookie = cookie }))
        {
            Assert.Equal(cpus, link.Links.Select(l => l.Cpu));
            foreach (var l in link.Links)
            {
                var info = Assert.IsType<PerfEventLinkInfo>(l.GetInfo());
                Assert.Equal(l.Id, info.Id);
                Assert.Equal(prog.Id, l.ProgramId);
                if (!KernelTest.Has("perf-link-info")) continue; // the kernel reports no details before 6.6
                Assert.Equal(PerfEventKind.Event, info.Kind);
                // The PMU type as the kernel keeps it: PERF_TYPE_SOFTWARE (1) on older kernels; 6.18 reports cpu-clock's
                // own PMU type (6), so only "not a tracepoint/probe" is checked here.
                Assert.True(info.EventType is not (0 or 2), info.ToString());
                Assert.Equal(0ul, info.EventConfig); // PERF_COUNT_SW_CPU_CLOCK
                if (KernelTest.Has("perf-link-info-cookie")) Assert.Equal(cookie, info.Cookie);
                Assert.Contains(l.Id, BpfLink.EnumerateIds());
            }
            BurnAllCpus(TimeSpan.FromMilliseconds(600));
            counts.Lookup(0, values);
            // ~1000 samples a second per CPU while it burns: expect well over 50 on each in 0.6 s.
            foreach (int cpu in cpus)
                Assert.True(values[cpu] > 50, $"CPU {cpu}: {values[cpu]} samples (all: {string.Join(", ", values)})");
            counts.Lookup(1, values);
            foreach (int cpu in cpus) Assert.Equal(cookie, values[cpu]);
            var ids = link.Links.Select(l => l.Id).ToList();
            link.Dispose();
            Assert.DoesNotContain(BpfLink.EnumerateIds(), ids.Contains);
        }
        counts.Lookup(0, values);
        ulong total = values.Aggregate(0ul, (a, v) => a + v);
        BurnAllCpus(TimeSpan.FromMilliseconds(100));
        counts.Lookup(0, values);
        Assert.Equal(total, values.Aggregate(0ul, (a, v) => a + v));
    }

    [Fact]
    public void SamplePeriodOnOneCpuAndOptionErrors()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counts = PerCpuArrayMap<ulong>.Create("sb_samples1", 2);
        using var prog = LoadSampler(counts);
        var values = new ulong[counts.CpuCount];
        using (var link = PerfEventLink.Attach(prog, PerfEventSource.CpuClock, new PerfEventOptions { SamplePeriod = 1_000_000, Cpus = [0] }))
        {
            Assert.Single(link.Links);
            BurnAllCpus(TimeSpan.FromMilliseconds(300));
        }
        counts.Lookup(0, values);
        Assert.True(values[0] > 10, $"CPU 0: {values[0]} samples at a 1 ms period");
        for (int cpu = 1; cpu < values.Length; cpu++) Assert.Equal(0ul, values[cpu]);

        Assert.Throws<ArgumentException>(() => PerfEventLink.Attach(prog, PerfEventSource.CpuClock, new PerfEventOptions { SamplePeriod = 1, SampleFrequency = 1 }));
        Assert.Throws<ArgumentException>(() => PerfEventLink.Attach(prog, PerfEventSource.CpuClock, new PerfEventOptions { Cpus = [] }));
        // A CPU that does not exist fails the whole attach and leaves nothing behind (the fd check proves it).
        var e = Assert.ThrowsAny<Exception>(() => PerfEventLink.Attach(prog, PerfEventSource.CpuClock, new PerfEventOptions { Cpus = [0, 4095] }));
        Assert.True(e is BpfException or NotSupportedByKernelException, e.ToString());
        Assert.Contains("CPU 4095", e.Message);
    }

    [Fact]
    public void IoctlFallbackAndWrongProgramType()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counts = PerCpuArrayMap<ulong>.Create("sb_samples2", 2);
        using var prog = LoadSampler(counts);
        PerfEventAttach.ForceIoctl = true;
        try
        {
            using var link = PerfEventLink.Attach(prog, PerfEventSource.CpuClock, new PerfEventOptions { SampleFrequency = 1000 });
            Assert.All(link.Links, l => Assert.True(l.IsIoctlAttachment));
            BurnAllCpus(TimeSpan.FromMilliseconds(300));
        }
        finally
        {
            PerfEventAttach.ForceIoctl = false;
        }
        var values = new ulong[counts.CpuCount];
        counts.Lookup(0, values);
        Assert.True(values.Aggregate(0ul, (a, v) => a + v) > 20);

        using var tpCounters = ArrayMap<ulong>.Create("sb_pe_wrong", 2);
        using var tp = Load(ProgramType.Tracepoint, "sb_pe_wrong", tpCounters);
        Assert.Contains("PerfEvent program", Assert.Throws<ArgumentException>(() => PerfEventLink.Attach(tp, PerfEventSource.CpuClock)).Message);
    }

    [Fact]
    public void MissingHardwarePmuIsNotSupported()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counts = PerCpuArrayMap<ulong>.Create("sb_samples3", 2);
        using var prog = LoadSampler(counts);
        PerfEventLink? link = null;
        try
        {
            link = PerfEventLink.Attach(prog, PerfEventSource.CpuCycles, new PerfEventOptions { SamplePeriod = 1_000_000 });
        }
        catch (NotSupportedByKernelException e)
        {
            KernelTest.RequireFeature("hardware-perf-events", e.Message);
        }
        using (link)
            Assert.NotEmpty(link!.Links);
    }
}
