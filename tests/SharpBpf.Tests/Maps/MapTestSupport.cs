using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;

namespace SharpBpf.Tests.Maps;

/// <summary>A tiny hand-built BTF blob loaded with BPF_BTF_LOAD, for maps the kernel only creates with BTF
/// (bpf_spin_lock values, local storage).</summary>
internal sealed unsafe class TestBtf : IDisposable
{
    // type ids
    public const uint Int = 1;          // int, 4 bytes
    public const uint SpinLock = 2;     // struct bpf_spin_lock { int val; }
    public const uint LockedValue = 3;  // struct locked { struct bpf_spin_lock lock; int x; }
    public const uint Pair = 4;         // struct pair { int a; int b; }

    private readonly SafeBpfFd _fd;

    public int Fd => _fd.Fd;

    public TestBtf()
    {
        var strings = new StringTable();
        var types = new List<uint>();
        void Type(string name, uint kind, uint vlen, uint sizeOrType) => types.AddRange([strings.Add(name), (kind << 24) | vlen, sizeOrType]);
        void Member(string name, uint type, uint bitOffset) => types.AddRange([strings.Add(name), type, bitOffset]);

        Type("int", 1, 0, 4);
        types.Add((1u << 24) | 32); // BTF_INT_SIGNED, 32 bits
        Type("bpf_spin_lock", 4, 1, 4);
        Member("val", Int, 0);
        Type("locked", 4, 2, 8);
        Member("lock", SpinLock, 0);
        Member("x", Int, 32);
        Type("pair", 4, 2, 8);
        Member("a", Int, 0);
        Member("b", Int, 32);

        byte[] str = strings.ToArray();
        int typeLen = types.Count * 4;
        var blob = new byte[24 + typeLen + str.Length];
        var span = blob.AsSpan();
        BitConverter.TryWriteBytes(span, (ushort)0xeB9F);
        blob[2] = 1; // version
        BitConverter.TryWriteBytes(span[4..], 24u);           // hdr_len
        BitConverter.TryWriteBytes(span[8..], 0u);            // type_off
        BitConverter.TryWriteBytes(span[12..], (uint)typeLen); // type_len
        BitConverter.TryWriteBytes(span[16..], (uint)typeLen); // str_off
        BitConverter.TryWriteBytes(span[20..], (uint)str.Length);
        MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(types)).CopyTo(span[24..]);
        str.CopyTo(span[(24 + typeLen)..]);

        var log = new byte[4096];
        fixed (byte* b = blob)
        fixed (byte* l = log)
        {
            var attr = new BtfLoadAttr { btf = (ulong)b, btf_size = (uint)blob.Length, btf_log_buf = (ulong)l, btf_log_size = (uint)log.Length, btf_log_level = 1 };
            int r = Bpf.TryCall(BpfCmd.BPF_BTF_LOAD, ref attr);
            if (r < 0) throw new BpfException("BPF_BTF_LOAD", -r, Encoding.ASCII.GetString(log).TrimEnd('\0'));
            _fd = new SafeBpfFd(r);
        }
    }

    public void Dispose() => _fd.Dispose();

    private sealed class StringTable
    {
        private readonly List<byte> _bytes = [0];

        public uint Add(string s)
        {
            uint off = (uint)_bytes.Count;
            _bytes.AddRange(Encoding.ASCII.GetBytes(s));
            _bytes.Add(0);
            return off;
        }

        public byte[] ToArray() => [.. _bytes];
    }
}

/// <summary>Small native helpers for map tests.</summary>
internal static unsafe partial class TestNative
{
    /// <summary>Loads "r0 = 0; exit" as a socket filter and returns its fd owner.</summary>
    public static SafeBpfFd LoadTrivialSocketFilter()
    {
        ulong[] insns = [0x00000000000000b7UL, 0x0000000000000095UL];
        byte[] license = "GPL\0"u8.ToArray();
        fixed (ulong* i = insns)
        fixed (byte* lic = license)
        {
            var attr = new ProgLoadAttr { prog_type = 1, insn_cnt = 2, insns = (ulong)i, license = (ulong)lic };
            return Bpf.CallFd(BpfCmd.BPF_PROG_LOAD, ref attr);
        }
    }

    public static SafeBpfFd PidfdOpen(int pid)
    {
        long r = Libc.syscall(434, pid, 0, 0);
        if (r < 0) throw new BpfException("pidfd_open", Marshal.GetLastPInvokeError());
        return new SafeBpfFd((int)r);
    }

    public static SafeBpfFd OpenDirectory(string path)
    {
        fixed (byte* p = Encoding.UTF8.GetBytes(path + "\0"))
        {
            int fd = open(p, 0x10000 /* O_DIRECTORY */ | 0x80000 /* O_CLOEXEC */);
            if (fd < 0) throw new BpfException("open", Marshal.GetLastPInvokeError(), path);
            return new SafeBpfFd(fd);
        }
    }

    /// <summary>Runs <paramref name="action"/> with the calling thread pinned to one CPU it may run on (the
    /// lowest in its affinity mask), then restores the mask.</summary>
    public static void OnOneCpu(Action action)
    {
        ulong old = 0;
        if (sched_getaffinity(0, 8, &old) != 0) throw new BpfException("sched_getaffinity", Marshal.GetLastPInvokeError());
        ulong mask = old & (~old + 1); // lowest set bit
        if (sched_setaffinity(0, 8, &mask) != 0) throw new BpfException("sched_setaffinity", Marshal.GetLastPInvokeError());
        try
        {
            action();
        }
        finally
        {
            sched_setaffinity(0, 8, &old);
        }
    }

    public static ulong SocketCookie(System.Net.Sockets.Socket socket)
    {
        ulong cookie = 0;
        uint len = 8;
        if (Libc.getsockopt((int)socket.Handle, Libc.SOL_SOCKET, 57 /* SO_COOKIE */, &cookie, &len) != 0)
            throw new BpfException("getsockopt", Marshal.GetLastPInvokeError());
        return cookie;
    }

    /// <summary>A PERF_COUNT_SW_BPF_OUTPUT software event on <paramref name="cpu"/> (the kind perf event arrays hold).</summary>
    public static SafeBpfFd OpenBpfOutputEvent(int cpu)
    {
        var attr = new byte[128];
        BitConverter.TryWriteBytes(attr.AsSpan(0), 1u);        // type = PERF_TYPE_SOFTWARE
        BitConverter.TryWriteBytes(attr.AsSpan(4), 128u);      // size
        BitConverter.TryWriteBytes(attr.AsSpan(8), 10UL);      // config = PERF_COUNT_SW_BPF_OUTPUT
        BitConverter.TryWriteBytes(attr.AsSpan(16), 1UL);      // sample_period
        BitConverter.TryWriteBytes(attr.AsSpan(24), 0x400UL);  // sample_type = PERF_SAMPLE_RAW
        fixed (byte* a = attr)
        {
            long r = Libc.syscall(Libc.Nr.PerfEventOpen, (long)a, -1, cpu, -1, 8 /* PERF_FLAG_FD_CLOEXEC */);
            if (r < 0) throw new BpfException("perf_event_open", Marshal.GetLastPInvokeError());
            return new SafeBpfFd((int)r);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int open(byte* path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nuint size, ulong* mask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_getaffinity(int pid, nuint size, ulong* mask);
}
