using System.Text.Json;
using SharpBpf.Links;
using SharpBpf.Pinning;
using SharpBpf.TestUtilities;
using static SharpBpf.Cli.Tests.BpftoolCrossCheckTests;

namespace SharpBpf.Cli.Tests;

[Collection(KernelCollection.Name)]
public class LinkCommandTests
{
    private static BpfCollection LoadTracepoints() => BpfCollection.LoadFile(TestObjects.PathOf("tracepoints.bpf.o"));

    private static string NewPinDir()
    {
        string dir = Path.Combine(BpfFs.DefaultPath, "sharpbpf-cli-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static void RemovePinDir(string dir)
    {
        foreach (var f in Directory.GetFiles(dir)) BpfFs.Unpin(f);
        Directory.Delete(dir);
    }

    /// <summary>Whether link <paramref name="id"/> is gone within 5 s (links whose last reference was a pin are freed
    /// from a workqueue).</summary>
    private static bool Gone(uint id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (BpfLink.EnumerateIds().Contains(id))
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Sleep(10);
        }
        return true;
    }

    [Fact]
    public void LinkShowAndListAgreeWithBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = LoadTracepoints();
        using var raw = RawTracepointLink.Attach(c.Programs["raw_tp_sys_enter"], "sys_enter");
        using var tp = TracepointLink.Attach(c.Programs["tp_sys_enter"], "raw_syscalls", "sys_enter");

        var show = CliRunner.Run("link", "show", raw.Id.ToString(), "--json");
        Assert.Equal(0, show.ExitCode);
        using var ours = JsonDocument.Parse(show.Stdout);
        using var theirs = JsonDocument.Parse(Bpftool("link", "show", "id", raw.Id.ToString(), "-j"));
        foreach (var field in new[] { "id", "prog_id" })
            Assert.Equal(theirs.RootElement.GetProperty(field).GetUInt32(), ours.RootElement.GetProperty(field).GetUInt32());
        foreach (var field in new[] { "type", "tp_name" })
            Assert.Equal(theirs.RootElement.GetProperty(field).GetString(), ours.RootElement.GetProperty(field).GetString());

        var list = CliRunner.Run("link", "list", "--json");
        Assert.Equal(0, list.ExitCode);
        using var all = JsonDocument.Parse(list.Stdout);
        var tpJson = all.RootElement.EnumerateArray().Single(e => e.GetProperty("id").GetUInt32() == tp.Id);
        Assert.Equal("perf_event", tpJson.GetProperty("type").GetString());
        Assert.Equal("tracepoint", tpJson.GetProperty("perf_event_type").GetString());
        Assert.Equal("sys_enter", tpJson.GetProperty("tracepoint").GetString());
        using var bpftoolAll = JsonDocument.Parse(Bpftool("link", "list", "-j"));
        Assert.Equal(bpftoolAll.RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetUInt32()).Order(),
            all.RootElement.EnumerateArray().Select(e => e.GetProperty("id").GetUInt32()).Order());

        var table = CliRunner.Run("link", "list");
        Assert.Contains("raw_tracepoint", table.Stdout);
        Assert.Contains("tp_name=sys_enter", table.Stdout);

        var missing = CliRunner.Run("link", "show", "4000000000");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no link with id 4000000000", missing.Stderr);
    }

    [Fact]
    public void LinkListShowsNetfilterLinks()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var ns = NetNs.Create();
        using var c = BpfCollection.LoadFile(TestObjects.PathOf("netfilter.bpf.o"));
        using var link = ns.Run(() => NetfilterLink.Attach(c.Programs["nf_accept"], NetfilterFamily.IPv6, NetfilterHook.PreRouting, -77));

        var show = CliRunner.Run("link", "show", link.Id.ToString(), "--json");
        Assert.Equal(0, show.ExitCode);
        using var json = JsonDocument.Parse(show.Stdout);
        Assert.Equal("netfilter", json.RootElement.GetProperty("type").GetString());
        Assert.Equal(10, json.RootElement.GetProperty("pf").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("hook").GetInt32());
        Assert.Equal(-77, json.RootElement.GetProperty("prio").GetInt32());
        Assert.Equal(0, json.RootElement.GetProperty("flags").GetInt32());

        var table = CliRunner.Run("link", "list");
        Assert.Equal(0, table.ExitCode);
        var line = table.Stdout.Split('\n').Single(l => l.Contains($"│ {link.Id} ", StringComparison.Ordinal));
        Assert.Contains("netfilter", line);
        Assert.Contains("pf=10 hook=0 prio=-77 flags=0", line);
    }

    [Fact]
    public void LinkPinKeepsTheLinkAfterEveryFdIsClosed()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string dir = NewPinDir();
        uint id;
        try
        {
            using (var c = LoadTracepoints())
            using (var raw = RawTracepointLink.Attach(c.Programs["raw_tp_sys_exit"], "sys_exit"))
            {
                id = raw.Id;
                var r = CliRunner.Run("link", "pin", id.ToString(), Path.Combine(dir, "l"));
                Assert.Equal(0, r.ExitCode);
                Assert.Contains($"pinned link {id}", r.Stdout);
            }
            using var pinned = JsonDocument.Parse(Bpftool("link", "show", "pinned", Path.Combine(dir, "l"), "-j"));
            Assert.Equal(id, pinned.RootElement.GetProperty("id").GetUInt32());

            var outside = CliRunner.Run("link", "pin", id.ToString(), "/tmp/sharpbpf-not-bpffs");
            Assert.Equal(1, outside.ExitCode);
            Assert.Contains("not on a bpf filesystem", outside.Stderr);
        }
        finally
        {
            RemovePinDir(dir);
        }
        Assert.True(Gone(id), $"link {id} outlived its pin");
    }

    [Fact]
    public void LinkDetachDetachesOrSaysWhyNot()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = LoadTracepoints();
        using var raw = RawTracepointLink.Attach(c.Programs["raw_tp_sys_enter"], "sys_enter");
        var r = CliRunner.Run("link", "detach", raw.Id.ToString());
        if (r.ExitCode == 0)
        {
            Assert.Contains($"detached link {raw.Id}", r.Stdout);
            Assert.Equal(0u, raw.GetInfo().ProgramId); // defunct: the kernel reports no program
        }
        else
        {
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("BPF_LINK_DETACH", r.Stderr); // a link kind without detach: EOPNOTSUPP, named
        }
    }

    [Fact]
    public void PerfListShowsThisProcessesTracepointLikeBpftool()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = LoadTracepoints();
        using var tp = TracepointLink.Attach(c.Programs["tp_sys_enter"], "raw_syscalls", "sys_enter");
        using var raw = RawTracepointLink.Attach(c.Programs["raw_tp_sys_exit"], "sys_exit");
        var r = CliRunner.Run("perf", "list", "--json");
        Assert.Equal(0, r.ExitCode);
        using var ours = JsonDocument.Parse(r.Stdout);
        var mine = ours.RootElement.EnumerateArray().Where(e => e.GetProperty("pid").GetInt32() == Environment.ProcessId).ToList();
        var tpEntry = mine.Single(e => e.GetProperty("fd").GetInt32() == tp.PerfEventFd);
        Assert.Equal(("tracepoint", "sys_enter", c.Programs["tp_sys_enter"].Id),
            (tpEntry.GetProperty("fd_type").GetString(), tpEntry.GetProperty("tracepoint").GetString(), tpEntry.GetProperty("prog_id").GetUInt32()));
        var rawEntry = mine.Single(e => e.GetProperty("fd").GetInt32() == raw.Fd);
        Assert.Equal(("raw_tracepoint", "sys_exit"), (rawEntry.GetProperty("fd_type").GetString(), rawEntry.GetProperty("tracepoint").GetString()));

        using var theirs = JsonDocument.Parse(Bpftool("perf", "list", "-j"));
        string Key(JsonElement e) => $"{e.GetProperty("pid").GetInt32()}/{e.GetProperty("fd").GetInt32()}/{e.GetProperty("prog_id").GetUInt32()}/{e.GetProperty("fd_type").GetString()}";
        var bpftoolMine = theirs.RootElement.EnumerateArray().Where(e => e.GetProperty("pid").GetInt32() == Environment.ProcessId).Select(Key).Order();
        Assert.Equal(bpftoolMine, mine.Select(Key).Order());

        Assert.Contains("sys_enter", CliRunner.Run("perf", "list").Stdout);
    }

    [Fact]
    public void ProgPinAndAttachWithAPinnedLink()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string dir = NewPinDir();
        uint linkId;
        try
        {
            using (var c = LoadTracepoints())
            {
                uint progId = c.Programs["raw_tp_sys_enter"].Id;
                var pin = CliRunner.Run("prog", "pin", progId.ToString(), Path.Combine(dir, "prog"));
                Assert.Equal(0, pin.ExitCode);
                using (var p = JsonDocument.Parse(Bpftool("prog", "show", "pinned", Path.Combine(dir, "prog"), "-j")))
                    Assert.Equal(progId, p.RootElement.GetProperty("id").GetUInt32());

                var attach = CliRunner.Run("prog", "attach", progId.ToString(), "raw_tp", "sys_enter", "--pin", Path.Combine(dir, "link"));
                Assert.Equal(0, attach.ExitCode);
                Assert.Contains("raw tracepoint link", attach.Stdout);

                uint tpId = c.Programs["tp_sys_enter"].Id;
                Assert.Equal(0, CliRunner.Run("prog", "attach", tpId.ToString(), "tracepoint", "raw_syscalls/sys_exit", "--pin", Path.Combine(dir, "tp")).ExitCode);

                var bad = CliRunner.Run("prog", "attach", progId.ToString(), "tracepoint", "nocategory", "--pin", Path.Combine(dir, "x"));
                Assert.Equal(2, bad.ExitCode);
                Assert.Contains("CATEGORY/NAME", bad.Stderr);
                Assert.Equal(2, CliRunner.Run("prog", "attach", progId.ToString(), "kprobe-ish", "--pin", Path.Combine(dir, "x")).ExitCode);
                Assert.Equal(2, CliRunner.Run("prog", "attach", progId.ToString(), "raw_tp", "sys_enter").ExitCode); // --pin is required
            }
            // The collection is gone; the pinned links hold the programs attached.
            using var link = JsonDocument.Parse(Bpftool("link", "show", "pinned", Path.Combine(dir, "link"), "-j"));
            Assert.Equal("raw_tracepoint", link.RootElement.GetProperty("type").GetString());
            linkId = link.RootElement.GetProperty("id").GetUInt32();
            using var reopened = BpfLink.FromPinned(Path.Combine(dir, "tp"));
            Assert.IsType<TracepointLink>(reopened);
        }
        finally
        {
            RemovePinDir(dir);
        }
        Assert.True(Gone(linkId));
    }

    [Fact]
    public async Task ProgLoadAttachKeepsLinksForTheDurationThenDetaches()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var before = BpfLink.EnumerateIds().ToHashSet();
        var run = Task.Run(() => CliRunner.Run("prog", "load", TestObjects.PathOf("tracepoints.bpf.o"), "--attach", "--duration", "3", "--json"));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        List<uint> fresh;
        while ((fresh = BpfLink.EnumerateIds().Where(i => !before.Contains(i)).ToList()).Count < 4 && DateTime.UtcNow < deadline && !run.IsCompleted)
            await Task.Delay(20, TestContext.Current.CancellationToken);
        // While it runs, bpftool sees the four links (two tracepoints, two raw tracepoints).
        using (var links = JsonDocument.Parse(Bpftool("link", "list", "-j")))
        {
            var types = links.RootElement.EnumerateArray().Where(e => fresh.Contains(e.GetProperty("id").GetUInt32()))
                .Select(e => e.GetProperty("type").GetString()).Order().ToList();
            Assert.Equal(["perf_event", "perf_event", "raw_tracepoint", "raw_tracepoint"], types);
        }
        var r = await run;
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var attached = doc.RootElement.GetProperty("attached").EnumerateArray().ToList();
        Assert.Equal(["raw_tp_sys_enter", "raw_tp_sys_exit", "tp_exec", "tp_sys_enter"], attached.Select(a => a.GetProperty("name").GetString()).Order());
        Assert.Equal(fresh.Order(), attached.Select(a => a.GetProperty("link_id").GetUInt32()).Order());
        Assert.Empty(doc.RootElement.GetProperty("skipped").EnumerateArray());
        Assert.All(fresh, id => Assert.True(Gone(id), $"link {id} still attached after prog load --attach ended"));

        var usage = CliRunner.Run("prog", "load", TestObjects.PathOf("tracepoints.bpf.o"), "--duration", "1");
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("--duration needs --attach", usage.Stderr);
    }
}
