using System.Runtime.InteropServices;

namespace SharpBpf.Benchmarks;

/// <summary>The C/libbpf ELF peer (bench/native/elfbench.c), loaded from bench/native/build/libelfbench.so
/// through function pointers (the assembly's import resolver belongs to <see cref="NativePeer"/>).</summary>
internal static unsafe class ElfNativePeer
{
    private static readonly nint Lib = NativeLibraries.Load("elfbench");

    /// <summary><c>bpf_object__open_file</c> + <c>bpf_object__close</c>; 0 or -errno.</summary>
    public static readonly delegate* unmanaged<byte*, int> Open = (delegate* unmanaged<byte*, int>)Export("eb_open");

    /// <summary><c>bpf_object__open_file</c> + <c>bpf_object__load</c> + <c>bpf_object__close</c>; 0 or -errno.</summary>
    public static readonly delegate* unmanaged<byte*, int> OpenLoad = (delegate* unmanaged<byte*, int>)Export("eb_open_load");

    private static nint Export(string name) => NativeLibrary.GetExport(Lib, name);
}
