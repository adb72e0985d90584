using System.Reflection;
using System.Runtime.InteropServices;

namespace SharpBpf.Benchmarks;

/// <summary>The C/libbpf peer (bench/native/mapbench.c), loaded from bench/native/build/libmapbench.so.</summary>
internal static unsafe partial class NativePeer
{
    private const string Lib = "mapbench";

    static NativePeer()
    {
        NativeLibrary.SetDllImportResolver(typeof(NativePeer).Assembly, (name, _, _) =>
        {
            return name == Lib ? NativeLibraries.Load(Lib) : IntPtr.Zero;
        });
    }


    [LibraryImport(Lib)] internal static partial int mb_create_hash(uint maxEntries);
    [LibraryImport(Lib)] internal static partial long mb_lookup(int fd, int n, uint keyMask);
    [LibraryImport(Lib)] internal static partial int mb_update(int fd, int n, uint keyMask);
    [LibraryImport(Lib)] internal static partial long mb_lookup_batch(int fd, uint* keys, ulong* values, uint capacity, uint batch);
    [LibraryImport(Lib)] internal static partial long mb_iterate(int fd, uint* keys, ulong* values, uint capacity);
    [LibraryImport("libc", SetLastError = true)] internal static partial int close(int fd);
}
