using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using SharpBpf.Interop;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.Tests.Programs;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Programs.Insn;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class SocketFilterTests
{
    private const int AF_PACKET = 17, SOCK_RAW = 3, ETH_P_ALL = 0x0003;

    /// <summary>Counts IPv4 packets per protocol byte (legacy LD_ABS loads) in a 256-entry u64 array; keeps
    /// nothing (returns 0) so the socket's queue stays empty.</summary>
    private static BpfProgram LoadProtocolCounter(BpfMap counts) => BpfProgram.Load(new ProgramSpec
    {
        Name = "sb_proto_count",
        Type = ProgramType.SocketFilter,
        License = "GPL",
        Instructions = Program(
            Mov64Reg(R6, R1),            // LD_ABS takes the skb from r6
            LdAbsH(12),                  // r0 = ethertype (host order)
            JneImm(R0, 0x0800, 10),
            LdAbsB(14 + 9),              // r0 = IPv4 protocol
            StxMem(W, R10, R0, -4),
            Mov64Reg(R2, R10),
            Add64Imm(R2, -4),
            LdMapFd(R1, counts.Fd),
            Call(MapLookupElem),
            JeqImm(R0, 0, 2),
            Mov64Imm(R1, 1),
            AtomicAdd64(R0, R1, 0),
            Mov64Imm(R0, 0),
            Exit()),
    });

    private static void Ping(int count)
    {
        using var icmp = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp) { ReceiveTimeout = 5000 };
        var buffer = new byte[256];
        for (ushort seq = 1; seq <= count; seq++)
        {
            byte[] echo = new byte[16];
            echo[0] = 8; // echo request
            BinaryPrimitives.WriteUInt16BigEndian(echo.AsSpan(4), 0x5342);
            BinaryPrimitives.WriteUInt16BigEndian(echo.AsSpan(6), seq);
            BinaryPrimitives.WriteUInt16BigEndian(echo.AsSpan(2), Checksum(echo));
            icmp.SendTo(echo, new IPEndPoint(IPAddress.Loopback, 0));
            // the raw socket sees our own request and then the kernel's reply (type 0); wait for the reply
            while (true)
            {
                int n = icmp.Receive(buffer);
                int ihl = (buffer[0] & 0xf) * 4;
                if (n > ihl && buffer[ihl] == 0 && BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(ihl + 6)) == seq) break;
            }
        }
    }

    private static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    private static void UdpExchange(int count)
    {
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var buffer = new byte[64];
        for (int i = 0; i < count; i++)
        {
            sender.SendTo([1, 2, 3], receiver.LocalEndPoint!);
            Assert.Equal(3, receiver.Receive(buffer));
        }
    }

    private static void TcpExchange()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000 };
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();
        server.ReceiveTimeout = 5000;
        client.Send([42]);
        var buffer = new byte[8];
        Assert.Equal(1, server.Receive(buffer));
        server.Send([43]);
        Assert.Equal(1, client.Receive(buffer));
    }

    private static ulong[] ReadCounts(BpfMap counts)
    {
        var result = new ulong[256];
        Span<byte> value = stackalloc byte[8];
        for (int p = 0; p < 256; p++)
        {
            counts.Lookup(BitConverter.GetBytes(p), value);
            result[p] = BinaryPrimitives.ReadUInt64LittleEndian(value);
        }
        return result;
    }

    [Fact]
    public void PacketSocketFilterCountsUdpTcpAndIcmpSeparately()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        using var counts = BpfMap.Create(new MapSpec { Name = "sb_protos", Type = MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 256 });
        using var prog = LoadProtocolCounter(counts);

        int packetFd = ns.Run(() => Libc.socket(AF_PACKET, SOCK_RAW, BinaryPrimitives.ReverseEndianness((ushort)ETH_P_ALL)));
        Assert.True(packetFd >= 0, $"socket(AF_PACKET) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        try
        {
            using (var filter = SocketFilter.Attach(prog, packetFd))
            {
                Assert.Equal(prog.Id, filter.ProgramId);
                Assert.Equal(packetFd, filter.SocketFd);
                ns.Run(() =>
                {
                    UdpExchange(5);
                    Ping(3);
                    TcpExchange();
                });
                var c = ReadCounts(counts);
                // a packet socket on lo sees every packet twice: leaving (dev_queue_xmit) and arriving
                Assert.Equal(2ul * 5, c[17]);
                Assert.Equal(2ul * 2 * 3, c[1]);                 // 3 requests + 3 replies
                Assert.InRange(c[6], 2ul * 5, 2ul * 20);         // handshake, data, acks (FINs may still be on their way)
                Assert.Equal(c[17] + c[1] + c[6], c.Aggregate(0ul, (a, b) => a + b));
            }
            // detached: further traffic is not counted
            var before = ReadCounts(counts);
            ns.Run(() => UdpExchange(3));
            Assert.Equal(before[17], ReadCounts(counts)[17]);
        }
        finally
        {
            Libc.close(packetFd);
        }
    }

    [Fact]
    public void FilterOnADotNetSocketDropsUntilDetached()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        using var dropAll = BpfProgram.Load(new ProgramSpec
        {
            Name = "sb_drop_all", Type = ProgramType.SocketFilter, License = "GPL",
            Instructions = [Mov64Imm(R0, 0), Exit()],
        });
        var (receiver, sender) = ns.Run(() =>
        {
            var r = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            r.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return (r, new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        });
        using (receiver)
        using (sender)
        {
            var filter = SocketFilter.Attach(dropAll, receiver);
            sender.SendTo([1], receiver.LocalEndPoint!);
            Assert.False(receiver.Poll(TimeSpan.FromMilliseconds(200), SelectMode.SelectRead));
            filter.Dispose();
            filter.Dispose(); // idempotent
            sender.SendTo([2], receiver.LocalEndPoint!);
            Assert.True(receiver.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead));
            var buffer = new byte[4];
            Assert.Equal(1, receiver.Receive(buffer));
            Assert.Equal(2, buffer[0]);

            // disposing the filter after the socket is harmless
            var late = SocketFilter.Attach(dropAll, sender);
            sender.Dispose();
            late.Dispose();
            Assert.Throws<ObjectDisposedException>(() => SocketFilter.Attach(dropAll, sender));
        }
    }

    [Fact]
    public void BadInputIsRejected()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var xdp = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9), "sb_sf_xdp");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var ex = Assert.Throws<ArgumentException>(() => SocketFilter.Attach(xdp, socket));
        Assert.Contains("SocketFilter", ex.Message);
        using var filter = BpfProgram.Load(new ProgramSpec
        {
            Name = "sb_sf_ok", Type = ProgramType.SocketFilter, License = "GPL",
            Instructions = [Mov64Imm(R0, 0), Exit()],
        });
        Assert.Throws<ArgumentOutOfRangeException>(() => SocketFilter.Attach(filter, -1));
        // an fd that is not a socket: the kernel says ENOTSOCK
        using var file = File.OpenHandle("/proc/self/stat");
        var notSock = Assert.Throws<BpfException>(() => SocketFilter.Attach(filter, (int)file.DangerousGetHandle()));
        Assert.Contains("SO_ATTACH_BPF", notSock.Message);
    }
}
