using System.Net;
using System.Net.Sockets;
using SharpBpf.Maps;
using SharpBpf.Tests.Elf;
using SharpBpf.Tests.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

/// <summary>
/// Two network namespaces joined by a veth pair: <c>va</c> (10.78.0.1) in <see cref="A"/>, <c>vb</c> (10.78.0.2)
/// in <see cref="B"/>, and a UDP receiver on port 9 in B. Disposing deletes both namespaces (with the veths).
/// </summary>
internal sealed class VethPair : IDisposable
{
    public const ushort Port = 9;
    public static readonly IPAddress AddressA = IPAddress.Parse("10.78.0.1"), AddressB = IPAddress.Parse("10.78.0.2");

    public VethPair()
    {
        A = NetNs.Create();
        try
        {
            B = NetNs.Create();
            A.Ip($"link add va type veth peer name vb netns {B.Name}");
            A.Ip("addr add 10.78.0.1/24 dev va");
            B.Ip("addr add 10.78.0.2/24 dev vb");
            A.Ip("link set va up");
            B.Ip("link set vb up");
            IfA = A.IfIndex("va");
            IfB = B.IfIndex("vb");
            Receiver = B.Run(() =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = 5000 };
                s.Bind(new IPEndPoint(AddressB, Port));
                return s;
            });
        }
        catch
        {
            B?.Dispose();
            A.Dispose();
            throw;
        }
    }

    public NetNs A { get; }
    public NetNs B { get; }
    public int IfA { get; }
    public int IfB { get; }
    public Socket Receiver { get; }

    /// <summary>Sends <paramref name="count"/> datagrams from A to B:9.</summary>
    public void Send(int count) => A.Run(() =>
    {
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        for (int i = 0; i < count; i++) sender.SendTo([(byte)i, 1, 2, 3], new IPEndPoint(AddressB, Port));
    });

    /// <summary>Sends <paramref name="count"/> datagrams and waits until B received each one.</summary>
    public void SendAndReceive(int count)
    {
        Send(count);
        var buffer = new byte[64];
        for (int i = 0; i < count; i++) Assert.Equal(4, Receiver.Receive(buffer));
    }

    /// <summary>Sends <paramref name="count"/> datagrams that a program drops, waits until its drop counter
    /// (slot 1 of <paramref name="counts"/>) went up by that much, and checks that none arrived.</summary>
    public void SendDropped(int count, BpfMap counts)
    {
        ulong before = TcPrograms.Read(counts, TcPrograms.Dropped);
        Send(count);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (TcPrograms.Read(counts, TcPrograms.Dropped) < before + (ulong)count && DateTime.UtcNow < deadline) Thread.Sleep(5);
        Assert.Equal(before + (ulong)count, TcPrograms.Read(counts, TcPrograms.Dropped));
        Assert.Equal(0, Receiver.Available);
    }

    public void Dispose()
    {
        Receiver.Dispose();
        B.Dispose();
        A.Dispose();
    }
}

/// <summary>testdata/net_tc.bpf.c: count_udp9, drop_udp9, order_a/b/c and the <c>counts</c> array.</summary>
internal static class TcPrograms
{
    public const int Counted = 0, Dropped = 1, Order = 2;

    public static BpfCollection Load() => BpfCollection.LoadFile(TestData.PathOf("net_tc.bpf.o"));

    public static ulong Read(BpfMap counts, int slot) => TestPrograms.ReadCounter(counts, slot);

    public static void Reset(BpfMap counts, int slot) => counts.Update(BitConverter.GetBytes(slot), BitConverter.GetBytes(0ul));
}
