using SharpBpf.Maps;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Maps;

[Collection(KernelCollection.Name)]
public class SpecialMapTests
{
    [Fact]
    public void RingBufSizeMustBePowerOfTwoPages()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        int page = Environment.SystemPageSize;
        using var rb = RingBufMap.Create("t_ringbuf", (uint)page * 4);
        Assert.Equal(MapType.RingBuf, rb.Type);
        Assert.Equal((uint)page * 4, rb.Size);
        Assert.Throws<ArgumentOutOfRangeException>(() => RingBufMap.Create("t_rb_bad", (uint)page * 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => RingBufMap.Create("t_rb_bad", (uint)page / 2));
        using var notRingBuf = HashMap<uint, uint>.Create("t_rb_notrb", 1);
        Assert.Throws<ArgumentException>(() => new RingBufMap(notRingBuf));
    }

    [Fact]
    public void StackTraceMapLookupOfUnknownIdAndDepth()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var stacks = StackTraceMap.Create("t_stacks", 16, depth: 32);
        Assert.Equal(32, stacks.Depth);
        Assert.Equal(256u, stacks.ValueSize);
        Span<ulong> frames = stackalloc ulong[32];
        Assert.False(stacks.TryLookup(5, frames));
        Assert.False(stacks.Delete(5));
        Assert.Throws<ArgumentException>(() => stacks.TryLookup(5, new ulong[31]));
        Assert.Throws<ArgumentException>(() => StackTraceMap.Create("t_stacks_bid", 4, flags: MapFlags.StackBuildId));
    }
}
