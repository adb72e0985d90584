using SharpBpf.Links;
using SharpBpf.Maps;
using SharpBpf.Pinning;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Links.TracingAttachSupport;

namespace SharpBpf.Tests.Links;

[Collection(KernelCollection.Name)]
public class PinningTests
{
    private static string NewPinDir()
    {
        string dir = Path.Combine(BpfFs.DefaultPath, "sharpbpf-pin-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void PinnedLinkMapAndProgramOutliveEveryFdAndAreSeenFromOutside()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string dir = NewPinDir();
        string linkPin = Path.Combine(dir, "tasks"), mapPin = Path.Combine(dir, "counts"), progPin = Path.Combine(dir, "prog"),
            rawPin = Path.Combine(dir, "raw");
        uint linkId, mapId, progId, rawId;
        try
        {
            using (var c = Load("dump_tasks", "count_sys_enter"))
            {
                using var link = IterLink.Attach(c.Programs["dump_tasks"]);
                using var raw = RawTracepointLink.Attach(c.Programs["count_sys_enter"], "sys_enter");
                link.Pin(linkPin);
                raw.Pin(rawPin);
                c.Maps["counts"].Pin(mapPin);
                c.Programs["dump_tasks"].Pin(progPin);
                Assert.Equal(linkPin, link.PinnedPath);
                (linkId, mapId, progId, rawId) = (link.Id, c.Maps["counts"].Id, c.Programs["dump_tasks"].Id, raw.Id);
            }
            // Every fd is closed: the pins hold the objects, and the raw_tp link keeps counting this process.
            Assert.Contains(linkId, BpfLink.EnumerateIds());
            Assert.Contains(rawId, BpfLink.EnumerateIds());

            // From outside: cat runs the pinned iterator; bpftool sees the link, map and program by path.
            Assert.Contains($"{Environment.ProcessId} {Environment.ProcessId}\n", Run("/bin/cat", linkPin));
            Assert.Contains($"\"id\":{linkId},", Run("bpftool", "-j", "link", "show", "pinned", linkPin));
            Assert.Contains($"\"id\":{mapId},", Run("bpftool", "-j", "map", "show", "pinned", mapPin));
            Assert.Contains($"\"id\":{progId},", Run("bpftool", "-j", "prog", "show", "pinned", progPin));

            using (var link = BpfLink.FromPinned(linkPin))
            using (var raw = BpfLink.FromPinned(rawPin))
            using (var map = BpfMap.FromPinned(mapPin))
            using (var prog = BpfProgram.FromPinned(progPin))
            {
                var iter = Assert.IsType<IterLink>(link);
                Assert.Equal(("task", linkId), (iter.TargetName, iter.Id));
                Assert.Contains($"{Environment.ProcessId} {Environment.ProcessId}\n", iter.ReadAllText());
                Assert.Equal("sys_enter", Assert.IsType<RawTracepointLink>(raw).Name);
                Assert.Equal((mapId, progId), (map.Id, prog.Id));
                Span<byte> v = stackalloc byte[8];
                map.Lookup(BitConverter.GetBytes(2u), v);
                Assert.True(BitConverter.ToUInt64(v) > 0, "the pinned raw_tp link did not keep counting");
                Assert.Throws<ArgumentException>(() => BpfMap.FromPinned(linkPin));
                Assert.Throws<ArgumentException>(() => BpfLink.FromPinned(mapPin));
            }
        }
        finally
        {
            foreach (var f in Directory.GetFiles(dir)) BpfFs.Unpin(f);
            Directory.Delete(dir);
        }
        Assert.True(LinkGone(linkId), $"iterator link {linkId} still exists after its pin was removed");
        Assert.True(LinkGone(rawId), $"raw_tp link {rawId} still exists after its pin was removed");
    }

    [Fact]
    public void UnpinRemovesThePinAndTheLinkGoesWithTheLastReference()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string dir = NewPinDir();
        try
        {
            using var c = Load("count_sys_enter");
            uint id;
            using (var link = RawTracepointLink.Attach(c.Programs["count_sys_enter"], "sys_enter"))
            {
                id = link.Id;
                link.Pin(Path.Combine(dir, "l"));
                Assert.Throws<BpfException>(() => link.Pin(Path.Combine(dir, "l"))); // EEXIST
                link.Unpin();
                Assert.Null(link.PinnedPath);
                Assert.False(File.Exists(Path.Combine(dir, "l")));
            }
            Assert.DoesNotContain(id, BpfLink.EnumerateIds());
        }
        finally
        {
            foreach (var f in Directory.GetFiles(dir)) BpfFs.Unpin(f);
            Directory.Delete(dir);
        }
    }

    [Fact]
    public void PathsOutsideBpffsAreATypedError()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var c = Load("count_sys_enter");
        var e = Assert.Throws<BpfFsPathException>(() => c.Maps["counts"].Pin("/tmp/sharpbpf-not-bpffs"));
        Assert.Contains("not on a bpf filesystem", e.Message);
        Assert.Equal("/tmp/sharpbpf-not-bpffs", e.PinPath);
        Assert.Throws<BpfFsPathException>(() => c.Programs["count_sys_enter"].Pin("/sys/fs/bpf/no/such/dir/x"));

        string plain = Path.GetTempFileName();
        try
        {
            Assert.Throws<BpfFsPathException>(() => BpfFs.Unpin(plain));
            Assert.True(File.Exists(plain)); // not deleted
            Assert.Throws<BpfFsPathException>(() => BpfMap.FromPinned(plain));
        }
        finally
        {
            File.Delete(plain);
        }
        Assert.True(BpfFs.IsOnBpfFs(BpfFs.DefaultPath));
        Assert.False(BpfFs.IsOnBpfFs("/tmp"));
    }
}
