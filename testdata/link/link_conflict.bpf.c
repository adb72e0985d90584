// Static linking error case: declares link_b.bpf.c's map extern with another max_entries, which the linker
// must reject as a conflicting map definition (ObjectLinkerTests).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} link_results SEC(".maps");

SEC("xdp")
int link_conflict_prog(struct xdp_md *ctx)
{
	__u32 k = 7;
	__u64 v = 1;
	bpf_map_update_elem(&link_results, &k, &v, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
