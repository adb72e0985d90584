using System.Runtime.InteropServices;
using SharpBpf.Links;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Links.TracingAttachSupport;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class IterLinkTests
{
    private static int Pid => Environment.ProcessId;

    [Fact]
    public void TaskIteratorListsThisProcessAndItsThreads()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load("dump_tasks");
        using var link = IterLink.Attach(c.Programs["dump_tasks"]);
        Assert.Equal("task", link.TargetName);
        var info = Assert.IsType<IterLinkInfo>(link.GetInfo());
        Assert.Equal(("task", 0u), (info.TargetName, info.MapId));

        var lines = link.ReadAllText().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"{Pid} {Pid}", lines);            // the main thread
        int threads = Directory.GetDirectories($"/proc/{Pid}/task").Length;
        Assert.InRange(lines.Count(l => l.StartsWith($"{Pid} ", StringComparison.Ordinal)), Math.Max(2, threads - 5), threads + 5);

        // Each Open is a new walk.
        using var stream = link.Open();
        Assert.False(stream.CanSeek);
        string again = new StreamReader(stream).ReadToEnd();
        Assert.Contains($"{Pid} {Pid}\n", again);
    }

    [Fact]
    public void TaskIteratorFilteredByProcessSeesOnlyItsThreads()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load("dump_tasks");
        using var link = IterLink.Attach(c.Programs["dump_tasks"], new IterOptions { ProcessId = Pid });
        var lines = link.ReadAllText().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.StartsWith($"{Pid} ", l));
        Assert.Contains($"{Pid} {Pid}", lines);
    }

    [Fact]
    public void MapIteratorListsTheCollectionsMap()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load("dump_maps");
        using var link = IterLink.Attach(c.Programs["dump_maps"]);
        Assert.Equal("bpf_map", link.TargetName);
        var ids = link.ReadAllText().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(uint.Parse).ToList();
        Assert.Contains(c.Maps["counts"].Id, ids);
        Assert.Equal(ids.Order(), ids); // the kernel walks maps by id
    }

    [Fact]
    public void MapElementIteratorReadsEveryElementAndReportsTheMap()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = LoadMapElemIterator();
        var counts = c.Maps["counts"];
        for (uint k = 0; k < 4; k++) counts.Update(BitConverter.GetBytes(k), BitConverter.GetBytes(100ul + k));
        using var link = IterLink.Attach(c.Programs["dump_counts"], new IterOptions { Map = counts });
        var info = Assert.IsType<IterLinkInfo>(link.GetInfo());
        Assert.Equal(("bpf_map_elem", counts.Id), (info.TargetName, info.MapId));
        byte[] bytes = link.ReadAllBytes();
        Assert.Equal(4 * 16, bytes.Length);
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal((uint)k, MemoryMarshal.Read<uint>(bytes.AsSpan(k * 16)));
            Assert.Equal(100ul + (ulong)k, MemoryMarshal.Read<ulong>(bytes.AsSpan(k * 16 + 8)));
        }
    }

    [Fact]
    public void MapElementIteratorWithoutAMapIsRefused()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = LoadMapElemIterator();
        var e = Assert.Throws<BpfException>(() => IterLink.Attach(c.Programs["dump_counts"]));
        Assert.Equal("BPF_LINK_CREATE", e.Operation);
        Assert.Throws<ArgumentException>(() => IterLink.Attach(c.Programs["dump_counts"],
            new IterOptions { Map = c.Maps["counts"], ProcessId = Pid }));
    }

    [Fact]
    public void UpdateReplacesTheIteratorProgram()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var one = Load("dump_maps");
        using var two = Load("dump_maps");
        using var link = IterLink.Attach(one.Programs["dump_maps"]);
        link.Update(two.Programs["dump_maps"]);
        Assert.Equal(two.Programs["dump_maps"].Id, link.ProgramId);
        Assert.Contains(two.Maps["counts"].Id.ToString(), link.ReadAllText().Split('\n'));
    }
}
