using System.Net;
using System.Net.Sockets;
using SharpBpf.Features;
using SharpBpf.Links;
using SharpBpf.Programs;
using SharpBpf.Tests.Elf;
using SharpBpf.Tests.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class NetfilterLinkTests
{
    private const int Seen = 0, Dropped = 1;

    private static void RequireNetfilterLinks() =>
        KernelTest.RequireFeature("netfilter-link", KernelFeatures.Attach("netfilter-link") is { IsSupported: false } s ? s.Reason ?? s.ToString() : null);

    private static BpfCollection Load(bool drop)
    {
        var spec = TestData.Spec("net_netfilter.bpf.o");
        spec.SetVariable("drop", (byte)(drop ? 1 : 0));
        return BpfCollection.Load(spec);
    }

    private static Socket Receiver(NetNs ns) => ns.Run(() =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        s.Bind(new IPEndPoint(IPAddress.Loopback, 9));
        return s;
    });

    private static void Send(NetNs ns, int count) => ns.Run(() =>
    {
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (int i = 0; i < count; i++) sender.SendTo([(byte)i, 9, 9], new IPEndPoint(IPAddress.Loopback, 9));
    });

    private static void Receive(Socket receiver, int count)
    {
        var buffer = new byte[16];
        for (int i = 0; i < count; i++) Assert.Equal(3, receiver.Receive(buffer));
    }

    [Fact]
    public void LocalInProgramDropsAndCountsDatagrams()
    {
        KernelTest.Require();
        RequireNetfilterLinks();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        using var c = Load(drop: true);
        using var receiver = Receiver(ns);
        var counts = c.Maps["counts"];
        var prog = c.Programs["nf_udp9"];
        Assert.Equal(ProgramType.Netfilter, prog.Type);

        Send(ns, 2);
        Receive(receiver, 2);
        using (var link = ns.Run(() => NetfilterLink.Attach(prog, NetfilterFamily.IPv4, NetfilterHook.LocalIn, -128)))
        {
            Assert.Equal(LinkType.Netfilter, link.Type);
            var info = Assert.IsType<NetfilterLinkInfo>(link.GetInfo());
            Assert.Equal(new NetfilterLinkInfo(link.Id, prog.Id, NetfilterFamily.IPv4, NetfilterHook.LocalIn, -128, NetfilterLinkFlags.None), info);
            using (var reopened = BpfLink.FromId(link.Id))
            {
                var nf = Assert.IsType<NetfilterLink>(reopened);
                Assert.Equal(NetfilterHook.LocalIn, nf.Hook);
                Assert.Equal(-128, nf.Priority);
            }

            Send(ns, 4);
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (TestPrograms.ReadCounter(counts, Dropped) < 4 && DateTime.UtcNow < deadline) Thread.Sleep(5);
            Assert.Equal(4ul, TestPrograms.ReadCounter(counts, Seen));
            Assert.Equal(4ul, TestPrograms.ReadCounter(counts, Dropped));
            Assert.Equal(0, receiver.Available);

            // a hook priority holds one BPF program per namespace
            var busy = Assert.Throws<BpfException>(() => ns.Run(() => NetfilterLink.Attach(prog, NetfilterFamily.IPv4, NetfilterHook.LocalIn, -128)));
            Assert.Equal("EBUSY", busy.ErrnoName);
            Assert.Contains("LocalIn", busy.Message);
        }
        Send(ns, 3);
        Receive(receiver, 3);
        Assert.Equal(4ul, TestPrograms.ReadCounter(counts, Seen));
    }

    [Fact]
    public void ProgramsInOtherNamespacesAndHooksDoNotSeeTheTraffic()
    {
        KernelTest.Require();
        RequireNetfilterLinks();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        using var other = NetNs.Create();
        ns.Ip("link set lo up");
        using var c = Load(drop: false);
        using var receiver = Receiver(ns);
        var prog = c.Programs["nf_udp9"];
        var counts = c.Maps["counts"];
        using var elsewhere = other.Run(() => NetfilterLink.Attach(prog, NetfilterFamily.IPv4, NetfilterHook.LocalIn, 10));
        using var v6 = ns.Run(() => NetfilterLink.Attach(prog, NetfilterFamily.IPv6, NetfilterHook.LocalIn, 10));
        using var output = ns.Run(() => NetfilterLink.Attach(prog, NetfilterFamily.IPv4, NetfilterHook.LocalOut, 10, NetfilterLinkFlags.IpDefrag));
        Assert.Equal(NetfilterLinkFlags.IpDefrag, Assert.IsType<NetfilterLinkInfo>(output.GetInfo()).Flags);
        Send(ns, 5);
        Receive(receiver, 5); // accepted: drop is off
        Assert.Equal(5ul, TestPrograms.ReadCounter(counts, Seen)); // seen once each, on LOCAL_OUT of this namespace
        Assert.Equal(0ul, TestPrograms.ReadCounter(counts, Dropped));
    }

    [Fact]
    public void BadInputFailsBeforeAnySyscall()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load(drop: false);
        using var xdp = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9), "sb_not_nf");
        var prog = c.Programs["nf_udp9"];
        Assert.Contains("Netfilter", Assert.Throws<ArgumentException>(() => NetfilterLink.Attach(xdp, NetfilterFamily.IPv4, NetfilterHook.LocalIn, 0)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => NetfilterLink.Attach(prog, (NetfilterFamily)7, NetfilterHook.LocalIn, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => NetfilterLink.Attach(prog, NetfilterFamily.IPv4, (NetfilterHook)5, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => NetfilterLink.Attach(prog, NetfilterFamily.IPv4, NetfilterHook.LocalIn, int.MinValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => NetfilterLink.Attach(prog, NetfilterFamily.IPv4, NetfilterHook.LocalIn, 0, (NetfilterLinkFlags)2));
    }
}
