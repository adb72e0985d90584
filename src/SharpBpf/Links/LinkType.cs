namespace SharpBpf.Links;

/// <summary><c>enum bpf_link_type</c>.</summary>
public enum LinkType : uint
{
    /// <summary>BPF_LINK_TYPE_UNSPEC.</summary>
    Unspecified = 0,
    /// <summary>BPF_LINK_TYPE_RAW_TRACEPOINT.</summary>
    RawTracepoint = 1,
    /// <summary>BPF_LINK_TYPE_TRACING.</summary>
    Tracing = 2,
    /// <summary>BPF_LINK_TYPE_CGROUP.</summary>
    Cgroup = 3,
    /// <summary>BPF_LINK_TYPE_ITER.</summary>
    Iter = 4,
    /// <summary>BPF_LINK_TYPE_NETNS.</summary>
    Netns = 5,
    /// <summary>BPF_LINK_TYPE_XDP.</summary>
    Xdp = 6,
    /// <summary>BPF_LINK_TYPE_PERF_EVENT.</summary>
    PerfEvent = 7,
    /// <summary>BPF_LINK_TYPE_KPROBE_MULTI.</summary>
    KprobeMulti = 8,
    /// <summary>BPF_LINK_TYPE_STRUCT_OPS.</summary>
    StructOps = 9,
    /// <summary>BPF_LINK_TYPE_NETFILTER.</summary>
    Netfilter = 10,
    /// <summary>BPF_LINK_TYPE_TCX.</summary>
    Tcx = 11,
    /// <summary>BPF_LINK_TYPE_UPROBE_MULTI.</summary>
    UprobeMulti = 12,
    /// <summary>BPF_LINK_TYPE_NETKIT.</summary>
    Netkit = 13,
    /// <summary>BPF_LINK_TYPE_SOCKMAP.</summary>
    Sockmap = 14,
}
