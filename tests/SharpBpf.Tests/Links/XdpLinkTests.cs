using System.Net;
using System.Net.Sockets;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Pinning;
using SharpBpf.Programs;
using SharpBpf.Tests.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class XdpLinkTests
{
    private const ushort Port = 9;

    /// <summary>A UDP receiver bound to <paramref name="address"/>:9 inside <paramref name="ns"/>.</summary>
    private static Socket Receiver(NetNs ns, IPAddress address) => ns.Run(() =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        s.Bind(new IPEndPoint(address, Port));
        return s;
    });

    /// <summary>Sends <paramref name="count"/> datagrams from inside <paramref name="from"/> and waits until the
    /// receiver got them all: by then XDP has seen each one.</summary>
    private static void SendAndReceive(NetNs from, Socket receiver, IPAddress to, int count)
    {
        from.Run(() =>
        {
            using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            for (int i = 0; i < count; i++) sender.SendTo([(byte)i, 1, 2, 3], new IPEndPoint(to, Port));
        });
        var buffer = new byte[64];
        for (int i = 0; i < count; i++) Assert.Equal(4, receiver.Receive(buffer));
    }

    [Fact]
    public void GenericModeOnLoopbackCountsPackets()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        using var counters = TestPrograms.CounterMap("sb_xdp_lo");
        using var prog = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(Port, counters), "sb_xdp_count");
        using var receiver = Receiver(ns, IPAddress.Loopback);

        using var link = ns.Run(() => XdpLink.Attach(prog, "lo", XdpAttachMode.Generic));
        Assert.Equal(XdpAttachMode.Generic, link.Mode);
        Assert.Equal(ns.IfIndex("lo"), link.IfIndex);
        Assert.Equal(LinkType.Xdp, link.Type);
        Assert.Equal(prog.Id, link.ProgramId);
        var info = Assert.IsType<XdpLinkInfo>(link.GetInfo());
        Assert.Equal((uint)link.IfIndex, info.IfIndex);
        Assert.Contains(link.Id, BpfLink.EnumerateIds());

        SendAndReceive(ns, receiver, IPAddress.Loopback, 5);
        Assert.Equal(5ul, TestPrograms.ReadCounter(counters, 0));

        link.Dispose();
        SendAndReceive(ns, receiver, IPAddress.Loopback, 2);
        Assert.Equal(5ul, TestPrograms.ReadCounter(counters, 0));
    }

    [Fact]
    public void NativeModeOnVethCountsPacketsFromThePeer()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var a = NetNs.Create();
        using var b = NetNs.Create();
        a.Ip($"link add va type veth peer name vb netns {b.Name}");
        a.Ip("addr add 10.77.0.1/24 dev va");
        b.Ip("addr add 10.77.0.2/24 dev vb");
        a.Ip("link set va up");
        b.Ip("link set vb up");
        var target = IPAddress.Parse("10.77.0.2");

        using var counters = TestPrograms.CounterMap("sb_xdp_veth");
        using var prog = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(Port, counters), "sb_xdp_native");
        using var receiver = Receiver(b, target);
        using var link = b.Run(() => XdpLink.Attach(prog, "vb", XdpAttachMode.Native));
        Assert.Equal(XdpAttachMode.Native, link.Mode);
        Assert.Equal(b.IfIndex("vb"), link.IfIndex);
        Assert.Contains("xdp ", b.Ip("link show dev vb")); // native, not "xdpgeneric"

        SendAndReceive(a, receiver, target, 7);
        Assert.Equal(7ul, TestPrograms.ReadCounter(counters, 0));

        // only one XDP program per interface and mode
        var busy = Assert.Throws<BpfException>(() => b.Run(() => XdpLink.Attach(prog, "vb", XdpAttachMode.Native)));
        Assert.Equal("EBUSY", busy.ErrnoName);
        Assert.Contains("BPF_LINK_CREATE", busy.Message);
    }

    [Fact]
    public void UpdateReplacesTheProgramAndDetachStopsIt()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        using var counters = TestPrograms.CounterMap("sb_xdp_upd");
        using var first = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(Port, counters, 0), "sb_xdp_first");
        using var second = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(Port, counters, 1), "sb_xdp_second");
        using var receiver = Receiver(ns, IPAddress.Loopback);
        using var link = ns.Run(() => XdpLink.Attach(program: first, ifName: "lo", mode: XdpAttachMode.Generic));

        SendAndReceive(ns, receiver, IPAddress.Loopback, 3);
        link.Update(second);
        Assert.Equal(second.Id, link.ProgramId);
        SendAndReceive(ns, receiver, IPAddress.Loopback, 4);
        Assert.Equal(3ul, TestPrograms.ReadCounter(counters, 0));
        Assert.Equal(4ul, TestPrograms.ReadCounter(counters, 1));

        // replace only if the expected program is attached
        var ex = Assert.Throws<BpfException>(() => link.Update(first, oldProgram: first));
        Assert.Equal("EPERM", ex.ErrnoName);
        Assert.Contains("BPF_LINK_UPDATE", ex.Message);
        link.Update(first, oldProgram: second);
        Assert.Equal(first.Id, link.ProgramId);
        SendAndReceive(ns, receiver, IPAddress.Loopback, 1);
        Assert.Equal(4ul, TestPrograms.ReadCounter(counters, 0));

        link.Detach();
        Assert.Equal(0u, Assert.IsType<XdpLinkInfo>(link.GetInfo()).IfIndex);
        SendAndReceive(ns, receiver, IPAddress.Loopback, 2);
        Assert.Equal(4ul, TestPrograms.ReadCounter(counters, 0));
        Assert.Equal(4ul, TestPrograms.ReadCounter(counters, 1));
        Assert.Throws<BpfException>(() => link.Update(second)); // a defunct link cannot be updated
    }

    [Fact]
    public void PinnedLinkOutlivesTheObjectUntilUnpinned()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        using var counters = TestPrograms.CounterMap("sb_xdp_pin");
        using var prog = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(Port, counters), "sb_xdp_pinned");
        using var receiver = Receiver(ns, IPAddress.Loopback);
        string path = $"{BpfFs.DefaultPath}/sharpbpf-test-{Guid.NewGuid():N}";

        uint linkId;
        using (var link = ns.Run(() => XdpLink.Attach(prog, "lo", XdpAttachMode.Generic)))
        {
            link.Pin(path);
            linkId = link.Id;
        }
        try
        {
            SendAndReceive(ns, receiver, IPAddress.Loopback, 3);
            Assert.Equal(3ul, TestPrograms.ReadCounter(counters, 0));
            using (var reopened = BpfLink.FromPinned(path))
            {
                var xdp = Assert.IsType<XdpLink>(reopened);
                Assert.Equal(linkId, xdp.Id);
                Assert.Null(xdp.Mode);
                Assert.Equal(prog.Id, xdp.ProgramId);
            }
            using (var byId = BpfLink.FromId(linkId)) Assert.Equal(LinkType.Xdp, byId.Type);
            Assert.Throws<ArgumentException>(() => BpfProgram.FromPinned(path));
        }
        finally
        {
            BpfFs.Unpin(path);
        }
        // the kernel frees the link (and detaches) once the last reference is gone; that may be deferred
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (BpfLink.EnumerateIds().Contains(linkId) && DateTime.UtcNow < deadline) Thread.Sleep(10);
        Assert.DoesNotContain(linkId, BpfLink.EnumerateIds());
        SendAndReceive(ns, receiver, IPAddress.Loopback, 2);
        Assert.Equal(3ul, TestPrograms.ReadCounter(counters, 0));
        var gone = Assert.Throws<BpfException>(() => BpfLink.FromId(linkId));
        Assert.Equal("ENOENT", gone.ErrnoName);
    }

    [Fact]
    public void BadInputFailsBeforeAnySyscall()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var filter = BpfProgram.Load(new ProgramSpec
        {
            Name = "sb_not_xdp", Type = ProgramType.SocketFilter, License = "GPL",
            Instructions = [Insn.Mov64Imm(Insn.R0, 0), Insn.Exit()],
        });
        using var xdp = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(Port), "sb_xdp_bad");
        Assert.Throws<ArgumentException>(() => XdpLink.Attach(filter, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => XdpLink.Attach(xdp, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => XdpLink.Attach(xdp, 1, (XdpAttachMode)3));
        var ex = Assert.Throws<ArgumentException>(() => XdpLink.Attach(xdp, "sb-no-such-if"));
        Assert.Contains("sb-no-such-if", ex.Message);
        Assert.Throws<ArgumentException>(() => XdpLink.Attach(xdp, "a-name-far-too-long-for-linux"));
    }

    [Fact]
    public void TcxLinkShowsUpInProgQuery()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("tcx");
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        int lo = ns.IfIndex("lo");
        using var prog = BpfProgram.Load(new ProgramSpec
        {
            Name = "sb_tcx", Type = ProgramType.SchedCls, License = "GPL",
            Instructions = [Insn.Mov64Imm(Insn.R0, -1), Insn.Exit()], // TCX_NEXT
        });
        using var link = ns.Run(() => BpfLink.Create(prog, (uint)lo, AttachType.TcxIngress, 0, "to lo ingress"));
        Assert.Equal(LinkType.Tcx, link.Type);
        var info = Assert.IsType<TcxLinkInfo>(link.GetInfo());
        Assert.Equal((uint)lo, info.IfIndex);
        Assert.Equal(AttachType.TcxIngress, info.AttachType);

        var attached = ns.Run(() => BpfProgram.QueryAttached(lo, AttachType.TcxIngress));
        Assert.Equal([prog.Id], attached.ProgramIds);
        Assert.Equal([link.Id], attached.LinkIds);
        Assert.True(attached.Revision > 0);
        var egress = ns.Run(() => BpfProgram.QueryAttached(lo, AttachType.TcxEgress));
        Assert.Empty(egress.ProgramIds);
    }
}
