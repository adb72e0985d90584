using System.Diagnostics;
using System.Text.Json;
using SharpBpf.Links;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Cli.Tests;

[Collection(KernelCollection.Name)]
public class NetCommandTests
{
    private static string BpftoolIn(NetNs ns, params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["netns", "exec", ns.Name, File.Exists("/usr/sbin/bpftool") ? "/usr/sbin/bpftool" : "bpftool", .. args])
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(30_000));
        Assert.True(p.ExitCode == 0, $"bpftool {string.Join(' ', args)} failed: {stderr}");
        return stdout;
    }

    private static HashSet<string> Entries(JsonElement root, string array, Func<JsonElement, string?> key)
    {
        var set = new HashSet<string>();
        foreach (var e in root[0].GetProperty(array).EnumerateArray())
            if (key(e) is { } k) set.Add(k);
        return set;
    }

    [Fact]
    public void NetListShowsXdpTcxAndClsactLikeBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        ns.Ip("link set lo up");
        ns.Ip("link add sbva type veth peer name sbvb");
        using var c = BpfCollection.LoadFile(TestObjects.PathOf("net_tc.bpf.o"));
        using var xdpProg = BpfProgram.Load(new ProgramSpec
        {
            Name = "sb_net_xdp", Type = ProgramType.Xdp, License = "GPL",
            Instructions = [new(0xb7, 0, 0, 0, 2), new(0x95, 0, 0, 0, 0)], // r0 = XDP_PASS; exit
        });
        using var xdp = ns.Run(() => XdpLink.Attach(xdpProg, "lo", XdpAttachMode.Generic));
        using var filter = ns.Run(() => TcFilter.Attach(c.Programs["count_udp9"], "sbvb", TcDirection.Ingress, new TcFilterOptions { Priority = 5 }));
        using var tcx = ns.Run(() => TcxLink.Attach(c.Programs["order_a"], "lo", TcDirection.Egress));

        var result = ns.Run(() => CliRunner.Run("net", "list", "--json"));
        Assert.True(result.ExitCode == 0, result.Stderr);
        using var ours = JsonDocument.Parse(result.Stdout);
        var root = ours.RootElement;
        var x = Assert.Single(root[0].GetProperty("xdp").EnumerateArray());
        Assert.Equal("lo", x.GetProperty("devname").GetString());
        Assert.Equal("generic", x.GetProperty("mode").GetString());
        Assert.Equal(xdpProg.Id, x.GetProperty("id").GetUInt32());
        var tc = root[0].GetProperty("tc").EnumerateArray().ToList();
        var t = Assert.Single(tc, e => e.GetProperty("kind").GetString() == "tcx/egress");
        Assert.Equal(tcx.Id, t.GetProperty("link_id").GetUInt32());
        Assert.Equal("order_a", t.GetProperty("name").GetString());
        var f = Assert.Single(tc, e => e.GetProperty("kind").GetString() == "clsact/ingress");
        Assert.Equal("sbvb", f.GetProperty("devname").GetString());
        Assert.Equal(filter.Name, f.GetProperty("name").GetString());
        Assert.Equal(5, f.GetProperty("prio").GetInt32());
        Assert.Equal(Environment.ProcessId, f.GetProperty("owner_pid").GetInt32());

        // the real bpftool (7.1 here lists no tcx; newer ones do, with the same kind names)
        using var theirs = JsonDocument.Parse(BpftoolIn(ns, "net", "-j"));
        Assert.Equal(Entries(theirs.RootElement, "xdp", e => $"{e.GetProperty("devname")}/{e.GetProperty("mode")}/{e.GetProperty("id")}"),
            Entries(root, "xdp", e => $"{e.GetProperty("devname")}/{e.GetProperty("mode")}/{e.GetProperty("id")}"));
        static string? Clsact(JsonElement e) => e.GetProperty("kind").GetString()!.StartsWith("clsact/", StringComparison.Ordinal)
            ? $"{e.GetProperty("devname")}/{e.GetProperty("kind")}/{e.GetProperty("name")}/{(e.TryGetProperty("id", out var id) ? id : e.GetProperty("prog_id"))}"
            : null;
        Assert.Equal(Entries(theirs.RootElement, "tc", Clsact), Entries(root, "tc", Clsact));
        Assert.NotEmpty(Entries(root, "tc", Clsact));

        var table = ns.Run(() => CliRunner.Run("net", "list"));
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("sb_net_xdp", table.Stdout);
        Assert.Contains("xdp/generic", table.Stdout);
        Assert.Contains("tcx/egress", table.Stdout);
        Assert.Contains(filter.Name, table.Stdout);
        Assert.Contains("3 attachments", table.Stdout);
    }

    [Fact]
    public void CgroupTreeListsAttachmentsLikeBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string mount = CgroupFs.MountV2();
        string dir = Path.Combine(mount, $"sharpbpf-cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            using var c = BpfCollection.LoadFile(TestObjects.PathOf("net_cgroup.bpf.o"));
            using (var egress = CgroupLink.Attach(c.Programs["count_udp9_egress"], dir, AttachType.CgroupInetEgress))
            using (var sock = CgroupLink.Attach(c.Programs["count_sockets"], dir, AttachType.CgroupInetSockCreate, new CgroupAttachOptions { Legacy = true }))
            {
                var result = CliRunner.Run("cgroup", "tree", mount, "--json");
                Assert.True(result.ExitCode == 0, result.Stderr);
                using var ours = JsonDocument.Parse(result.Stdout);
                var mine = Assert.Single(ours.RootElement.EnumerateArray(), e => e.GetProperty("cgroup").GetString() == dir);
                var programs = mine.GetProperty("programs").EnumerateArray().ToList();
                Assert.Equal(2, programs.Count);
                Assert.Contains(programs, p => p.GetProperty("attach_type").GetString() == "cgroup_inet_egress"
                                              && p.GetProperty("id").GetUInt32() == c.Programs["count_udp9_egress"].Id);
                Assert.Contains(programs, p => p.GetProperty("attach_type").GetString() == "cgroup_inet_sock_create"
                                              && p.GetProperty("attach_flags").GetString() == "multi"
                                              && p.GetProperty("name").GetString() == "count_sockets");

                using var theirs = JsonDocument.Parse(BpftoolCrossCheckTests.Bpftool("cgroup", "tree", mount, "-j"));
                var bpftoolIds = theirs.RootElement.EnumerateArray()
                    .Where(e => e.GetProperty("cgroup").GetString() == dir)
                    .SelectMany(e => e.GetProperty("programs").EnumerateArray().Select(p => p.GetProperty("id").GetUInt32()))
                    .Order().ToList();
                Assert.Equal(programs.Select(p => p.GetProperty("id").GetUInt32()).Order().ToList(), bpftoolIds);

                var table = CliRunner.Run("cgroup", "tree", dir);
                Assert.Equal(0, table.ExitCode);
                Assert.Contains(c.Programs["count_udp9_egress"].Id.ToString(), table.Stdout);
                Assert.Contains("2 programs in 1 cgroups", table.Stdout);
            }
            Assert.Contains("0 programs", CliRunner.Run("cgroup", "tree", dir).Stdout);
            Assert.Equal(2, CliRunner.Run("cgroup", "tree", dir + "-missing").ExitCode);
        }
        finally
        {
            Directory.Delete(dir);
        }
    }
}
