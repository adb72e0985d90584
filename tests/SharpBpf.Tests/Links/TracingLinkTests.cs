using SharpBpf.Links;
using SharpBpf.Programs;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Links.TracingAttachSupport;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class TracingLinkTests
{
    private const int Execs = 5;

    [Fact]
    public void TracepointCountsExecsOfTrueUntilDisposed()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load("count_exec");
        var link = TracepointLink.Attach(c.Programs["count_exec"], "sched", "sched_process_exec");
        try
        {
            RunTrue(Execs);
            Assert.InRange(Count(c, 0), (ulong)Execs, (ulong)Execs + 20); // other processes may run true too
            var info = Assert.IsType<PerfEventLinkInfo>(link.GetInfo());
            if (KernelTest.Has("perf-link-info"))
            {
                Assert.Equal(PerfEventKind.Tracepoint, info.Kind);
                Assert.Equal("sched_process_exec", info.Name);
            }
        }
        finally
        {
            link.Dispose();
        }
        ulong before = Count(c, 0);
        RunTrue(2);
        Assert.InRange(Count(c, 0), before, before + 1); // stopped (one stray exec of true elsewhere tolerated)
    }

    [Fact]
    public void TpBtfCountsExecsAndIsARawTracepointLink()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load("count_exec_btf");
        var prog = c.Programs["count_exec_btf"];
        Assert.Equal(ProgramType.Tracing, prog.Type);
        Assert.Equal(AttachType.TraceRawTp, prog.ExpectedAttachType);
        using (var link = TracingLink.Attach(prog))
        {
            Assert.Equal(LinkType.RawTracepoint, link.Type);
            Assert.Equal(AttachType.TraceRawTp, link.AttachType);
            var info = Assert.IsType<RawTracepointLinkInfo>(link.GetInfo());
            Assert.Equal("sched_process_exec", info.Name);
            Assert.Equal(prog.Id, info.ProgramId);
            RunTrue(Execs);
            Assert.True(Count(c, 1) >= Execs, $"tp_btf counted {Count(c, 1)} execs of true, expected {Execs}");

            using var reopened = BpfLink.FromId(link.Id);
            var raw = Assert.IsType<RawTracepointLink>(reopened);
            Assert.Equal("sched_process_exec", raw.Name);
        }
        ulong before = Count(c, 1);
        RunTrue(2);
        Assert.InRange(Count(c, 1), before, before + 1);
    }

    [Fact]
    public void TpBtfCookieIsReportedByTheKernel()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load("count_exec_btf");
        using var link = TracingLink.Attach(c.Programs["count_exec_btf"], cookie: 0xC0FFEE);
        Assert.Equal(0xC0FFEEul, link.Cookie);
        // Before 6.10 raw tracepoint links (tp_btf included) have no cookie: the kernel neither keeps nor reports it.
        ulong expected = KernelTest.Has("raw-tracepoint-cookie-info") ? 0xC0FFEEul : 0;
        Assert.Equal(expected, Assert.IsType<RawTracepointLinkInfo>(link.GetInfo()).Cookie);
        using var reopened = Assert.IsType<RawTracepointLink>(BpfLink.FromId(link.Id));
        Assert.Equal(expected, reopened.Cookie);
    }

    [Fact]
    public void TracingLinkRefusesIteratorAndOtherPrograms()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load("dump_tasks", "count_exec");
        Assert.Contains("IterLink", Assert.Throws<ArgumentException>(() => TracingLink.Attach(c.Programs["dump_tasks"])).Message);
        Assert.Throws<ArgumentException>(() => TracingLink.Attach(c.Programs["count_exec"]));
        Assert.Throws<ArgumentException>(() => IterLink.Attach(c.Programs["count_exec"]));
    }

    [Fact]
    public void FentryCountsUnlinks()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("tracing_btf.bpf.o");
        foreach (var p in spec.Programs.Values) p.AutoLoad = p.Name is "fentry_unlink" or "fexit_unlink";
        BpfCollection c;
        try
        {
            c = BpfCollection.Load(spec);
        }
        catch (CollectionLoadException e) when (e.InnerException is BpfException { Errno: 1 })
        {
            KernelTest.RequireFeature("fentry-load", e.Message);
            return;
        }
        using (c)
        using (var links = c.AttachAll())
        {
            Assert.Equal(2, links.Count);
            var info = Assert.IsType<TracingLinkInfo>(links["fentry_unlink"].GetInfo());
            Assert.Equal(AttachType.TraceFentry, info.AttachType);
            Assert.NotEqual(0u, info.TargetBtfId);
            string file = Path.GetTempFileName();
            File.Delete(file);
            Span<byte> hits = stackalloc byte[8];
            c.Maps[".bss"].Lookup(BitConverter.GetBytes(0), hits);
            Assert.True(BitConverter.ToUInt64(hits) >= 1, "fentry on do_unlinkat did not count the unlink");
        }
    }

    [Fact]
    public void LsmHookAttaches()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("lsm.bpf.o");
        foreach (var p in spec.Programs.Values) p.AutoLoad = p.Name == "lsm_file_open";
        BpfCollection c;
        try
        {
            c = BpfCollection.Load(spec);
        }
        catch (CollectionLoadException e) when (e.InnerException is BpfException { Errno: 1 })
        {
            KernelTest.RequireFeature("lsm-load", e.Message);
            return;
        }
        using (c)
        using (var link = TracingLink.Attach(c.Programs["lsm_file_open"]))
        {
            Assert.Equal(LinkType.Tracing, link.Type);
            Assert.Equal(AttachType.LsmMac, Assert.IsType<TracingLinkInfo>(link.GetInfo()).AttachType);
            using var again = Assert.IsType<TracingLink>(BpfLink.FromId(link.Id));
            Assert.Equal(AttachType.LsmMac, again.AttachType);
        }
    }
}
