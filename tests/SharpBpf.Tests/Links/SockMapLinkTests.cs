using System.Net;
using System.Net.Sockets;
using System.Text;
using SharpBpf.Features;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.Tests.Elf;
using SharpBpf.Tests.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

/// <summary>Two TCP connections over loopback in a namespace of their own (client/server sockets of each).</summary>
internal sealed class TcpPairs : IDisposable
{
    private readonly List<Socket> _sockets = [];

    public TcpPairs()
    {
        Ns = NetNs.Create();
        try
        {
            Ns.Ip("link set lo up");
            Ns.Run(() =>
            {
                using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                listener.Listen(4);
                for (int i = 0; i < 2; i++)
                {
                    var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000, NoDelay = true };
                    _sockets.Add(client);
                    client.Connect(listener.LocalEndPoint!);
                    var server = listener.Accept();
                    server.ReceiveTimeout = 5000;
                    _sockets.Add(server);
                }
            });
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public NetNs Ns { get; }
    public Socket Client1 => _sockets[0];
    public Socket Server1 => _sockets[1];
    public Socket Client2 => _sockets[2];
    public Socket Server2 => _sockets[3];

    /// <summary>Reads exactly <paramref name="length"/> bytes from <paramref name="socket"/>.</summary>
    public static string Read(Socket socket, int length)
    {
        var buffer = new byte[length];
        int got = 0;
        while (got < length)
        {
            int n = socket.Receive(buffer, got, length - got, SocketFlags.None);
            if (n == 0) throw new InvalidOperationException($"connection closed after {got} of {length} bytes");
            got += n;
        }
        return Encoding.ASCII.GetString(buffer);
    }

    public void Dispose()
    {
        foreach (var s in _sockets) s.Dispose();
        Ns.Dispose();
    }
}

[Collection(KernelCollection.Name)]
public class SockMapLinkTests
{
    private const int Parsed = 0, Redirected = 1, Messages = 2, MessageBytes = 3, DroppedMessages = 4;

    private static ulong Count(BpfCollection c, int slot) => TestPrograms.ReadCounter(c.Maps["counts"], slot);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void StreamVerdictRedirectsDataToTheOtherConnection(bool legacy)
    {
        KernelTest.Require();
        if (!legacy)
            KernelTest.RequireFeature("sockmap-link", KernelFeatures.Attach("sockmap-link") is { IsSupported: false } s ? s.Reason ?? s.ToString() : null);
        using var leak = new FdLeakCheck();
        using var tcp = new TcpPairs();
        using var c = BpfCollection.LoadFile(TestData.PathOf("net_sockmap.bpf.o"));
        var socks = new SockMap(c.Maps["socks"]);
        BpfProgram parser = c.Programs["stream_parser"], verdict = c.Programs["stream_verdict"];

        using (var p = SockMapLink.Attach(parser, socks, legacy: legacy))
        using (var v = SockMapLink.Attach(verdict, socks, AttachType.SkSkbStreamVerdict, legacy))
        {
            Assert.Equal(legacy, p.IsLegacy);
            Assert.Equal(AttachType.SkSkbStreamParser, p.AttachType);
            Assert.Equal([parser.Id], SockMapLink.Query(socks, AttachType.SkSkbStreamParser).ProgramIds);
            Assert.Equal([verdict.Id], SockMapLink.Query(socks, AttachType.SkSkbStreamVerdict).ProgramIds);
            if (!legacy)
            {
                Assert.Equal(LinkType.Sockmap, v.Link!.Type);
                var info = Assert.IsType<SockMapLinkInfo>(v.Link.GetInfo());
                Assert.Equal(socks.Id, info.MapId);
                Assert.Equal(AttachType.SkSkbStreamVerdict, info.AttachType);
                Assert.Equal(verdict.Id, info.ProgramId);
            }
            // a link holds its hook: neither another link nor a legacy attach may take it
            if (!legacy)
            {
                Assert.Equal("EBUSY", Assert.Throws<BpfException>(() => SockMapLink.Attach(verdict, socks)).ErrnoName);
                Assert.Equal("EBUSY", Assert.Throws<BpfException>(() => SockMapLink.Attach(verdict, socks, legacy: true)).ErrnoName);
            }

            // what Server1 receives leaves through Server2 and arrives at Client2
            socks.Set(0, (int)tcp.Server2.Handle);
            socks.Set(1, (int)tcp.Server1.Handle);
            tcp.Client1.Send("through the sockmap"u8);
            Assert.Equal("through the sockmap", TcpPairs.Read(tcp.Client2, 19));
            tcp.Client1.Send("again"u8);
            Assert.Equal("again", TcpPairs.Read(tcp.Client2, 5));
            Assert.True(Count(c, Parsed) >= 2);
            Assert.True(Count(c, Redirected) >= 2);
            Assert.Equal(0, tcp.Server1.Available);
            if (legacy)
            {
                // BPF_PROG_ATTACH replaces a legacy program; detaching the replaced one later finds nothing (ENOENT, ignored)
                using (SockMapLink.Attach(parser, socks, legacy: true)) Assert.Equal([parser.Id], SockMapLink.Query(socks, AttachType.SkSkbStreamParser).ProgramIds);
                Assert.Empty(SockMapLink.Query(socks, AttachType.SkSkbStreamParser).ProgramIds);
            }
            Assert.True(socks.Clear(1));
            Assert.True(socks.Clear(0));
        }
        Assert.Empty(SockMapLink.Query(socks, AttachType.SkSkbStreamParser).ProgramIds);
        Assert.Empty(SockMapLink.Query(socks, AttachType.SkSkbStreamVerdict).ProgramIds);
        // out of the map, the connection is an ordinary one again
        tcp.Client1.Send("plain"u8);
        Assert.Equal("plain", TcpPairs.Read(tcp.Server1, 5));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MsgVerdictCountsAndDropsWhatASocketSends(bool legacy)
    {
        KernelTest.Require();
        if (!legacy)
            KernelTest.RequireFeature("sockmap-link", KernelFeatures.Attach("sockmap-link") is { IsSupported: false } s ? s.Reason ?? s.ToString() : null);
        using var leak = new FdLeakCheck();
        using var tcp = new TcpPairs();
        using var c = BpfCollection.LoadFile(TestData.PathOf("net_sockmap.bpf.o"));
        var hash = new SockHash<uint>(c.Maps["sock_hash"]);
        var msg = c.Programs["msg_verdict"];

        using (var link = SockMapLink.Attach(msg, hash, legacy: legacy))
        {
            Assert.Equal(AttachType.SkMsgVerdict, link.AttachType);
            Assert.Equal([msg.Id], SockMapLink.Query(hash, AttachType.SkMsgVerdict).ProgramIds);
            hash.Set(7, (int)tcp.Client1.Handle);

            tcp.Client1.Send("hello"u8);
            Assert.Equal("hello", TcpPairs.Read(tcp.Server1, 5));
            tcp.Client1.Send("world"u8);
            Assert.Equal("world", TcpPairs.Read(tcp.Server1, 5));
            // SK_DROP: sendmsg fails with EACCES. The kernel keeps the drop verdict for the socket (it resets the
            // cached verdict only after a pass), so this connection drops everything while it stays in the map.
            var dropped = Assert.Throws<SocketException>(() => tcp.Client1.Send("thirteen byte"u8));
            Assert.Equal(SocketError.AccessDenied, dropped.SocketErrorCode);
            Assert.Equal(3ul, Count(c, Messages));
            Assert.Equal(23ul, Count(c, MessageBytes));
            Assert.Equal(1ul, Count(c, DroppedMessages));

            // the other connection is not in the map: not seen
            tcp.Client2.Send("thirteen byte"u8);
            Assert.Equal("thirteen byte", TcpPairs.Read(tcp.Server2, 13));
            Assert.Equal(3ul, Count(c, Messages));

            // out of the map the connection is ordinary again, and the dropped bytes never arrived
            Assert.True(hash.Delete(7));
            tcp.Client1.Send("after"u8);
            Assert.Equal("after", TcpPairs.Read(tcp.Server1, 5));
            Assert.Equal(0, tcp.Server1.Available);
        }
        Assert.Empty(SockMapLink.Query(hash, AttachType.SkMsgVerdict).ProgramIds);
        hash.Set(7, (int)tcp.Client2.Handle); // a socket added after the detach runs no program
        tcp.Client2.Send("thirteen byte"u8);
        Assert.Equal("thirteen byte", TcpPairs.Read(tcp.Server2, 13));
        Assert.Equal(3ul, Count(c, Messages));
        Assert.True(hash.Delete(7));
    }

    [Fact]
    public void BadInputFailsBeforeAnySyscall()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = BpfCollection.LoadFile(TestData.PathOf("net_sockmap.bpf.o"));
        using var xdp = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9), "sb_not_skmsg");
        var socks = c.Maps["socks"];
        Assert.Contains("SockMap or SockHash", Assert.Throws<ArgumentException>(() => SockMapLink.Attach(c.Programs["msg_verdict"], c.Maps["counts"])).Message);
        Assert.Contains("no expected attach type", Assert.Throws<ArgumentException>(() => SockMapLink.Attach(xdp, socks)).Message);
        Assert.Contains("SkMsg", Assert.Throws<ArgumentException>(() => SockMapLink.Attach(c.Programs["stream_verdict"], socks, AttachType.SkMsgVerdict)).Message);
        Assert.Contains("not a socket map attach type", Assert.Throws<ArgumentException>(() => SockMapLink.Attach(xdp, socks, AttachType.Xdp)).Message);
        Assert.Throws<ArgumentException>(() => SockMapLink.Query(socks, AttachType.CgroupInetIngress));
    }
}
