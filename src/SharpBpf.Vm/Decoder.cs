using SharpBpf.Asm;

namespace SharpBpf.Vm;

/// <summary>Validates a program for the VM and decodes it to <see cref="DecodedInsn"/>s: every opcode known, registers
/// in range (r10 never written), jumps and calls inside the program and not into the middle of a <c>lddw</c>,
/// helpers registered, <c>lddw</c> pseudo sources resolved to VM addresses.</summary>
internal static class Decoder
{
    public static DecodedInsn[] Decode(BpfVm vm, Instruction[] insns, int[]? fdArray = null)
    {
        int n = insns.Length;
        if (n == 0) throw new VmProgramException(-1, "the program has no instructions");
        var code = new DecodedInsn[n + 1];
        var isSecondHalf = new bool[n + 1];
        var leader = new bool[n + 1];
        leader[0] = true;
        for (int pc = 0; pc < n; pc++)
        {
            if (isSecondHalf[pc]) continue;
            var insn = insns[pc];
            ref var d = ref code[pc];
            d.Dst = insn.Dst;
            d.Src = insn.Src;
            d.Off = insn.Offset;
            d.Imm = insn.Imm;
            d.Imm64 = insn.Imm;
            d.Op = Classify(vm, insns, pc, ref d, isSecondHalf, fdArray);
            if (d.Dst > 10) throw new VmProgramException(pc, $"invalid destination register r{d.Dst} ({insn})");
            if (d.Src > 10 && UsesSrc(d.Op)) throw new VmProgramException(pc, $"invalid source register r{d.Src} ({insn})");
            if (d.Dst == 10 && WritesDst(d.Op)) throw new VmProgramException(pc, $"r10 is read-only ({insn})");
            if (d.Op == VmOp.AtomicW || d.Op == VmOp.AtomicDW)
            {
                bool fetches = (d.Imm & (int)AtomicOp.Fetch) != 0;
                if (fetches && d.Imm != (int)AtomicOp.CmpXchg && d.Src == 10) throw new VmProgramException(pc, "r10 is read-only (atomic fetch into r10)");
            }
            if (IsJump(d.Op) || d.Op is VmOp.CallLocal)
            {
                long target = d.Op is VmOp.CallLocal || insn.IsLongJump ? pc + 1L + insn.Imm : pc + 1L + insn.Offset;
                CheckTarget(pc, target, n, isSecondHalf, d.Op is VmOp.CallLocal ? "call" : "jump");
                d.Imm64 = target;
                leader[target] = true;
            }
            if (IsJump(d.Op) || d.Op is VmOp.CallLocal or VmOp.CallX or VmOp.CallHelper or VmOp.TailCall or VmOp.Exit)
                leader[pc + 1] = true;
            if (d.Op == VmOp.LdDw && d.Src == PseudoSource.Func) leader[(int)(d.Imm64 & 0xffffffff)] = true;
        }
        // a jump may not land on the second half of a lddw (checked above for targets found before the lddw too)
        for (int pc = 0; pc < n; pc++)
        {
            if (isSecondHalf[pc]) continue;
            var d = code[pc];
            if ((IsJump(d.Op) || d.Op == VmOp.CallLocal) && isSecondHalf[d.Imm64])
                throw new VmProgramException(pc, $"jump into the middle of a lddw at {d.Imm64}");
            if (d.Op == VmOp.LdDw && d.Src == PseudoSource.Func && isSecondHalf[(int)(d.Imm64 & 0xffffffff)])
                throw new VmProgramException(pc, "function address in the middle of a lddw");
        }
        code[n].Op = VmOp.Invalid;
        leader[n] = true;
        int start = 0;
        for (int pc = 1; pc <= n; pc++)
        {
            if (!leader[pc]) continue;
            code[start].Cost = pc - start;
            start = pc;
        }
        code[n].Cost = 1;
        return code;
    }

    private static void CheckTarget(int pc, long target, int n, bool[] secondHalf, string what)
    {
        if (target < 0 || target >= n) throw new VmProgramException(pc, $"{what} target {target} is outside the program (0..{n - 1})");
        if (secondHalf[target]) throw new VmProgramException(pc, $"{what} target {target} is the second half of a lddw");
    }

    private static bool IsJump(VmOp op) => op is >= VmOp.Ja and <= VmOp.MayGoto;

    private static bool UsesSrc(VmOp op) => op is not (VmOp.LdDw or VmOp.CallHelper or VmOp.TailCall or VmOp.CallLocal or VmOp.CallX
        or VmOp.Exit or VmOp.Ja or VmOp.MayGoto or VmOp.LdAbsB or VmOp.LdAbsH or VmOp.LdAbsW);

    private static bool WritesDst(VmOp op) =>
        op is >= VmOp.Add64K and <= VmOp.Be64 or VmOp.LdDw or >= VmOp.LdxB and <= VmOp.LdxSW;

    private static VmProgramException Bad(int pc, Instruction insn, string why = "unknown opcode") =>
        new(pc, $"{why} 0x{insn.OpCode:x2} ({insn})");

    private static VmOp Classify(BpfVm vm, Instruction[] insns, int pc, ref DecodedInsn d, bool[] secondHalf, int[]? fdArray)
    {
        var insn = insns[pc];
        byte op = insn.OpCode;
        switch (insn.Class)
        {
            case InstructionClass.Alu64:
            case InstructionClass.Alu:
                return Alu(pc, insn, insn.Class == InstructionClass.Alu64);
            case InstructionClass.Jmp:
            case InstructionClass.Jmp32:
                return Jump(vm, pc, insn, ref d);
            case InstructionClass.Ldx:
                return (op, insn.Offset) switch
                {
                    (0x71, _) => VmOp.LdxB, (0x69, _) => VmOp.LdxH, (0x61, _) => VmOp.LdxW, (0x79, _) => VmOp.LdxDW,
                    (0x91, _) => VmOp.LdxSB, (0x89, _) => VmOp.LdxSH, (0x81, _) => VmOp.LdxSW,
                    _ => throw Bad(pc, insn),
                };
            case InstructionClass.St:
                return op switch
                {
                    0x72 => VmOp.StB, 0x6a => VmOp.StH, 0x62 => VmOp.StW, 0x7a => VmOp.StDW,
                    _ => throw Bad(pc, insn),
                };
            case InstructionClass.Stx:
                switch (op)
                {
                    case 0x73: return VmOp.StxB;
                    case 0x6b: return VmOp.StxH;
                    case 0x63: return VmOp.StxW;
                    case 0x7b: return VmOp.StxDW;
                }
                if (insn.MemoryMode != MemoryMode.Atomic) throw Bad(pc, insn);
                if (insn.Imm == (int)AtomicOp.LoadAcquire)
                    return insn.MemorySize switch
                    {
                        MemorySize.Byte => VmOp.LdxB, MemorySize.Half => VmOp.LdxH, MemorySize.Word => VmOp.LdxW, _ => VmOp.LdxDW,
                    };
                if (insn.Imm == (int)AtomicOp.StoreRelease)
                    return insn.MemorySize switch
                    {
                        MemorySize.Byte => VmOp.StxB, MemorySize.Half => VmOp.StxH, MemorySize.Word => VmOp.StxW, _ => VmOp.StxDW,
                    };
                if (insn.Imm is not ((int)AtomicOp.Add or (int)AtomicOp.Or or (int)AtomicOp.And or (int)AtomicOp.Xor
                    or (int)AtomicOp.Add | 1 or (int)AtomicOp.Or | 1 or (int)AtomicOp.And | 1 or (int)AtomicOp.Xor | 1
                    or (int)AtomicOp.Xchg or (int)AtomicOp.CmpXchg))
                    throw Bad(pc, insn, $"unknown atomic operation 0x{insn.Imm:x} in");
                return insn.MemorySize switch
                {
                    MemorySize.Word => VmOp.AtomicW,
                    MemorySize.DWord => VmOp.AtomicDW,
                    _ => throw Bad(pc, insn, "atomic read-modify-write works on 4 or 8 bytes:"),
                };
            case InstructionClass.Ld:
                switch (op)
                {
                    case 0x20: return VmOp.LdAbsW;
                    case 0x28: return VmOp.LdAbsH;
                    case 0x30: return VmOp.LdAbsB;
                    case 0x40: return VmOp.LdIndW;
                    case 0x48: return VmOp.LdIndH;
                    case 0x50: return VmOp.LdIndB;
                    case Instruction.LoadImm64OpCode: return LoadImm64(vm, insns, pc, ref d, secondHalf, fdArray);
                }
                throw Bad(pc, insn);
        }
        throw Bad(pc, insn);
    }

    private static VmOp LoadImm64(BpfVm vm, Instruction[] insns, int pc, ref DecodedInsn d, bool[] secondHalf, int[]? fdArray)
    {
        var insn = insns[pc];
        if (pc + 1 >= insns.Length) throw new VmProgramException(pc, "lddw without its second half");
        var hi = insns[pc + 1];
        if (hi.OpCode != 0 || hi.Dst != 0 || hi.Src != 0 || hi.Offset != 0)
            throw new VmProgramException(pc + 1, $"the second half of a lddw must be zero except its immediate ({hi})");
        secondHalf[pc + 1] = true;
        switch (insn.Src)
        {
            case 0:
                d.Imm64 = (long)((uint)insn.Imm | (ulong)(uint)hi.Imm << 32);
                break;
            case PseudoSource.MapFd:
            case PseudoSource.MapIndex:
            {
                var map = MapOf(vm, pc, insn, fdArray);
                d.Imm64 = (long)((ulong)map.HandleRegion << Mem.RegionShift);
                break;
            }
            case PseudoSource.MapValue:
            case PseudoSource.MapIndexValue:
            {
                var map = MapOf(vm, pc, insn, fdArray);
                d.Imm64 = (long)(map.DirectValueAddress((uint)hi.Imm)
                    ?? throw new VmProgramException(pc, $"lddw: map '{map.Name}' ({map.Type}) has no direct value at offset {(uint)hi.Imm}"));
                break;
            }
            case PseudoSource.Func:
            {
                long target = pc + 1L + insn.Imm;
                CheckTarget(pc, target, insns.Length, secondHalf, "function address");
                d.Imm64 = (long)(((ulong)BpfVm.RegionCode << Mem.RegionShift) | (ulong)target);
                break;
            }
            case PseudoSource.BtfId:
                throw new VmProgramException(pc, "lddw of a kernel variable (BTF id) has no meaning in the VM");
            default:
                throw new VmProgramException(pc, $"lddw with unknown pseudo source {insn.Src}");
        }
        d.Src = 0;
        return VmOp.LdDw;
    }

    /// <summary>The map of a lddw: by VM fd (sources 1, 2) or by index into the program's fd_array (5, 6).</summary>
    private static VmMap MapOf(BpfVm vm, int pc, Instruction insn, int[]? fdArray)
    {
        int fd = insn.Imm;
        if (insn.Src is PseudoSource.MapIndex or PseudoSource.MapIndexValue)
        {
            if (fdArray is null || (uint)insn.Imm >= (uint)fdArray.Length)
                throw new VmProgramException(pc, $"lddw: fd_array index {insn.Imm} is outside the program's fd_array ({fdArray?.Length ?? 0} entries)");
            fd = fdArray[insn.Imm];
        }
        return vm.MapByFd(fd) ?? throw new VmProgramException(pc, $"lddw: no VM map with fd {fd}");
    }

    private static VmOp Alu(int pc, Instruction insn, bool is64)
    {
        bool x = insn.Source == OperandSource.Reg;
        short off = insn.Offset;
        VmOp Pick(VmOp k64, VmOp k32) => (VmOp)((byte)(is64 ? k64 : k32) + (x ? 1 : 0));
        switch (insn.AluOperation)
        {
            case AluOp.Add: return Pick(VmOp.Add64K, VmOp.Add32K);
            case AluOp.Sub: return Pick(VmOp.Sub64K, VmOp.Sub32K);
            case AluOp.Mul: return Pick(VmOp.Mul64K, VmOp.Mul32K);
            case AluOp.Div:
                return off switch { 0 => Pick(VmOp.Div64K, VmOp.Div32K), 1 => Pick(VmOp.SDiv64K, VmOp.SDiv32K), _ => throw Bad(pc, insn, "division offset must be 0 or 1:") };
            case AluOp.Mod:
                return off switch { 0 => Pick(VmOp.Mod64K, VmOp.Mod32K), 1 => Pick(VmOp.SMod64K, VmOp.SMod32K), _ => throw Bad(pc, insn, "modulo offset must be 0 or 1:") };
            case AluOp.Or: return Pick(VmOp.Or64K, VmOp.Or32K);
            case AluOp.And: return Pick(VmOp.And64K, VmOp.And32K);
            case AluOp.Xor: return Pick(VmOp.Xor64K, VmOp.Xor32K);
            case AluOp.Lsh: return Pick(VmOp.Lsh64K, VmOp.Lsh32K);
            case AluOp.Rsh: return Pick(VmOp.Rsh64K, VmOp.Rsh32K);
            case AluOp.Arsh: return Pick(VmOp.Arsh64K, VmOp.Arsh32K);
            case AluOp.Neg:
                if (x) throw Bad(pc, insn, "neg takes no source register:");
                return is64 ? VmOp.Neg64 : VmOp.Neg32;
            case AluOp.Mov:
                if (!x)
                {
                    if (off != 0) throw Bad(pc, insn, "mov with an immediate takes no offset:");
                    return is64 ? VmOp.Mov64K : VmOp.Mov32K;
                }
                return (is64, off) switch
                {
                    (_, 0) => is64 ? VmOp.Mov64X : VmOp.Mov32X,
                    (true, 8) => VmOp.MovSx64B, (true, 16) => VmOp.MovSx64H, (true, 32) => VmOp.MovSx64W,
                    (false, 8) => VmOp.MovSx32B, (false, 16) => VmOp.MovSx32H,
                    _ => throw Bad(pc, insn, "movsx offset must be 8, 16 (or 32 for 64-bit):"),
                };
            case AluOp.End:
                if (is64)
                {
                    if (x) throw Bad(pc, insn);
                    return insn.Imm switch { 16 => VmOp.Bswap16, 32 => VmOp.Bswap32, 64 => VmOp.Bswap64, _ => throw Bad(pc, insn, "bswap width must be 16, 32 or 64:") };
                }
                return (x, insn.Imm) switch
                {
                    (false, 16) => VmOp.Le16, (false, 32) => VmOp.Le32, (false, 64) => VmOp.Le64,
                    (true, 16) => VmOp.Be16, (true, 32) => VmOp.Be32, (true, 64) => VmOp.Be64,
                    _ => throw Bad(pc, insn, "byte swap width must be 16, 32 or 64:"),
                };
        }
        throw Bad(pc, insn);
    }

    private static VmOp Jump(BpfVm vm, int pc, Instruction insn, ref DecodedInsn d)
    {
        bool is32 = insn.Class == InstructionClass.Jmp32;
        bool x = insn.Source == OperandSource.Reg;
        VmOp Pick(VmOp k64, VmOp k32) => (VmOp)((byte)(is32 ? k32 : k64) + (x ? 1 : 0));
        switch (insn.JumpOperation)
        {
            case JumpOp.Ja:
                if (x) throw Bad(pc, insn);
                return VmOp.Ja; // JMP32 | JA is gotol: the target comes from the immediate (IsLongJump)
            case JumpOp.Jeq: return Pick(VmOp.JeqK, VmOp.Jeq32K);
            case JumpOp.Jgt: return Pick(VmOp.JgtK, VmOp.Jgt32K);
            case JumpOp.Jge: return Pick(VmOp.JgeK, VmOp.Jge32K);
            case JumpOp.Jset: return Pick(VmOp.JsetK, VmOp.Jset32K);
            case JumpOp.Jne: return Pick(VmOp.JneK, VmOp.Jne32K);
            case JumpOp.Jsgt: return Pick(VmOp.JsgtK, VmOp.Jsgt32K);
            case JumpOp.Jsge: return Pick(VmOp.JsgeK, VmOp.Jsge32K);
            case JumpOp.Jlt: return Pick(VmOp.JltK, VmOp.Jlt32K);
            case JumpOp.Jle: return Pick(VmOp.JleK, VmOp.Jle32K);
            case JumpOp.Jslt: return Pick(VmOp.JsltK, VmOp.Jslt32K);
            case JumpOp.Jsle: return Pick(VmOp.JsleK, VmOp.Jsle32K);
            case JumpOp.JCond:
                if (is32 || x || insn.Src != 0) throw Bad(pc, insn);
                return VmOp.MayGoto;
            case JumpOp.Call when !is32:
                if (x) return VmOp.CallX;
                switch (insn.Src)
                {
                    case 0:
                        if (insn.Imm == 12) return VmOp.TailCall;
                        if (!vm.HasHelper(insn.Imm)) throw new VmProgramException(pc, $"helper {insn.Imm} ({HelperNames.Get(insn.Imm) ?? "unknown"}) is not available in the VM");
                        return VmOp.CallHelper;
                    case PseudoSource.Call: return VmOp.CallLocal;
                    case PseudoSource.KfuncCall: throw new VmProgramException(pc, "kfunc calls have no meaning in the VM");
                    default: throw Bad(pc, insn, "unknown call source in");
                }
            case JumpOp.Exit when !is32 && !x:
                return VmOp.Exit;
        }
        throw Bad(pc, insn);
    }
}
