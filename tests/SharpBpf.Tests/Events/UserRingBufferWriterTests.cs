using System.Runtime.InteropServices;
using SharpBpf.Events;
using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Events;

[Collection(KernelCollection.Name)]
public class UserRingBufferWriterTests
{
    private static readonly int Page = Environment.SystemPageSize;

    private static BpfMap CreateUserRing(uint size) =>
        BpfMap.Create(new MapSpec { Name = "t_user_rb", Type = MapType.UserRingBuf, MaxEntries = size });

    private static uint Drain(BpfProgram prog)
    {
        Span<ulong> args = [0, 0];
        return prog.TestRun(new TestRunOptions { Context = MemoryMarshal.AsBytes(args) }).ReturnValue;
    }

    [Fact]
    public void SamplesReachTheProgramInOrderAndDiscardedOnesAreSkipped()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var user = CreateUserRing((uint)Page * 4);
        using var echo = RingBufMap.Create("t_echo", (uint)Page * 4);
        using var prog = CallbackPrograms.LoadUserRingbufEcho(user, echo);
        using var writer = new UserRingBufferWriter(user);
        using var reader = new RingBufferReader(echo);
        Assert.Equal(Page * 4, writer.Size);
        Assert.Equal(Page * 4, writer.FreeBytes);

        for (ulong i = 0; i < 10; i++) Assert.True(writer.TryWrite(i));
        Assert.True(writer.TryReserve(32, out var big));
        BitConverter.TryWriteBytes(big.Span, 100UL);
        writer.Submit(big);
        Assert.True(writer.TryReserve(8, out var dropped));
        BitConverter.TryWriteBytes(dropped.Span, 666UL);
        writer.Discard(dropped);
        bool threw = false;
        try
        {
            writer.Submit(dropped);
        }
        catch (InvalidOperationException)
        {
            threw = true;
        }
        Assert.True(threw, "submitting a discarded sample must throw");

        Assert.Equal(11u, Drain(prog)); // the discarded sample is not handed to the program
        var got = new List<ulong>();
        reader.Consume(r => got.Add(r.Read<ulong>()));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (ulong)i).Append(100UL), got);
        Assert.Equal(Page * 4, writer.FreeBytes); // the kernel consumed everything
    }

    [Fact]
    public void AnUnsubmittedReservationHoldsBackLaterSamples()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var user = CreateUserRing((uint)Page);
        using var echo = RingBufMap.Create("t_echo", (uint)Page);
        using var prog = CallbackPrograms.LoadUserRingbufEcho(user, echo);
        using var writer = new UserRingBufferWriter(user);
        using var reader = new RingBufferReader(echo);
        Assert.True(writer.TryWrite(1UL));
        Assert.True(writer.TryReserve(8, out var pending));
        Assert.True(writer.TryWrite(3UL));
        Assert.Equal(1u, Drain(prog));
        BitConverter.TryWriteBytes(pending.Span, 2UL);
        writer.Submit(pending);
        Assert.Equal(2u, Drain(prog));
        var got = new List<ulong>();
        reader.Consume(r => got.Add(r.Read<ulong>()));
        Assert.Equal([1UL, 2, 3], got);
    }

    [Fact]
    public void AFullRingRefusesAndRecoversAfterTheKernelDrains()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var user = CreateUserRing((uint)Page);
        using var echo = RingBufMap.Create("t_echo", (uint)Page * 4);
        using var prog = CallbackPrograms.LoadUserRingbufEcho(user, echo);
        using var writer = new UserRingBufferWriter(user);
        int written = 0;
        while (writer.TryWrite((ulong)written)) written++;
        Assert.Equal(Page / 16, written); // 8 bytes + 8-byte header each
        Assert.Equal(0, writer.FreeBytes);
        Assert.Equal((uint)written, Drain(prog));
        Assert.True(writer.TryWrite(7UL));
        Assert.Equal(1u, Drain(prog));
        // a filler so that the next header takes the last 8 bytes of the ring: that sample's data starts past the
        // end (the data area is mapped twice), and the kernel must read it from the ring's start
        int filler = 2 * Page - 8 - (written * 16 + 16) - 8;
        Assert.True(writer.TryReserve(filler, out var fill));
        BitConverter.TryWriteBytes(fill.Span, 41UL);
        writer.Submit(fill);
        Assert.Equal(1u, Drain(prog));
        Assert.True(writer.TryWrite(42UL));
        Assert.Equal(1u, Drain(prog));
        using var reader = new RingBufferReader(echo);
        var got = new List<ulong>();
        reader.Consume(r => got.Add(r.Read<ulong>()));
        Assert.Equal(written + 3, got.Count);
        Assert.Equal([7UL, 41, 42], got[^3..]);
    }

    [Fact]
    public void BadInputIsRejected()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var user = CreateUserRing((uint)Page);
        using var notUser = RingBufMap.Create("t_rb", (uint)Page);
        Assert.Throws<ArgumentException>(() => new UserRingBufferWriter(notUser));
        var writer = new UserRingBufferWriter(user);
        Assert.Equal(Page - 8, writer.MaxSampleSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.TryReserve(Page, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.TryReserve(-1, out _));
        Assert.Throws<ArgumentException>(() => writer.Submit(default));
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.TryWrite(1UL));
    }
}
