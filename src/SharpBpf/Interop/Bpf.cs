using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpBpf.Interop;

/// <summary><c>enum bpf_cmd</c> from the kernel's uapi.</summary>
internal enum BpfCmd
{
    BPF_MAP_CREATE = 0,
    BPF_MAP_LOOKUP_ELEM = 1,
    BPF_MAP_UPDATE_ELEM = 2,
    BPF_MAP_DELETE_ELEM = 3,
    BPF_MAP_GET_NEXT_KEY = 4,
    BPF_PROG_LOAD = 5,
    BPF_OBJ_PIN = 6,
    BPF_OBJ_GET = 7,
    BPF_PROG_ATTACH = 8,
    BPF_PROG_DETACH = 9,
    BPF_PROG_TEST_RUN = 10,
    BPF_PROG_GET_NEXT_ID = 11,
    BPF_MAP_GET_NEXT_ID = 12,
    BPF_PROG_GET_FD_BY_ID = 13,
    BPF_MAP_GET_FD_BY_ID = 14,
    BPF_OBJ_GET_INFO_BY_FD = 15,
    BPF_PROG_QUERY = 16,
    BPF_RAW_TRACEPOINT_OPEN = 17,
    BPF_BTF_LOAD = 18,
    BPF_BTF_GET_FD_BY_ID = 19,
    BPF_TASK_FD_QUERY = 20,
    BPF_MAP_LOOKUP_AND_DELETE_ELEM = 21,
    BPF_MAP_FREEZE = 22,
    BPF_BTF_GET_NEXT_ID = 23,
    BPF_MAP_LOOKUP_BATCH = 24,
    BPF_MAP_LOOKUP_AND_DELETE_BATCH = 25,
    BPF_MAP_UPDATE_BATCH = 26,
    BPF_MAP_DELETE_BATCH = 27,
    BPF_LINK_CREATE = 28,
    BPF_LINK_UPDATE = 29,
    BPF_LINK_GET_FD_BY_ID = 30,
    BPF_LINK_GET_NEXT_ID = 31,
    BPF_ENABLE_STATS = 32,
    BPF_ITER_CREATE = 33,
    BPF_LINK_DETACH = 34,
    BPF_PROG_BIND_MAP = 35,
    BPF_TOKEN_CREATE = 36,
    BPF_PROG_STREAM_READ_BY_FD = 37,
}

/// <summary>The bpf() syscall. Every attr struct is passed with its own size; the kernel zero-extends it.</summary>
internal static unsafe class Bpf
{
    /// <summary>Calls bpf(cmd, attr, sizeof(attr)); returns the (non-negative) result or -errno.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int TryCall<T>(BpfCmd cmd, ref T attr) where T : unmanaged
    {
        fixed (T* p = &attr)
        {
            long r = Libc.syscall(Libc.Nr.Bpf, (long)cmd, (long)p, sizeof(T));
            return r < 0 ? -Marshal.GetLastPInvokeError() : (int)r;
        }
    }

    /// <summary>Like <see cref="TryCall{T}"/> but retries on EINTR/EAGAIN (as libbpf does for PROG_LOAD).</summary>
    public static int TryCallRetrying<T>(BpfCmd cmd, ref T attr, int attempts = 5) where T : unmanaged
    {
        int r;
        do
        {
            r = TryCall(cmd, ref attr);
        } while ((r == -Errno.EINTR || r == -Errno.EAGAIN) && --attempts > 0);
        return r;
    }

    /// <summary>Calls bpf() and throws <see cref="BpfException"/> naming the command on failure.</summary>
    public static int Call<T>(BpfCmd cmd, ref T attr) where T : unmanaged
    {
        int r = TryCall(cmd, ref attr);
        if (r < 0) throw new BpfException(cmd.ToString(), -r);
        return r;
    }

    /// <summary>Calls bpf() for a command that returns a new fd, wrapped in a <see cref="SafeBpfFd"/>.</summary>
    public static SafeBpfFd CallFd<T>(BpfCmd cmd, ref T attr) where T : unmanaged =>
        new(Call(cmd, ref attr));

    public static ulong Ptr(void* p) => (ulong)(nuint)p;
}

/// <summary>An owned file descriptor (bpf object, perf event, socket...). Closed on dispose or finalisation.</summary>
internal sealed class SafeBpfFd : SafeHandle
{
    public SafeBpfFd() : base(-1, ownsHandle: true) { }

    public SafeBpfFd(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    public override bool IsInvalid => (int)handle < 0;

    /// <summary>The raw fd. Only valid while this handle is alive.</summary>
    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;

    /// <summary>A new, independent fd referring to the same object (dup).</summary>
    public SafeBpfFd Duplicate()
    {
        int fd = Libc.dup(Fd);
        if (fd < 0) throw new BpfException("dup", Marshal.GetLastPInvokeError());
        return new SafeBpfFd(fd);
    }
}
