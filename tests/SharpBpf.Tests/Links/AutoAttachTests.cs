using System.Runtime.InteropServices;
using SharpBpf.Links;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Links.TracingAttachSupport;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class AutoAttachTests
{
    [Fact]
    public void AttachAllAttachesBySectionAndSkipsWhatTheSectionDoesNotSay()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = BpfCollection.Load(Spec());
        Assert.Equal("tracepoint/sched/sched_process_exec", c.SectionNames["count_exec"]);
        List<uint> ids;
        using (var links = c.AttachAll())
        {
            Assert.Equal(["count_exec", "count_exec_btf", "count_sys_enter", "dump_maps", "dump_tasks"], links.Keys.Order());
            Assert.Equal("pass_all", Assert.Single(links.Skipped).Key);
            Assert.Contains("Xdp programs are attached explicitly", links.Skipped[0].Value);
            Assert.IsType<TracepointLink>(links["count_exec"]);
            Assert.IsType<TracingLink>(links["count_exec_btf"]);
            Assert.IsType<RawTracepointLink>(links["count_sys_enter"]);
            Assert.IsType<IterLink>(links["dump_tasks"]);
            foreach (var (name, link) in links) Assert.Equal(c.Programs[name].Id, link.ProgramId);

            RunTrue(3);
            Assert.True(Count(c, 0) >= 3 && Count(c, 1) >= 3, $"tracepoint {Count(c, 0)}, tp_btf {Count(c, 1)} execs");
            Assert.True(Count(c, 2) > 0, "raw_tp saw no syscall of this process");
            Assert.Contains($"{Environment.ProcessId} {Environment.ProcessId}\n", ((IterLink)links["dump_tasks"]).ReadAllText());
            ids = [.. links.Values.Select(l => l.Id)];
        }
        var live = BpfLink.EnumerateIds().ToHashSet();
        Assert.DoesNotContain(ids, live.Contains);
    }

    [DllImport("libc")]
    private static extern int getppid();

    [Fact]
    public void UprobeSectionsAttachByBinaryAndFunction()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = SharpBpf.TestUtilities.TestData.Spec("uprobes.bpf.o");
        spec.Programs["on_return"].SectionName = "uretprobe/libc.so.6:getpid";
        spec.Programs["on_entry"].SectionName = "uprobe/c:getppid";
        spec.Programs["on_multi"].SectionName = "uprobe.multi/libc.so.6:getppi?";
        bool multiLinks = KernelTest.Has("uprobe-multi-attach"); // 6.6
        if (!multiLinks) spec.Programs["on_multi"].AutoLoad = false;
        using var c = BpfCollection.Load(spec);
        using (var links = c.AttachAll())
        {
            Assert.Equal(multiLinks ? ["on_entry", "on_multi", "on_return"] : ["on_entry", "on_return"], links.Keys.Order());
            Assert.Contains("BINARY:FUNCTION", Assert.Single(links.Skipped).Value); // bare "uprobe.s"
            Assert.IsType<UprobeLink>(links["on_return"]);
            if (multiLinks) Assert.IsType<UprobeMultiLink>(links["on_multi"]);
            for (int i = 0; i < 5; i++)
            {
                TracingTestSupport.getpid();
                getppid();
            }
            var results = new SharpBpf.Maps.ArrayMap<ulong>(c.Maps["results"]);
            Assert.True(results.Lookup(3) >= 5, $"uretprobe on getpid ran {results.Lookup(3)} times"); // RETURN_COUNT
            Assert.True(results.Lookup(0) >= 5, $"uprobe on getppid ran {results.Lookup(0)} times");  // ENTRY_COUNT
            if (!multiLinks) return;
            var multi = new SharpBpf.Maps.HashMap<ulong, ulong>(c.Maps["multi_hits"]);
            Assert.True(multi.TryLookup(0, out ulong hits) && hits >= 5, $"uprobe.multi on getppi? ran {hits} times");
        }
    }

    [Fact]
    public void AFailureDetachesEverythingAndNamesTheProgram()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var spec = Spec();
        spec.Programs["count_sys_enter"].SectionName = "raw_tp/no_such_tracepoint_sb";
        using var c = BpfCollection.Load(spec);
        var before = BpfLink.EnumerateIds().ToHashSet();
        var e = Assert.Throws<AutoAttachException>(() => c.AttachAll());
        Assert.Equal("count_sys_enter", e.ProgramName);
        Assert.Contains("no_such_tracepoint_sb", e.Message);
        Assert.Equal(2, Assert.IsType<BpfException>(e.InnerException).Errno);
        // count_exec and count_exec_btf were attached first: both links are gone again.
        Assert.Subset(before, BpfLink.EnumerateIds().ToHashSet());
    }

    [Fact]
    public void TracepointSectionWithoutTargetIsSkipped()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load("count_exec");
        Assert.Null(AutoAttach.TryAttach(c.Programs["count_exec"], "tracepoint", out string? why));
        Assert.Contains("CATEGORY/NAME", why);
        Assert.Null(AutoAttach.TryAttach(c.Programs["count_exec"], "", out why));
        Assert.Contains("tracepoint+", AutoAttach.SupportedPrefixes);
    }
}
