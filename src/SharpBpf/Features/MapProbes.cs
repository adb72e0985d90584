using SharpBpf.Interop;

namespace SharpBpf.Features;

using MT = SharpBpf.Maps.MapType;

/// <summary>Map type probes: the smallest valid BPF_MAP_CREATE for each type.</summary>
internal static class MapProbes
{
    private const uint NoPrealloc = 1, Mmapable = 1 << 10;

    public static FeatureStatus Probe(MT type)
    {
        var attr = new MapCreateAttr { map_type = (uint)type, key_size = 4, value_size = 4, max_entries = 1 };
        SafeBpfFd? helper = null; // an inner map or a BTF object the probe needs
        try
        {
            switch (type)
            {
                case MT.LpmTrie:
                    attr.key_size = 8;
                    attr.value_size = 8;
                    attr.map_flags = NoPrealloc;
                    break;
                case MT.StackTrace:
                    attr.value_size = 8;
                    break;
                case MT.Queue or MT.Stack or MT.BloomFilter:
                    attr.key_size = 0;
                    break;
                case MT.RingBuf or MT.UserRingBuf:
                    attr.key_size = 0;
                    attr.value_size = 0;
                    attr.max_entries = (uint)Environment.SystemPageSize;
                    break;
                case MT.Arena:
                    attr.key_size = 0;
                    attr.value_size = 0;
                    attr.map_flags = Mmapable;
                    break;
                case MT.CgroupStorage or MT.PerCpuCgroupStorage:
                    attr.key_size = 16; // struct bpf_cgroup_storage_key { u64 cgroup_inode_id; u32 attach_type; } padded
                    attr.value_size = 8;
                    attr.max_entries = 0;
                    break;
                case MT.SkStorage or MT.InodeStorage or MT.TaskStorage or MT.CgrpStorage:
                    helper = ProbeKit.TryLoadProbeBtf(out int btfErrno);
                    if (helper is null) return ProbeKit.Failure("BPF_BTF_LOAD of the probe BTF for a local-storage map", btfErrno);
                    attr.map_flags = NoPrealloc;
                    attr.max_entries = 0;
                    attr.btf_fd = (uint)helper.Fd;
                    attr.btf_key_type_id = 1;
                    attr.btf_value_type_id = 1;
                    break;
                case MT.ArrayOfMaps or MT.HashOfMaps:
                    helper = ProbeKit.TryCreateArray(out int innerErrno);
                    if (helper is null) return ProbeKit.Failure("BPF_MAP_CREATE of the inner array map", innerErrno);
                    attr.inner_map_fd = (uint)helper.Fd;
                    break;
                case MT.StructOps:
                {
                    uint id = KernelStructId("bpf_struct_ops_tcp_congestion_ops", out uint size);
                    if (id == 0) return FeatureStatus.NotSupported("the kernel BTF has no struct bpf_struct_ops_tcp_congestion_ops");
                    // The kernel also wants the (object's) BTF the struct_ops value came from: any valid BTF fd.
                    helper = ProbeKit.TryLoadProbeBtf(out int soErrno);
                    if (helper is null) return ProbeKit.Failure("BPF_BTF_LOAD of the probe BTF for a struct_ops map", soErrno);
                    attr.btf_fd = (uint)helper.Fd;
                    attr.btf_vmlinux_value_type_id = id;
                    attr.value_size = size;
                    break;
                }
            }
            using var fd = ProbeKit.TryCreateMap(ref attr, out int errno);
            return fd is not null ? FeatureStatus.Supported : ProbeKit.Failure($"BPF_MAP_CREATE of a {type} map", errno);
        }
        finally
        {
            helper?.Dispose();
        }
    }

    private static uint KernelStructId(string name, out uint size)
    {
        size = 0;
        if (!SharpBpf.Btf.BtfSpec.Kernel.TryTypeByName(name, SharpBpf.Btf.BtfKind.Struct, out var t)) return 0;
        size = ((SharpBpf.Btf.BtfStruct)t).Size;
        return t.Id;
    }
}
