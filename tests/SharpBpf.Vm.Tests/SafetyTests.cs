using SharpBpf.Asm;

namespace SharpBpf.Vm.Tests;

/// <summary>Bad programs have defined results on both engines: faults name pc and address, the budget stops runaway
/// loops, invalid code is refused at load.</summary>
public class SafetyTests
{
    public static TheoryData<VmEngine> Engines() => [VmEngine.Interpreter, VmEngine.Jit];

    private static VmProgram Load(BpfVm vm, string asm) => vm.Load(Assembler.Assemble(asm));

    [Theory]
    [MemberData(nameof(Engines))]
    public void JitIsUsedWhenAskedFor(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        Assert.Equal(engine, Load(vm, "mov %r0, 1\nexit").Engine);
        Assert.Null(BpfVm.JitUnavailableReason);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void StoreBelowTheStackFaultsWithPcAndAddress(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        var p = Load(vm, "mov %r0, 0\nmov %r1, %r10\nadd %r1, -4097\nstb [%r1+0], 1\nexit");
        var e = Assert.Throws<VmMemoryException>(() => p.Run([]));
        Assert.Equal(3, e.Pc);
        Assert.True(e.IsWrite);
        Assert.Equal(BpfVm.FramePointer(0) - 4097, e.Address);
        Assert.Contains("pc 3", e.Message);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void ReadsPastInputMemoryAndNullFault(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        var past = Load(vm, "ldxw %r0, [%r1+6]\nexit");
        Assert.Equal(0x0807060504030201UL & 0xffffffff, Load(vm, "ldxw %r0, [%r1+0]\nexit").Run([1, 2, 3, 4, 5, 6, 7, 8]) & 0xffffffff);
        var e = Assert.Throws<VmMemoryException>(() => past.Run([1, 2, 3, 4, 5, 6, 7, 8]));
        Assert.Equal(0, e.Pc);
        Assert.Contains("outside input", e.Message);
        var nul = Load(vm, "mov %r1, 0\nldxdw %r0, [%r1+16]\nexit");
        var n = Assert.Throws<VmMemoryException>(() => nul.Run([]));
        Assert.Equal(16UL, n.Address);
        Assert.Contains("not in any region", n.Message);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void RunawayLoopStopsAtTheBudget(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine, InstructionBudget = 10_000 });
        var p = Load(vm, "mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit");
        var e = Assert.Throws<VmBudgetExceededException>(() => p.Run([]));
        Assert.Equal(10_000, e.Budget);
        Assert.Equal(1, e.Pc);
        // the same VM runs the next program normally
        Assert.Equal(3UL, Load(vm, "mov %r0, 3\nexit").Run([]));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void RecursionDeeperThanEightFramesFails(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        var p = Load(vm, "call local f\nexit\nf:\ncall local f\nexit");
        var e = Assert.Throws<VmException>(() => p.Run([]));
        Assert.Contains("call depth exceeds 8", e.Message);
        Assert.Equal(2, e.Pc);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void FramesHaveTheirOwnStackAndCalleeSavedRegisters(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        var p = Load(vm, """
            mov %r6, 5
            stdw [%r10-8], 100
            mov %r1, 7
            call local f
            ldxdw %r1, [%r10-8]
            add %r0, %r1
            add %r0, %r6
            exit
            f:
            mov %r6, 1000
            stdw [%r10-8], 200
            ldxdw %r0, [%r10-8]
            add %r0, %r1
            exit
            """);
        Assert.Equal(200UL + 7 + 100 + 5, p.Run([]));
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void FallingOffTheEndIsAnError(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        var e = Assert.Throws<VmException>(() => Load(vm, "mov %r0, 1\njeq %r0, 1, +1\nexit\nmov %r0, 2").Run([]));
        Assert.Contains("fell off the end", e.Message);
    }

    [Fact]
    public void InvalidProgramsAreRefusedAtLoad()
    {
        using var vm = new BpfVm();
        Assert.Contains("outside the program", Assert.Throws<VmProgramException>(() => Load(vm, "ja +5\nexit")).Message);
        Assert.Contains("r10 is read-only", Assert.Throws<VmProgramException>(() => Load(vm, "mov %r10, 1\nexit")).Message);
        Assert.Contains("unknown opcode", Assert.Throws<VmProgramException>(() => vm.Load([new Instruction(0xff, 0, 0, 0, 0)])).Message);
        Assert.Contains("helper 999", Assert.Throws<VmProgramException>(() => Load(vm, "call 999\nexit")).Message);
        Assert.Contains("middle of a lddw", Assert.Throws<VmProgramException>(() => Load(vm, "ja +1\nlddw %r0, 0x100000000\nexit")).Message);
        Assert.Contains("no VM map with fd", Assert.Throws<VmProgramException>(() =>
            vm.Load(new InstructionBuilder().LoadMapFd(Register.R1, 77).Mov64(Register.R0, 0).Exit().Build())).Message);
    }

    [Theory]
    [MemberData(nameof(Engines))]
    public void MisalignedAtomicFaults(VmEngine engine)
    {
        using var vm = new BpfVm(new VmOptions { Engine = engine });
        var p = Load(vm, "mov %r1, 1\nstdw [%r10-16], 0\nlock add [%r10-16], %r1\nldxdw %r0, [%r10-16]\nexit\nmov %r0, 0\nexit");
        Assert.Equal(1UL, p.Run([]));
        var bad = Load(vm, "mov %r1, 1\nlock add [%r10-10], %r1\nmov %r0, 0\nexit");
        Assert.Contains("not aligned", Assert.Throws<VmMemoryException>(() => bad.Run([])).Message);
    }
}
