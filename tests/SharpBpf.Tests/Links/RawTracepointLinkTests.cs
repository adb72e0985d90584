using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Links.TracingTestSupport;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class RawTracepointLinkTests
{
    private const int Calls = 50;

    /// <summary>sys_enter(struct pt_regs *regs, long id): args[1] is the syscall number.</summary>
    private const short SyscallIdArg = 8;

    [Fact]
    public void SysEnterCountsGetpidAndSeesTheCookieUntilDisposed()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_rawtp_count", 2);
        bool cookies = KernelTest.Has("raw-tracepoint-cookie");
        using var prog = Load(ProgramType.RawTracepoint, "sb_rawtp_getpid", counters, SyscallIdArg, cookies);
        ulong cookie = cookies ? 0xfeed_beef : 0;
        if (!cookies)
        {
            // Before 6.10 the kernel's attr has no cookie: a non-zero one is EINVAL (its bytes lie inside the kernel's
            // bpf_attr, past the command's last field), and the error says why.
            var e = Assert.Throws<BpfException>(() => RawTracepointLink.Attach(prog, "sys_enter", 0xfeed_beef));
            Assert.Equal(22 /* EINVAL */, e.Errno);
            Assert.Contains("a cookie needs Linux 6.10", e.Message);
        }

        var link = RawTracepointLink.Attach(prog, "sys_enter", cookie);
        try
        {
            Assert.Equal(LinkType.RawTracepoint, link.Type);
            Assert.Equal(LinkType.RawTracepoint, link.GetInfo().Type);
            Assert.Equal(prog.Id, link.ProgramId);
            Assert.Equal("sys_enter", link.Name);
            Assert.Contains(link.Id, BpfLink.EnumerateIds());
        }
        catch
        {
            link.Dispose();
            throw;
        }
        AssertCountsUntilDisposed(link, counters, cookie, Calls);
    }

    [Fact]
    public void UnknownTracepointIsENOENT()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_rawtp_unknown", 2);
        using var prog = Load(ProgramType.RawTracepoint, "sb_rawtp_unk", counters, cookie: KernelTest.Has("raw-tracepoint-cookie"));
        var e = Assert.Throws<BpfException>(() => RawTracepointLink.Attach(prog, "no_such_tracepoint_sb"));
        Assert.Equal("BPF_RAW_TRACEPOINT_OPEN", e.Operation);
        Assert.Equal(2 /* ENOENT */, e.Errno);
        Assert.Contains("no_such_tracepoint_sb", e.Message);
    }

    [Fact]
    public void WrongProgramTypeIsRejected()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counters = ArrayMap<ulong>.Create("sb_rawtp_wrong", 2);
        using var prog = Load(ProgramType.Tracepoint, "sb_rawtp_wrong", counters);
        Assert.Throws<ArgumentException>(() => RawTracepointLink.Attach(prog, "sys_enter"));
    }
}
