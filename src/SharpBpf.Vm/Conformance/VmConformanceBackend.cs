using SharpBpf.Asm;
using SharpBpf.Asm.Conformance;

namespace SharpBpf.Vm.Conformance;

/// <summary>Runs conformance programs in the userspace VM (interpreter or JIT). Helper 5 is bpf_conformance's
/// <c>unwind</c> helper of its reference runtimes (returns its argument; a zero result ends the program), not the
/// kernel's ktime helper. A program the VM refuses, or a run that faults, is reported as rejected with the reason.</summary>
public sealed class VmConformanceBackend : IConformanceBackend, IDisposable
{
    private readonly BpfVm _vm;

    /// <summary>Creates the backend on a VM with <paramref name="engine"/>.</summary>
    public VmConformanceBackend(VmEngine engine)
    {
        _vm = new BpfVm(new VmOptions { Engine = engine, InstructionBudget = 100_000_000 });
        _vm.SetHelper(5, static (vm, r1, _, _, _, _) =>
        {
            if (r1 == 0) vm.RequestExit();
            return r1;
        });
        Name = engine == VmEngine.Jit ? "jit" : "interp";
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Why the JIT backend runs on the interpreter here (Native AOT), or null.</summary>
    public string? Note => Name == "jit" ? BpfVm.JitUnavailableReason : null;

    /// <inheritdoc/>
    public ConformanceOutcome Run(ReadOnlySpan<Instruction> program, ReadOnlySpan<byte> memory)
    {
        VmProgram p;
        try
        {
            p = _vm.Load(program);
        }
        catch (VmProgramException e)
        {
            return ConformanceOutcome.Rejected(e.Message);
        }
        try
        {
            return ConformanceOutcome.Returned(p.Run(memory));
        }
        catch (VmException e)
        {
            return ConformanceOutcome.Rejected($"run failed: {e.Message}");
        }
    }

    /// <summary>Releases the VM.</summary>
    public void Dispose() => _vm.Dispose();
}
