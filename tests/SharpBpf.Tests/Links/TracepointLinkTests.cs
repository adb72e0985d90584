using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Links.TracingTestSupport;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class TracepointLinkTests
{
    private const int Calls = 50;

    [Fact]
    public void CountsGetpidAndSeesTheCookieUntilDisposed()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_tp_count", 2);
        using var prog = Load(ProgramType.Tracepoint, "sb_tp_getpid", counters);
        const ulong cookie = 0x1234_5678_9abc_def0;

        var link = TracepointLink.Attach(prog, "syscalls", "sys_enter_getpid", cookie);
        try
        {
            Assert.Equal(LinkType.PerfEvent, link.Type);
            var info = Assert.IsType<PerfEventLinkInfo>(link.GetInfo());
            Assert.Equal(LinkType.PerfEvent, info.Type);
            if (KernelTest.Has("perf-link-info"))
            {
                Assert.Equal(PerfEventKind.Tracepoint, info.Kind);
                Assert.Equal("sys_enter_getpid", info.Name);
            }
            if (KernelTest.Has("perf-link-info-cookie")) Assert.Equal(cookie, info.Cookie);
            Assert.Equal(prog.Id, link.ProgramId);
            Assert.Equal(cookie, link.Cookie);
            Assert.True(link.PerfEventFd >= 0);
            Assert.Equal(ulong.Parse(File.ReadAllText("/sys/kernel/tracing/events/syscalls/sys_enter_getpid/id").Trim()), link.TracepointId);
            Assert.Contains(link.Id, BpfLink.EnumerateIds());
        }
        catch
        {
            link.Dispose();
            throw;
        }
        AssertCountsUntilDisposed(link, counters, cookie, Calls);
        Assert.Throws<ObjectDisposedException>(() => link.PerfEventFd);
    }

    [Fact]
    public void ZeroCookieByDefault()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_tp_nocookie", 2);
        counters[1] = 99;
        using var prog = Load(ProgramType.Tracepoint, "sb_tp_nocookie", counters);
        using (TracepointLink.Attach(prog, "syscalls", "sys_enter_getpid"))
            CallGetpid(3);
        Assert.True(counters[0] >= 3);
        Assert.Equal(0ul, counters[1]);
    }

    [Fact]
    public void UnknownTracepointIsAnArgumentError()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_tp_unknown", 2);
        using var prog = Load(ProgramType.Tracepoint, "sb_tp_unknown", counters);
        var e = Assert.Throws<ArgumentException>(() => TracepointLink.Attach(prog, "syscalls", "sys_enter_no_such_call"));
        Assert.Contains("syscalls/sys_enter_no_such_call", e.Message);
        Assert.Throws<ArgumentException>(() => TracepointLink.Attach(prog, "../syscalls", "sys_enter_getpid"));
    }

    [Fact]
    public void WrongProgramTypeIsRejected()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_tp_wrong", 2);
        using var prog = Load(ProgramType.RawTracepoint, "sb_tp_wrong", counters, cookie: KernelTest.Has("raw-tracepoint-cookie"));
        var e = Assert.Throws<ArgumentException>(() => TracepointLink.Attach(prog, "syscalls", "sys_enter_getpid"));
        Assert.Contains("Tracepoint program", e.Message);
    }
}
