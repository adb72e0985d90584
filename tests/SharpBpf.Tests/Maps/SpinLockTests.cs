using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class SpinLockTests
{
    /// <summary>struct locked { struct bpf_spin_lock lock; int x; }</summary>
    private record struct Locked(int Lock, int X);

    private static HashMap<int, Locked> CreateLockedHash(TestBtf btf) =>
        new(BpfMap.Create(new MapSpec
        {
            Name = "t_locked", Type = MapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 4,
            BtfFd = btf.Fd, BtfKeyTypeId = TestBtf.Int, BtfValueTypeId = TestBtf.LockedValue,
        }));

    [Fact]
    public void LockFlagUpdateAndLookup()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var btf = new TestBtf();
        using var map = CreateLockedHash(btf);
        Assert.NotEqual(0u, map.GetInfo().BtfId);
        map.Update(1, new Locked(0, 41), UpdateFlags.Lock);
        Assert.True(map.TryLookup(1, out var v, LookupFlags.Lock));
        Assert.Equal(41, v.X);
        Assert.Equal(0, v.Lock); // the kernel never copies the lock word out
        map.Update(1, new Locked(12345, 42), UpdateFlags.Lock);
        v = map.Lookup(1, LookupFlags.Lock);
        Assert.Equal(new Locked(0, 42), v);
        map.UpdateBatch([1, 2], [new Locked(0, 1), new Locked(0, 2)], UpdateFlags.Lock);
        Assert.Equal(2, map.Lookup(2, LookupFlags.Lock).X);
    }

    [Fact]
    public void LockFlagWithoutSpinLockIsEinval()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var plain = HashMap<int, Locked>.Create("t_unlocked", 4);
        Assert.Equal("EINVAL", Assert.Throws<BpfException>(() => plain.Update(1, default, UpdateFlags.Lock)).ErrnoName);
    }
}
