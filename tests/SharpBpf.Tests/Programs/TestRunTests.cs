using SharpBpf.Maps;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Programs.Insn;

namespace SharpBpf.Tests.Programs;

[Collection(KernelCollection.Name)]
public class TestRunTests
{
    [Fact]
    public void XdpDropsUdpPort9AndPassesTheRest()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var prog = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9), "sb_xdp_port9");

        Assert.Equal((uint)TestPrograms.XdpDrop, prog.TestRun(TestPrograms.Frame(17, 9)).ReturnValue);
        Assert.Equal((uint)TestPrograms.XdpDrop, prog.TestRun(TestPrograms.Frame(17, 9, payload: 0)).ReturnValue);
        Assert.Equal((uint)TestPrograms.XdpPass, prog.TestRun(TestPrograms.Frame(17, 53)).ReturnValue);
        Assert.Equal((uint)TestPrograms.XdpPass, prog.TestRun(TestPrograms.Frame(17, 9 << 8)).ReturnValue);
        Assert.Equal((uint)TestPrograms.XdpPass, prog.TestRun(TestPrograms.Frame(6, 9)).ReturnValue);     // TCP
        Assert.Equal((uint)TestPrograms.XdpPass, prog.TestRun(TestPrograms.Frame(17, 9, etherType: 0x0806)).ReturnValue);
        Assert.Equal((uint)TestPrograms.XdpPass, prog.TestRun(TestPrograms.Frame(17, 9)[..40]).ReturnValue); // too short for UDP

        var ex = Assert.Throws<BpfException>(() => prog.TestRun(new byte[4]));
        Assert.Equal("EINVAL", ex.ErrnoName);
        Assert.Contains("BPF_PROG_TEST_RUN", ex.Message);
    }

    [Fact]
    public void DataOutAndRepeat()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var prog = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9), "sb_xdp_out");
        byte[] frame = TestPrograms.Frame(17, 53, payload: 100);
        byte[] output = new byte[2048];
        var result = prog.TestRun(new TestRunOptions { Data = frame, DataOut = output, Repeat = 100_000 });
        Assert.Equal((uint)TestPrograms.XdpPass, result.ReturnValue);
        Assert.Equal(frame.Length, result.DataOutLength);
        Assert.False(result.DataOutTruncated);
        Assert.Equal(frame, output[..result.DataOutLength]);
        Assert.InRange(result.DurationNanoseconds, 1u, 1_000_000u);

        byte[] small = new byte[20];
        var cut = prog.TestRun(new TestRunOptions { Data = frame, DataOut = small });
        Assert.True(cut.DataOutTruncated);
        Assert.Equal(frame.Length, cut.DataOutLength);
        Assert.Equal(frame[..20], small);

        Assert.Throws<ArgumentException>(() => prog.TestRun(new TestRunOptions { Data = frame, Cpu = 1 }));
    }

    [Fact]
    public void RunCountAndTimeWithStatsEnabled()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var prog = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9), "sb_xdp_stats");
        using (BpfStats.Enable())
        {
            prog.TestRun(new TestRunOptions { Data = TestPrograms.Frame(17, 9), Repeat = 50 });
            var info = prog.GetInfo();
            Assert.Equal(50ul, info.RunCount);
            Assert.True(info.RunTimeNs > 0);
            Assert.Equal(0ul, info.RecursionMisses);
        }
    }

    [Fact]
    public void SocketFilterContextRoundTrip()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // r0 = skb->len (offset 0 of struct __sk_buff)
        using var prog = BpfProgram.Load(new ProgramSpec
        {
            Name = "sb_skb_len", Type = ProgramType.SocketFilter, License = "GPL",
            Instructions = [LdxMem(W, R0, R1, 0), Exit()],
        });
        byte[] frame = TestPrograms.Frame(17, 9, payload: 10);
        // the kernel pulls the Ethernet header before the program runs (eth_type_trans)
        Assert.Equal((uint)frame.Length - 14, prog.TestRun(frame).ReturnValue);
        var ctxIn = new byte[192]; // sizeof(struct __sk_buff)
        var ctxOut = new byte[192];
        ctxIn[4 * 2] = 7; // mark
        var r = prog.TestRun(new TestRunOptions { Data = frame, Context = ctxIn, ContextOut = ctxOut });
        Assert.Equal(192, r.ContextOutLength);
        Assert.Equal(7, ctxOut[8]);
        Assert.Equal((uint)frame.Length - 14, r.ReturnValue);
    }

    [Fact]
    public void TailCallRunsTheProgramInTheSlotElseFallsThrough()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var jumpTable = BpfMap.Create(new MapSpec { Name = "sb_jmp", Type = MapType.ProgramArray, KeySize = 4, ValueSize = 4, MaxEntries = 2 });
        using var target = BpfProgram.Load(new ProgramSpec
        {
            Name = "sb_tail_target", Type = ProgramType.SocketFilter, License = "GPL",
            Instructions = [Mov64Imm(R0, 42), Exit()],
        });
        using var entry = BpfProgram.Load(new ProgramSpec
        {
            Name = "sb_tail_entry", Type = ProgramType.SocketFilter, License = "GPL",
            Instructions = Program(
                LdMapFd(R2, jumpTable.Fd),
                Mov64Imm(R3, 0),
                Call(TailCall),      // r1 is still the context
                Mov64Imm(R0, 7),     // reached only when the slot is empty
                Exit()),
        });
        byte[] frame = TestPrograms.Frame(17, 9);
        byte[] key = BitConverter.GetBytes(0);

        Assert.Equal(7u, entry.TestRun(frame).ReturnValue);
        jumpTable.Update(key, BitConverter.GetBytes(target.Fd));
        Assert.Equal(42u, entry.TestRun(frame).ReturnValue);
        Assert.True(jumpTable.Delete(key));
        Assert.Equal(7u, entry.TestRun(frame).ReturnValue);

        // a program of another type cannot go into the table
        using var xdp = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9), "sb_tail_xdp");
        var ex = Assert.Throws<BpfException>(() => jumpTable.Update(key, BitConverter.GetBytes(xdp.Fd)));
        Assert.Equal("EINVAL", ex.ErrnoName);
    }
}
