using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using SharpBpf.Links;
using SharpBpf.Programs;
using SharpBpf.Tests.Elf;
using SharpBpf.Tests.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class NetNsLinkTests
{
    private const ushort SteerPort = 7777;

    private static ulong Steered(BpfCollection c)
    {
        var value = new byte[c.Maps[".bss"].ValueSize];
        c.Maps[".bss"].Lookup(BitConverter.GetBytes(0), value);
        return BinaryPrimitives.ReadUInt64LittleEndian(value);
    }

    private static bool TryConnect(NetNs ns, ushort port) => ns.Run(() =>
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            client.Connect(new IPEndPoint(IPAddress.Loopback, port));
            client.Send([1, 2, 3]);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return false;
        }
    });

    [Fact]
    public void SkLookupSteersConnectionsToAListeningSocket()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        var spec = TestData.Spec("net_sk_lookup.bpf.o");
        spec.SetVariable("steer_port", SteerPort);
        using var c = BpfCollection.Load(spec);
        using var listener = ns.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            s.Listen(8);
            return s;
        });
        c.Maps["target"].Update(BitConverter.GetBytes(0), BitConverter.GetBytes((ulong)listener.Handle));

        Assert.False(TryConnect(ns, SteerPort)); // nobody listens on 7777
        using (var link = ns.Run(() => NetNsLink.Attach(c.Programs["steer"])))
        {
            Assert.Equal(LinkType.Netns, link.Type);
            Assert.Equal(AttachType.SkLookup, link.AttachType);
            Assert.True(TryConnect(ns, SteerPort));
            using var accepted = listener.Accept();
            var buffer = new byte[8];
            Assert.Equal(3, accepted.Receive(buffer));
            Assert.Equal(1ul, Steered(c));
        }
        Assert.False(TryConnect(ns, SteerPort));
        Assert.Equal(1ul, Steered(c));
    }

    [Fact]
    public void AttachByNamespacePathAndBadInput()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        using var c = BpfCollection.Load(TestData.Spec("net_sk_lookup.bpf.o"));
        using (var link = NetNsLink.Attach(c.Programs["steer"], ns.Path))
        {
            var info = Assert.IsType<NetNsLinkInfo>(link.GetInfo());
            Assert.Equal(AttachType.SkLookup, info.AttachType);
            Assert.NotEqual(0u, info.NetNsInode);
            using var reopened = BpfLink.FromId(link.Id);
            Assert.Equal(AttachType.SkLookup, Assert.IsType<NetNsLink>(reopened).AttachType);
        }
        using var xdp = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9), "sb_not_netns");
        Assert.Contains("SkLookup", Assert.Throws<ArgumentException>(() => NetNsLink.Attach(xdp)).Message);
        var missing = Assert.Throws<BpfException>(() => NetNsLink.Attach(c.Programs["steer"], "/run/netns/sb-no-such-ns"));
        Assert.Equal("ENOENT", missing.ErrnoName);
        Assert.Contains("sb-no-such-ns", missing.Message);
    }
}
