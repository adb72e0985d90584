// epoll(7), eventfd(2), read/write/ioctl on them, and the perf ioctls the event readers need.
using System.Runtime.InteropServices;

namespace SharpBpf.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int epoll_create1(int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int epoll_ctl(int epfd, int op, int fd, void* ev);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int epoll_wait(int epfd, void* events, int maxevents, int timeout);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int eventfd(uint initval, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint read(int fd, void* buf, nuint count);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint write(int fd, void* buf, nuint count);

    /// <summary>ioctl with one integer argument (variadic in C; integer varargs travel in the same registers on
    /// the supported ABIs).</summary>
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int ioctl(int fd, nuint request, nint arg);

    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    public const uint EPOLLIN = 0x1, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10;
    public const int EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;
}

/// <summary><c>struct epoll_event</c>: packed (12 bytes) on x86-64, naturally aligned (16 bytes) elsewhere.
/// Accessed through these helpers on a raw buffer so one layout decision serves both.</summary>
internal static unsafe class EpollEvent
{
    public static readonly int Size = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    public static void Write(byte* ev, uint events, ulong data)
    {
        *(uint*)ev = events;
        *(ulong*)(ev + DataOffset) = data; // unaligned store is fine on x86-64 and arm64
    }

    public static uint Events(byte* ev) => *(uint*)ev;

    public static ulong Data(byte* ev) => *(ulong*)(ev + DataOffset);
}

/// <summary>perf event ioctls and mmap page layout.</summary>
internal static class PerfIoctl
{
    public const nuint PERF_EVENT_IOC_ENABLE = 0x2400, PERF_EVENT_IOC_DISABLE = 0x2401;
    /// <summary>_IOW('$', 9, __u32): 1 pauses the ring buffer output, 0 resumes it.</summary>
    public const nuint PERF_EVENT_IOC_PAUSE_OUTPUT = 0x40042409;
    /// <summary>_IOW('$', 8, __u32): attach a BPF program (fd) to the event (before BPF_PERF_EVENT links).</summary>
    public const nuint PERF_EVENT_IOC_SET_BPF = 0x40042408;
}

/// <summary>The parts of <c>struct perf_event_mmap_page</c> the readers use (offsets in the first page).</summary>
internal static class PerfMmapPage
{
    public const int DataHead = 1024, DataTail = 1032, DataOffset = 1040, DataSize = 1048;
}
