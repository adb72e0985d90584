using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Reflection.Emit;
using SharpBpf.Asm;

namespace SharpBpf.Vm.Jit;

/// <summary>
/// Translates a decoded program into one <see cref="DynamicMethod"/> that RyuJIT compiles: eBPF registers become IL
/// locals, jumps become branches, bpf-to-bpf calls push a frame and branch (returns dispatch through an IL
/// <c>switch</c> over the return sites). Memory accesses, division and the budget use exactly the interpreter's
/// code (<see cref="Mem"/>, <see cref="Alu"/>, per-block charging), so both engines compute the same results and
/// stop at the same faults.
/// </summary>
internal static unsafe class IlCompiler
{
    private const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance;

    private static readonly FieldInfo FRegions = typeof(BpfVm).GetField(nameof(BpfVm.Regions), Any)!;
    private static readonly FieldInfo FRegionCount = typeof(BpfVm).GetField(nameof(BpfVm.RegionCount), Any)!;
    private static readonly FieldInfo FFrames = typeof(BpfVm).GetField(nameof(BpfVm.Frames), Any)!;
    private static readonly FieldInfo FBudget = typeof(BpfVm).GetField(nameof(BpfVm.BudgetLeft), Any)!;
    private static readonly FieldInfo FDepth = typeof(BpfVm).GetField(nameof(BpfVm.Depth), Any)!;
    private static readonly FieldInfo FExit = typeof(BpfVm).GetField(nameof(BpfVm.ExitRequested), Any)!;
    private static readonly MethodInfo MCallHelper = typeof(BpfVm).GetMethod(nameof(BpfVm.CallHelper), Any)!;
    private static readonly MethodInfo MTailCall = typeof(BpfVm).GetMethod(nameof(BpfVm.TryTailCall), Any)!;
    private static readonly MethodInfo MLegacy = typeof(BpfVm).GetMethod(nameof(BpfVm.LoadLegacy), Any)!;
    private static readonly MethodInfo MLoadSlow = typeof(BpfVm).GetMethod(nameof(BpfVm.LoadSlow), Any)!;
    private static readonly MethodInfo MStoreSlow = typeof(BpfVm).GetMethod(nameof(BpfVm.StoreSlow), Any)!;
    private static readonly FieldInfo FBase = typeof(Region).GetField(nameof(Region.Base), Any)!;
    private static readonly FieldInfo FReadLength = typeof(Region).GetField(nameof(Region.ReadLength), Any)!;
    private static readonly FieldInfo FWriteLength = typeof(Region).GetField(nameof(Region.WriteLength), Any)!;
    private static readonly MethodInfo MAtomic = typeof(Atomics).GetMethod(nameof(Atomics.Execute), Any)!;

    private static MethodInfo M([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods)] Type t, string name) => t.GetMethod(name, Any) ?? throw new MissingMethodException(t.Name, name);

    [RequiresDynamicCode("compiles IL at run time")]
    public static JitFunction Compile(VmProgram program)
    {
        var code = program.Code;
        int n = code.Length - 1;
        var dm = new DynamicMethod($"bpf_{program.Name}", typeof(ulong), [typeof(BpfVm), typeof(ulong), typeof(ulong)], typeof(BpfVm).Module, skipVisibility: true);
        var il = dm.GetILGenerator();
        var r = new LocalBuilder[11];
        for (int i = 0; i < 11; i++) r[i] = il.DeclareLocal(typeof(ulong));
        var regions = il.DeclareLocal(typeof(Region*));
        var count = il.DeclareLocal(typeof(uint));
        var frames = il.DeclareLocal(typeof(BpfVm.Frame*));
        var budget = il.DeclareLocal(typeof(long));
        var depth = il.DeclareLocal(typeof(int));
        var mayGoto = il.DeclareLocal(typeof(long));
        var tmp = il.DeclareLocal(typeof(ulong));
        var site = il.DeclareLocal(typeof(int));
        var addr = il.DeclareLocal(typeof(ulong));
        var index = il.DeclareLocal(typeof(uint));
        var region = il.DeclareLocal(typeof(Region*));
        var labels = new Label[n + 1];
        for (int i = 0; i <= n; i++) labels[i] = il.DefineLabel();

        // return sites: the instruction after each local call / callx
        var sites = new List<int>();
        bool hasCallX = false;
        for (int pc = 0; pc < n; pc++)
        {
            if (code[pc].Op is VmOp.CallLocal or VmOp.CallX) sites.Add(pc + 1);
            hasCallX |= code[pc].Op == VmOp.CallX;
        }
        var siteLabels = sites.Select(s => labels[s]).ToArray();
        var dispatchReturn = il.DefineLabel();
        var callxDispatch = il.DefineLabel();
        var callxTarget = il.DeclareLocal(typeof(int));

        // prologue
        il.Emit(OpCodes.Ldarg_1); il.Emit(OpCodes.Stloc, r[1]);
        il.Emit(OpCodes.Ldarg_2); il.Emit(OpCodes.Stloc, r[2]);
        il.Emit(OpCodes.Ldc_I8, (long)BpfVm.FramePointer(0)); il.Emit(OpCodes.Stloc, r[10]);
        LoadVmState();
        il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldfld, FFrames); il.Emit(OpCodes.Stloc, frames);
        il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldfld, FBudget); il.Emit(OpCodes.Stloc, budget);
        il.Emit(OpCodes.Ldc_I8, 8L * 1024 * 1024); il.Emit(OpCodes.Stloc, mayGoto);

        for (int pc = 0; pc <= n; pc++)
        {
            ref var d = ref code[pc];
            if (pc > 0 && code[pc - 1].Op == VmOp.LdDw) continue; // second half: never reached
            il.MarkLabel(labels[pc]);
            if (d.Cost > 0)
            {
                var ok = il.DefineLabel();
                il.Emit(OpCodes.Ldloc, budget); il.Emit(OpCodes.Ldc_I8, (long)d.Cost); il.Emit(OpCodes.Sub);
                il.Emit(OpCodes.Dup); il.Emit(OpCodes.Stloc, budget);
                il.Emit(OpCodes.Ldc_I8, 0L); il.Emit(OpCodes.Bge, ok);
                il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldc_I4, pc); il.Emit(OpCodes.Call, M(typeof(JitSupport), nameof(JitSupport.ThrowBudget)));
                il.MarkLabel(ok);
            }
            EmitInsn(pc, ref d);
        }

        // return dispatch after a subprogram's exit: site index -> label
        il.MarkLabel(dispatchReturn);
        if (siteLabels.Length > 0)
        {
            il.Emit(OpCodes.Ldloc, site);
            il.Emit(OpCodes.Switch, siteLabels);
        }
        il.Emit(OpCodes.Ldc_I4, -1); il.Emit(OpCodes.Call, M(typeof(JitSupport), nameof(JitSupport.ThrowFellOff)));
        il.Emit(OpCodes.Ldc_I8, 0L); il.Emit(OpCodes.Ret);

        il.MarkLabel(callxDispatch);
        if (hasCallX)
        {
            il.Emit(OpCodes.Ldloc, callxTarget);
            il.Emit(OpCodes.Switch, labels[..n]);
        }
        il.Emit(OpCodes.Ldc_I4, -1); il.Emit(OpCodes.Call, M(typeof(JitSupport), nameof(JitSupport.ThrowFellOff)));
        il.Emit(OpCodes.Ldc_I8, 0L); il.Emit(OpCodes.Ret);

        return (JitFunction)dm.CreateDelegate(typeof(JitFunction));

        void LoadVmState()
        {
            il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldfld, FRegions); il.Emit(OpCodes.Stloc, regions);
            il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldfld, FRegionCount); il.Emit(OpCodes.Stloc, count);
        }

        void Ld(int reg) => il.Emit(OpCodes.Ldloc, r[reg]);
        void St(int reg) => il.Emit(OpCodes.Stloc, r[reg]);
        void I8(long v) => il.Emit(OpCodes.Ldc_I8, v);

        void StoreBudget()
        {
            il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldloc, budget); il.Emit(OpCodes.Stfld, FBudget);
        }

        void ReturnValue(Action push)
        {
            StoreBudget();
            push();
            il.Emit(OpCodes.Ret);
        }

        void Operand(ref DecodedInsn d, bool x)
        {
            if (x) Ld(d.Src); else I8(d.Imm64);
        }

        void Alu64(ref DecodedInsn d, OpCode op, bool x)
        {
            Ld(d.Dst); Operand(ref d, x); il.Emit(op); St(d.Dst);
        }

        void Alu32(ref DecodedInsn d, OpCode op, bool x)
        {
            Ld(d.Dst); il.Emit(OpCodes.Conv_U4);
            if (x) { Ld(d.Src); il.Emit(OpCodes.Conv_U4); } else il.Emit(OpCodes.Ldc_I4, d.Imm);
            il.Emit(op); il.Emit(OpCodes.Conv_U8); St(d.Dst);
        }

        void Call2(ref DecodedInsn d, string name, bool x)
        {
            Ld(d.Dst); Operand(ref d, x); il.Emit(OpCodes.Call, M(typeof(Alu), name)); St(d.Dst);
        }

        void Shift64(ref DecodedInsn d, OpCode op, bool x)
        {
            Ld(d.Dst); Operand(ref d, x); il.Emit(OpCodes.Conv_I4); il.Emit(OpCodes.Ldc_I4, 63); il.Emit(OpCodes.And); il.Emit(op); St(d.Dst);
        }

        void Shift32(ref DecodedInsn d, OpCode op, bool x)
        {
            Ld(d.Dst); il.Emit(OpCodes.Conv_U4);
            Operand(ref d, x); il.Emit(OpCodes.Conv_I4); il.Emit(OpCodes.Ldc_I4, 31); il.Emit(OpCodes.And);
            il.Emit(op); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8); St(d.Dst);
        }

        void Jump(int pc, ref DecodedInsn d, OpCode branch, bool x, bool is32, bool signed, bool set = false)
        {
            Ld(d.Dst);
            if (is32) il.Emit(signed ? OpCodes.Conv_I4 : OpCodes.Conv_U4);
            if (x)
            {
                Ld(d.Src);
                if (is32) il.Emit(signed ? OpCodes.Conv_I4 : OpCodes.Conv_U4);
            }
            else if (is32) il.Emit(OpCodes.Ldc_I4, d.Imm);
            else I8(d.Imm);
            if (set)
            {
                il.Emit(OpCodes.And);
                il.Emit(OpCodes.Brtrue, labels[d.Imm64]);
                return;
            }
            il.Emit(branch, labels[d.Imm64]);
        }

        void Address(int baseReg, short off)
        {
            Ld(baseReg); I8(off); il.Emit(OpCodes.Add);
        }

        // The checks of Mem.Read/Write inlined as IL (the same comparisons), the slow path a call.
        void Checked(int pc, int baseReg, short off, int size, bool write, Action onFast, Action onSlow)
        {
            var slow = il.DefineLabel();
            var done = il.DefineLabel();
            Address(baseReg, off); il.Emit(OpCodes.Stloc, addr);
            il.Emit(OpCodes.Ldloc, addr); il.Emit(OpCodes.Ldc_I4, Mem.RegionShift); il.Emit(OpCodes.Shr_Un); il.Emit(OpCodes.Conv_U4);
            il.Emit(OpCodes.Dup); il.Emit(OpCodes.Stloc, index);
            il.Emit(OpCodes.Ldloc, count); il.Emit(OpCodes.Bge_Un, slow);
            il.Emit(OpCodes.Ldloc, regions); il.Emit(OpCodes.Ldloc, index); il.Emit(OpCodes.Conv_U); il.Emit(OpCodes.Ldc_I4, sizeof(Region));
            il.Emit(OpCodes.Mul); il.Emit(OpCodes.Add); il.Emit(OpCodes.Stloc, region);
            il.Emit(OpCodes.Ldloc, addr); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8); I8(size); il.Emit(OpCodes.Add);
            il.Emit(OpCodes.Ldloc, region); il.Emit(OpCodes.Ldfld, write ? FWriteLength : FReadLength);
            il.Emit(OpCodes.Bgt_Un, slow);
            il.Emit(OpCodes.Ldloc, region); il.Emit(OpCodes.Ldfld, FBase);
            il.Emit(OpCodes.Ldloc, addr); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U); il.Emit(OpCodes.Add);
            onFast();
            il.Emit(OpCodes.Br, done);
            il.MarkLabel(slow);
            onSlow();
            il.MarkLabel(done);
        }

        void Load(int pc, ref DecodedInsn d, int size, OpCode? signExtend)
        {
            int dst = d.Dst;
            Checked(pc, d.Src, d.Off, size, false, () =>
            {
                if (size > 1) il.Emit(OpCodes.Unaligned, (byte)1);
                il.Emit(size switch { 1 => OpCodes.Ldind_U1, 2 => OpCodes.Ldind_U2, 4 => OpCodes.Ldind_U4, _ => OpCodes.Ldind_I8 });
                if (size < 8) il.Emit(OpCodes.Conv_U8);
                St(dst);
            }, () =>
            {
                il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldc_I4, pc); il.Emit(OpCodes.Ldloc, addr); il.Emit(OpCodes.Ldc_I4, size);
                il.Emit(OpCodes.Call, MLoadSlow);
                St(dst);
            });
            if (signExtend is { } se)
            {
                Ld(dst); il.Emit(se); il.Emit(OpCodes.Conv_I8); St(dst);
            }
        }

        void Store(int pc, ref DecodedInsn d, int size, bool x)
        {
            var insn = d;
            Checked(pc, d.Dst, d.Off, size, true, () =>
            {
                Operand(ref insn, x);
                if (size > 1) il.Emit(OpCodes.Unaligned, (byte)1);
                il.Emit(size switch { 1 => OpCodes.Stind_I1, 2 => OpCodes.Stind_I2, 4 => OpCodes.Stind_I4, _ => OpCodes.Stind_I8 });
            }, () =>
            {
                il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldc_I4, pc); il.Emit(OpCodes.Ldloc, addr); il.Emit(OpCodes.Ldc_I4, size);
                Operand(ref insn, x);
                il.Emit(OpCodes.Call, MStoreSlow);
            });
        }

        void HelperCall(int pc, Action pushId)
        {
            StoreBudget();
            il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldloc, depth); il.Emit(OpCodes.Stfld, FDepth);
            il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldc_I4, pc); pushId();
            for (int a = 1; a <= 5; a++) Ld(a);
            il.Emit(OpCodes.Call, MCallHelper);
            St(0);
            var go = il.DefineLabel();
            il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldfld, FExit); il.Emit(OpCodes.Brfalse, go);
            Ld(0); il.Emit(OpCodes.Ret);
            il.MarkLabel(go);
            il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldfld, FBudget); il.Emit(OpCodes.Stloc, budget);
            LoadVmState();
        }

        void PushFrame(int pc, int returnPc)
        {
            var ok = il.DefineLabel();
            il.Emit(OpCodes.Ldloc, depth); il.Emit(OpCodes.Ldc_I4, BpfVm.MaxFrames - 1); il.Emit(OpCodes.Blt, ok);
            il.Emit(OpCodes.Ldc_I4, pc); il.Emit(OpCodes.Call, M(typeof(JitSupport), nameof(JitSupport.ThrowDepth)));
            il.MarkLabel(ok);
            il.Emit(OpCodes.Ldloc, frames); il.Emit(OpCodes.Ldloc, depth);
            for (int a = 6; a <= 10; a++) Ld(a);
            il.Emit(OpCodes.Ldc_I4, sites.IndexOf(returnPc));
            il.Emit(OpCodes.Call, M(typeof(JitSupport), nameof(JitSupport.Push)));
            il.Emit(OpCodes.Ldloc, depth); il.Emit(OpCodes.Ldc_I4_1); il.Emit(OpCodes.Add); il.Emit(OpCodes.Stloc, depth);
            il.Emit(OpCodes.Ldloc, depth); il.Emit(OpCodes.Call, M(typeof(JitSupport), nameof(JitSupport.FramePointer))); St(10);
        }

        void EmitInsn(int pc, ref DecodedInsn d)
        {
            switch (d.Op)
            {
                case VmOp.Add64K: Alu64(ref d, OpCodes.Add, false); break;
                case VmOp.Add64X: Alu64(ref d, OpCodes.Add, true); break;
                case VmOp.Sub64K: Alu64(ref d, OpCodes.Sub, false); break;
                case VmOp.Sub64X: Alu64(ref d, OpCodes.Sub, true); break;
                case VmOp.Mul64K: Alu64(ref d, OpCodes.Mul, false); break;
                case VmOp.Mul64X: Alu64(ref d, OpCodes.Mul, true); break;
                case VmOp.Or64K: Alu64(ref d, OpCodes.Or, false); break;
                case VmOp.Or64X: Alu64(ref d, OpCodes.Or, true); break;
                case VmOp.And64K: Alu64(ref d, OpCodes.And, false); break;
                case VmOp.And64X: Alu64(ref d, OpCodes.And, true); break;
                case VmOp.Xor64K: Alu64(ref d, OpCodes.Xor, false); break;
                case VmOp.Xor64X: Alu64(ref d, OpCodes.Xor, true); break;
                case VmOp.Div64K: Call2(ref d, nameof(Alu.Div64), false); break;
                case VmOp.Div64X: Call2(ref d, nameof(Alu.Div64), true); break;
                case VmOp.SDiv64K: Call2(ref d, nameof(Alu.SDiv64), false); break;
                case VmOp.SDiv64X: Call2(ref d, nameof(Alu.SDiv64), true); break;
                case VmOp.Mod64K: Call2(ref d, nameof(Alu.Mod64), false); break;
                case VmOp.Mod64X: Call2(ref d, nameof(Alu.Mod64), true); break;
                case VmOp.SMod64K: Call2(ref d, nameof(Alu.SMod64), false); break;
                case VmOp.SMod64X: Call2(ref d, nameof(Alu.SMod64), true); break;
                case VmOp.Lsh64K: Shift64(ref d, OpCodes.Shl, false); break;
                case VmOp.Lsh64X: Shift64(ref d, OpCodes.Shl, true); break;
                case VmOp.Rsh64K: Shift64(ref d, OpCodes.Shr_Un, false); break;
                case VmOp.Rsh64X: Shift64(ref d, OpCodes.Shr_Un, true); break;
                case VmOp.Arsh64K: Shift64(ref d, OpCodes.Shr, false); break;
                case VmOp.Arsh64X: Shift64(ref d, OpCodes.Shr, true); break;
                case VmOp.Neg64: Ld(d.Dst); il.Emit(OpCodes.Neg); St(d.Dst); break;
                case VmOp.Mov64K: I8(d.Imm64); St(d.Dst); break;
                case VmOp.Mov64X: Ld(d.Src); St(d.Dst); break;
                case VmOp.MovSx64B: Ld(d.Src); il.Emit(OpCodes.Conv_I1); il.Emit(OpCodes.Conv_I8); St(d.Dst); break;
                case VmOp.MovSx64H: Ld(d.Src); il.Emit(OpCodes.Conv_I2); il.Emit(OpCodes.Conv_I8); St(d.Dst); break;
                case VmOp.MovSx64W: Ld(d.Src); il.Emit(OpCodes.Conv_I4); il.Emit(OpCodes.Conv_I8); St(d.Dst); break;
                case VmOp.Bswap16: case VmOp.Be16: Ld(d.Dst); il.Emit(OpCodes.Call, M(typeof(Alu), nameof(Alu.Swap16))); St(d.Dst); break;
                case VmOp.Bswap32: case VmOp.Be32: Ld(d.Dst); il.Emit(OpCodes.Call, M(typeof(Alu), nameof(Alu.Swap32))); St(d.Dst); break;
                case VmOp.Bswap64: case VmOp.Be64: Ld(d.Dst); il.Emit(OpCodes.Call, M(typeof(Alu), nameof(Alu.Swap64))); St(d.Dst); break;
                case VmOp.Le16: Ld(d.Dst); il.Emit(OpCodes.Conv_U2); il.Emit(OpCodes.Conv_U8); St(d.Dst); break;
                case VmOp.Le32: Ld(d.Dst); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8); St(d.Dst); break;
                case VmOp.Le64: break;

                case VmOp.Add32K: Alu32(ref d, OpCodes.Add, false); break;
                case VmOp.Add32X: Alu32(ref d, OpCodes.Add, true); break;
                case VmOp.Sub32K: Alu32(ref d, OpCodes.Sub, false); break;
                case VmOp.Sub32X: Alu32(ref d, OpCodes.Sub, true); break;
                case VmOp.Mul32K: Alu32(ref d, OpCodes.Mul, false); break;
                case VmOp.Mul32X: Alu32(ref d, OpCodes.Mul, true); break;
                case VmOp.Or32K: Alu32(ref d, OpCodes.Or, false); break;
                case VmOp.Or32X: Alu32(ref d, OpCodes.Or, true); break;
                case VmOp.And32K: Alu32(ref d, OpCodes.And, false); break;
                case VmOp.And32X: Alu32(ref d, OpCodes.And, true); break;
                case VmOp.Xor32K: Alu32(ref d, OpCodes.Xor, false); break;
                case VmOp.Xor32X: Alu32(ref d, OpCodes.Xor, true); break;
                case VmOp.Div32K: Call2(ref d, nameof(Alu.Div32), false); break;
                case VmOp.Div32X: Call2(ref d, nameof(Alu.Div32), true); break;
                case VmOp.SDiv32K: Call2(ref d, nameof(Alu.SDiv32), false); break;
                case VmOp.SDiv32X: Call2(ref d, nameof(Alu.SDiv32), true); break;
                case VmOp.Mod32K: Call2(ref d, nameof(Alu.Mod32), false); break;
                case VmOp.Mod32X: Call2(ref d, nameof(Alu.Mod32), true); break;
                case VmOp.SMod32K: Call2(ref d, nameof(Alu.SMod32), false); break;
                case VmOp.SMod32X: Call2(ref d, nameof(Alu.SMod32), true); break;
                case VmOp.Lsh32K: Shift32(ref d, OpCodes.Shl, false); break;
                case VmOp.Lsh32X: Shift32(ref d, OpCodes.Shl, true); break;
                case VmOp.Rsh32K: Shift32(ref d, OpCodes.Shr_Un, false); break;
                case VmOp.Rsh32X: Shift32(ref d, OpCodes.Shr_Un, true); break;
                case VmOp.Arsh32K:
                case VmOp.Arsh32X:
                    Ld(d.Dst); il.Emit(OpCodes.Conv_I4);
                    Operand(ref d, d.Op == VmOp.Arsh32X); il.Emit(OpCodes.Conv_I4); il.Emit(OpCodes.Ldc_I4, 31); il.Emit(OpCodes.And);
                    il.Emit(OpCodes.Shr); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8); St(d.Dst);
                    break;
                case VmOp.Neg32: Ld(d.Dst); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Neg); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8); St(d.Dst); break;
                case VmOp.Mov32K: I8((uint)d.Imm); St(d.Dst); break;
                case VmOp.Mov32X: Ld(d.Src); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8); St(d.Dst); break;
                case VmOp.MovSx32B: Ld(d.Src); il.Emit(OpCodes.Conv_I1); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8); St(d.Dst); break;
                case VmOp.MovSx32H: Ld(d.Src); il.Emit(OpCodes.Conv_I2); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8); St(d.Dst); break;

                case VmOp.Ja: il.Emit(OpCodes.Br, labels[d.Imm64]); break;
                case VmOp.JeqK: Jump(pc, ref d, OpCodes.Beq, false, false, false); break;
                case VmOp.JeqX: Jump(pc, ref d, OpCodes.Beq, true, false, false); break;
                case VmOp.JneK: Jump(pc, ref d, OpCodes.Bne_Un, false, false, false); break;
                case VmOp.JneX: Jump(pc, ref d, OpCodes.Bne_Un, true, false, false); break;
                case VmOp.JgtK: Jump(pc, ref d, OpCodes.Bgt_Un, false, false, false); break;
                case VmOp.JgtX: Jump(pc, ref d, OpCodes.Bgt_Un, true, false, false); break;
                case VmOp.JgeK: Jump(pc, ref d, OpCodes.Bge_Un, false, false, false); break;
                case VmOp.JgeX: Jump(pc, ref d, OpCodes.Bge_Un, true, false, false); break;
                case VmOp.JltK: Jump(pc, ref d, OpCodes.Blt_Un, false, false, false); break;
                case VmOp.JltX: Jump(pc, ref d, OpCodes.Blt_Un, true, false, false); break;
                case VmOp.JleK: Jump(pc, ref d, OpCodes.Ble_Un, false, false, false); break;
                case VmOp.JleX: Jump(pc, ref d, OpCodes.Ble_Un, true, false, false); break;
                case VmOp.JsgtK: Jump(pc, ref d, OpCodes.Bgt, false, false, true); break;
                case VmOp.JsgtX: Jump(pc, ref d, OpCodes.Bgt, true, false, true); break;
                case VmOp.JsgeK: Jump(pc, ref d, OpCodes.Bge, false, false, true); break;
                case VmOp.JsgeX: Jump(pc, ref d, OpCodes.Bge, true, false, true); break;
                case VmOp.JsltK: Jump(pc, ref d, OpCodes.Blt, false, false, true); break;
                case VmOp.JsltX: Jump(pc, ref d, OpCodes.Blt, true, false, true); break;
                case VmOp.JsleK: Jump(pc, ref d, OpCodes.Ble, false, false, true); break;
                case VmOp.JsleX: Jump(pc, ref d, OpCodes.Ble, true, false, true); break;
                case VmOp.JsetK: Jump(pc, ref d, OpCodes.Nop, false, false, false, set: true); break;
                case VmOp.JsetX: Jump(pc, ref d, OpCodes.Nop, true, false, false, set: true); break;
                case VmOp.Jeq32K: Jump(pc, ref d, OpCodes.Beq, false, true, false); break;
                case VmOp.Jeq32X: Jump(pc, ref d, OpCodes.Beq, true, true, false); break;
                case VmOp.Jne32K: Jump(pc, ref d, OpCodes.Bne_Un, false, true, false); break;
                case VmOp.Jne32X: Jump(pc, ref d, OpCodes.Bne_Un, true, true, false); break;
                case VmOp.Jgt32K: Jump(pc, ref d, OpCodes.Bgt_Un, false, true, false); break;
                case VmOp.Jgt32X: Jump(pc, ref d, OpCodes.Bgt_Un, true, true, false); break;
                case VmOp.Jge32K: Jump(pc, ref d, OpCodes.Bge_Un, false, true, false); break;
                case VmOp.Jge32X: Jump(pc, ref d, OpCodes.Bge_Un, true, true, false); break;
                case VmOp.Jlt32K: Jump(pc, ref d, OpCodes.Blt_Un, false, true, false); break;
                case VmOp.Jlt32X: Jump(pc, ref d, OpCodes.Blt_Un, true, true, false); break;
                case VmOp.Jle32K: Jump(pc, ref d, OpCodes.Ble_Un, false, true, false); break;
                case VmOp.Jle32X: Jump(pc, ref d, OpCodes.Ble_Un, true, true, false); break;
                case VmOp.Jsgt32K: Jump(pc, ref d, OpCodes.Bgt, false, true, true); break;
                case VmOp.Jsgt32X: Jump(pc, ref d, OpCodes.Bgt, true, true, true); break;
                case VmOp.Jsge32K: Jump(pc, ref d, OpCodes.Bge, false, true, true); break;
                case VmOp.Jsge32X: Jump(pc, ref d, OpCodes.Bge, true, true, true); break;
                case VmOp.Jslt32K: Jump(pc, ref d, OpCodes.Blt, false, true, true); break;
                case VmOp.Jslt32X: Jump(pc, ref d, OpCodes.Blt, true, true, true); break;
                case VmOp.Jsle32K: Jump(pc, ref d, OpCodes.Ble, false, true, true); break;
                case VmOp.Jsle32X: Jump(pc, ref d, OpCodes.Ble, true, true, true); break;
                case VmOp.Jset32K: Jump(pc, ref d, OpCodes.Nop, false, true, false, set: true); break;
                case VmOp.Jset32X: Jump(pc, ref d, OpCodes.Nop, true, true, false, set: true); break;
                case VmOp.MayGoto:
                    il.Emit(OpCodes.Ldloc, mayGoto); I8(1); il.Emit(OpCodes.Sub); il.Emit(OpCodes.Dup); il.Emit(OpCodes.Stloc, mayGoto);
                    I8(0); il.Emit(OpCodes.Blt, labels[d.Imm64]);
                    break;

                case VmOp.LdDw: I8(d.Imm64); St(d.Dst); break;
                case VmOp.LdxB: Load(pc, ref d, 1, null); break;
                case VmOp.LdxH: Load(pc, ref d, 2, null); break;
                case VmOp.LdxW: Load(pc, ref d, 4, null); break;
                case VmOp.LdxDW: Load(pc, ref d, 8, null); break;
                case VmOp.LdxSB: Load(pc, ref d, 1, OpCodes.Conv_I1); break;
                case VmOp.LdxSH: Load(pc, ref d, 2, OpCodes.Conv_I2); break;
                case VmOp.LdxSW: Load(pc, ref d, 4, OpCodes.Conv_I4); break;
                case VmOp.StB: Store(pc, ref d, 1, false); break;
                case VmOp.StH: Store(pc, ref d, 2, false); break;
                case VmOp.StW: Store(pc, ref d, 4, false); break;
                case VmOp.StDW: Store(pc, ref d, 8, false); break;
                case VmOp.StxB: Store(pc, ref d, 1, true); break;
                case VmOp.StxH: Store(pc, ref d, 2, true); break;
                case VmOp.StxW: Store(pc, ref d, 4, true); break;
                case VmOp.StxDW: Store(pc, ref d, 8, true); break;
                case VmOp.AtomicW:
                case VmOp.AtomicDW:
                    il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldloc, regions); il.Emit(OpCodes.Ldloc, count);
                    Address(d.Dst, d.Off);
                    il.Emit(d.Op == VmOp.AtomicDW ? OpCodes.Ldc_I4_1 : OpCodes.Ldc_I4_0);
                    il.Emit(OpCodes.Ldc_I4, d.Imm);
                    Ld(d.Src); Ld(0); il.Emit(OpCodes.Ldc_I4, pc);
                    il.Emit(OpCodes.Call, MAtomic);
                    if (d.Imm == (int)AtomicOp.CmpXchg) St(0);
                    else if ((d.Imm & (int)AtomicOp.Fetch) != 0) St(d.Src);
                    else il.Emit(OpCodes.Pop);
                    break;
                case VmOp.LdAbsB: case VmOp.LdAbsH: case VmOp.LdAbsW:
                case VmOp.LdIndB: case VmOp.LdIndH: case VmOp.LdIndW:
                {
                    var ok = il.DefineLabel();
                    il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldc_I4, (int)d.Op); il.Emit(OpCodes.Ldc_I4, d.Imm); Ld(d.Src);
                    il.Emit(OpCodes.Ldloca, r[0]);
                    il.Emit(OpCodes.Call, MLegacy);
                    il.Emit(OpCodes.Brtrue, ok);
                    ReturnValue(() => I8(0));
                    il.MarkLabel(ok);
                    break;
                }
                case VmOp.CallHelper:
                {
                    int id = d.Imm;
                    HelperCall(pc, () => il.Emit(OpCodes.Ldc_I4, id));
                    break;
                }
                case VmOp.TailCall:
                {
                    var fallThrough = il.DefineLabel();
                    il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldloc, depth); il.Emit(OpCodes.Stfld, FDepth);
                    il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldc_I4, pc); Ld(1); Ld(2); Ld(3); il.Emit(OpCodes.Conv_U4); il.Emit(OpCodes.Conv_U8);
                    il.Emit(OpCodes.Call, MTailCall);
                    il.Emit(OpCodes.Brfalse, fallThrough);
                    ReturnValue(() => I8(0));
                    il.MarkLabel(fallThrough);
                    break;
                }
                case VmOp.CallLocal:
                    PushFrame(pc, pc + 1);
                    il.Emit(OpCodes.Br, labels[d.Imm64]);
                    break;
                case VmOp.CallX:
                {
                    var local = il.DefineLabel();
                    var done = il.DefineLabel();
                    il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldarg_0); il.Emit(OpCodes.Ldfld, FCurrent);
                    Ld(d.Dst); il.Emit(OpCodes.Ldc_I4, pc);
                    il.Emit(OpCodes.Call, M(typeof(JitSupport), nameof(JitSupport.ResolveCallX)));
                    il.Emit(OpCodes.Dup); il.Emit(OpCodes.Stloc, callxTarget);
                    il.Emit(OpCodes.Ldc_I4_0); il.Emit(OpCodes.Bge, local);
                    HelperCall(pc, () =>
                    {
                        il.Emit(OpCodes.Ldc_I4_M1); il.Emit(OpCodes.Ldloc, callxTarget); il.Emit(OpCodes.Sub);
                    });
                    il.Emit(OpCodes.Br, done);
                    il.MarkLabel(local);
                    PushFrame(pc, pc + 1);
                    il.Emit(OpCodes.Br, callxDispatch);
                    il.MarkLabel(done);
                    break;
                }
                case VmOp.Exit:
                {
                    var sub = il.DefineLabel();
                    il.Emit(OpCodes.Ldloc, depth); il.Emit(OpCodes.Brtrue, sub);
                    ReturnValue(() => Ld(0));
                    il.MarkLabel(sub);
                    il.Emit(OpCodes.Ldloc, depth); il.Emit(OpCodes.Ldc_I4_1); il.Emit(OpCodes.Sub); il.Emit(OpCodes.Stloc, depth);
                    il.Emit(OpCodes.Ldloc, frames); il.Emit(OpCodes.Ldloc, depth);
                    for (int a = 6; a <= 10; a++) il.Emit(OpCodes.Ldloca, r[a]);
                    il.Emit(OpCodes.Call, M(typeof(JitSupport), nameof(JitSupport.Pop)));
                    il.Emit(OpCodes.Stloc, site);
                    il.Emit(OpCodes.Br, dispatchReturn);
                    break;
                }
                default:
                    il.Emit(OpCodes.Ldc_I4, pc); il.Emit(OpCodes.Call, M(typeof(JitSupport), nameof(JitSupport.ThrowFellOff)));
                    I8(0); il.Emit(OpCodes.Ret);
                    break;
            }
        }
    }

    private static readonly FieldInfo FCurrent = typeof(BpfVm).GetField(nameof(BpfVm.Current), Any)!;
}
