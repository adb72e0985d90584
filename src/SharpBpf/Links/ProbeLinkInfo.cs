using System.Text;
using SharpBpf.Interop;

namespace SharpBpf.Links;

/// <summary>What a perf_event link is attached to (<c>enum bpf_perf_event_type</c>, reported since Linux 6.6).</summary>
public enum PerfEventKind : uint
{
    /// <summary>Not reported (kernel before 6.6).</summary>
    Unspecified = 0,
    /// <summary>A uprobe.</summary>
    Uprobe = 1,
    /// <summary>A uretprobe.</summary>
    Uretprobe = 2,
    /// <summary>A kprobe.</summary>
    Kprobe = 3,
    /// <summary>A kretprobe.</summary>
    Kretprobe = 4,
    /// <summary>A tracepoint (including legacy tracefs kprobes, which are tracepoint events).</summary>
    Tracepoint = 5,
    /// <summary>A plain perf event (software/hardware).</summary>
    Event = 6,
}

/// <summary>Info of a perf_event link (Linux 6.6 reports the target; older kernels only <see cref="Kind"/> =
/// Unspecified).</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="Kind">What the perf event is.</param>
/// <param name="Name">Uprobe: the binary; kprobe: the function; tracepoint: its name; else null.</param>
/// <param name="Offset">Uprobe: the file offset; kprobe: the offset into the function.</param>
/// <param name="Address">Kprobe: the address (0 unless kptr_restrict allows).</param>
/// <param name="Cookie">The BPF cookie (Linux 6.7).</param>
/// <param name="ReferenceCounterOffset">Uprobe: the semaphore offset.</param>
/// <param name="Missed">Kprobe: missed runs.</param>
/// <param name="EventType">Event: the perf type as the kernel keeps it (the software cpu-clock reports its own PMU
/// type on recent kernels, not PERF_TYPE_SOFTWARE).</param>
/// <param name="EventConfig">Event: the perf config.</param>
public sealed record PerfEventLinkInfo(uint Id, uint ProgramId, PerfEventKind Kind, string? Name, ulong Offset, ulong Address,
    ulong Cookie, ulong ReferenceCounterOffset, ulong Missed, uint EventType, ulong EventConfig)
    : LinkInfo(LinkType.PerfEvent, Id, ProgramId);

/// <summary>Info of a uprobe_multi link (Linux 6.8).</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="Path">The binary.</param>
/// <param name="Offsets">File offsets probed.</param>
/// <param name="ReferenceCounterOffsets">Semaphore offsets.</param>
/// <param name="Cookies">Per-offset cookies.</param>
/// <param name="IsReturn">Return probes.</param>
/// <param name="Pid">The pid filter, 0 for none.</param>
public sealed record UprobeMultiLinkInfo(uint Id, uint ProgramId, string Path, ulong[] Offsets, ulong[] ReferenceCounterOffsets,
    ulong[] Cookies, bool IsReturn, int Pid) : LinkInfo(LinkType.UprobeMulti, Id, ProgramId);

/// <summary>Info of a kprobe_multi link (Linux 6.6).</summary>
/// <param name="Id">Kernel object id.</param>
/// <param name="ProgramId">Id of the attached program.</param>
/// <param name="Addresses">Function addresses (zeros unless kptr_restrict allows).</param>
/// <param name="Cookies">Per-function cookies (Linux 6.9).</param>
/// <param name="IsReturn">Return probes.</param>
/// <param name="Missed">Missed runs.</param>
public sealed record KprobeMultiLinkInfo(uint Id, uint ProgramId, ulong[] Addresses, ulong[] Cookies, bool IsReturn, ulong Missed)
    : LinkInfo(LinkType.KprobeMulti, Id, ProgramId);

/// <summary>Decodes the probe parts of <c>bpf_link_info</c>: a second BPF_OBJ_GET_INFO_BY_FD with buffers sized from
/// the first answer.</summary>
internal static unsafe class ProbeLinkInfo
{
    private const int MaxName = 4096;

    /// <summary>The detailed info for perf_event, uprobe_multi and kprobe_multi links, null for other types.</summary>
    public static LinkInfo? Decode(SafeBpfFd fd, in BpfLinkInfo first) => (LinkType)first.type switch
    {
        LinkType.PerfEvent => PerfEvent(fd, first),
        LinkType.UprobeMulti => UprobeMulti(fd, first),
        LinkType.KprobeMulti => KprobeMulti(fd, first),
        _ => null,
    };

    private static PerfEventLinkInfo PerfEvent(SafeBpfFd fd, BpfLinkInfo first)
    {
        var kind = (PerfEventKind)first.perf_event_type;
        var name = new byte[MaxName];
        var info = default(BpfLinkInfo);
        fixed (byte* n = name)
        {
            switch (kind)
            {
                case PerfEventKind.Uprobe or PerfEventKind.Uretprobe:
                    info.perf_event_uprobe_file_name = (ulong)n;
                    info.perf_event_uprobe_name_len = MaxName;
                    break;
                case PerfEventKind.Kprobe or PerfEventKind.Kretprobe:
                    info.perf_event_kprobe_func_name = (ulong)n;
                    info.perf_event_kprobe_name_len = MaxName;
                    break;
                case PerfEventKind.Tracepoint:
                    info.perf_event_tracepoint_tp_name = (ulong)n;
                    info.perf_event_tracepoint_name_len = MaxName;
                    break;
                default:
                    return new PerfEventLinkInfo(first.id, first.prog_id, kind, null, 0, 0,
                        kind == PerfEventKind.Event ? first.perf_event_event_cookie : 0, 0, 0,
                        first.perf_event_event_type, first.perf_event_event_config);
            }
            ObjectInfo.Get(fd, ref info);
        }
        return kind switch
        {
            PerfEventKind.Uprobe or PerfEventKind.Uretprobe => new PerfEventLinkInfo(info.id, info.prog_id, kind, CString(name),
                info.perf_event_uprobe_offset, 0, info.perf_event_uprobe_cookie, info.perf_event_uprobe_ref_ctr_offset, 0, 0, 0),
            PerfEventKind.Kprobe or PerfEventKind.Kretprobe => new PerfEventLinkInfo(info.id, info.prog_id, kind, CString(name),
                info.perf_event_kprobe_offset, info.perf_event_kprobe_addr, info.perf_event_kprobe_cookie, 0, info.perf_event_kprobe_missed, 0, 0),
            _ => new PerfEventLinkInfo(info.id, info.prog_id, kind, CString(name), 0, 0, info.perf_event_tracepoint_cookie, 0, 0, 0, 0),
        };
    }

    private static UprobeMultiLinkInfo UprobeMulti(SafeBpfFd fd, BpfLinkInfo first)
    {
        int count = (int)Math.Min(first.uprobe_multi_count, 1u << 20);
        var offsets = new ulong[count];
        var refs = new ulong[count];
        var cookies = new ulong[count];
        var path = new byte[MaxName];
        var info = default(BpfLinkInfo);
        fixed (ulong* o = offsets, r = refs, c = cookies)
        fixed (byte* p = path)
        {
            info.uprobe_multi_count = (uint)count;
            info.uprobe_multi_offsets = (ulong)o;
            info.uprobe_multi_ref_ctr_offsets = (ulong)r;
            info.uprobe_multi_cookies = (ulong)c;
            info.uprobe_multi_path = (ulong)p;
            info.uprobe_multi_path_size = MaxName;
            ObjectInfo.Get(fd, ref info);
        }
        return new UprobeMultiLinkInfo(info.id, info.prog_id, CString(path), offsets, refs, cookies,
            (info.uprobe_multi_flags & 1) != 0, (int)info.uprobe_multi_pid);
    }

    private static KprobeMultiLinkInfo KprobeMulti(SafeBpfFd fd, BpfLinkInfo first)
    {
        int count = (int)Math.Min(first.kprobe_multi_count, 1u << 20);
        var addrs = new ulong[count];
        var cookies = new ulong[count];
        var info = default(BpfLinkInfo);
        fixed (ulong* a = addrs, c = cookies)
        {
            info.kprobe_multi_count = (uint)count;
            info.kprobe_multi_addrs = (ulong)a;
            info.kprobe_multi_cookies = (ulong)c;
            ObjectInfo.Get(fd, ref info);
        }
        return new KprobeMultiLinkInfo(info.id, info.prog_id, addrs, cookies, (info.kprobe_multi_flags & 1) != 0, info.kprobe_multi_missed);
    }

    private static string CString(byte[] bytes)
    {
        int end = Array.IndexOf(bytes, (byte)0);
        return Encoding.UTF8.GetString(bytes, 0, end < 0 ? bytes.Length : end);
    }
}
