// perf_event_open(2): struct perf_event_attr with the kernel's field names (checked against the running kernel's
// BTF by tests), and the syscall. Bitfield words are exposed as uints named after their first bit.
using System.Runtime.InteropServices;

namespace SharpBpf.Interop;

#pragma warning disable CS0649

/// <summary><c>struct perf_event_attr</c> (PERF_ATTR_SIZE_VER8, 136 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 136)]
internal struct PerfEventAttr
{
    [FieldOffset(0)] public uint type;
    [FieldOffset(4)] public uint size;
    [FieldOffset(8)] public ulong config;
    [FieldOffset(16)] public ulong sample_period;
    [FieldOffset(16)] public ulong sample_freq;
    [FieldOffset(24)] public ulong sample_type;
    [FieldOffset(32)] public ulong read_format;
    /// <summary>Bitfield word 0: disabled(0) inherit(1) pinned(2) exclusive(3) exclude_user(4) exclude_kernel(5)
    /// exclude_hv(6) exclude_idle(7) mmap(8) comm(9) freq(10) ... watermark(14) precise_ip(15-16) ... aux_output(31).</summary>
    [FieldOffset(40)] public uint disabled;
    /// <summary>Bitfield word 1: cgroup(32) text_poke(33) build_id(34) inherit_thread(35) remove_on_exec(36) sigtrap(37).</summary>
    [FieldOffset(44)] public uint cgroup;
    [FieldOffset(48)] public uint wakeup_events;
    [FieldOffset(48)] public uint wakeup_watermark;
    [FieldOffset(52)] public uint bp_type;
    [FieldOffset(56)] public ulong bp_addr;
    [FieldOffset(56)] public ulong kprobe_func;
    [FieldOffset(56)] public ulong uprobe_path;
    [FieldOffset(56)] public ulong config1;
    [FieldOffset(64)] public ulong bp_len;
    [FieldOffset(64)] public ulong kprobe_addr;
    [FieldOffset(64)] public ulong probe_offset;
    [FieldOffset(64)] public ulong config2;
    [FieldOffset(72)] public ulong branch_sample_type;
    [FieldOffset(80)] public ulong sample_regs_user;
    [FieldOffset(88)] public uint sample_stack_user;
    [FieldOffset(92)] public int clockid;
    [FieldOffset(96)] public ulong sample_regs_intr;
    [FieldOffset(104)] public uint aux_watermark;
    [FieldOffset(108)] public ushort sample_max_stack;
    [FieldOffset(110)] public ushort __reserved_2;
    [FieldOffset(112)] public uint aux_sample_size;
    [FieldOffset(116)] public uint aux_action;
    [FieldOffset(120)] public ulong sig_data;
    [FieldOffset(128)] public ulong config3;
}

/// <summary>perf_event_open and its constants.</summary>
internal static unsafe class PerfEvent
{
    public const uint PERF_TYPE_HARDWARE = 0, PERF_TYPE_SOFTWARE = 1, PERF_TYPE_TRACEPOINT = 2;
    public const ulong PERF_COUNT_HW_CPU_CYCLES = 0, PERF_COUNT_SW_CPU_CLOCK = 0;
    public const uint DisabledBit = 1;
    public const uint PERF_FLAG_FD_CLOEXEC = 8;
    /// <summary>Bitfield word 0 bit freq(10): <c>sample_freq</c> instead of <c>sample_period</c>.</summary>
    public const uint FreqBit = 1 << 10;

    /// <summary>perf_event_open(attr, pid, cpu, group_fd, flags | PERF_FLAG_FD_CLOEXEC); returns the fd or -errno.
    /// Sets <c>attr.size</c>.</summary>
    public static int TryOpen(ref PerfEventAttr attr, int pid, int cpu, int groupFd = -1, uint flags = 0)
    {
        attr.size = (uint)sizeof(PerfEventAttr);
        fixed (PerfEventAttr* p = &attr)
        {
            long r = Libc.syscall(Libc.Nr.PerfEventOpen, (long)p, pid, cpu, groupFd, flags | PERF_FLAG_FD_CLOEXEC);
            return r < 0 ? -Marshal.GetLastPInvokeError() : (int)r;
        }
    }

    /// <summary>The dynamic PMU type of a perf event source, e.g. "kprobe" or "uprobe"
    /// (/sys/bus/event_source/devices/NAME/type), or -1 when the source does not exist.</summary>
    public static int DynamicPmuType(string name)
    {
        string path = $"/sys/bus/event_source/devices/{name}/type";
        try
        {
            return int.TryParse(File.ReadAllText(path).Trim(), out int t) ? t : -1;
        }
        catch (IOException)
        {
            return -1;
        }
        catch (UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
