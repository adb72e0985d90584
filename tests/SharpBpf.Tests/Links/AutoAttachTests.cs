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
