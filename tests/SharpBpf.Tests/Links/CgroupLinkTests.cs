using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SharpBpf.Links;
using SharpBpf.Programs;
using SharpBpf.Tests.Elf;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Links;

/// <summary>A fresh cgroup v2 directory for one test, removed on dispose (after its processes are gone).</summary>
internal sealed class TestCgroup : IDisposable
{
    public TestCgroup()
    {
        Path = System.IO.Path.Combine(CgroupFs.MountV2(), $"sharpbpf-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Runs a bash command in a child process, moved into this cgroup first when <paramref name="inside"/>;
    /// returns its exit code.</summary>
    public int RunBash(string command, bool inside = true)
    {
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(inside ? $"echo $$ > {Path}/cgroup.procs && {command}" : command);
        using var p = Process.Start(psi)!;
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }

    public void Dispose()
    {
        // an exited child may still be accounted to the cgroup for a moment
        for (int i = 0; ; i++)
        {
            try
            {
                Directory.Delete(Path);
                return;
            }
            catch (IOException) when (i < 200)
            {
                Thread.Sleep(10);
            }
        }
    }
}

[Collection(KernelCollection.Name)]
public class CgroupLinkTests
{
    private static BpfCollection Load(ushort fromPort = 1, ushort toPort = 1)
    {
        var spec = TestData.Spec("net_cgroup.bpf.o");
        spec.SetVariable("from_port", fromPort);
        spec.SetVariable("to_port", toPort);
        return BpfCollection.Load(spec);
    }

    private static ulong Read(BpfCollection c, string variable)
    {
        var v = TestData.Spec("net_cgroup.bpf.o").Variables[variable];
        var value = new byte[c.Maps[".bss"].ValueSize];
        c.Maps[".bss"].Lookup(BitConverter.GetBytes(0), value);
        return BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan((int)v.Offset));
    }

    [Fact]
    public void MountV2FindsOrMountsTheUnifiedHierarchy()
    {
        KernelTest.Require();
        string mount = CgroupFs.MountV2();
        Assert.Equal(mount, CgroupFs.FindV2());
        Assert.True(File.Exists(System.IO.Path.Combine(mount, "cgroup.procs")));
        Assert.Equal(mount, CgroupFs.MountV2()); // idempotent
    }

    [Fact]
    public void SkbEgressCountsOnlyTheCgroupsPackets()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var cg = new TestCgroup();
        using var c = Load();
        using (var link = CgroupLink.Attach(c.Programs["count_udp9_egress"], cg.Path, AttachType.CgroupInetEgress))
        {
            Assert.False(link.IsLegacy);
            Assert.Equal(LinkType.Cgroup, link.Link!.Type);
            Assert.Equal([c.Programs["count_udp9_egress"].Id], CgroupLink.Query(cg.Path, AttachType.CgroupInetEgress).ProgramIds);
            Assert.Equal(0, cg.RunBash("for i in 1 2 3 4 5; do echo x > /dev/udp/127.0.0.1/9; done"));
            Assert.Equal(5ul, Read(c, "udp9_packets"));
            Assert.Equal(0, cg.RunBash("echo x > /dev/udp/127.0.0.1/9", inside: false)); // not in the cgroup: not counted
            Assert.Equal(5ul, Read(c, "udp9_packets"));
        }
        Assert.Empty(CgroupLink.Query(cg.Path, AttachType.CgroupInetEgress).ProgramIds);
        Assert.Equal(0, cg.RunBash("echo x > /dev/udp/127.0.0.1/9"));
        Assert.Equal(5ul, Read(c, "udp9_packets"));
    }

    [Fact]
    public void Connect4RewritesTheDestinationPortInsideTheCgroup()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var cg = new TestCgroup();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        ushort port = (ushort)((IPEndPoint)listener.LocalEndpoint).Port;
        using var c = Load(fromPort: 1, toPort: port);
        using var connect = CgroupLink.Attach(c.Programs["rewrite_connect4"], cg.Path, AttachType.CgroupInet4Connect);
        using var create = CgroupLink.Attach(c.Programs["count_sockets"], cg.Path, AttachType.CgroupInetSockCreate,
            new CgroupAttachOptions { Legacy = true });
        using var ops = CgroupLink.Attach(c.Programs["count_established"], cg.Path, AttachType.CgroupSockOps);
        Assert.True(create.IsLegacy);
        Assert.Equal(CgroupAttachFlags.AllowMulti, create.Flags);

        // port 1 has no listener: only the rewrite makes this connect succeed
        Assert.Equal(0, cg.RunBash("echo hello > /dev/tcp/127.0.0.1/1"));
        using (var s = listener.AcceptSocket()) // the connection waits in the backlog, its data in the socket
        {
            var buffer = new byte[16];
            Assert.Equal("hello\n", System.Text.Encoding.ASCII.GetString(buffer, 0, s.Receive(buffer)));
        }
        Assert.Equal(1ul, Read(c, "rewrites"));
        Assert.Equal(1ul, Read(c, "sockets"));
        Assert.Equal(1ul, Read(c, "established"));
        Assert.NotEqual(0, cg.RunBash("echo hello > /dev/tcp/127.0.0.1/1", inside: false)); // refused outside
        Assert.Equal(1ul, Read(c, "rewrites"));

        var query = CgroupLink.Query(cg.Path, AttachType.CgroupInetSockCreate);
        Assert.Equal([c.Programs["count_sockets"].Id], query.ProgramIds);
        Assert.Equal((uint)CgroupAttachFlags.AllowMulti, query.AttachFlags);
        create.Dispose();
        Assert.Empty(CgroupLink.Query(cg.Path, AttachType.CgroupInetSockCreate).ProgramIds);
    }

    [Fact]
    public void ExclusiveLegacyAttachmentBlocksLinks()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var cg = new TestCgroup();
        using var c = Load();
        using (var exclusive = CgroupLink.Attach(c.Programs["pass_connect6"], cg.Path, AttachType.CgroupInet6Connect,
                   new CgroupAttachOptions { Legacy = true, Flags = CgroupAttachFlags.None }))
        {
            Assert.Null(exclusive.Link);
            var blocked = Assert.Throws<BpfException>(() => CgroupLink.Attach(c.Programs["pass_connect6"], cg.Path, AttachType.CgroupInet6Connect));
            Assert.Equal("EPERM", blocked.ErrnoName);
            Assert.Equal("BPF_LINK_CREATE", blocked.Operation);
            Assert.Equal(0u, CgroupLink.Query(cg.Path, AttachType.CgroupInet6Connect).AttachFlags);
        }
        Assert.Empty(CgroupLink.Query(cg.Path, AttachType.CgroupInet6Connect).ProgramIds);
        // the hook is free again for a link
        using var link = CgroupLink.Attach(c.Programs["pass_connect6"], cg.Path, AttachType.CgroupInet6Connect);
        Assert.Single(CgroupLink.Query(cg.Path, AttachType.CgroupInet6Connect).ProgramIds);
    }

    [Fact]
    public void BadInputIsRejectedWithWhatAndWhere()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var cg = new TestCgroup();
        using var c = Load();
        var skb = c.Programs["count_udp9_egress"];
        Assert.Contains("CgroupSockAddr", Assert.Throws<ArgumentException>(() => CgroupLink.Attach(skb, cg.Path, AttachType.CgroupInet4Connect)).Message);
        Assert.Contains("not a cgroup attach type", Assert.Throws<ArgumentException>(() => CgroupLink.Attach(skb, cg.Path, AttachType.Xdp)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => CgroupLink.Attach(skb, cg.Path + "-missing", AttachType.CgroupInetEgress));
        Assert.Throws<ArgumentException>(() => CgroupLink.Attach(skb, cg.Path, AttachType.CgroupInetEgress,
            new CgroupAttachOptions { Legacy = true, Flags = CgroupAttachFlags.AllowMulti | CgroupAttachFlags.AllowOverride }));
        // a directory that is not a cgroup v2 directory
        var notCgroup = Assert.Throws<BpfException>(() => CgroupLink.Attach(skb, "/tmp", AttachType.CgroupInetEgress));
        Assert.Contains("/tmp", notCgroup.Message);
    }
}
