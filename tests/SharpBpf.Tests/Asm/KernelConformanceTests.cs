using SharpBpf.Asm;
using SharpBpf.Asm.Conformance;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Asm;

/// <summary>Every bpf_conformance file runs on the kernel backend. The kernel passes all of them except the ones
/// below, which its verifier refuses on purpose; each is listed with the reason so that a change either way fails.</summary>
[Collection(KernelCollection.Name)]
public class KernelConformanceTests(ITestOutputHelper output)
{
    /// <summary>File → the verifier's error line. Shift counts must be in [0, width): the ISA masks them, the
    /// verifier rejects out-of-range constant shifts. callx (0x8d) is not implemented by the kernel.</summary>
    public static readonly IReadOnlyDictionary<string, string> ExpectedRejections = new Dictionary<string, string>
    {
        ["arsh32-imm-neg"] = "invalid shift -16",
        ["arsh64-imm-neg"] = "invalid shift -4",
        ["lsh32-imm-high"] = "invalid shift 60",
        ["lsh32-imm-neg"] = "invalid shift -4",
        ["lsh64-imm-high"] = "invalid shift 68",
        ["lsh64-imm-neg"] = "invalid shift -60",
        ["rsh32-imm-neg"] = "invalid shift -24",
        ["rsh64-imm-neg"] = "invalid shift -60",
        ["callx"] = "unknown opcode 8d",
    };

    [Fact]
    public void EveryFileRunsAndOnlyKernelLimitationsAreRejected()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var results = ConformanceRunner.RunDirectory(ConformanceData.Directory.Value, new KernelConformanceBackend());
        Assert.Equal(ConformanceData.Files().Count(), results.Count);
        foreach (var r in results.Where(r => r.Status != ConformanceStatus.Pass))
            output.WriteLine($"{r.Name}: {r.Status}: {r.Message}");
        Assert.DoesNotContain(results, r => r.Status is ConformanceStatus.Fail or ConformanceStatus.Error);
        var rejected = results.Where(r => r.Status == ConformanceStatus.Rejected).ToDictionary(r => r.Name, r => r.Message);
        Assert.Equal(ExpectedRejections.Keys.Order(), rejected.Keys.Order());
        foreach (var (name, reason) in ExpectedRejections) Assert.Equal(reason, rejected[name]);
        Assert.True(results.Count(r => r.Status == ConformanceStatus.Pass) >= 240);
        output.WriteLine($"{results.Count(r => r.Status == ConformanceStatus.Pass)} of {results.Count} pass on the kernel");
    }

    [Fact]
    public void WrongExpectationIsReportedAsFailure()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var test = ConformanceTest.Parse("-- asm\nmov %r0, 7\nexit\n-- result\n0x8\n", "wrong");
        var r = ConformanceRunner.Run(test, new KernelConformanceBackend());
        Assert.Equal(ConformanceStatus.Fail, r.Status);
        Assert.Equal(7UL, r.Actual);
    }

    [Fact]
    public void FullSixtyFourBitR0AndMemoryReachTheProgram()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        // r0 = *(u64 *)(r1 + 0) + r2: checks the map-value memory, the length and all 64 bits of the result.
        var code = new InstructionBuilder()
            .Load(MemorySize.DWord, Register.R0, Register.R1, 0)
            .Add64(Register.R0, Register.R2)
            .Exit()
            .Build();
        byte[] mem = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99];
        var outcome = new KernelConformanceBackend().Run(code, mem);
        Assert.True(outcome.Ran, outcome.Rejection);
        Assert.Equal(0x7766554433221100UL + 10, outcome.R0);
    }

    [Fact]
    public void SubprogramExitsAreNotRewrittenAndCallsAreFixedUp()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        var test = ConformanceData.Load("call_local");
        var code = test.Assemble();
        var instrumented = KernelConformanceBackend.Instrument(code, 100, 0, 101);
        int mainEnd = InstructionRewriter.MainFunctionEnd(instrumented);
        // the subprogram (11 instructions, ending in its own exit) is unchanged at the end
        int subLen = code.Length - InstructionRewriter.MainFunctionEnd(code);
        Assert.Equal(code[^subLen..], instrumented[^subLen..]);
        Assert.Equal(instrumented.Length - subLen, mainEnd);
        var r = ConformanceRunner.Run(test, new KernelConformanceBackend());
        Assert.Equal(ConformanceStatus.Pass, r.Status);
    }
}

[Collection(KernelCollection.Name)]
public class BuilderKernelTests
{
    [Fact]
    public void SymbolicMapReferencesResolveAtBuildAndRun()
    {
        KernelTest.Require();
        using var leak = new FdLeakCheck();
        using var counters = SharpBpf.Maps.BpfMap.Create(new SharpBpf.Maps.MapSpec
        {
            Name = "asm_counters", Type = SharpBpf.Maps.MapType.Array, KeySize = 4, ValueSize = 8, MaxEntries = 1,
        });
        var b = new InstructionBuilder()
            .StoreImm(MemorySize.Word, Register.R10, -4, 0)
            .Mov64(Register.R2, Register.R10)
            .Add64(Register.R2, -4)
            .LoadMap(Register.R1, "counters")
            .Call(1)
            .Jump(JumpOp.Jeq, Register.R0, 0, "out")
            .Mov64(Register.R1, 5)
            .Atomic(AtomicOp.Add, MemorySize.DWord, Register.R0, 0, Register.R1)
            .LoadMapValue(Register.R3, "counters", 0)
            .Load(MemorySize.DWord, Register.R0, Register.R3, 0)
            .Label("out")
            .Exit();
        Assert.Equal(["counters"], b.MapReferences);
        Assert.Throws<InvalidOperationException>(() => b.Build());
        var code = b.Build(name => name == "counters" ? counters.Fd : throw new KeyNotFoundException(name));
        using var prog = SharpBpf.Programs.BpfProgram.Load(new SharpBpf.Programs.ProgramSpec
        {
            Name = "asm_symbolic", Type = SharpBpf.Programs.ProgramType.Xdp, License = "GPL", Instructions = code,
        });
        var packet = new byte[14];
        Assert.Equal(5u, prog.TestRun(packet).ReturnValue);
        Assert.Equal(10u, prog.TestRun(packet).ReturnValue);
    }
}
