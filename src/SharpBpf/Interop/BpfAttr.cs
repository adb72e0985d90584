// Layouts of the members of `union bpf_attr`, one struct per command family, with the kernel's field names.
// Tests compare every field's offset and size, and every struct's size, with the running kernel's BTF.
// The kernel accepts a shorter attr (it zero-extends) and a longer one if the tail is zero.
using System.Runtime.InteropServices;

namespace SharpBpf.Interop;

#pragma warning disable CS0649 // fields are written by the kernel or by object initialisers via ref

/// <summary>BPF_MAP_CREATE.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MapCreateAttr
{
    public uint map_type;
    public uint key_size;
    public uint value_size;
    public uint max_entries;
    public uint map_flags;
    public uint inner_map_fd;
    public uint numa_node;
    public fixed byte map_name[16];
    public uint map_ifindex;
    public uint btf_fd;
    public uint btf_key_type_id;
    public uint btf_value_type_id;
    public uint btf_vmlinux_value_type_id;
    public ulong map_extra;
    public int value_type_btf_obj_fd;
    public int map_token_fd;
    public ulong excl_prog_hash;
    public uint excl_prog_hash_size;
}

/// <summary>BPF_MAP_LOOKUP_ELEM, UPDATE_ELEM, DELETE_ELEM, GET_NEXT_KEY, LOOKUP_AND_DELETE_ELEM, FREEZE.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct MapElemAttr
{
    [FieldOffset(0)] public uint map_fd;
    [FieldOffset(8)] public ulong key;
    [FieldOffset(16)] public ulong value;
    [FieldOffset(16)] public ulong next_key;
    [FieldOffset(24)] public ulong flags;
}

/// <summary>BPF_MAP_*_BATCH (<c>batch</c> member).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MapBatchAttr
{
    public ulong in_batch;
    public ulong out_batch;
    public ulong keys;
    public ulong values;
    public uint count;
    public uint map_fd;
    public ulong elem_flags;
    public ulong flags;
}

/// <summary>BPF_PROG_LOAD.</summary>
[StructLayout(LayoutKind.Explicit, Size = 168)]
internal unsafe struct ProgLoadAttr
{
    [FieldOffset(0)] public uint prog_type;
    [FieldOffset(4)] public uint insn_cnt;
    [FieldOffset(8)] public ulong insns;
    [FieldOffset(16)] public ulong license;
    [FieldOffset(24)] public uint log_level;
    [FieldOffset(28)] public uint log_size;
    [FieldOffset(32)] public ulong log_buf;
    [FieldOffset(40)] public uint kern_version;
    [FieldOffset(44)] public uint prog_flags;
    [FieldOffset(48)] public fixed byte prog_name[16];
    [FieldOffset(64)] public uint prog_ifindex;
    [FieldOffset(68)] public uint expected_attach_type;
    [FieldOffset(72)] public uint prog_btf_fd;
    [FieldOffset(76)] public uint func_info_rec_size;
    [FieldOffset(80)] public ulong func_info;
    [FieldOffset(88)] public uint func_info_cnt;
    [FieldOffset(92)] public uint line_info_rec_size;
    [FieldOffset(96)] public ulong line_info;
    [FieldOffset(104)] public uint line_info_cnt;
    [FieldOffset(108)] public uint attach_btf_id;
    [FieldOffset(112)] public uint attach_prog_fd;
    [FieldOffset(112)] public uint attach_btf_obj_fd;
    [FieldOffset(116)] public uint core_relo_cnt;
    [FieldOffset(120)] public ulong fd_array;
    [FieldOffset(128)] public ulong core_relos;
    [FieldOffset(136)] public uint core_relo_rec_size;
    [FieldOffset(140)] public uint log_true_size;
    [FieldOffset(144)] public int prog_token_fd;
    [FieldOffset(148)] public uint fd_array_cnt;
    [FieldOffset(152)] public ulong signature;
    [FieldOffset(160)] public uint signature_size;
    [FieldOffset(164)] public int keyring_id;
}

/// <summary>BPF_OBJ_PIN, BPF_OBJ_GET.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ObjPinAttr
{
    public ulong pathname;
    public uint bpf_fd;
    public uint file_flags;
    public int path_fd;
}

/// <summary>BPF_PROG_ATTACH, BPF_PROG_DETACH.</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct ProgAttachAttr
{
    [FieldOffset(0)] public uint target_fd;
    [FieldOffset(0)] public uint target_ifindex;
    [FieldOffset(4)] public uint attach_bpf_fd;
    [FieldOffset(8)] public uint attach_type;
    [FieldOffset(12)] public uint attach_flags;
    [FieldOffset(16)] public uint replace_bpf_fd;
    [FieldOffset(20)] public uint relative_fd;
    [FieldOffset(20)] public uint relative_id;
    [FieldOffset(24)] public ulong expected_revision;
}

/// <summary>BPF_PROG_TEST_RUN (<c>test</c> member).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TestRunAttr
{
    public uint prog_fd;
    public uint retval;
    public uint data_size_in;
    public uint data_size_out;
    public ulong data_in;
    public ulong data_out;
    public uint repeat;
    public uint duration;
    public uint ctx_size_in;
    public uint ctx_size_out;
    public ulong ctx_in;
    public ulong ctx_out;
    public uint flags;
    public uint cpu;
    public uint batch_size;
}

/// <summary>BPF_{PROG,MAP,BTF,LINK}_GET_NEXT_ID and _GET_FD_BY_ID.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct GetIdAttr
{
    [FieldOffset(0)] public uint start_id;
    [FieldOffset(0)] public uint prog_id;
    [FieldOffset(0)] public uint map_id;
    [FieldOffset(0)] public uint btf_id;
    [FieldOffset(0)] public uint link_id;
    [FieldOffset(4)] public uint next_id;
    [FieldOffset(8)] public uint open_flags;
    [FieldOffset(12)] public int fd_by_id_token_fd;
}

/// <summary>BPF_OBJ_GET_INFO_BY_FD (<c>info</c> member).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct InfoByFdAttr
{
    public uint bpf_fd;
    public uint info_len;
    public ulong info;
}

/// <summary>BPF_PROG_QUERY (<c>query</c> member).</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct ProgQueryAttr
{
    [FieldOffset(0)] public uint target_fd;
    [FieldOffset(0)] public uint target_ifindex;
    [FieldOffset(4)] public uint attach_type;
    [FieldOffset(8)] public uint query_flags;
    [FieldOffset(12)] public uint attach_flags;
    [FieldOffset(16)] public ulong prog_ids;
    [FieldOffset(24)] public uint prog_cnt;
    [FieldOffset(24)] public uint count;
    [FieldOffset(32)] public ulong prog_attach_flags;
    [FieldOffset(40)] public ulong link_ids;
    [FieldOffset(48)] public ulong link_attach_flags;
    [FieldOffset(56)] public ulong revision;
}

/// <summary>BPF_RAW_TRACEPOINT_OPEN (<c>raw_tracepoint</c> member).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RawTracepointOpenAttr
{
    public ulong name;
    public uint prog_fd;
    public ulong cookie;
}

/// <summary>BPF_BTF_LOAD.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct BtfLoadAttr
{
    public ulong btf;
    public ulong btf_log_buf;
    public uint btf_size;
    public uint btf_log_size;
    public uint btf_log_level;
    public uint btf_log_true_size;
    public uint btf_flags;
    public int btf_token_fd;
}

/// <summary>BPF_TASK_FD_QUERY (<c>task_fd_query</c> member).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TaskFdQueryAttr
{
    public uint pid;
    public uint fd;
    public uint flags;
    public uint buf_len;
    public ulong buf;
    public uint prog_id;
    public uint fd_type;
    public ulong probe_offset;
    public ulong probe_addr;
}

/// <summary>BPF_LINK_CREATE (<c>link_create</c> member). Named nested members are flattened with '_'.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct LinkCreateAttr
{
    [FieldOffset(0)] public uint prog_fd;
    [FieldOffset(0)] public uint map_fd;
    [FieldOffset(4)] public uint target_fd;
    [FieldOffset(4)] public uint target_ifindex;
    [FieldOffset(8)] public uint attach_type;
    [FieldOffset(12)] public uint flags;
    [FieldOffset(16)] public uint target_btf_id;
    [FieldOffset(16)] public ulong iter_info;
    [FieldOffset(24)] public uint iter_info_len;
    [FieldOffset(16)] public ulong perf_event_bpf_cookie;
    [FieldOffset(16)] public uint kprobe_multi_flags;
    [FieldOffset(20)] public uint kprobe_multi_cnt;
    [FieldOffset(24)] public ulong kprobe_multi_syms;
    [FieldOffset(32)] public ulong kprobe_multi_addrs;
    [FieldOffset(40)] public ulong kprobe_multi_cookies;
    [FieldOffset(16)] public uint tracing_target_btf_id;
    [FieldOffset(24)] public ulong tracing_cookie;
    [FieldOffset(16)] public uint netfilter_pf;
    [FieldOffset(20)] public uint netfilter_hooknum;
    [FieldOffset(24)] public int netfilter_priority;
    [FieldOffset(28)] public uint netfilter_flags;
    [FieldOffset(16)] public uint tcx_relative_fd;
    [FieldOffset(16)] public uint tcx_relative_id;
    [FieldOffset(24)] public ulong tcx_expected_revision;
    [FieldOffset(16)] public ulong uprobe_multi_path;
    [FieldOffset(24)] public ulong uprobe_multi_offsets;
    [FieldOffset(32)] public ulong uprobe_multi_ref_ctr_offsets;
    [FieldOffset(40)] public ulong uprobe_multi_cookies;
    [FieldOffset(48)] public uint uprobe_multi_cnt;
    [FieldOffset(52)] public uint uprobe_multi_flags;
    [FieldOffset(56)] public uint uprobe_multi_pid;
    [FieldOffset(16)] public uint netkit_relative_fd;
    [FieldOffset(24)] public ulong netkit_expected_revision;
    [FieldOffset(16)] public uint cgroup_relative_fd;
    [FieldOffset(24)] public ulong cgroup_expected_revision;
}

/// <summary>BPF_LINK_UPDATE (<c>link_update</c> member).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct LinkUpdateAttr
{
    [FieldOffset(0)] public uint link_fd;
    [FieldOffset(4)] public uint new_prog_fd;
    [FieldOffset(4)] public uint new_map_fd;
    [FieldOffset(8)] public uint flags;
    [FieldOffset(12)] public uint old_prog_fd;
    [FieldOffset(12)] public uint old_map_fd;
}

/// <summary>BPF_LINK_DETACH (<c>link_detach</c> member).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LinkDetachAttr
{
    public uint link_fd;
}

/// <summary>BPF_ENABLE_STATS (<c>enable_stats</c> member).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct EnableStatsAttr
{
    public uint type;
}

/// <summary>BPF_ITER_CREATE (<c>iter_create</c> member).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IterCreateAttr
{
    public uint link_fd;
    public uint flags;
}

/// <summary>BPF_PROG_BIND_MAP (<c>prog_bind_map</c> member).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ProgBindMapAttr
{
    public uint prog_fd;
    public uint map_fd;
    public uint flags;
}
