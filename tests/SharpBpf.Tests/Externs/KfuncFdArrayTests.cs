using SharpBpf.Asm;
using SharpBpf.Btf;
using SharpBpf.Programs;
using SharpBpf.TestUtilities;

namespace SharpBpf.Tests.Externs;

/// <summary>Kfunc calls into module BTF select it through fd_array (call offset = index). This host has no modules,
/// so the plumbing is proven by the kernel's own checks on what we pass: a vmlinux kfunc call runs, an offset
/// without fd_array and an fd_array entry that is vmlinux's BTF are refused with the kernel's specific reasons.</summary>
[Collection(KernelCollection.Name)]
public class KfuncFdArrayTests
{
    private static ProgramSpec Spec(short offset, int[] fdArray)
    {
        var kernel = BtfSpec.LoadKernel();
        int rcuLock = (int)kernel.TypeByName("bpf_rcu_read_lock", BtfKind.Func).Id;
        int rcuUnlock = (int)kernel.TypeByName("bpf_rcu_read_unlock", BtfKind.Func).Id;
        return new ProgramSpec
        {
            Name = "kfunc_fd_array",
            Type = ProgramType.Syscall,
            Flags = ProgramFlags.Sleepable,
            License = "GPL",
            Instructions = new InstructionBuilder().CallKfunc(rcuLock, offset).CallKfunc(rcuUnlock, offset).Mov64(Register.R0, 7).Exit().Build(),
            FdArray = fdArray,
        };
    }

    [Fact]
    public void FdArrayReachesTheKernel()
    {
        KernelTest.Require();
        KernelTest.RequireDeclared("kfunc-cpumask"); // calls bpf_rcu_read_lock (6.2)
        using var leak = new FdLeakCheck();
        using (var ok = BpfProgram.Load(Spec(0, [])))
            Assert.Equal(7u, ok.TestRun(new TestRunOptions()).ReturnValue);

        var noArray = Assert.Throws<BpfVerifierException>(() => BpfProgram.Load(Spec(1, [])));
        Assert.Contains("fd_array", noArray.Log);

        uint vmlinuxId = BtfHandle.EnumerateIds().First(id =>
        {
            using var h = BtfHandle.FromId(id);
            return h.GetInfo() is { IsKernel: true, Name: "vmlinux" };
        });
        using var vmlinux = BtfHandle.FromId(vmlinuxId);
        var notModule = Assert.Throws<BpfVerifierException>(() => BpfProgram.Load(Spec(1, [0, vmlinux.Fd])));
        Assert.Contains("not a module BTF", notModule.Log);
    }
}
