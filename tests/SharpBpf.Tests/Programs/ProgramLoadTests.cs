using SharpBpf.Asm;
using SharpBpf.Maps;
using SharpBpf.Pinning;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;
using static SharpBpf.Tests.Programs.Insn;

namespace SharpBpf.Tests.Programs;

[Collection(KernelCollection.Name)]
public class ProgramLoadTests
{
    private static ProgramSpec Spec(string name, params Instruction[] insns) =>
        new() { Name = name, Type = ProgramType.SocketFilter, License = "GPL", Instructions = insns };

    private static string PinPath() => $"{BpfFs.DefaultPath}/sharpbpf-test-{Guid.NewGuid():N}";

    /// <summary>A valid program of about <paramref name="n"/> instructions: r0 = 0; r0 += 1 (n times); exit.</summary>
    private static Instruction[] Long(int n) =>
        [Mov64Imm(R0, 0), .. Enumerable.Repeat(Add64Imm(R0, 1), n), Exit()];

    [Fact]
    public void LoadInfoPinAndReopenRoundTrip()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var prog = BpfProgram.Load(Spec("sb_roundtrip", Mov64Imm(R0, 0), Exit()));
        Assert.Equal("sb_roundtrip", prog.Name);
        Assert.Equal(ProgramType.SocketFilter, prog.Type);
        Assert.NotEqual(0u, prog.Id);
        Assert.Matches("^[0-9a-f]{16}$", prog.Tag);
        Assert.Null(prog.VerifierLog);
        Assert.Contains(prog.Id, BpfProgram.EnumerateIds());

        var info = prog.GetInfo();
        Assert.Equal(ProgramType.SocketFilter, info.Type);
        Assert.Equal(prog.Id, info.Id);
        Assert.Equal(prog.Tag, info.Tag);
        Assert.Equal("sb_roundtrip", info.Name);
        Assert.Equal(16u, info.XlatedSize);
        Assert.True(info.GplCompatible);
        Assert.Empty(info.MapIds);
        Assert.Equal(2u, info.VerifiedInstructions);
        Assert.Equal(0u, info.CreatedByUid);
        double uptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(info.LoadTime.TotalSeconds, 1, uptime + 1);

        string path = PinPath();
        prog.Pin(path);
        try
        {
            using (var pinned = BpfProgram.FromPinned(path))
            {
                Assert.Equal(prog.Id, pinned.Id);
                Assert.Equal(prog.Tag, pinned.Tag);
                Assert.Equal(ProgramType.SocketFilter, pinned.Type);
            }
            using (var byId = BpfProgram.FromId(prog.Id)) Assert.Equal("sb_roundtrip", byId.Name);
            using (var byFd = BpfProgram.FromFd(prog.Fd)) Assert.Equal(prog.Id, byFd.Id);
        }
        finally
        {
            BpfFs.Unpin(path);
        }
        Assert.False(File.Exists(path));
        prog.Dispose();
        Assert.Throws<ObjectDisposedException>(() => prog.Fd);
    }

    [Fact]
    public void NonGplLicenseAndMissingObjects()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using (var prog = BpfProgram.Load(Spec("sb_mit", Mov64Imm(R0, 0), Exit()) with { License = "MIT" }))
            Assert.False(prog.GetInfo().GplCompatible);
        var ex = Assert.Throws<BpfException>(() => BpfProgram.FromId(uint.MaxValue));
        Assert.Equal("ENOENT", ex.ErrnoName);
        Assert.Contains("BPF_PROG_GET_FD_BY_ID", ex.Message);

        // a pinned map is not a program
        using var map = TestPrograms.CounterMap("sb_notprog");
        string path = PinPath();
        map.Pin(path);
        try
        {
            Assert.Throws<ArgumentException>(() => BpfProgram.FromPinned(path));
            Assert.Throws<ArgumentException>(() => BpfProgram.FromFd(map.Fd));
        }
        finally
        {
            BpfFs.Unpin(path);
        }

        // and a pinned program is not a map
        using var program = BpfProgram.Load(Spec("sb_notmap", Mov64Imm(R0, 0), Exit()));
        program.Pin(path);
        try
        {
            var notMap = Assert.Throws<ArgumentException>(() => BpfMap.FromPinned(path));
            Assert.Contains("not a BPF map", notMap.Message);
            Assert.Throws<ArgumentException>(() => BpfMap.FromFd(program.Fd));
        }
        finally
        {
            BpfFs.Unpin(path);
        }
    }

    [Fact]
    public void MapIdsIncludeUsedAndBoundMaps()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var used = TestPrograms.CounterMap("sb_used");
        using var bound = TestPrograms.CounterMap("sb_bound");
        using var prog = TestPrograms.LoadXdp(TestPrograms.XdpUdpPort(9, used), "sb_mapids");
        Assert.Equal([used.Id], prog.GetInfo().MapIds);
        prog.BindMap(bound);
        Assert.Equal(new[] { used.Id, bound.Id }.Order(), prog.GetInfo().MapIds.Order());
    }

    [Fact]
    public void VerifierRejectsUninitialisedRegister()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var ex = Assert.Throws<BpfVerifierException>(() => BpfProgram.Load(Spec("sb_bad_reg", Mov64Reg(R0, R2), Exit())));
        Assert.Equal("R2 !read_ok", ex.Message);
        Assert.Contains("R2 !read_ok", ex.Log);
        Assert.Contains("r0 = r2", ex.Log);
        Assert.StartsWith("processed ", ex.Lines[^1]);
        Assert.Equal("EACCES", ex.ErrnoName);
        Assert.Equal("BPF_PROG_LOAD", ex.Operation);
        Assert.Equal("sb_bad_reg", ex.ProgramName);
        Assert.False(ex.Truncated);
        Assert.Contains("'sb_bad_reg'", ex.Failure);
        string text = ex.ToString();
        Assert.Contains("R2 !read_ok", text);
        Assert.DoesNotContain("lines omitted", text);
    }

    [Fact]
    public void VerifierRejectsOutOfBoundsStackWrite()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var ex = Assert.Throws<BpfVerifierException>(() =>
            BpfProgram.Load(Spec("sb_bad_stack", StMem(DW, R10, 8, 0), Mov64Imm(R0, 0), Exit())));
        Assert.StartsWith("invalid write to stack R10 off=8 size=8", ex.Message);
        Assert.Contains(ex.Message, ex.Lines);
    }

    [Fact]
    public void ToStringShowsTheLastLinesOfALongLog()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // 200 valid instructions, then a read of an uninitialised register; a verbose log lists them all
        Instruction[] insns = [Mov64Imm(R0, 0), .. Enumerable.Repeat(Add64Imm(R0, 1), 200), Mov64Reg(R0, R3), Exit()];
        var ex = Assert.Throws<BpfVerifierException>(() =>
            BpfProgram.Load(Spec("sb_long_bad", insns), new ProgramLoadOptions { VerifierLog = VerifierLogLevel.Verbose }));
        Assert.Equal("R3 !read_ok", ex.Message);
        Assert.True(ex.Lines.Count > 200, $"only {ex.Lines.Count} lines");
        string text = ex.ToString();
        Assert.Contains($"({ex.Lines.Count - BpfVerifierException.TailLines} lines omitted)", text);
        Assert.Contains(ex.Lines[^1], text);
        Assert.Contains(ex.Lines[^BpfVerifierException.TailLines], text);
        Assert.DoesNotContain(ex.Lines[0], text.Split('\n').Select(l => l.Trim()));
    }

    [Fact]
    public void HugeLogGrowsTheBuffer()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var options = new ProgramLoadOptions { VerifierLog = VerifierLogLevel.Verbose };
        using var prog = BpfProgram.Load(Spec("sb_huge_log", Long(4000)), options);
        Assert.NotNull(prog.VerifierLog);
        Assert.False(prog.VerifierLogTruncated);
        Assert.True(prog.VerifierLog.Length > options.LogSize, $"log of {prog.VerifierLog.Length} bytes");
        string last = BpfVerifierException.SplitLines(prog.VerifierLog)[^1];
        Assert.StartsWith("processed 4002 insns", last);
        Assert.Equal(4002u, prog.GetInfo().VerifiedInstructions);

        // a basic log on success, starting from the smallest buffer the kernel accepts
        using var small = BpfProgram.Load(Spec("sb_small_log", Long(300)),
            new ProgramLoadOptions { VerifierLog = VerifierLogLevel.Basic | VerifierLogLevel.Stats, LogSize = ProgramLoadOptions.MinLogSize });
        Assert.Contains("processed 302 insns", small.VerifierLog);
        Assert.Contains("verification time", small.VerifierLog);
    }

    [Fact]
    public void LogCapIsRespected()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // a failing program whose verbose log exceeds the cap: the exception keeps the log's end (with the error)
        Instruction[] bad = [Mov64Imm(R0, 0), .. Enumerable.Repeat(Add64Imm(R0, 1), 500), Mov64Reg(R0, R4), Exit()];
        var capped = new ProgramLoadOptions { VerifierLog = VerifierLogLevel.Verbose, LogSize = 1024, MaxLogSize = 4096 };
        var ex = Assert.Throws<BpfVerifierException>(() => BpfProgram.Load(Spec("sb_capped_bad", bad), capped));
        Assert.True(ex.Truncated);
        Assert.InRange(ex.Log.Length, 1, 4095);
        // Before 6.4 the kernel fills a fixed log from the start (ENOSPC when full): the error line is cut off.
        bool rotating = KernelTest.Has("verifier-log-rotating");
        Assert.Equal(!rotating, ex.TruncatedKeptStart);
        if (rotating)
        {
            Assert.Equal("R4 !read_ok", ex.Message);
        }
        else
        {
            Assert.StartsWith("the verifier's error is past the end of its truncated log", ex.Message);
            Assert.Contains("only its start fitted", ex.ToString());
        }
        Assert.Equal("EACCES", ex.ErrnoName);
        Assert.Contains("truncated", ex.ToString());

        // a valid program whose log does not fit still loads, with the log's end
        using var ok = BpfProgram.Load(Spec("sb_capped_ok", Long(500)), capped);
        Assert.True(ok.VerifierLogTruncated);
        Assert.InRange(ok.VerifierLog!.Length, 1, 4095);
        if (rotating) Assert.Contains("processed 502 insns", ok.VerifierLog);
    }

    [Fact]
    public void LogNeverGrowsBeyond16MiB()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // ~400k instructions at level 2 produce well over 16 MiB of log
        using var prog = BpfProgram.Load(Spec("sb_16mib", Long(400_000)), new ProgramLoadOptions { VerifierLog = VerifierLogLevel.Verbose });
        Assert.True(prog.VerifierLogTruncated);
        Assert.InRange(prog.VerifierLog!.Length, 8 * 1024 * 1024, ProgramLoadOptions.MaxLogSizeLimit - 1);
        // Kernels before 6.4 keep the log's start, which lacks the closing statistics.
        if (KernelTest.Has("verifier-log-rotating")) Assert.Contains("processed 400002 insns", prog.VerifierLog);
        else Assert.StartsWith("func#0 @0", prog.VerifierLog);
    }

    [Fact]
    public void BadInputFailsBeforeAnySyscall()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        Assert.Throws<ArgumentNullException>(() => BpfProgram.Load(null!));
        Assert.Throws<ArgumentException>(() => BpfProgram.Load(Spec("sb_empty")));
        Assert.Throws<ArgumentException>(() => BpfProgram.Load(Spec("sb_nul", Exit()) with { License = "GPL\0x" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => BpfProgram.Load(Spec("sb_opt", Exit()), new ProgramLoadOptions { LogSize = 16 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => BpfProgram.Load(Spec("sb_opt", Exit()), new ProgramLoadOptions { MaxLogSize = 32 << 20 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => BpfProgram.Load(Spec("sb_opt", Exit()), new ProgramLoadOptions { LogSize = 8192, MaxLogSize = 4096 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => BpfProgram.Load(Spec("sb_opt", Exit()), new ProgramLoadOptions { VerifierLog = (VerifierLogLevel)8 }));
    }

    [Fact]
    public void FailureWithoutALogIsAPlainBpfException()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var ex = Assert.Throws<BpfException>(() => BpfProgram.Load(Spec("sb_badtype", Mov64Imm(R0, 0), Exit()) with { Type = (ProgramType)9999 }));
        Assert.IsNotType<BpfVerifierException>(ex);
        Assert.Equal("EINVAL", ex.ErrnoName);
        Assert.Contains("BPF_PROG_LOAD", ex.Message);
        Assert.Contains("sb_badtype", ex.Message);
    }

    [Fact]
    public void SpecCopyIsIndependent()
    {
        var spec = Spec("sb_copy", Mov64Imm(R0, 1), Exit());
        var copy = spec.Copy();
        copy.Instructions[0] = Mov64Imm(R0, 2);
        copy.Name = "other";
        Assert.Equal(1, spec.Instructions[0].Imm);
        Assert.Equal("sb_copy", spec.Name);
    }
}
