using System.Runtime.InteropServices;
using SharpBpf.Asm;
using SharpBpf.Maps;
using SharpBpf.Programs;
using static SharpBpf.Tests.Programs.Insn;

namespace SharpBpf.Tests.Events;

/// <summary>How a producer program emits each record.</summary>
public enum EmitKind
{
    RingbufOutput,
    RingbufReserveSubmit,
    /// <summary>Reserve then discard every odd sequence number (the reader must skip them).</summary>
    RingbufReserveDiscardOdd,
    PerfEventOutput,
}

/// <summary>
/// Raw tracepoint producers built from raw instructions: one run emits <c>count</c> records (a bounded loop the
/// verifier unrolls) whose first u64 is <c>args[0] + i</c> and whose last u64 (for records of 16 bytes or more)
/// repeats it; failed emits add 1 to a per-CPU u64 drop counter at index 0. Run with
/// <see cref="Run"/> on a chosen CPU.
/// </summary>
internal static class EventPrograms
{
    private const int RingbufOutput = 130, RingbufReserve = 131, RingbufSubmit = 132, RingbufDiscard = 133,
        PerfEventOutputHelper = 25;

    public static BpfProgram Load(EmitKind kind, BpfMap target, int recordSize, int count, BpfMap? drops = null, ulong emitFlags = 0)
    {
        if (recordSize % 8 != 0 || recordSize < 8) throw new ArgumentException("record size must be a multiple of 8", nameof(recordSize));
        bool onStack = kind is EmitKind.RingbufOutput or EmitKind.PerfEventOutput;
        if (onStack && recordSize > 256) throw new ArgumentException("stack records are at most 256 bytes", nameof(recordSize));
        var b = new List<Instruction>();
        short keyOff = (short)(-recordSize - 8);
        b.Add(Mov64Reg(R6, R1));
        b.Add(LdxMem(DW, R7, R6, 0));   // r7 = args[0]: first sequence number
        b.Add(Mov64Imm(R8, 0));          // r8 = i
        if (onStack)
            for (int off = -recordSize; off < 0; off += 8) b.Add(StMem(DW, R10, (short)off, 0));
        int loop = b.Count;
        var dropJumps = new List<int>(); // jumps to the drop block, patched later
        switch (kind)
        {
            case EmitKind.RingbufOutput:
            case EmitKind.PerfEventOutput:
                b.Add(Mov64Reg(R1, R7));
                b.Add(Add64Reg(R1, R8));
                b.Add(StxMem(DW, R10, R1, (short)-recordSize));
                if (recordSize >= 16) b.Add(StxMem(DW, R10, R1, -8));
                if (kind == EmitKind.RingbufOutput)
                {
                    b.AddRange(LdMapFd(R1, target.Fd));
                    b.Add(Mov64Reg(R2, R10));
                    b.Add(Add64Imm(R2, -recordSize));
                    b.Add(Mov64Imm(R3, recordSize));
                    b.AddRange(LdImm64(R4, (long)emitFlags));
                    b.Add(Call(RingbufOutput));
                }
                else
                {
                    b.Add(Mov64Reg(R1, R6));
                    b.AddRange(LdMapFd(R2, target.Fd));
                    b.AddRange(LdImm64(R3, 0xffffffffL)); // BPF_F_CURRENT_CPU
                    b.Add(Mov64Reg(R4, R10));
                    b.Add(Add64Imm(R4, -recordSize));
                    b.Add(Mov64Imm(R5, recordSize));
                    b.Add(Call(PerfEventOutputHelper));
                }
                dropJumps.Add(b.Count);
                b.Add(JneImm(R0, 0, 0));  // error → drop block
                b.Add(Ja(0));              // → next (patched)
                break;
            default:
                b.AddRange(LdMapFd(R1, target.Fd));
                b.Add(Mov64Imm(R2, recordSize));
                b.Add(Mov64Imm(R3, 0));
                b.Add(Call(RingbufReserve));
                dropJumps.Add(b.Count);
                b.Add(JeqImm(R0, 0, 0));   // NULL → drop block
                b.Add(Mov64Reg(R1, R7));
                b.Add(Add64Reg(R1, R8));
                b.Add(StxMem(DW, R0, R1, 0));
                if (recordSize >= 16) b.Add(StxMem(DW, R0, R1, (short)(recordSize - 8)));
                b.Add(Mov64Reg(R2, R1));
                b.Add(Mov64Reg(R1, R0));
                if (kind == EmitKind.RingbufReserveDiscardOdd)
                {
                    b.Add(And64Imm(R2, 1));
                    b.Add(JneImm(R2, 0, 4));
                    b.AddRange(LdImm64(R2, (long)emitFlags));
                    b.Add(Call(RingbufSubmit));
                    b.Add(Ja(3));
                    b.AddRange(LdImm64(R2, (long)emitFlags));
                    b.Add(Call(RingbufDiscard));
                }
                else
                {
                    b.AddRange(LdImm64(R2, (long)emitFlags));
                    b.Add(Call(RingbufSubmit));
                }
                b.Add(Ja(0));              // → next (patched)
                break;
        }
        int toNext = b.Count - 1;          // the Ja just emitted
        int dropBlock = b.Count;
        if (drops is not null)
        {
            b.Add(StMem(W, R10, keyOff, 0));
            b.AddRange(LdMapFd(R1, drops.Fd));
            b.Add(Mov64Reg(R2, R10));
            b.Add(Add64Imm(R2, keyOff));
            b.Add(Call(MapLookupElem));
            b.Add(JeqImm(R0, 0, 3));
            b.Add(LdxMem(DW, R1, R0, 0));
            b.Add(Add64Imm(R1, 1));
            b.Add(StxMem(DW, R0, R1, 0));
        }
        int next = b.Count;
        b.Add(Add64Imm(R8, 1));
        b.Add(new Instruction(0xa5, R8, 0, (short)(loop - (b.Count + 1)), count)); // if r8 < count goto loop
        b.Add(Mov64Imm(R0, 0));
        b.Add(Exit());
        foreach (int j in dropJumps) b[j] = Retarget(b[j], dropBlock - (j + 1));
        b[toNext] = Retarget(b[toNext], next - (toNext + 1));
        return BpfProgram.Load(new ProgramSpec
        {
            Name = "ev_producer",
            Type = ProgramType.RawTracepoint,
            License = "GPL",
            Instructions = b.ToArray(),
        });
    }

    private static Instruction And64Imm(int dst, int imm) => new(0x57, (byte)dst, 0, 0, imm);

    private static Instruction Retarget(Instruction i, int offset) => new(i.OpCode, i.Dst, i.Src, (short)offset, i.Imm);

    /// <summary>Runs the producer once on <paramref name="cpu"/> with first sequence number <paramref name="start"/>.</summary>
    public static void Run(BpfProgram prog, ulong start, int cpu)
    {
        Span<ulong> args = [start, 0];
        var r = prog.TestRun(new TestRunOptions
        {
            Context = MemoryMarshal.AsBytes(args),
            Flags = TestRunFlags.RunOnCpu,
            Cpu = (uint)cpu,
        });
        Assert.Equal(0u, r.ReturnValue);
    }

    public static PerCpuArrayMap<ulong> DropCounter() => PerCpuArrayMap<ulong>.Create("ev_drops", 1);

    /// <summary>CPUs this machine has online (tests use the first two when there are two).</summary>
    public static int[] OnlineCpus()
    {
        var text = File.ReadAllText("/sys/devices/system/cpu/online").Trim();
        var cpus = new List<int>();
        foreach (var part in text.Split(','))
        {
            var r = part.Split('-');
            int lo = int.Parse(r[0]), hi = int.Parse(r[^1]);
            for (int c = lo; c <= hi; c++) cpus.Add(c);
        }
        return cpus.ToArray();
    }
}
