// Drops UDP frames to port 9 and counts verdicts in a BTF-defined array map.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} verdicts SEC(".maps");

static __always_inline void count(__u32 verdict)
{
	__u64 *v = bpf_map_lookup_elem(&verdicts, &verdict);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int xdp_port_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		goto pass;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		goto pass;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		goto pass;
	if (udp->dest == bpf_htons(9)) {
		count(XDP_DROP);
		return XDP_DROP;
	}
pass:
	count(XDP_PASS);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
