using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Interop;

namespace SharpBpf.Features;

using AT = SharpBpf.Programs.AttachType;
using PT = SharpBpf.Programs.ProgramType;

public static partial class KernelFeatures
{
    private static readonly (string Name, Func<FeatureStatus> Probe)[] AttachProbeTable =
    [
        ("kprobe-attach", AttachProbes.Kprobe),
        ("kprobe-multi-attach", AttachProbes.KprobeMulti),
        ("uprobe-attach", AttachProbes.Uprobe),
        ("uprobe-multi-attach", AttachProbes.UprobeMulti),
        ("tracepoint-attach", AttachProbes.Tracepoint),
        ("raw-tracepoint", AttachProbes.RawTracepoint),
        ("perf-event-link", AttachProbes.PerfEventLink),
        ("hardware-perf-events", AttachProbes.HardwarePerfEvents),
        ("fentry-load", () => AttachProbes.TracingLoad(PT.Tracing, AT.TraceFentry, "bpf_fentry_test1")),
        ("fexit-load", () => AttachProbes.TracingLoad(PT.Tracing, AT.TraceFexit, "bpf_fentry_test1")),
        ("fmod_ret-load", () => AttachProbes.TracingLoad(PT.Tracing, AT.ModifyReturn, "bpf_modify_return_test")),
        ("lsm-load", () => AttachProbes.TracingLoad(PT.Lsm, AT.LsmMac, "bpf_lsm_file_open")),
        ("ext-load", () => ProbeProgramType(PT.Ext)),
        ("iter-load", () => AttachProbes.TracingLoad(PT.Tracing, AT.TraceIter, "bpf_iter_task")),
        ("iter-map-elem-load", () => AttachProbes.TracingLoad(PT.Tracing, AT.TraceIter, "bpf_iter_bpf_map_elem")),
        ("xdp-generic", AttachProbes.XdpGeneric),
        ("tcx", AttachProbes.Tcx),
        ("cgroup-link", AttachProbes.CgroupLink),
        ("netfilter-link", AttachProbes.NetfilterLink),
        ("sockmap-link", AttachProbes.SockmapLink),
        ("module-btf", AttachProbes.ModuleBtf),
    ];

    /// <summary>The attach kinds <see cref="Attach"/> knows: "kprobe-attach", "kprobe-multi-attach", "uprobe-attach",
    /// "uprobe-multi-attach", "tracepoint-attach", "raw-tracepoint", "perf-event-link", "hardware-perf-events",
    /// "fentry-load", "fexit-load", "fmod_ret-load", "lsm-load", "ext-load", "iter-load" (a task iterator),
    /// "iter-map-elem-load" (a map element iterator), "xdp-generic", "tcx", "cgroup-link", "netfilter-link" (6.4), "sockmap-link" (6.10), "module-btf" (kernel
    /// modules with BTF in /sys/kernel/btf, the targets of module kfuncs and attach points).</summary>
    public static IReadOnlyList<string> AttachKinds { get; } = Array.AsReadOnly(AttachProbeTable.Select(p => p.Name).ToArray());

    /// <summary>Probes an attach kind by really attaching (or opening/loading) and detaching again; see
    /// <see cref="AttachKinds"/>. Network attach probes run in a private network namespace (on loopback); the cgroup
    /// probe uses a temporary child cgroup.</summary>
    /// <exception cref="ArgumentException"><paramref name="kind"/> is not one of <see cref="AttachKinds"/>.</exception>
    public static FeatureStatus Attach(string kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var probe = AttachProbeTable.FirstOrDefault(p => p.Name == kind).Probe
            ?? throw new ArgumentException($"unknown attach kind '{kind}'; known: {string.Join(", ", AttachKinds)}", nameof(kind));
        lock (Gate)
        {
            if (AttachCache.TryGetValue(kind, out var cached)) return cached;
            FeatureStatus status;
            try
            {
                status = probe();
            }
            catch (IOException e)
            {
                status = FeatureStatus.Unknown($"{kind} probe: {e.Message}");
            }
            catch (UnauthorizedAccessException e)
            {
                status = FeatureStatus.NotSupported($"{kind} probe: {e.Message}");
            }
            AttachCache[kind] = status;
            return status;
        }
    }
}

/// <summary>The attach probes. Each releases every fd, link, directory and namespace it created.</summary>
internal static unsafe class AttachProbes
{
    private const string KprobeSymbol = "vfs_read";
    private const uint XDP_FLAGS_SKB_MODE = 2;

    private static FeatureStatus? LoadProgram(PT type, AT? expected, out SafeBpfFd? prog)
    {
        prog = ProbeKit.TryLoadMinimal(new ProgramSetup(type, expected), out int errno, out string log);
        return prog is null ? ProbeKit.Failure($"BPF_PROG_LOAD of a {type} program", errno, ProbeKit.LastLine(log)) : null;
    }

    private static byte[] CString(string s) => Encoding.UTF8.GetBytes(s + "\0");

    public static FeatureStatus Kprobe()
    {
        int pmu = PerfEvent.DynamicPmuType("kprobe");
        if (pmu < 0)
            return FeatureStatus.NotSupported("no kprobe PMU: /sys/bus/event_source/devices/kprobe/type is missing (kernel built without CONFIG_KPROBES)");
        fixed (byte* sym = CString(KprobeSymbol))
        {
            var attr = new PerfEventAttr { type = (uint)pmu, kprobe_func = (ulong)sym, disabled = PerfEvent.DisabledBit };
            int fd = PerfEvent.TryOpen(ref attr, pid: -1, cpu: 0);
            if (fd < 0) return ProbeKit.Failure($"perf_event_open of a kprobe on {KprobeSymbol}", -fd);
            Libc.close(fd);
            return FeatureStatus.Supported;
        }
    }

    public static FeatureStatus KprobeMulti()
    {
        var failed = LoadProgram(PT.Kprobe, AT.TraceKprobeMulti, out var prog);
        if (failed is not null) return failed;
        using (prog)
        fixed (byte* sym = CString(KprobeSymbol))
        {
            ulong syms = (ulong)sym;
            var attr = new LinkCreateAttr
            {
                prog_fd = (uint)prog!.Fd,
                attach_type = (uint)AT.TraceKprobeMulti,
                kprobe_multi_cnt = 1,
                kprobe_multi_syms = (ulong)&syms,
            };
            using var link = ProbeKit.TryCreateLink(ref attr, out int errno);
            return link is not null ? FeatureStatus.Supported : ProbeKit.Failure($"BPF_LINK_CREATE of a kprobe-multi link on {KprobeSymbol}", errno);
        }
    }

    /// <summary>A binary nobody in this process runs, and the file offset of its entry point.</summary>
    private static (string Path, ulong Offset)? UprobeTarget()
    {
        foreach (var path in (ReadOnlySpan<string>)["/bin/true", "/usr/bin/true", "/bin/sh"])
        {
            if (!File.Exists(path)) continue;
            string real = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
            if (TryEntryFileOffset(real, out ulong offset)) return (real, offset);
        }
        return null;
    }

    /// <summary>Reads a 64-bit little-endian ELF's entry point and maps it to a file offset through its PT_LOAD headers.</summary>
    internal static bool TryEntryFileOffset(string path, out ulong offset)
    {
        offset = 0;
        var head = new byte[4096];
        int n;
        using (var fs = File.OpenHandle(path)) n = RandomAccess.Read(fs, head, 0);
        var h = head.AsSpan(0, n);
        if (n < 64 || !h[..4].SequenceEqual((ReadOnlySpan<byte>)[0x7f, (byte)'E', (byte)'L', (byte)'F']) || h[4] != 2 || h[5] != 1) return false;
        ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(h[0x18..]);
        ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(h[0x20..]);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[0x36..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(h[0x38..]);
        for (int i = 0; i < phnum; i++)
        {
            ulong at = phoff + (ulong)(i * phentsize);
            if (phentsize < 56 || at + 56 > (ulong)n) return false;
            var ph = h[(int)at..];
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != 1) continue; // PT_LOAD
            ulong pOffset = BinaryPrimitives.ReadUInt64LittleEndian(ph[8..]);
            ulong pVaddr = BinaryPrimitives.ReadUInt64LittleEndian(ph[16..]);
            ulong pFilesz = BinaryPrimitives.ReadUInt64LittleEndian(ph[32..]);
            if (entry >= pVaddr && entry < pVaddr + pFilesz)
            {
                offset = entry - pVaddr + pOffset;
                return true;
            }
        }
        return false;
    }

    public static FeatureStatus Uprobe()
    {
        int pmu = PerfEvent.DynamicPmuType("uprobe");
        if (pmu < 0)
            return FeatureStatus.NotSupported("no uprobe PMU: /sys/bus/event_source/devices/uprobe/type is missing (kernel built without CONFIG_UPROBE_EVENTS)");
        if (UprobeTarget() is not var (path, offset)) return FeatureStatus.Unknown("no ELF binary (/bin/true, /bin/sh) to place a uprobe on");
        fixed (byte* p = CString(path))
        {
            var attr = new PerfEventAttr { type = (uint)pmu, uprobe_path = (ulong)p, probe_offset = offset, disabled = PerfEvent.DisabledBit };
            int fd = PerfEvent.TryOpen(ref attr, pid: Environment.ProcessId, cpu: -1);
            if (fd < 0) return ProbeKit.Failure($"perf_event_open of a uprobe on {path}+0x{offset:x}", -fd);
            Libc.close(fd);
            return FeatureStatus.Supported;
        }
    }

    public static FeatureStatus UprobeMulti()
    {
        if (UprobeTarget() is not var (path, offset)) return FeatureStatus.Unknown("no ELF binary (/bin/true, /bin/sh) to place a uprobe on");
        var failed = LoadProgram(PT.Kprobe, AT.TraceUprobeMulti, out var prog);
        if (failed is not null) return failed;
        using (prog)
        fixed (byte* p = CString(path))
        {
            ulong off = offset;
            var attr = new LinkCreateAttr
            {
                prog_fd = (uint)prog!.Fd,
                attach_type = (uint)AT.TraceUprobeMulti,
                uprobe_multi_path = (ulong)p,
                uprobe_multi_offsets = (ulong)&off,
                uprobe_multi_cnt = 1,
                uprobe_multi_pid = (uint)Environment.ProcessId,
            };
            using var link = ProbeKit.TryCreateLink(ref attr, out int errno);
            return link is not null ? FeatureStatus.Supported : ProbeKit.Failure($"BPF_LINK_CREATE of a uprobe-multi link on {path}", errno);
        }
    }

    /// <summary>The tracefs events directory, when tracefs is mounted.</summary>
    internal static string? TracefsEvents()
    {
        foreach (var dir in (ReadOnlySpan<string>)["/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"])
            if (Directory.Exists(dir)) return dir;
        return null;
    }

    /// <summary>Opens a perf event and attaches a program of <paramref name="type"/> to it with a BPF_PERF_EVENT link.</summary>
    private static FeatureStatus AttachToPerfEvent(ref PerfEventAttr perf, int pid, int cpu, PT type, string what)
    {
        int pfd = PerfEvent.TryOpen(ref perf, pid, cpu);
        if (pfd < 0) return ProbeKit.Failure($"perf_event_open of {what}", -pfd);
        using var perfFd = new SafeBpfFd(pfd);
        var failed = LoadProgram(type, null, out var prog);
        if (failed is not null) return failed;
        using (prog)
        {
            var attr = new LinkCreateAttr { prog_fd = (uint)prog!.Fd, target_fd = (uint)perfFd.Fd, attach_type = (uint)AT.PerfEvent };
            using var link = ProbeKit.TryCreateLink(ref attr, out int errno);
            return link is not null ? FeatureStatus.Supported : ProbeKit.Failure($"BPF_LINK_CREATE (BPF_PERF_EVENT) on {what}", errno);
        }
    }

    public static FeatureStatus Tracepoint()
    {
        string? events = TracefsEvents();
        if (events is null) return FeatureStatus.NotSupported("tracefs is not mounted (/sys/kernel/tracing/events missing)");
        foreach (var tp in (ReadOnlySpan<string>)["syscalls/sys_enter_getpid", "raw_syscalls/sys_enter", "sched/sched_process_exec"])
        {
            string idFile = Path.Combine(events, tp, "id");
            if (!File.Exists(idFile) || !ulong.TryParse(File.ReadAllText(idFile).Trim(), out ulong id)) continue;
            var perf = new PerfEventAttr { type = PerfEvent.PERF_TYPE_TRACEPOINT, config = id, sample_period = 1 };
            return AttachToPerfEvent(ref perf, pid: -1, cpu: 0, PT.Tracepoint, $"tracepoint {tp}");
        }
        return FeatureStatus.NotSupported($"none of the probe tracepoints exist under {events}");
    }

    public static FeatureStatus RawTracepoint()
    {
        var failed = LoadProgram(PT.RawTracepoint, null, out var prog);
        if (failed is not null) return failed;
        using (prog)
        fixed (byte* name = CString("sys_enter"))
        {
            var attr = new RawTracepointOpenAttr { name = (ulong)name, prog_fd = (uint)prog!.Fd };
            int r = Bpf.TryCall(BpfCmd.BPF_RAW_TRACEPOINT_OPEN, ref attr);
            if (r < 0) return ProbeKit.Failure("BPF_RAW_TRACEPOINT_OPEN of sys_enter", -r);
            Libc.close(r);
            return FeatureStatus.Supported;
        }
    }

    public static FeatureStatus PerfEventLink()
    {
        var perf = new PerfEventAttr
        {
            type = PerfEvent.PERF_TYPE_SOFTWARE,
            config = PerfEvent.PERF_COUNT_SW_CPU_CLOCK,
            sample_period = 1_000_000,
            disabled = PerfEvent.DisabledBit,
        };
        return AttachToPerfEvent(ref perf, pid: 0, cpu: -1, PT.PerfEvent, "a software cpu-clock event");
    }

    public static FeatureStatus HardwarePerfEvents()
    {
        var attr = new PerfEventAttr { type = PerfEvent.PERF_TYPE_HARDWARE, config = PerfEvent.PERF_COUNT_HW_CPU_CYCLES, disabled = PerfEvent.DisabledBit };
        int fd = PerfEvent.TryOpen(ref attr, pid: 0, cpu: -1);
        if (fd < 0) return ProbeKit.Failure("perf_event_open of the hardware cpu-cycles counter", -fd);
        Libc.close(fd);
        return FeatureStatus.Supported;
    }

    public static FeatureStatus ModuleBtf()
    {
        const string dir = "/sys/kernel/btf";
        if (!Directory.Exists(dir)) return FeatureStatus.NotSupported($"{dir} is missing: the kernel exposes no BTF");
        return Directory.EnumerateFiles(dir).Any(f => Path.GetFileName(f) != "vmlinux")
            ? FeatureStatus.Supported
            : FeatureStatus.NotSupported($"{dir} holds only vmlinux: no loaded kernel module has BTF (no loadable modules, or CONFIG_DEBUG_INFO_BTF_MODULES off)");
    }

    public static FeatureStatus TracingLoad(PT type, AT attach, string func)
    {
        uint id = KernelFeatures.KernelFuncId(func);
        if (id == 0) return FeatureStatus.NotSupported($"the kernel BTF has no function {func} to attach to");
        using var prog = ProbeKit.TryLoadMinimal(new ProgramSetup(type, attach, id), out int errno, out string log);
        return prog is not null
            ? FeatureStatus.Supported
            : ProbeKit.Failure($"BPF_PROG_LOAD of a {type} program ({attach} on {func})", errno, ProbeKit.LastLine(log));
    }

    public static FeatureStatus XdpGeneric() => InPrivateNetns(() =>
    {
        var failed = LoadProgram(PT.Xdp, AT.Xdp, out var prog);
        if (failed is not null) return failed;
        using (prog)
        {
            var attr = new LinkCreateAttr { prog_fd = (uint)prog!.Fd, target_ifindex = 1, attach_type = (uint)AT.Xdp, flags = XDP_FLAGS_SKB_MODE };
            using var link = ProbeKit.TryCreateLink(ref attr, out int errno);
            return link is not null ? FeatureStatus.Supported : ProbeKit.Failure("BPF_LINK_CREATE of a generic XDP link on lo", errno);
        }
    });

    public static FeatureStatus Tcx() => InPrivateNetns(() =>
    {
        var failed = LoadProgram(PT.SchedCls, null, out var prog);
        if (failed is not null) return failed;
        using (prog)
        {
            var attr = new LinkCreateAttr { prog_fd = (uint)prog!.Fd, target_ifindex = 1, attach_type = (uint)AT.TcxIngress };
            using var link = ProbeKit.TryCreateLink(ref attr, out int errno);
            return link is not null ? FeatureStatus.Supported : ProbeKit.Failure("BPF_LINK_CREATE of a tcx ingress link on lo", errno);
        }
    });

    /// <summary>A netfilter link on IPv4 LOCAL_IN of a private namespace (Linux 6.4).</summary>
    public static FeatureStatus NetfilterLink() => InPrivateNetns(() =>
    {
        var failed = LoadProgram(PT.Netfilter, AT.Netfilter, out var prog);
        if (failed is not null) return failed;
        using (prog)
        {
            var attr = new LinkCreateAttr
            {
                prog_fd = (uint)prog!.Fd, attach_type = (uint)AT.Netfilter, netfilter_pf = 2, netfilter_hooknum = 1, netfilter_priority = 1,
            };
            using var link = ProbeKit.TryCreateLink(ref attr, out int errno);
            return link is not null ? FeatureStatus.Supported : ProbeKit.Failure("BPF_LINK_CREATE of a netfilter link on IPv4 LOCAL_IN", errno);
        }
    });

    /// <summary>An sk_msg program on a SockMap through a sockmap link (Linux 6.10; older kernels take BPF_PROG_ATTACH).</summary>
    public static FeatureStatus SockmapLink()
    {
        var failed = LoadProgram(PT.SkMsg, AT.SkMsgVerdict, out var prog);
        if (failed is not null) return failed;
        using (prog)
        {
            var create = new MapCreateAttr { map_type = (uint)Maps.MapType.SockMap, key_size = 4, value_size = 8, max_entries = 1 };
            using var map = ProbeKit.TryCreateMap(ref create, out int errno);
            if (map is null) return ProbeKit.Failure("BPF_MAP_CREATE of a SockMap", errno);
            var attr = new LinkCreateAttr { prog_fd = (uint)prog!.Fd, target_fd = (uint)map.Fd, attach_type = (uint)AT.SkMsgVerdict };
            using var link = ProbeKit.TryCreateLink(ref attr, out errno);
            return link is not null ? FeatureStatus.Supported : ProbeKit.Failure("BPF_LINK_CREATE of an sk_msg link on a SockMap", errno);
        }
    }

    /// <summary>Runs <paramref name="body"/> on a dedicated thread inside a new network namespace (whose loopback has
    /// ifindex 1), so probes never touch the host's interfaces. The thread returns to its namespace before exiting.</summary>
    private static FeatureStatus InPrivateNetns(Func<FeatureStatus> body)
    {
        FeatureStatus? result = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var original = File.OpenHandle("/proc/thread-self/ns/net");
                if (Libc.unshare(Libc.CLONE_NEWNET) != 0)
                {
                    result = ProbeKit.Failure("unshare(CLONE_NEWNET) for a private probe namespace", Marshal.GetLastPInvokeError());
                    return;
                }
                try
                {
                    result = body();
                }
                finally
                {
                    if (Libc.setns((int)original.DangerousGetHandle(), Libc.CLONE_NEWNET) != 0)
                        error = new BpfException("setns", Marshal.GetLastPInvokeError(), "returning from the probe network namespace");
                }
            }
            catch (Exception e)
            {
                error = e;
            }
        }, maxStackSize: 256 * 1024) { IsBackground = true, Name = "sharpbpf-netns-probe" };
        thread.Start();
        thread.Join();
        if (error is not null) return FeatureStatus.Unknown($"probe in a private network namespace failed: {error.Message}");
        return result ?? FeatureStatus.Unknown("probe in a private network namespace returned no result");
    }

    /// <summary>The cgroup v2 mount point from /proc/self/mountinfo, or null.</summary>
    internal static string? Cgroup2Mount()
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // id parent major:minor root mountpoint options ... - fstype source superoptions
            int dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0) continue;
            var fields = line[..dash].Split(' ');
            var tail = line[(dash + 3)..].Split(' ');
            if (tail.Length > 0 && tail[0] == "cgroup2" && fields.Length > 4) return fields[4].Replace("\\040", " ", StringComparison.Ordinal);
        }
        return null;
    }

    public static FeatureStatus CgroupLink()
    {
        string? root = Cgroup2Mount();
        if (root is null) return FeatureStatus.NotSupported("cgroup v2 is not mounted");
        var failed = LoadProgram(PT.CgroupSkb, AT.CgroupInetIngress, out var prog);
        if (failed is not null) return failed;
        string dir = Path.Combine(root, $"sharpbpf-probe-{Environment.ProcessId}");
        using (prog)
        {
            Directory.CreateDirectory(dir);
            try
            {
                int cg;
                fixed (byte* p = CString(dir)) cg = Libc.open(p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
                if (cg < 0) return ProbeKit.Failure($"open({dir})", Marshal.GetLastPInvokeError());
                using var cgroupFd = new SafeBpfFd(cg);
                var attr = new LinkCreateAttr { prog_fd = (uint)prog!.Fd, target_fd = (uint)cg, attach_type = (uint)AT.CgroupInetIngress };
                using var link = ProbeKit.TryCreateLink(ref attr, out int errno);
                return link is not null ? FeatureStatus.Supported : ProbeKit.Failure("BPF_LINK_CREATE of a cgroup inet-ingress link", errno);
            }
            finally
            {
                Directory.Delete(dir);
            }
        }
    }
}
