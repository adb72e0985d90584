using System.Runtime.CompilerServices;

namespace SharpBpf.Vm;

/// <summary>The interpreter: a dispatch loop over decoded instructions with registers in a stack buffer. Memory
/// accesses go through <see cref="Mem"/> (the same checks the JIT emits); the budget is charged per basic block.</summary>
internal static unsafe class Interpreter
{
    private const long MayGotoLoops = 8 * 1024 * 1024; // the kernel's BPF_MAX_LOOPS

    [SkipLocalsInit]
    public static ulong Run(BpfVm vm, VmProgram program, ulong r1, ulong r2)
    {
        ulong* r = stackalloc ulong[11];
        new Span<ulong>(r, 11).Clear();
        r[1] = r1;
        r[2] = r2;
        r[10] = BpfVm.FramePointer(0);
        Region* regions = vm.Regions;
        uint count = vm.RegionCount;
        BpfVm.Frame* frames = vm.Frames;
        long budget = vm.BudgetLeft;
        long mayGoto = MayGotoLoops;
        int depth = 0;
        int length = program.Code.Length - 1;
        fixed (DecodedInsn* code = program.Code)
        {
            int pc = 0;
            while (true)
            {
                DecodedInsn* i = code + pc;
                budget -= i->Cost;
                if (budget < 0) throw new VmBudgetExceededException(pc, vm.Options.InstructionBudget);
                int cur = pc++;
                switch (i->Op)
                {
                    case VmOp.Add64K: { int d = i->Dst; r[d] += (ulong)i->Imm64; continue; }
                    case VmOp.Add64X: { int d = i->Dst; r[d] += r[i->Src]; continue; }
                    case VmOp.Sub64K: { int d = i->Dst; r[d] -= (ulong)i->Imm64; continue; }
                    case VmOp.Sub64X: { int d = i->Dst; r[d] -= r[i->Src]; continue; }
                    case VmOp.Mul64K: { int d = i->Dst; r[d] *= (ulong)i->Imm64; continue; }
                    case VmOp.Mul64X: { int d = i->Dst; r[d] *= r[i->Src]; continue; }
                    case VmOp.Div64K: { int d = i->Dst; r[d] = Alu.Div64(r[d], (ulong)i->Imm64); continue; }
                    case VmOp.Div64X: { int d = i->Dst; r[d] = Alu.Div64(r[d], r[i->Src]); continue; }
                    case VmOp.SDiv64K: { int d = i->Dst; r[d] = Alu.SDiv64(r[d], (ulong)i->Imm64); continue; }
                    case VmOp.SDiv64X: { int d = i->Dst; r[d] = Alu.SDiv64(r[d], r[i->Src]); continue; }
                    case VmOp.Mod64K: { int d = i->Dst; r[d] = Alu.Mod64(r[d], (ulong)i->Imm64); continue; }
                    case VmOp.Mod64X: { int d = i->Dst; r[d] = Alu.Mod64(r[d], r[i->Src]); continue; }
                    case VmOp.SMod64K: { int d = i->Dst; r[d] = Alu.SMod64(r[d], (ulong)i->Imm64); continue; }
                    case VmOp.SMod64X: { int d = i->Dst; r[d] = Alu.SMod64(r[d], r[i->Src]); continue; }
                    case VmOp.Or64K: { int d = i->Dst; r[d] |= (ulong)i->Imm64; continue; }
                    case VmOp.Or64X: { int d = i->Dst; r[d] |= r[i->Src]; continue; }
                    case VmOp.And64K: { int d = i->Dst; r[d] &= (ulong)i->Imm64; continue; }
                    case VmOp.And64X: { int d = i->Dst; r[d] &= r[i->Src]; continue; }
                    case VmOp.Xor64K: { int d = i->Dst; r[d] ^= (ulong)i->Imm64; continue; }
                    case VmOp.Xor64X: { int d = i->Dst; r[d] ^= r[i->Src]; continue; }
                    case VmOp.Lsh64K: { int d = i->Dst; r[d] <<= (int)((ulong)i->Imm64 & 63); continue; }
                    case VmOp.Lsh64X: { int d = i->Dst; r[d] <<= (int)(r[i->Src] & 63); continue; }
                    case VmOp.Rsh64K: { int d = i->Dst; r[d] >>= (int)((ulong)i->Imm64 & 63); continue; }
                    case VmOp.Rsh64X: { int d = i->Dst; r[d] >>= (int)(r[i->Src] & 63); continue; }
                    case VmOp.Arsh64K: { int d = i->Dst; r[d] = (ulong)((long)r[d] >> (int)((ulong)i->Imm64 & 63)); continue; }
                    case VmOp.Arsh64X: { int d = i->Dst; r[d] = (ulong)((long)r[d] >> (int)(r[i->Src] & 63)); continue; }
                    case VmOp.Mov64K: { int d = i->Dst; r[d] = (ulong)i->Imm64; continue; }
                    case VmOp.Mov64X: { int d = i->Dst; r[d] = r[i->Src]; continue; }
                    case VmOp.Add32K: { int d = i->Dst; r[d] = (uint)((uint)r[d] + (uint)(ulong)i->Imm64); continue; }
                    case VmOp.Add32X: { int d = i->Dst; r[d] = (uint)((uint)r[d] + (uint)r[i->Src]); continue; }
                    case VmOp.Sub32K: { int d = i->Dst; r[d] = (uint)((uint)r[d] - (uint)(ulong)i->Imm64); continue; }
                    case VmOp.Sub32X: { int d = i->Dst; r[d] = (uint)((uint)r[d] - (uint)r[i->Src]); continue; }
                    case VmOp.Mul32K: { int d = i->Dst; r[d] = (uint)((uint)r[d] * (uint)(ulong)i->Imm64); continue; }
                    case VmOp.Mul32X: { int d = i->Dst; r[d] = (uint)((uint)r[d] * (uint)r[i->Src]); continue; }
                    case VmOp.Div32K: { int d = i->Dst; r[d] = Alu.Div32(r[d], (ulong)i->Imm64); continue; }
                    case VmOp.Div32X: { int d = i->Dst; r[d] = Alu.Div32(r[d], r[i->Src]); continue; }
                    case VmOp.SDiv32K: { int d = i->Dst; r[d] = Alu.SDiv32(r[d], (ulong)i->Imm64); continue; }
                    case VmOp.SDiv32X: { int d = i->Dst; r[d] = Alu.SDiv32(r[d], r[i->Src]); continue; }
                    case VmOp.Mod32K: { int d = i->Dst; r[d] = Alu.Mod32(r[d], (ulong)i->Imm64); continue; }
                    case VmOp.Mod32X: { int d = i->Dst; r[d] = Alu.Mod32(r[d], r[i->Src]); continue; }
                    case VmOp.SMod32K: { int d = i->Dst; r[d] = Alu.SMod32(r[d], (ulong)i->Imm64); continue; }
                    case VmOp.SMod32X: { int d = i->Dst; r[d] = Alu.SMod32(r[d], r[i->Src]); continue; }
                    case VmOp.Or32K: { int d = i->Dst; r[d] = (uint)r[d] | (uint)(ulong)i->Imm64; continue; }
                    case VmOp.Or32X: { int d = i->Dst; r[d] = (uint)r[d] | (uint)r[i->Src]; continue; }
                    case VmOp.And32K: { int d = i->Dst; r[d] = (uint)r[d] & (uint)(ulong)i->Imm64; continue; }
                    case VmOp.And32X: { int d = i->Dst; r[d] = (uint)r[d] & (uint)r[i->Src]; continue; }
                    case VmOp.Xor32K: { int d = i->Dst; r[d] = (uint)r[d] ^ (uint)(ulong)i->Imm64; continue; }
                    case VmOp.Xor32X: { int d = i->Dst; r[d] = (uint)r[d] ^ (uint)r[i->Src]; continue; }
                    case VmOp.Lsh32K: { int d = i->Dst; r[d] = (uint)r[d] << (int)((ulong)i->Imm64 & 31); continue; }
                    case VmOp.Lsh32X: { int d = i->Dst; r[d] = (uint)r[d] << (int)(r[i->Src] & 31); continue; }
                    case VmOp.Rsh32K: { int d = i->Dst; r[d] = (uint)r[d] >> (int)((ulong)i->Imm64 & 31); continue; }
                    case VmOp.Rsh32X: { int d = i->Dst; r[d] = (uint)r[d] >> (int)(r[i->Src] & 31); continue; }
                    case VmOp.Arsh32K: { int d = i->Dst; r[d] = (uint)((int)r[d] >> (int)((ulong)i->Imm64 & 31)); continue; }
                    case VmOp.Arsh32X: { int d = i->Dst; r[d] = (uint)((int)r[d] >> (int)(r[i->Src] & 31)); continue; }
                    case VmOp.Mov32K: { int d = i->Dst; r[d] = (uint)(ulong)i->Imm64; continue; }
                    case VmOp.Mov32X: { int d = i->Dst; r[d] = (uint)r[i->Src]; continue; }
                    case VmOp.JeqK: { int d = i->Dst; if (r[d] == (ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.Jeq32K: { int d = i->Dst; if ((uint)r[d] == (uint)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.JeqX: { int d = i->Dst; if (r[d] == r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Jeq32X: { int d = i->Dst; if ((uint)r[d] == (uint)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.JneK: { int d = i->Dst; if (r[d] != (ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.Jne32K: { int d = i->Dst; if ((uint)r[d] != (uint)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.JneX: { int d = i->Dst; if (r[d] != r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Jne32X: { int d = i->Dst; if ((uint)r[d] != (uint)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.JgtK: { int d = i->Dst; if (r[d] > (ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.Jgt32K: { int d = i->Dst; if ((uint)r[d] > (uint)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.JgtX: { int d = i->Dst; if (r[d] > r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Jgt32X: { int d = i->Dst; if ((uint)r[d] > (uint)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.JgeK: { int d = i->Dst; if (r[d] >= (ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.Jge32K: { int d = i->Dst; if ((uint)r[d] >= (uint)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.JgeX: { int d = i->Dst; if (r[d] >= r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Jge32X: { int d = i->Dst; if ((uint)r[d] >= (uint)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.JltK: { int d = i->Dst; if (r[d] < (ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.Jlt32K: { int d = i->Dst; if ((uint)r[d] < (uint)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.JltX: { int d = i->Dst; if (r[d] < r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Jlt32X: { int d = i->Dst; if ((uint)r[d] < (uint)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.JleK: { int d = i->Dst; if (r[d] <= (ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.Jle32K: { int d = i->Dst; if ((uint)r[d] <= (uint)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.JleX: { int d = i->Dst; if (r[d] <= r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Jle32X: { int d = i->Dst; if ((uint)r[d] <= (uint)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.JsetK: { int d = i->Dst; if ((r[d] & (ulong)(long)i->Imm) != 0) pc = (int)i->Imm64; continue; }
                    case VmOp.Jset32K: { int d = i->Dst; if (((uint)r[d] & (uint)(ulong)(long)i->Imm) != 0) pc = (int)i->Imm64; continue; }
                    case VmOp.JsetX: { int d = i->Dst; if ((r[d] & r[i->Src]) != 0) pc = (int)i->Imm64; continue; }
                    case VmOp.Jset32X: { int d = i->Dst; if (((uint)r[d] & (uint)r[i->Src]) != 0) pc = (int)i->Imm64; continue; }
                    case VmOp.JsgtK: { int d = i->Dst; if ((long)r[d] > (long)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.Jsgt32K: { int d = i->Dst; if ((int)r[d] > (int)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.JsgtX: { int d = i->Dst; if ((long)r[d] > (long)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Jsgt32X: { int d = i->Dst; if ((int)r[d] > (int)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.JsgeK: { int d = i->Dst; if ((long)r[d] >= (long)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.Jsge32K: { int d = i->Dst; if ((int)r[d] >= (int)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.JsgeX: { int d = i->Dst; if ((long)r[d] >= (long)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Jsge32X: { int d = i->Dst; if ((int)r[d] >= (int)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.JsltK: { int d = i->Dst; if ((long)r[d] < (long)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.Jslt32K: { int d = i->Dst; if ((int)r[d] < (int)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.JsltX: { int d = i->Dst; if ((long)r[d] < (long)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Jslt32X: { int d = i->Dst; if ((int)r[d] < (int)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.JsleK: { int d = i->Dst; if ((long)r[d] <= (long)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.Jsle32K: { int d = i->Dst; if ((int)r[d] <= (int)(ulong)(long)i->Imm) pc = (int)i->Imm64; continue; }
                    case VmOp.JsleX: { int d = i->Dst; if ((long)r[d] <= (long)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Jsle32X: { int d = i->Dst; if ((int)r[d] <= (int)r[i->Src]) pc = (int)i->Imm64; continue; }
                    case VmOp.Neg64: r[i->Dst] = (ulong)unchecked(-(long)r[i->Dst]); continue;
                    case VmOp.Neg32: r[i->Dst] = (uint)unchecked(-(int)r[i->Dst]); continue;
                    case VmOp.MovSx64B: r[i->Dst] = (ulong)(long)(sbyte)r[i->Src]; continue;
                    case VmOp.MovSx64H: r[i->Dst] = (ulong)(long)(short)r[i->Src]; continue;
                    case VmOp.MovSx64W: r[i->Dst] = (ulong)(long)(int)r[i->Src]; continue;
                    case VmOp.MovSx32B: r[i->Dst] = (uint)(int)(sbyte)r[i->Src]; continue;
                    case VmOp.MovSx32H: r[i->Dst] = (uint)(int)(short)r[i->Src]; continue;
                    case VmOp.Le16: r[i->Dst] = (ushort)r[i->Dst]; continue;
                    case VmOp.Le32: r[i->Dst] = (uint)r[i->Dst]; continue;
                    case VmOp.Le64: continue;
                    case VmOp.Be16: case VmOp.Bswap16: r[i->Dst] = Alu.Swap16(r[i->Dst]); continue;
                    case VmOp.Be32: case VmOp.Bswap32: r[i->Dst] = Alu.Swap32(r[i->Dst]); continue;
                    case VmOp.Be64: case VmOp.Bswap64: r[i->Dst] = Alu.Swap64(r[i->Dst]); continue;
                    case VmOp.Ja: pc = (int)i->Imm64; continue;
                    case VmOp.MayGoto: if (--mayGoto < 0) pc = (int)i->Imm64; continue;
                    case VmOp.LdDw: r[i->Dst] = (ulong)i->Imm64; pc++; continue;
                    case VmOp.LdxB:
                    {
                        ulong a = r[i->Src] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 1 <= regions[ix].ReadLength) { byte* p = regions[ix].Base + (uint)a; r[i->Dst] = *p; }
                        else r[i->Dst] = vm.LoadSlow(cur, a, 1);
                        continue;
                    }
                    case VmOp.LdxH:
                    {
                        ulong a = r[i->Src] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 2 <= regions[ix].ReadLength) { byte* p = regions[ix].Base + (uint)a; r[i->Dst] = Unsafe.ReadUnaligned<ushort>(p); }
                        else r[i->Dst] = vm.LoadSlow(cur, a, 2);
                        continue;
                    }
                    case VmOp.LdxW:
                    {
                        ulong a = r[i->Src] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 4 <= regions[ix].ReadLength) { byte* p = regions[ix].Base + (uint)a; r[i->Dst] = Unsafe.ReadUnaligned<uint>(p); }
                        else r[i->Dst] = vm.LoadSlow(cur, a, 4);
                        continue;
                    }
                    case VmOp.LdxDW:
                    {
                        ulong a = r[i->Src] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 8 <= regions[ix].ReadLength) { byte* p = regions[ix].Base + (uint)a; r[i->Dst] = Unsafe.ReadUnaligned<ulong>(p); }
                        else r[i->Dst] = vm.LoadSlow(cur, a, 8);
                        continue;
                    }
                    case VmOp.LdxSB:
                    {
                        ulong a = r[i->Src] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 1 <= regions[ix].ReadLength) { byte* p = regions[ix].Base + (uint)a; r[i->Dst] = (ulong)(long)(sbyte)(*p); }
                        else r[i->Dst] = (ulong)(long)(sbyte)(vm.LoadSlow(cur, a, 1));
                        continue;
                    }
                    case VmOp.LdxSH:
                    {
                        ulong a = r[i->Src] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 2 <= regions[ix].ReadLength) { byte* p = regions[ix].Base + (uint)a; r[i->Dst] = (ulong)(long)(short)(Unsafe.ReadUnaligned<ushort>(p)); }
                        else r[i->Dst] = (ulong)(long)(short)(vm.LoadSlow(cur, a, 2));
                        continue;
                    }
                    case VmOp.LdxSW:
                    {
                        ulong a = r[i->Src] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 4 <= regions[ix].ReadLength) { byte* p = regions[ix].Base + (uint)a; r[i->Dst] = (ulong)(long)(int)(Unsafe.ReadUnaligned<uint>(p)); }
                        else r[i->Dst] = (ulong)(long)(int)(vm.LoadSlow(cur, a, 4));
                        continue;
                    }
                    case VmOp.StB:
                    {
                        ulong a = r[i->Dst] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 1 <= regions[ix].WriteLength) Unsafe.WriteUnaligned(regions[ix].Base + (uint)a, (byte)(ulong)i->Imm64);
                        else vm.StoreSlow(cur, a, 1, (ulong)i->Imm64);
                        continue;
                    }
                    case VmOp.StH:
                    {
                        ulong a = r[i->Dst] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 2 <= regions[ix].WriteLength) Unsafe.WriteUnaligned(regions[ix].Base + (uint)a, (ushort)(ulong)i->Imm64);
                        else vm.StoreSlow(cur, a, 2, (ulong)i->Imm64);
                        continue;
                    }
                    case VmOp.StW:
                    {
                        ulong a = r[i->Dst] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 4 <= regions[ix].WriteLength) Unsafe.WriteUnaligned(regions[ix].Base + (uint)a, (uint)(ulong)i->Imm64);
                        else vm.StoreSlow(cur, a, 4, (ulong)i->Imm64);
                        continue;
                    }
                    case VmOp.StDW:
                    {
                        ulong a = r[i->Dst] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 8 <= regions[ix].WriteLength) Unsafe.WriteUnaligned(regions[ix].Base + (uint)a, (ulong)(ulong)i->Imm64);
                        else vm.StoreSlow(cur, a, 8, (ulong)i->Imm64);
                        continue;
                    }
                    case VmOp.StxB:
                    {
                        ulong a = r[i->Dst] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 1 <= regions[ix].WriteLength) Unsafe.WriteUnaligned(regions[ix].Base + (uint)a, (byte)r[i->Src]);
                        else vm.StoreSlow(cur, a, 1, r[i->Src]);
                        continue;
                    }
                    case VmOp.StxH:
                    {
                        ulong a = r[i->Dst] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 2 <= regions[ix].WriteLength) Unsafe.WriteUnaligned(regions[ix].Base + (uint)a, (ushort)r[i->Src]);
                        else vm.StoreSlow(cur, a, 2, r[i->Src]);
                        continue;
                    }
                    case VmOp.StxW:
                    {
                        ulong a = r[i->Dst] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 4 <= regions[ix].WriteLength) Unsafe.WriteUnaligned(regions[ix].Base + (uint)a, (uint)r[i->Src]);
                        else vm.StoreSlow(cur, a, 4, r[i->Src]);
                        continue;
                    }
                    case VmOp.StxDW:
                    {
                        ulong a = r[i->Dst] + (ulong)(long)i->Off;
                        uint ix = (uint)(a >> Mem.RegionShift);
                        if (ix < count && (ulong)(uint)a + 8 <= regions[ix].WriteLength) Unsafe.WriteUnaligned(regions[ix].Base + (uint)a, (ulong)r[i->Src]);
                        else vm.StoreSlow(cur, a, 8, r[i->Src]);
                        continue;
                    }
                    case VmOp.AtomicW:
                    case VmOp.AtomicDW:
                    {
                        ulong src = r[i->Src];
                        ulong result = Atomics.Execute(vm, regions, count, r[i->Dst] + (ulong)(long)i->Off, i->Op == VmOp.AtomicDW, i->Imm, src, r[0], cur);
                        if (i->Imm == (int)Asm.AtomicOp.CmpXchg) r[0] = result;
                        else if ((i->Imm & (int)Asm.AtomicOp.Fetch) != 0) r[i->Src] = result;
                        continue;
                    }
                    case VmOp.LdAbsB: case VmOp.LdAbsH: case VmOp.LdAbsW:
                    case VmOp.LdIndB: case VmOp.LdIndH: case VmOp.LdIndW:
                        if (!vm.LoadLegacy(i->Op, i->Imm, r[i->Src], out r[0]))
                        {
                            vm.BudgetLeft = budget;
                            return 0; // like the kernel: an out-of-packet legacy load ends the program with 0
                        }
                        continue;
                    case VmOp.CallHelper:
                        vm.BudgetLeft = budget;
                        vm.Depth = depth;
                        r[0] = vm.CallHelper(cur, i->Imm, r[1], r[2], r[3], r[4], r[5]);
                        if (vm.ExitRequested) return r[0];
                        budget = vm.BudgetLeft;
                        regions = vm.Regions;
                        count = vm.RegionCount;
                        continue;
                    case VmOp.TailCall:
                        vm.Depth = depth;
                        if (vm.TryTailCall(cur, r[1], r[2], (uint)r[3]))
                        {
                            vm.BudgetLeft = budget;
                            return 0;
                        }
                        continue;
                    case VmOp.CallX:
                    {
                        ulong target = r[i->Dst];
                        if ((uint)(target >> Mem.RegionShift) != BpfVm.RegionCode)
                        {
                            // bpf_conformance's runtimes call helpers by number through callx
                            if (target < 256 && vm.HasHelper((int)target) && target != 12)
                            {
                                vm.BudgetLeft = budget;
                                vm.Depth = depth;
                                r[0] = vm.CallHelper(cur, (int)target, r[1], r[2], r[3], r[4], r[5]);
                                if (vm.ExitRequested) return r[0];
                                budget = vm.BudgetLeft;
                                regions = vm.Regions;
                                count = vm.RegionCount;
                                continue;
                            }
                            throw new VmException(cur, $"callx to 0x{target:x}: not a function address");
                        }
                        uint to = (uint)target;
                        if (to >= (uint)length || code[to].Op == VmOp.Invalid) throw new VmException(cur, $"callx to instruction {to}: not an instruction of the program");
                        if (depth + 1 >= BpfVm.MaxFrames) throw new VmException(cur, $"call depth exceeds {BpfVm.MaxFrames} frames");
                        Push(frames + depth, r, pc);
                        depth++;
                        r[10] = BpfVm.FramePointer(depth);
                        pc = (int)to;
                        continue;
                    }
                    case VmOp.CallLocal:
                        if (depth + 1 >= BpfVm.MaxFrames) throw new VmException(cur, $"call depth exceeds {BpfVm.MaxFrames} frames");
                        Push(frames + depth, r, pc);
                        depth++;
                        r[10] = BpfVm.FramePointer(depth);
                        pc = (int)i->Imm64;
                        continue;
                    case VmOp.Exit:
                        if (depth == 0)
                        {
                            vm.BudgetLeft = budget;
                            return r[0];
                        }
                        depth--;
                        pc = Pop(frames + depth, r);
                        continue;
                    default:
                        throw new VmException(cur, cur == length ? "execution fell off the end of the program" : $"invalid instruction {i->Op}");
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Push(BpfVm.Frame* f, ulong* r, int returnPc)
    {
        f->R6 = r[6];
        f->R7 = r[7];
        f->R8 = r[8];
        f->R9 = r[9];
        f->R10 = r[10];
        f->ReturnPc = returnPc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Pop(BpfVm.Frame* f, ulong* r)
    {
        r[6] = f->R6;
        r[7] = f->R7;
        r[8] = f->R8;
        r[9] = f->R9;
        r[10] = f->R10;
        return (int)f->ReturnPc;
    }
}
