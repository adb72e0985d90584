using System.Runtime.InteropServices;

namespace SharpBpf.Benchmarks;

/// <summary>The C/libbpf event peer (bench/native/eventbench.c), loaded from bench/native/build/libeventbench.so
/// through function pointers (the assembly's import resolver belongs to <see cref="NativePeer"/>).</summary>
internal static unsafe class EventNativePeer
{
    private static readonly nint Lib = NativeLibraries.Load("eventbench");

    public static readonly delegate* unmanaged<int, nint> RbNew = (delegate* unmanaged<int, nint>)Export("eb_rb_new");
    public static readonly delegate* unmanaged<nint, long> RbConsume = (delegate* unmanaged<nint, long>)Export("eb_rb_consume");
    public static readonly delegate* unmanaged<nint, int, long> RbPoll = (delegate* unmanaged<nint, int, long>)Export("eb_rb_poll");
    public static readonly delegate* unmanaged<nint, void> RbFree = (delegate* unmanaged<nint, void>)Export("eb_rb_free");
    public static readonly delegate* unmanaged<int, int, int, nint> PbNew = (delegate* unmanaged<int, int, int, nint>)Export("eb_pb_new");
    public static readonly delegate* unmanaged<nint, long> PbConsume = (delegate* unmanaged<nint, long>)Export("eb_pb_consume");
    public static readonly delegate* unmanaged<nint, int, long> PbPoll = (delegate* unmanaged<nint, int, long>)Export("eb_pb_poll");
    public static readonly delegate* unmanaged<nint, long> PbLost = (delegate* unmanaged<nint, long>)Export("eb_pb_lost");
    public static readonly delegate* unmanaged<nint, void> PbFree = (delegate* unmanaged<nint, void>)Export("eb_pb_free");

    private static nint Export(string name) => NativeLibrary.GetExport(Lib, name);

}

/// <summary>Pins the calling thread to one CPU (sched_setaffinity).</summary>
internal static unsafe partial class CpuAffinity
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nuint size, ulong* mask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_getaffinity(int pid, nuint size, ulong* mask);

    /// <summary>Pins the current thread to <paramref name="cpu"/>; returns the previous mask for <see cref="Restore"/>.</summary>
    public static ulong Pin(int cpu)
    {
        ulong old = 0, mask = 1UL << cpu;
        sched_getaffinity(0, 8, &old);
        if (sched_setaffinity(0, 8, &mask) != 0)
            throw new InvalidOperationException($"sched_setaffinity(CPU {cpu}) failed: errno {Marshal.GetLastPInvokeError()}");
        return old;
    }

    public static void Restore(ulong mask)
    {
        if (mask != 0) sched_setaffinity(0, 8, &mask);
    }
}
