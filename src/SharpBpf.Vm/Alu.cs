using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace SharpBpf.Vm;

/// <summary>The kernel's defined results for the operations C# would trap on or define differently: division by
/// zero gives 0, modulo by zero leaves the dividend (32-bit: its low half), INT_MIN / -1 wraps to INT_MIN and
/// INT_MIN % -1 is 0. Shared by the interpreter and the JIT so both compute the same bits.</summary>
internal static class Alu
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Div64(ulong a, ulong b) => b == 0 ? 0 : a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mod64(ulong a, ulong b) => b == 0 ? a : a % b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SDiv64(ulong a, ulong b)
    {
        long x = (long)a, y = (long)b;
        if (y == 0) return 0;
        if (y == -1) return (ulong)unchecked(-x);
        return (ulong)(x / y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SMod64(ulong a, ulong b)
    {
        long x = (long)a, y = (long)b;
        if (y == 0) return a;
        if (y == -1) return 0;
        return (ulong)(x % y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Div32(ulong a, ulong b)
    {
        uint x = (uint)a, y = (uint)b;
        return y == 0 ? 0 : x / y;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mod32(ulong a, ulong b)
    {
        uint x = (uint)a, y = (uint)b;
        return y == 0 ? x : x % y;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SDiv32(ulong a, ulong b)
    {
        int x = (int)a, y = (int)b;
        if (y == 0) return 0;
        if (y == -1) return (uint)unchecked(-x);
        return (uint)(x / y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SMod32(ulong a, ulong b)
    {
        int x = (int)a, y = (int)b;
        if (y == 0) return (uint)x;
        if (y == -1) return 0;
        return (uint)(x % y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Swap16(ulong a) => BinaryPrimitives.ReverseEndianness((ushort)a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Swap32(ulong a) => BinaryPrimitives.ReverseEndianness((uint)a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Swap64(ulong a) => BinaryPrimitives.ReverseEndianness(a);
}
