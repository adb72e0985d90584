using System.Runtime.InteropServices;

namespace SharpBpf.Interop;

/// <summary>An owned shared mapping (ring buffer or perf buffer pages), unmapped on dispose or finalisation.</summary>
internal sealed unsafe class SafeMmap : SafeHandle
{
    private SafeMmap(void* address, nuint length) : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle((IntPtr)address);
        Length = length;
    }

    public nuint Length { get; }

    public byte* Address => (byte*)handle;

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle() => Libc.munmap((void*)handle, Length) == 0;

    /// <summary>mmap(NULL, length, prot, MAP_SHARED, fd, offset) or <see cref="BpfException"/> naming
    /// <paramref name="what"/>.</summary>
    public static SafeMmap Map(int fd, nuint length, bool writable, long offset, string what)
    {
        int prot = Libc.PROT_READ | (writable ? Libc.PROT_WRITE : 0);
        void* p = Libc.mmap(null, length, prot, Libc.MAP_SHARED, fd, offset);
        if (p == (void*)-1)
            throw new BpfException("mmap", Marshal.GetLastPInvokeError(), $"{what} ({length} bytes at offset {offset}, {(writable ? "read-write" : "read-only")})");
        return new SafeMmap(p, length);
    }
}
