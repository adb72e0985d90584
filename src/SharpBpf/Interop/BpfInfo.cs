// Object info structs returned by BPF_OBJ_GET_INFO_BY_FD, with the kernel's field names.
// Tests compare them with the running kernel's BTF. Older kernels fill a prefix and report info_len.
using System.Runtime.InteropServices;

namespace SharpBpf.Interop;

#pragma warning disable CS0649

/// <summary><c>struct bpf_prog_info</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BpfProgInfo
{
    public uint type;
    public uint id;
    public fixed byte tag[8];
    public uint jited_prog_len;
    public uint xlated_prog_len;
    public ulong jited_prog_insns;
    public ulong xlated_prog_insns;
    public ulong load_time;
    public uint created_by_uid;
    public uint nr_map_ids;
    public ulong map_ids;
    public fixed byte name[16];
    public uint ifindex;
    /// <summary>Bit 0: gpl_compatible.</summary>
    public uint gpl_compatible;
    public ulong netns_dev;
    public ulong netns_ino;
    public uint nr_jited_ksyms;
    public uint nr_jited_func_lens;
    public ulong jited_ksyms;
    public ulong jited_func_lens;
    public uint btf_id;
    public uint func_info_rec_size;
    public ulong func_info;
    public uint nr_func_info;
    public uint nr_line_info;
    public ulong line_info;
    public ulong jited_line_info;
    public uint nr_jited_line_info;
    public uint line_info_rec_size;
    public uint jited_line_info_rec_size;
    public uint nr_prog_tags;
    public ulong prog_tags;
    public ulong run_time_ns;
    public ulong run_cnt;
    public ulong recursion_misses;
    public uint verified_insns;
    public uint attach_btf_obj_id;
    public uint attach_btf_id;
}

/// <summary><c>struct bpf_map_info</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct BpfMapInfo
{
    public uint type;
    public uint id;
    public uint key_size;
    public uint value_size;
    public uint max_entries;
    public uint map_flags;
    public fixed byte name[16];
    public uint ifindex;
    public uint btf_vmlinux_value_type_id;
    public ulong netns_dev;
    public ulong netns_ino;
    public uint btf_id;
    public uint btf_key_type_id;
    public uint btf_value_type_id;
    public uint btf_vmlinux_id;
    public ulong map_extra;
    public ulong hash;
    public uint hash_size;
}

/// <summary><c>struct bpf_btf_info</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BpfBtfInfo
{
    public ulong btf;
    public uint btf_size;
    public uint id;
    public ulong name;
    public uint name_len;
    public uint kernel_btf;
}

/// <summary><c>struct bpf_link_info</c>: the common head and the union members the library reads
/// (named nested members flattened with '_').</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct BpfLinkInfo
{
    [FieldOffset(0)] public uint type;
    [FieldOffset(4)] public uint id;
    [FieldOffset(8)] public uint prog_id;
    [FieldOffset(16)] public ulong raw_tracepoint_tp_name;
    [FieldOffset(24)] public uint raw_tracepoint_tp_name_len;
    [FieldOffset(32)] public ulong raw_tracepoint_cookie;
    [FieldOffset(16)] public uint tracing_attach_type;
    [FieldOffset(20)] public uint tracing_target_obj_id;
    [FieldOffset(24)] public uint tracing_target_btf_id;
    [FieldOffset(32)] public ulong tracing_cookie;
    [FieldOffset(16)] public ulong iter_target_name;
    [FieldOffset(24)] public uint iter_target_name_len;
    [FieldOffset(28)] public uint iter_map_map_id;
    [FieldOffset(32)] public ulong iter_cgroup_cgroup_id;
    [FieldOffset(40)] public uint iter_cgroup_order;
    [FieldOffset(32)] public uint iter_task_tid;
    [FieldOffset(36)] public uint iter_task_pid;
    [FieldOffset(16)] public ulong cgroup_cgroup_id;
    [FieldOffset(24)] public uint cgroup_attach_type;
    [FieldOffset(16)] public uint netns_netns_ino;
    [FieldOffset(20)] public uint netns_attach_type;
    [FieldOffset(16)] public uint xdp_ifindex;
    [FieldOffset(16)] public uint struct_ops_map_id;
    [FieldOffset(16)] public uint sockmap_map_id;
    [FieldOffset(20)] public uint sockmap_attach_type;
    [FieldOffset(16)] public uint netfilter_pf;
    [FieldOffset(20)] public uint netfilter_hooknum;
    [FieldOffset(24)] public int netfilter_priority;
    [FieldOffset(28)] public uint netfilter_flags;
    [FieldOffset(16)] public uint perf_event_type;
    [FieldOffset(24)] public ulong perf_event_uprobe_file_name;
    [FieldOffset(32)] public uint perf_event_uprobe_name_len;
    [FieldOffset(36)] public uint perf_event_uprobe_offset;
    [FieldOffset(40)] public ulong perf_event_uprobe_cookie;
    [FieldOffset(48)] public ulong perf_event_uprobe_ref_ctr_offset;
    [FieldOffset(24)] public ulong perf_event_kprobe_func_name;
    [FieldOffset(32)] public uint perf_event_kprobe_name_len;
    [FieldOffset(36)] public uint perf_event_kprobe_offset;
    [FieldOffset(40)] public ulong perf_event_kprobe_addr;
    [FieldOffset(48)] public ulong perf_event_kprobe_missed;
    [FieldOffset(56)] public ulong perf_event_kprobe_cookie;
    [FieldOffset(24)] public ulong perf_event_tracepoint_tp_name;
    [FieldOffset(32)] public uint perf_event_tracepoint_name_len;
    [FieldOffset(40)] public ulong perf_event_tracepoint_cookie;
    [FieldOffset(24)] public ulong perf_event_event_config;
    [FieldOffset(32)] public uint perf_event_event_type;
    [FieldOffset(40)] public ulong perf_event_event_cookie;
    [FieldOffset(16)] public ulong kprobe_multi_addrs;
    [FieldOffset(24)] public uint kprobe_multi_count;
    [FieldOffset(28)] public uint kprobe_multi_flags;
    [FieldOffset(32)] public ulong kprobe_multi_missed;
    [FieldOffset(40)] public ulong kprobe_multi_cookies;
    [FieldOffset(16)] public ulong uprobe_multi_path;
    [FieldOffset(24)] public ulong uprobe_multi_offsets;
    [FieldOffset(32)] public ulong uprobe_multi_ref_ctr_offsets;
    [FieldOffset(40)] public ulong uprobe_multi_cookies;
    [FieldOffset(48)] public uint uprobe_multi_path_size;
    [FieldOffset(52)] public uint uprobe_multi_count;
    [FieldOffset(56)] public uint uprobe_multi_flags;
    [FieldOffset(60)] public uint uprobe_multi_pid;
    [FieldOffset(16)] public uint tcx_ifindex;
    [FieldOffset(20)] public uint tcx_attach_type;
}

/// <summary><c>union bpf_iter_link_info</c>: the iterator's parameters passed with BPF_LINK_CREATE
/// (<c>iter_info</c>); named nested members flattened with '_'.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct BpfIterLinkInfo
{
    [FieldOffset(0)] public uint map_map_fd;
    [FieldOffset(0)] public uint cgroup_order;
    [FieldOffset(4)] public uint cgroup_cgroup_fd;
    [FieldOffset(8)] public ulong cgroup_cgroup_id;
    [FieldOffset(0)] public uint task_tid;
    [FieldOffset(4)] public uint task_pid;
    [FieldOffset(8)] public uint task_pid_fd;
}
