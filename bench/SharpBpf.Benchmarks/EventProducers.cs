using System.Runtime.InteropServices;
using SharpBpf.Asm;
using SharpBpf.Maps;
using SharpBpf.Programs;

namespace SharpBpf.Benchmarks;

/// <summary>How the benchmark producer emits each record.</summary>
public enum Emit
{
    RingbufOutput,
    RingbufReserveSubmit,
    PerfEventOutput,
}

/// <summary>
/// Raw tracepoint producers from raw instructions: one run emits <c>count</c> records of <c>size</c> bytes whose
/// first u64 is args[0] + i; failed emits add 1 to a per-CPU u64 counter at index 0 (when given).
/// </summary>
internal static class EventProducers
{
    private static Instruction I(byte op, int dst = 0, int src = 0, int off = 0, int imm = 0) => new(op, (byte)dst, (byte)src, (short)off, imm);
    private static Instruction[] LdMap(int dst, int fd) => [I(0x18, dst, 1, imm: fd), I(0)];
    private static Instruction[] Imm64(int dst, long v) => [I(0x18, dst, 0, imm: (int)v), I(0, imm: (int)(v >> 32))];
    private static Instruction Mov(int dst, int src) => I(0xbf, dst, src);
    private static Instruction MovK(int dst, int imm) => I(0xb7, dst, imm: imm);
    private static Instruction AddK(int dst, int imm) => I(0x07, dst, imm: imm);
    private static Instruction AddX(int dst, int src) => I(0x0f, dst, src);
    private static Instruction Call(int helper) => I(0x85, imm: helper);

    public static BpfProgram Load(Emit kind, BpfMap target, int size, int count, BpfMap? drops = null)
    {
        var b = new List<Instruction>
        {
            Mov(6, 1),
            I(0x79, 7, 6, 0),   // r7 = args[0]
            MovK(8, 0),
        };
        bool onStack = kind != Emit.RingbufReserveSubmit;
        if (onStack) for (int off = -size; off < 0; off += 8) b.Add(I(0x7a, 10, off: off, imm: 0));
        int loop = b.Count;
        var toDrop = new List<int>();
        if (onStack)
        {
            b.Add(Mov(1, 7));
            b.Add(AddX(1, 8));
            b.Add(I(0x7b, 10, 1, -size));
            if (kind == Emit.RingbufOutput)
            {
                b.AddRange(LdMap(1, target.Fd));
                b.Add(Mov(2, 10));
                b.Add(AddK(2, -size));
                b.Add(MovK(3, size));
                b.Add(MovK(4, 0));
                b.Add(Call(130));
            }
            else
            {
                b.Add(Mov(1, 6));
                b.AddRange(LdMap(2, target.Fd));
                b.AddRange(Imm64(3, 0xffffffffL)); // BPF_F_CURRENT_CPU
                b.Add(Mov(4, 10));
                b.Add(AddK(4, -size));
                b.Add(MovK(5, size));
                b.Add(Call(25));
            }
            toDrop.Add(b.Count);
            b.Add(I(0x55, 0, imm: 0)); // if r0 != 0 goto drop
        }
        else
        {
            b.AddRange(LdMap(1, target.Fd));
            b.Add(MovK(2, size));
            b.Add(MovK(3, 0));
            b.Add(Call(131));
            toDrop.Add(b.Count);
            b.Add(I(0x15, 0, imm: 0)); // if r0 == 0 goto drop
            b.Add(Mov(1, 7));
            b.Add(AddX(1, 8));
            b.Add(I(0x7b, 0, 1, 0));
            b.Add(Mov(1, 0));
            b.Add(MovK(2, 0));
            b.Add(Call(132));
        }
        int toNext = b.Count;
        b.Add(I(0x05));               // goto next
        int drop = b.Count;
        if (drops is not null)
        {
            b.Add(I(0x62, 10, off: -size - 8, imm: 0));
            b.AddRange(LdMap(1, drops.Fd));
            b.Add(Mov(2, 10));
            b.Add(AddK(2, -size - 8));
            b.Add(Call(1));
            b.Add(I(0x15, 0, off: 3, imm: 0));
            b.Add(I(0x79, 1, 0, 0));
            b.Add(AddK(1, 1));
            b.Add(I(0x7b, 0, 1, 0));
        }
        int next = b.Count;
        b.Add(AddK(8, 1));
        b.Add(I(0xa5, 8, off: loop - (b.Count + 1), imm: count)); // if r8 < count goto loop
        b.Add(MovK(0, 0));
        b.Add(I(0x95));
        foreach (int j in toDrop) b[j] = I(b[j].OpCode, b[j].Dst, 0, drop - (j + 1), b[j].Imm);
        b[toNext] = I(0x05, off: next - (toNext + 1));
        return BpfProgram.Load(new ProgramSpec { Name = "bench_producer", Type = ProgramType.RawTracepoint, License = "GPL", Instructions = b.ToArray() });
    }

    /// <summary>One producer run on <paramref name="cpu"/> (BPF_F_TEST_RUN_ON_CPU).</summary>
    public static void Run(BpfProgram prog, ulong start, int cpu)
    {
        Span<ulong> args = [start, 0];
        prog.TestRun(new TestRunOptions { Context = MemoryMarshal.AsBytes(args), Flags = TestRunFlags.RunOnCpu, Cpu = (uint)cpu });
    }

    public static long Sum(PerCpuArrayMap<ulong> counter)
    {
        Span<ulong> values = stackalloc ulong[counter.CpuCount];
        counter.Lookup(0, values);
        long total = 0;
        foreach (ulong v in values) total += (long)v;
        return total;
    }
}
