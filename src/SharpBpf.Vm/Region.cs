using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpBpf.Vm;

/// <summary>One entry of the VM's address space. A virtual address is <c>region index &lt;&lt; 32 | offset</c>;
/// a load of <c>n</c> bytes is allowed when <c>offset + n &lt;= ReadLength</c>, a store when
/// <c>offset + n &lt;= WriteLength</c>. Regions with both lengths 0 (the context, map handles, code addresses)
/// always take the slow path, which emulates context fields or reports the fault.</summary>
[StructLayout(LayoutKind.Sequential, Size = 32)]
internal unsafe struct Region
{
    public byte* Base;
    public ulong ReadLength;
    public ulong WriteLength;
}

/// <summary>What a region is (for the slow path and error messages).</summary>
internal enum RegionKind : byte
{
    Null,
    Stack,
    Context,
    Packet,
    Code,
    Input,
    Probe,
    MapHandle,
    MapValues,
    RingBuffer,
}

/// <summary>The checked memory accesses both engines use (the JIT calls these; RyuJIT inlines them). A null result
/// means "not a plain access": the caller takes <see cref="BpfVm.LoadSlow"/> / <see cref="BpfVm.StoreSlow"/>.</summary>
internal static unsafe class Mem
{
    public const int RegionShift = 32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* Read(Region* regions, uint count, ulong address, uint size)
    {
        uint index = (uint)(address >> RegionShift);
        if (index >= count) return null;
        Region* r = regions + index;
        ulong offset = (uint)address;
        return offset + size <= r->ReadLength ? r->Base + offset : null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* Write(Region* regions, uint count, ulong address, uint size)
    {
        uint index = (uint)(address >> RegionShift);
        if (index >= count) return null;
        Region* r = regions + index;
        ulong offset = (uint)address;
        return offset + size <= r->WriteLength ? r->Base + offset : null;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Ld8(BpfVm vm, Region* regions, uint count, ulong address, int pc)
    {
        byte* p = Read(regions, count, address, 1);
        return p != null ? *p : vm.LoadSlow(pc, address, 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Ld16(BpfVm vm, Region* regions, uint count, ulong address, int pc)
    {
        byte* p = Read(regions, count, address, 2);
        return p != null ? Unsafe.ReadUnaligned<ushort>(p) : vm.LoadSlow(pc, address, 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Ld32(BpfVm vm, Region* regions, uint count, ulong address, int pc)
    {
        byte* p = Read(regions, count, address, 4);
        return p != null ? Unsafe.ReadUnaligned<uint>(p) : vm.LoadSlow(pc, address, 4);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Ld64(BpfVm vm, Region* regions, uint count, ulong address, int pc)
    {
        byte* p = Read(regions, count, address, 8);
        return p != null ? Unsafe.ReadUnaligned<ulong>(p) : vm.LoadSlow(pc, address, 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void St8(BpfVm vm, Region* regions, uint count, ulong address, ulong value, int pc)
    {
        byte* p = Write(regions, count, address, 1);
        if (p != null) *p = (byte)value;
        else vm.StoreSlow(pc, address, 1, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void St16(BpfVm vm, Region* regions, uint count, ulong address, ulong value, int pc)
    {
        byte* p = Write(regions, count, address, 2);
        if (p != null) Unsafe.WriteUnaligned(p, (ushort)value);
        else vm.StoreSlow(pc, address, 2, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void St32(BpfVm vm, Region* regions, uint count, ulong address, ulong value, int pc)
    {
        byte* p = Write(regions, count, address, 4);
        if (p != null) Unsafe.WriteUnaligned(p, (uint)value);
        else vm.StoreSlow(pc, address, 4, value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void St64(BpfVm vm, Region* regions, uint count, ulong address, ulong value, int pc)
    {
        byte* p = Write(regions, count, address, 8);
        if (p != null) Unsafe.WriteUnaligned(p, value);
        else vm.StoreSlow(pc, address, 8, value);
    }
}
