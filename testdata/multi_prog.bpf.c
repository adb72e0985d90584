// Several programs in one section, sharing a static subprogram and a map.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 2);
} hits SEC(".maps");

static __noinline int bump(__u32 which)
{
	__u32 *v = bpf_map_lookup_elem(&hits, &which);
	if (v)
		__sync_fetch_and_add(v, 1);
	return which;
}

SEC("xdp")
int multi_first(struct xdp_md *ctx)
{
	return bump(0) + XDP_PASS;
}

SEC("xdp")
int multi_second(struct xdp_md *ctx)
{
	return bump(1) ? XDP_DROP : XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
