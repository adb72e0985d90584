using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

public class StructOpsSpecTests
{
    [Fact]
    public void StructOpsSectionsBecomeMapsWithTheirPrograms()
    {
        var spec = TestData.Spec("net_struct_ops.bpf.o");
        var cc = spec.Maps["sharpbpf_cc"];
        Assert.Equal(MapType.StructOps, cc.Type);
        Assert.Equal(4u, cc.KeySize);
        Assert.Equal(1u, cc.MaxEntries);
        Assert.Equal(MapFlags.None, cc.Flags);
        var so = Assert.IsType<StructOpsSpec>(cc.StructOps);
        Assert.Equal("tcp_congestion_ops", so.TypeName);
        Assert.Equal(new Dictionary<string, string>
        {
            ["init"] = "sb_init", ["ssthresh"] = "sb_ssthresh", ["cong_avoid"] = "sb_cong_avoid", ["undo_cwnd"] = "sb_undo_cwnd",
        }, so.Functions);
        var local = so.LocalType!;
        Assert.Equal((int)local.Size, so.Data.Length);
        var name = local.Members.Single(m => m.Name == "name");
        Assert.Equal("sharpbpf_cc", Encoding.ASCII.GetString(so.Data, (int)(name.BitOffset / 8), 11));
        var flags = local.Members.Single(m => m.Name == "flags");
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(so.Data.AsSpan((int)(flags.BitOffset / 8))));

        var link = spec.Maps["sharpbpf_ccl"];
        Assert.Equal(MapFlags.Link, link.Flags);
        Assert.Equal(3, link.StructOps!.Functions.Count);
        Assert.DoesNotContain("init", link.StructOps.Functions.Keys);
        Assert.All(new[] { "sb_init", "sb_ssthresh", "sb_cong_avoid", "sb_undo_cwnd" },
            p => Assert.Equal(ProgramType.StructOps, spec.Programs[p].Type));

        // a copy is deep
        var copy = cc.Copy();
        copy.StructOps!.Data[0] = 0xff;
        copy.StructOps.Functions.Clear();
        Assert.NotEqual(0xff, so.Data[0]);
        Assert.Equal(4, so.Functions.Count);
    }
}

[Collection(KernelCollection.Name)]
public class StructOpsTests
{
    private const int IPPROTO_TCP = 6, TCP_CONGESTION = 13;

    private static string Available() => File.ReadAllText("/proc/sys/net/ipv4/tcp_available_congestion_control");

    private static ulong Global(BpfCollection c, string name, CollectionSpec spec)
    {
        var v = spec.Variables[name];
        var bss = new byte[c.Maps[v.MapName].ValueSize];
        c.Maps[v.MapName].Lookup(BitConverter.GetBytes(0), bss);
        return BinaryPrimitives.ReadUInt64LittleEndian(bss.AsSpan((int)v.Offset));
    }

    /// <summary>A TCP connection over loopback in <paramref name="ns"/> whose client uses congestion control
    /// <paramref name="cc"/>; sends <paramref name="bytes"/> bytes and returns the algorithm the socket reports.</summary>
    private static string Transfer(NetNs ns, string cc, int bytes) => ns.Run(() =>
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.SetRawSocketOption(IPPROTO_TCP, TCP_CONGESTION, Encoding.ASCII.GetBytes(cc + "\0"));
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();
        var reader = Task.Run(() =>
        {
            var buffer = new byte[65536];
            long total = 0;
            int n;
            while ((n = server.Receive(buffer)) > 0) total += n;
            return total;
        });
        var chunk = new byte[65536];
        for (int sent = 0; sent < bytes; sent += chunk.Length) client.Send(chunk);
        var name = new byte[16];
        int len = client.GetRawSocketOption(IPPROTO_TCP, TCP_CONGESTION, name);
        client.Shutdown(SocketShutdown.Send);
        Assert.True(reader.Wait(TimeSpan.FromSeconds(20)));
        Assert.Equal((long)bytes, reader.Result);
        return Encoding.ASCII.GetString(name, 0, len).TrimEnd('\0');
    });

    [Fact]
    public void BpfCongestionControlRegistersByMapUpdateAndCarriesATransfer()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        var spec = TestData.Spec("net_struct_ops.bpf.o");
        using var c = BpfCollection.Load(spec);
        var map = Assert.IsType<StructOpsMap>(c.Maps["sharpbpf_cc"]);
        Assert.Equal("tcp_congestion_ops", map.TypeName);
        Assert.False(map.UsesLink);
        Assert.Equal(MapType.StructOps, map.Type);
        Assert.Equal((uint)map.KernelValue.Length, map.ValueSize);
        var init = c.Programs["sb_init"];
        Assert.Equal(ProgramType.StructOps, init.Type);
        Assert.DoesNotContain("sharpbpf_cc", Available().Split(' ', '\n'));

        using (var registration = map.Register())
        {
            Assert.Null(registration.Link);
            Assert.Contains("sharpbpf_cc", Available().Split(' ', '\n', StringSplitOptions.TrimEntries));
            Assert.Equal("EBUSY", Assert.Throws<BpfException>(() => map.Register()).ErrnoName);

            Assert.Equal("sharpbpf_cc", Transfer(ns, "sharpbpf_cc", 8 << 20));
            Assert.True(Global(c, "inits", spec) >= 1, "init ran for the connection");
            Assert.True(Global(c, "cong_avoids", spec) > 0, "cong_avoid ran on ACKs");
        }
        Assert.DoesNotContain("sharpbpf_cc", Available().Split(' ', '\n', StringSplitOptions.TrimEntries));
        var gone = Assert.Throws<SocketException>(() => Transfer(ns, "sharpbpf_cc", 1));
        Assert.Equal(SocketError.AddressNotAvailable, gone.SocketErrorCode); // setsockopt: ENOENT (no such algorithm), as .NET maps it
    }

    [Fact]
    public void StructOpsLinkRegistersUntilDisposed()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        using var c = BpfCollection.LoadFile(TestData.PathOf("net_struct_ops.bpf.o"));
        var map = Assert.IsType<StructOpsMap>(c.Maps["sharpbpf_ccl"]);
        Assert.True(map.UsesLink);
        uint linkId;
        using (var registration = map.Register())
        {
            var link = Assert.IsType<BpfLink>(registration.Link);
            linkId = link.Id;
            Assert.Equal(LinkType.StructOps, link.Type);
            Assert.Equal(new StructOpsLinkInfo(link.Id, map.Id), link.GetInfo());
            Assert.Contains("sharpbpf_ccl", Available().Split(' ', '\n', StringSplitOptions.TrimEntries));
            Assert.Equal("sharpbpf_ccl", Transfer(ns, "sharpbpf_ccl", 1 << 20));
        }
        Assert.DoesNotContain("sharpbpf_ccl", Available().Split(' ', '\n', StringSplitOptions.TrimEntries));
        Assert.DoesNotContain(linkId, BpfLink.EnumerateIds());

        // a link map registers again with a new link
        using (var again = map.Register())
            Assert.Contains("sharpbpf_ccl", Available().Split(' ', '\n', StringSplitOptions.TrimEntries));
        Assert.DoesNotContain("sharpbpf_ccl", Available().Split(' ', '\n', StringSplitOptions.TrimEntries));
    }

    [Fact]
    public void StructsTheKernelDoesNotKnowFailTheLoadByName()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = TestData.Spec("net_struct_ops.bpf.o");
        spec.Maps["sharpbpf_cc"].StructOps!.TypeName = "sharpbpf_no_such_ops";
        var ex = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
        Assert.Contains("sharpbpf_cc", ex.Message);
        Assert.Contains("sharpbpf_no_such_ops", ex.Message);

        spec = TestData.Spec("net_struct_ops.bpf.o");
        spec.Maps["sharpbpf_cc"].StructOps!.Functions["no_such_member"] = "sb_init";
        ex = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
        Assert.Contains("no_such_member", ex.Message);

        // a set field the kernel struct lacks cannot be dropped silently
        spec = TestData.Spec("net_struct_ops.bpf.o");
        var so = spec.Maps["sharpbpf_cc"].StructOps!;
        so.TypeName = "bpf_dummy_ops"; // exists, but without tcp_congestion_ops' members
        ex = Assert.Throws<CollectionLoadException>(() => BpfCollection.Load(spec));
        Assert.Contains("sharpbpf_cc", ex.Message);
    }
}
