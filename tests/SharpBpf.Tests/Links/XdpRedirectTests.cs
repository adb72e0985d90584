using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.Tests.Elf;
using SharpBpf.Tests.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

/// <summary>
/// Three namespaces: a sender S (<c>s0</c>, 10.79.0.1), a router R and a destination D (<c>d0</c>, 10.79.0.2),
/// joined by two veth pairs <c>s0</c>–<c>r0</c> and <c>r1</c>–<c>d0</c>. R has no forwarding: frames get from r0
/// to r1 only through an XDP redirect. S reaches 10.79.0.2 through a static neighbour entry naming r0's MAC, and
/// d0 carries that same MAC, so a frame redirected unchanged out of r1 is addressed to d0 and its datagram is
/// delivered to the UDP receiver in D. r0 also has 10.79.0.254 (with a receiver in R) for the CpuMap test.
/// </summary>
internal sealed class XdpRouter : IDisposable
{
    public const ushort Port = 9;
    public const string RouterMac = "02:5b:00:00:00:10";
    public static readonly IPAddress Destination = IPAddress.Parse("10.79.0.2"), RouterAddress = IPAddress.Parse("10.79.0.254");

    public XdpRouter()
    {
        var created = new List<NetNs>();
        try
        {
            created.Add(S = NetNs.Create());
            created.Add(R = NetNs.Create());
            created.Add(D = NetNs.Create());
            S.Ip($"link add s0 type veth peer name r0 netns {R.Name}");
            R.Ip($"link add r1 type veth peer name d0 netns {D.Name}");
            R.Ip($"link set r0 address {RouterMac}");
            D.Ip($"link set d0 address {RouterMac}");
            S.Ip("addr add 10.79.0.1/24 dev s0");
            R.Ip("addr add 10.79.0.254/24 dev r0");
            D.Ip("addr add 10.79.0.2/24 dev d0");
            S.Ip("link set s0 up");
            R.Ip("link set r0 up");
            R.Ip("link set r1 up");
            D.Ip("link set d0 up");
            S.Ip($"neigh add 10.79.0.2 lladdr {RouterMac} dev s0 nud permanent");
            R0 = R.IfIndex("r0");
            R1 = R.IfIndex("r1");
            D0 = D.IfIndex("d0");
            DestinationReceiver = Receiver(D, Destination);
            RouterReceiver = Receiver(R, RouterAddress);
        }
        catch
        {
            DestinationReceiver?.Dispose();
            for (int i = created.Count - 1; i >= 0; i--) created[i].Dispose();
            throw;
        }
    }

    public NetNs S { get; }
    public NetNs R { get; }
    public NetNs D { get; }
    public int R0 { get; }
    public int R1 { get; }
    public int D0 { get; }
    public Socket DestinationReceiver { get; }
    public Socket RouterReceiver { get; }

    private static Socket Receiver(NetNs ns, IPAddress address) => ns.Run(() =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        s.Bind(new IPEndPoint(address, Port));
        return s;
    });

    /// <summary>A UDP socket in S that sends without a UDP checksum (SO_NO_CHECK). veth offloads checksums: a
    /// datagram leaves s0 with CHECKSUM_PARTIAL and no checksum written yet. Native XDP turns the skb into a bare
    /// frame, the offload state is lost on the way through the devmap, and d0 builds a new skb that the UDP layer
    /// verifies and drops (UdpInCsumErrors): the frames arrive (d0's XDP program counts them) but no socket sees
    /// them. Generic XDP keeps the skb and works either way. A zero checksum means "none" in IPv4.</summary>
    public Socket Sender() => S.Run(() =>
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.SetRawSocketOption(SOL_SOCKET, SO_NO_CHECK, BitConverter.GetBytes(1));
        return s;
    });

    private const int SOL_SOCKET = 1, SO_NO_CHECK = 11;

    /// <summary>Sends <paramref name="count"/> datagrams from S to <paramref name="to"/>:9 and checks that
    /// <paramref name="receiver"/> gets each one (with its payload).</summary>
    public void SendAndReceive(IPAddress to, Socket receiver, int count)
    {
        using (var sender = Sender())
        {
            for (int i = 0; i < count; i++) sender.SendTo([(byte)i, 0x5b, 0x5b, 0x5b], new IPEndPoint(to, Port));
        }
        var buffer = new byte[64];
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(4, receiver.Receive(buffer));
            Assert.Equal((byte)i, buffer[0]);
        }
    }

    public void Dispose()
    {
        RouterReceiver.Dispose();
        DestinationReceiver.Dispose();
        D.Dispose();
        R.Dispose();
        S.Dispose();
    }
}

[Collection(KernelCollection.Name)]
public class XdpRedirectTests
{
    private const int Redirected = 0, Arrived = 1, DevMapEgress = 2, CpuMapRan = 3;

    private static ulong Count(BpfCollection c, int slot) => TestPrograms.ReadCounter(c.Maps["counts"], slot);

    private static BpfCollection Load(uint hashKey = 0)
    {
        var spec = TestData.Spec("net_xdp.bpf.o");
        spec.SetVariable("hash_key", hashKey);
        return BpfCollection.Load(spec);
    }

    [Theory]
    [InlineData(XdpAttachMode.Native)]
    [InlineData(XdpAttachMode.Generic)]
    public void DevMapRedirectsFramesBetweenVeths(XdpAttachMode mode)
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var net = new XdpRouter();
        using var c = Load();
        var ports = new DevMap(c.Maps["tx_ports"]);
        // the ifindex is resolved in the updating thread's namespace: r1 exists only in R
        net.R.Run(() => ports.Set(0, (uint)net.R1));
        Assert.Equal((uint)net.R1, ports.Lookup(0).IfIndex);

        // A native redirect into a veth is delivered by its peer's NAPI, which runs only while the peer has an
        // XDP program (or GRO): d0 gets a counting XDP_PASS program in the same mode.
        using var pass = net.D.Run(() => XdpLink.Attach(c.Programs["count_pass"], "d0", mode));
        using (var link = net.R.Run(() => XdpLink.Attach(c.Programs["redirect_dev"], net.R0, mode)))
        {
            var r0 = net.R.Run(NetworkAttachments.List).Single(i => i.Name == "r0");
            Assert.Equal([new XdpAttachment(c.Programs["redirect_dev"].Id, mode)], r0.Xdp);
            Assert.Equal(mode, net.R.Run(() =>
            {
                using var reopened = Assert.IsType<XdpLink>(BpfLink.FromId(link.Id));
                Assert.Null(reopened.Mode);
                return reopened.QueryMode();
            }));
            Assert.Null(link.QueryMode()); // r0's index means another interface (or none) in the test's own namespace
            Assert.Equal([new XdpAttachment(c.Programs["count_pass"].Id, mode)], net.D.Run(() => NetworkAttachments.Xdp(net.D0)));
            var d0 = net.D.Run(NetworkAttachments.List).Single(i => i.Name == "d0");
            Assert.Equal([new XdpAttachment(c.Programs["count_pass"].Id, mode)], d0.Xdp);

            net.SendAndReceive(XdpRouter.Destination, net.DestinationReceiver, 8);
            Assert.Equal(8ul, Count(c, Redirected));
            Assert.Equal(8ul, Count(c, Arrived));
        }
        // without the redirect nothing crosses R
        using (var sender = net.Sender()) sender.SendTo([1], new IPEndPoint(XdpRouter.Destination, XdpRouter.Port));
        Thread.Sleep(200);
        Assert.Equal(0, net.DestinationReceiver.Available);
        Assert.Equal(8ul, Count(c, Arrived));
        Assert.Empty(net.R.Run(NetworkAttachments.List).Single(i => i.Name == "r0").Xdp);
    }

    [Fact]
    public void DevMapHashEntryRunsItsEgressProgram()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var net = new XdpRouter();
        using var c = Load(hashKey: (uint)net.R1);
        var hash = new DevMapHash(c.Maps["tx_hash"]);
        var egress = c.Programs["devmap_egress"];
        Assert.Equal(AttachType.XdpDevmap, egress.ExpectedAttachType);
        net.R.Run(() => hash.Update((uint)net.R1, new DevMapValue((uint)net.R1) { ProgramFd = egress.Fd }));
        var value = hash.Lookup((uint)net.R1);
        Assert.Equal((uint)net.R1, value.IfIndex);
        Assert.Equal(egress.Id, value.ProgramId);

        using var pass = net.D.Run(() => XdpLink.Attach(c.Programs["count_pass"], "d0", XdpAttachMode.Native));
        using (net.R.Run(() => XdpLink.Attach(c.Programs["redirect_hash"], "r0", XdpAttachMode.Native)))
        {
            net.SendAndReceive(XdpRouter.Destination, net.DestinationReceiver, 5);
            Assert.Equal(5ul, Count(c, Redirected));
            Assert.Equal(5ul, Count(c, DevMapEgress));
            Assert.Equal(5ul, Count(c, Arrived));
        }
        // a program for the wrong hook is refused as a devmap program
        var wrong = Assert.Throws<BpfException>(() =>
            net.R.Run(() => hash.Update(7, new DevMapValue((uint)net.R1) { ProgramFd = c.Programs["count_pass"].Fd })));
        Assert.Equal("EINVAL", wrong.ErrnoName);
        Assert.True(hash.Delete((uint)net.R1));
    }

    [Theory]
    [InlineData(XdpAttachMode.Native)]
    [InlineData(XdpAttachMode.Generic)]
    public void CpuMapHandsFramesToAnotherCpusStack(XdpAttachMode mode)
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var net = new XdpRouter();
        using var c = Load();
        var cpus = new CpuMap(c.Maps["cpus"]);
        var run = c.Programs["cpumap_run"];
        Assert.Equal(AttachType.XdpCpumap, run.ExpectedAttachType);
        cpus.Update(0, new CpuMapValue(192) { ProgramFd = run.Fd });
        Assert.Equal(192u, cpus.Lookup(0).QueueSize);
        Assert.Equal(run.Id, cpus.Lookup(0).ProgramId);
        cpus.Update(1, new CpuMapValue(64));
        cpus.Update(1, new CpuMapValue(0)); // a zero queue size removes the CPU's entry
        Assert.False(cpus.TryLookup(1, out _));

        using (net.R.Run(() => XdpLink.Attach(c.Programs["redirect_cpu"], "r0", mode)))
        {
            // the frame is redirected to CPU 0's kthread, runs cpumap_run there and then enters R's stack
            net.SendAndReceive(XdpRouter.RouterAddress, net.RouterReceiver, 6);
            Assert.Equal(6ul, Count(c, Redirected));
            Assert.Equal(6ul, Count(c, CpuMapRan));
        }
        Assert.True(cpus.Delete(0));
    }

    [Fact]
    public void FragsProgramSeesAMultiBufferPacket()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load();
        var frags = c.Programs["frags_len"];
        var packet = new byte[9000];
        packet[12] = 0x08; // EtherType IPv4
        var result = frags.TestRun(packet);
        Assert.Equal(2u, result.ReturnValue); // XDP_PASS
        var bss = new byte[c.Maps[".bss"].ValueSize];
        c.Maps[".bss"].Lookup(BitConverter.GetBytes(0), bss);
        ulong total = BinaryPrimitives.ReadUInt64LittleEndian(bss), linear = BinaryPrimitives.ReadUInt64LittleEndian(bss.AsSpan(8));
        Assert.Equal(9000ul, total);
        Assert.True(linear < 4096, $"linear part {linear} bytes");
        Assert.True(linear > 0);

        Assert.Equal(ProgramFlags.XdpHasFrags, TestData.Spec("net_xdp.bpf.o").Programs["frags_len"].Flags);

        // a single-buffer packet: everything is linear
        Assert.Equal(2u, frags.TestRun(packet.AsSpan(0, 1500)).ReturnValue);
        c.Maps[".bss"].Lookup(BitConverter.GetBytes(0), bss);
        Assert.Equal(1500ul, BinaryPrimitives.ReadUInt64LittleEndian(bss));
        Assert.Equal(1500ul, BinaryPrimitives.ReadUInt64LittleEndian(bss.AsSpan(8)));
    }

    [Fact]
    public void XskMapIsCreatedAndRefusesOtherSockets()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var xsk = XskMap.Create("t_xsk", 4);
        Assert.Equal(MapType.XskMap, xsk.Type);
        Assert.True(xsk.Clear(0)); // the kernel reports success for an empty slot too
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var ex = Assert.Throws<BpfException>(() => xsk.Set(0, (int)udp.Handle));
        Assert.Equal("EOPNOTSUPP", ex.ErrnoName);
        using var dev = DevMap.Create("t_notxsk", 1);
        Assert.Contains("XskMap", Assert.Throws<ArgumentException>(() => new XskMap(dev)).Message);
    }
}
