using System.Runtime.CompilerServices;
using SharpBpf.Asm;

namespace SharpBpf.Vm;

/// <summary>Atomic read-modify-write instructions (add/or/and/xor with and without fetch, xchg, cmpxchg) on 4 or 8
/// bytes. The address must be writable and naturally aligned (the kernel's verifier refuses misaligned atomics).
/// Returns the old value (zero-extended for 32-bit): the caller puts it into src (fetch, xchg) or r0 (cmpxchg).</summary>
internal static unsafe class Atomics
{
    public static ulong Execute(BpfVm vm, Region* regions, uint count, ulong address, bool is64, int op, ulong src, ulong r0, int pc)
    {
        uint size = is64 ? 8u : 4u;
        if ((address & (size - 1)) != 0)
            throw new VmMemoryException(pc, address, (int)size, true, "is not aligned for an atomic operation");
        byte* p = Mem.Write(regions, count, address, size);
        if (p == null) throw vm.Fault(pc, address, (int)size, true, "(atomic operations need plain writable memory)");
        int baseOp = op & ~(int)AtomicOp.Fetch;
        if (is64)
        {
            ref long cell = ref Unsafe.AsRef<long>(p);
            long s = (long)src;
            return (ulong)(op switch
            {
                (int)AtomicOp.Xchg => Interlocked.Exchange(ref cell, s),
                (int)AtomicOp.CmpXchg => Interlocked.CompareExchange(ref cell, s, (long)r0),
                _ => baseOp switch
                {
                    (int)AtomicOp.Add => Interlocked.Add(ref cell, s) - s,
                    (int)AtomicOp.Or => Interlocked.Or(ref cell, s),
                    (int)AtomicOp.And => Interlocked.And(ref cell, s),
                    _ => Xor(ref cell, s),
                },
            });
        }
        else
        {
            ref int cell = ref Unsafe.AsRef<int>(p);
            int s = (int)src;
            return (uint)(op switch
            {
                (int)AtomicOp.Xchg => Interlocked.Exchange(ref cell, s),
                (int)AtomicOp.CmpXchg => Interlocked.CompareExchange(ref cell, s, (int)r0),
                _ => baseOp switch
                {
                    (int)AtomicOp.Add => Interlocked.Add(ref cell, s) - s,
                    (int)AtomicOp.Or => Interlocked.Or(ref cell, s),
                    (int)AtomicOp.And => Interlocked.And(ref cell, s),
                    _ => Xor(ref cell, s),
                },
            });
        }
    }

    private static long Xor(ref long cell, long s)
    {
        long old;
        do old = Volatile.Read(ref cell);
        while (Interlocked.CompareExchange(ref cell, old ^ s, old) != old);
        return old;
    }

    private static int Xor(ref int cell, int s)
    {
        int old;
        do old = Volatile.Read(ref cell);
        while (Interlocked.CompareExchange(ref cell, old ^ s, old) != old);
        return old;
    }
}
