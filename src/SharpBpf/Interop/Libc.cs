using System.Runtime.InteropServices;

namespace SharpBpf.Interop;

/// <summary>libc entry points used by the library. The only place besides the other Interop files with native calls.</summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    /// <summary>Syscall numbers for the running architecture.</summary>
    internal static class Nr
    {
        public static readonly long Bpf = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 321,
            Architecture.Arm64 => 280,
            _ => throw new PlatformNotSupportedException($"bpf(): unsupported architecture {RuntimeInformation.ProcessArchitecture}"),
        };

        public static readonly long PerfEventOpen = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 298,
            Architecture.Arm64 => 241,
            _ => throw new PlatformNotSupportedException($"perf_event_open(): unsupported architecture {RuntimeInformation.ProcessArchitecture}"),
        };
    }

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long syscall(long number, long a1, long a2, long a3);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    internal static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int open(byte* path, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int dup(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial nint read(int fd, byte* buf, nuint count);

    /// <summary>statfs(2); <paramref name="buf"/> must hold a <c>struct statfs</c> (120 bytes on 64-bit Linux), whose
    /// first field is <c>f_type</c> (a long).</summary>
    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int statfs(byte* path, byte* buf);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int munmap(void* addr, nuint length);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int get_nprocs_conf();

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int setsockopt(int fd, int level, int optname, void* optval, uint optlen);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int getsockopt(int fd, int level, int optname, void* optval, uint* optlen);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial uint if_nametoindex(byte* ifname);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int setns(int fd, int nstype);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int unshare(int flags);

    [LibraryImport(Lib, SetLastError = true)]
    internal static partial int mount(byte* source, byte* target, byte* fstype, nuint flags, void* data);

    public const int PROT_READ = 1, PROT_WRITE = 2;
    public const int MAP_SHARED = 1;
    public const int SOL_SOCKET = 1;
    public const int SO_ATTACH_BPF = 50, SO_DETACH_BPF = 27, SO_DETACH_FILTER = 27;
    public const int CLONE_NEWNET = 0x40000000;
    public const int O_RDONLY = 0, O_CLOEXEC = 0x80000;

    /// <summary>O_DIRECTORY differs between architectures (x86-64: 0200000, arm64: 040000).</summary>
    public static int O_DIRECTORY => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;
}
