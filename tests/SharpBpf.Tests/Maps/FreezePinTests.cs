using SharpBpf.Maps;
using SharpBpf.Pinning;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class FreezePinTests
{
    [Fact]
    public void FrozenMapRefusesUpdatesWithEperm()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var map = HashMap<uint, ulong>.Create("t_frozen", 4);
        map.Update(1, 10);
        map.Freeze();
        var ex = Assert.Throws<BpfException>(() => map.Update(1, 11));
        Assert.Equal("EPERM", ex.ErrnoName);
        Assert.Equal("EPERM", Assert.Throws<BpfException>(() => map.Delete(1)).ErrnoName);
        Assert.Equal(10UL, map.Lookup(1)); // still readable
        // a second freeze fails (6.18 answers EPERM: the frozen map is no longer writable through any fd)
        Assert.Equal("BPF_MAP_FREEZE", Assert.Throws<BpfException>(() => map.Freeze()).Operation);
    }

    [Fact]
    public void PinOpenPinnedUnpin()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        string dir = Path.Combine(BpfFs.DefaultPath, $"sharpbpf_maps_{Environment.ProcessId}_{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "counts");
            using (var map = HashMap<uint, ulong>.Create("t_pinned", 8))
            {
                map.Update(3, 33);
                map.Pin(path);
            } // our fd is closed: the pin keeps the map alive
            Assert.True(File.Exists(path));
            using (var again = new HashMap<uint, ulong>(BpfMap.FromPinned(path)))
            {
                Assert.Equal("t_pinned", again.Name);
                Assert.Equal(33UL, again.Lookup(3));
            }
            BpfFs.Unpin(path);
            Assert.False(File.Exists(path));
            Assert.Equal("ENOENT", Assert.Throws<BpfException>(() => BpfMap.FromPinned(path)).ErrnoName);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        Assert.False(Directory.Exists(dir));
    }
}
