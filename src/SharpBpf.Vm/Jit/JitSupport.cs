using System.Runtime.CompilerServices;

namespace SharpBpf.Vm.Jit;

/// <summary>A program compiled to IL: r1 and r2 in, r0 out (or a tail call pending on the VM).</summary>
internal delegate ulong JitFunction(BpfVm vm, ulong r1, ulong r2);

/// <summary>Out-of-line pieces of compiled programs (throws, frames, callx resolution).</summary>
internal static unsafe class JitSupport
{
    public static void ThrowBudget(BpfVm vm, int pc) => throw new VmBudgetExceededException(pc, vm.Options.InstructionBudget);

    public static void ThrowFellOff(int pc) => throw new VmException(pc, "execution fell off the end of the program");

    public static void ThrowDepth(int pc) => throw new VmException(pc, $"call depth exceeds {BpfVm.MaxFrames} frames");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Push(BpfVm.Frame* frames, int depth, ulong r6, ulong r7, ulong r8, ulong r9, ulong r10, int site)
    {
        BpfVm.Frame* f = frames + depth;
        f->R6 = r6;
        f->R7 = r7;
        f->R8 = r8;
        f->R9 = r9;
        f->R10 = r10;
        f->ReturnPc = site;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Pop(BpfVm.Frame* frames, int depth, out ulong r6, out ulong r7, out ulong r8, out ulong r9, out ulong r10)
    {
        BpfVm.Frame* f = frames + depth;
        r6 = f->R6;
        r7 = f->R7;
        r8 = f->R8;
        r9 = f->R9;
        r10 = f->R10;
        return (int)f->ReturnPc;
    }

    /// <summary>callx: the target instruction (≥ 0), or -1 - helper id for bpf_conformance's call-helper-by-number.</summary>
    public static int ResolveCallX(BpfVm vm, VmProgram program, ulong target, int pc)
    {
        int length = program.Code.Length - 1;
        if ((uint)(target >> Mem.RegionShift) != BpfVm.RegionCode)
        {
            if (target < 256 && target != 12 && vm.HasHelper((int)target)) return -1 - (int)target;
            throw new VmException(pc, $"callx to 0x{target:x}: not a function address");
        }
        uint to = (uint)target;
        if (to >= (uint)length || program.Code[to].Op == VmOp.Invalid)
            throw new VmException(pc, $"callx to instruction {to}: not an instruction of the program");
        return (int)to;
    }

    public static ulong FramePointer(int depth) => BpfVm.FramePointer(depth);
}
