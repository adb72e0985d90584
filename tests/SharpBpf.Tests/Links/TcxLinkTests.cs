using SharpBpf.Links;
using SharpBpf.Programs;
using SharpBpf.Tests.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class TcxLinkTests
{
    [Fact]
    public void IngressCountsAndDropsTrafficFromThePeer()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("tcx");
        using var leak = new FdLeakCheck();
        using var net = new VethPair();
        using var c = TcPrograms.Load();
        var counts = c.Maps["counts"];

        using (var link = net.B.Run(() => TcxLink.Attach(c.Programs["count_udp9"], "vb", TcDirection.Ingress)))
        {
            Assert.Equal(net.IfB, link.IfIndex);
            Assert.Equal(TcDirection.Ingress, link.Direction);
            var info = Assert.IsType<TcxLinkInfo>(link.GetInfo());
            Assert.Equal((uint)net.IfB, info.IfIndex);
            Assert.Equal(AttachType.TcxIngress, info.AttachType);
            net.SendAndReceive(6);
            Assert.Equal(6ul, TcPrograms.Read(counts, TcPrograms.Counted));

            using var drop = net.B.Run(() => TcxLink.Attach(c.Programs["drop_udp9"], net.IfB, TcDirection.Ingress));
            net.SendDropped(4, counts);
            Assert.Equal(10ul, TcPrograms.Read(counts, TcPrograms.Counted)); // the counter runs first, then the drop
        }
        // both links gone: traffic flows and nothing counts
        net.SendAndReceive(3);
        Assert.Equal(10ul, TcPrograms.Read(counts, TcPrograms.Counted));
        Assert.Empty(net.B.Run(() => TcxLink.Query(net.IfB, TcDirection.Ingress)).ProgramIds);
    }

    [Fact]
    public void EgressOnTheSenderDrops()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("tcx");
        using var leak = new FdLeakCheck();
        using var net = new VethPair();
        using var c = TcPrograms.Load();
        var counts = c.Maps["counts"];
        using (net.A.Run(() => TcxLink.Attach(c.Programs["drop_udp9"], "va", TcDirection.Egress)))
        {
            Assert.Empty(net.A.Run(() => TcxLink.Query(net.IfA, TcDirection.Ingress)).ProgramIds);
            net.SendDropped(5, counts);
        }
        net.SendAndReceive(2);
        Assert.Equal(5ul, TcPrograms.Read(counts, TcPrograms.Dropped));
    }

    [Fact]
    public void AnchorsOrderTheChain()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("tcx");
        using var leak = new FdLeakCheck();
        using var net = new VethPair();
        using var c = TcPrograms.Load();
        var counts = c.Maps["counts"];
        BpfProgram a = c.Programs["order_a"], b = c.Programs["order_b"], cc = c.Programs["order_c"];

        using var la = net.B.Run(() => TcxLink.Attach(a, net.IfB, TcDirection.Ingress));
        using var lb = net.B.Run(() => TcxLink.Attach(b, net.IfB, TcDirection.Ingress, TcxAnchor.Before(a)));      // b a
        using var lc = net.B.Run(() => TcxLink.Attach(cc, net.IfB, TcDirection.Ingress, TcxAnchor.After(lb)));     // b c a
        var chain = net.B.Run(() => TcxLink.Query(net.IfB, TcDirection.Ingress));
        Assert.Equal([b.Id, cc.Id, a.Id], chain.ProgramIds);
        Assert.Equal([lb.Id, lc.Id, la.Id], chain.LinkIds);
        net.SendAndReceive(1);
        Assert.Equal(231ul, TcPrograms.Read(counts, TcPrograms.Order));

        // the same program twice in one chain is refused; so is a stale revision
        var twice = Assert.Throws<BpfException>(() => net.B.Run(() => TcxLink.Attach(a, net.IfB, TcDirection.Ingress, TcxAnchor.First)));
        Assert.Equal("EEXIST", twice.ErrnoName);
        Assert.Contains("order_a", twice.Message);
        lc.Dispose();                                                                                             // b a
        var stale = Assert.Throws<BpfException>(() =>
            net.B.Run(() => TcxLink.Attach(cc, net.IfB, TcDirection.Ingress, TcxAnchor.First, chain.Revision)));
        Assert.Equal("ESTALE", stale.ErrnoName);
        ulong revision = net.B.Run(() => TcxLink.Query(net.IfB, TcDirection.Ingress)).Revision;
        using var first = net.B.Run(() => TcxLink.Attach(cc, net.IfB, TcDirection.Ingress, TcxAnchor.First, revision)); // c b a
        using var last = net.B.Run(() => TcxLink.Attach(
            c.Programs["count_udp9"], net.IfB, TcDirection.Ingress, TcxAnchor.AfterLinkId(la.Id)));               // c b a count
        Assert.Equal([cc.Id, b.Id, a.Id, c.Programs["count_udp9"].Id], net.B.Run(() => TcxLink.Query(net.IfB, TcDirection.Ingress)).ProgramIds);
        TcPrograms.Reset(counts, TcPrograms.Order);
        net.SendAndReceive(1);
        Assert.Equal(321ul, TcPrograms.Read(counts, TcPrograms.Order));

        // an anchor that is not in this chain
        var missing = Assert.Throws<BpfException>(() => net.B.Run(() =>
            TcxLink.Attach(c.Programs["drop_udp9"], net.IfB, TcDirection.Egress, TcxAnchor.BeforeProgramId(a.Id))));
        Assert.Equal("ENOENT", missing.ErrnoName);
    }

    [Fact]
    public void ReopenedByIdAsTcxLinkAndUpdated()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("tcx");
        using var leak = new FdLeakCheck();
        using var net = new VethPair();
        using var c = TcPrograms.Load();
        var counts = c.Maps["counts"];
        using var link = net.B.Run(() => TcxLink.Attach(c.Programs["count_udp9"], net.IfB, TcDirection.Ingress));
        using (var reopened = BpfLink.FromId(link.Id))
        {
            var tcx = Assert.IsType<TcxLink>(reopened);
            Assert.Equal(net.IfB, tcx.IfIndex);
            Assert.Equal(TcDirection.Ingress, tcx.Direction);
        }
        link.Update(c.Programs["drop_udp9"]);
        net.SendDropped(2, counts);
        Assert.Equal(0ul, TcPrograms.Read(counts, TcPrograms.Counted));
    }

    [Fact]
    public void BadInputFailsBeforeAnySyscall()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var xdp = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9), "sb_not_tc");
        using var c = TcPrograms.Load();
        var ex = Assert.Throws<ArgumentException>(() => TcxLink.Attach(xdp, 1, TcDirection.Ingress));
        Assert.Contains("SchedCls", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => TcxLink.Attach(c.Programs["count_udp9"], 0, TcDirection.Ingress));
        Assert.Throws<ArgumentOutOfRangeException>(() => TcxLink.Attach(c.Programs["count_udp9"], 1, (TcDirection)7));
        Assert.Contains("sb-nope", Assert.Throws<ArgumentException>(() => TcxLink.Attach(c.Programs["count_udp9"], "sb-nope", TcDirection.Egress)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => TcxAnchor.BeforeProgramId(0));
    }
}
