// XDP redirect programs for the DevMap / DevMapHash / CpuMap tests, the programs those maps run on the
// redirected frames, a counting XDP_PASS program for the receiving veth, and a frags program.
// Slots of `counts`: 0 = redirected, 1 = arrived (count_pass), 2 = devmap egress program, 3 = cpumap program.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

// key of the tx_hash entry to redirect to (an ifindex, as DevMapHash users usually key it)
volatile const __u32 hash_key = 0;

// written by frags_len: bpf_xdp_get_buff_len and the linear part's length
__u64 buff_len = 0;
__u64 linear_len = 0;

static __always_inline int is_udp9(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)ip + sizeof(*ip);

	if ((void *)(udp + 1) > data_end)
		return 0;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return 0;
	return udp->dest == bpf_htons(9);
}

static __always_inline void add(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int redirect_dev(struct xdp_md *ctx)
{
	if (!is_udp9(ctx))
		return XDP_PASS;
	add(0);
	return bpf_redirect_map(&tx_ports, 0, XDP_DROP);
}

SEC("xdp")
int redirect_hash(struct xdp_md *ctx)
{
	if (!is_udp9(ctx))
		return XDP_PASS;
	add(0);
	return bpf_redirect_map(&tx_hash, hash_key, XDP_DROP);
}

SEC("xdp")
int redirect_cpu(struct xdp_md *ctx)
{
	if (!is_udp9(ctx))
		return XDP_PASS;
	add(0);
	return bpf_redirect_map(&cpus, 0, XDP_DROP);
}

SEC("xdp")
int count_pass(struct xdp_md *ctx)
{
	if (is_udp9(ctx))
		add(1);
	return XDP_PASS;
}

SEC("xdp/devmap")
int devmap_egress(struct xdp_md *ctx)
{
	if (is_udp9(ctx))
		add(2);
	return XDP_PASS;
}

SEC("xdp/cpumap")
int cpumap_run(struct xdp_md *ctx)
{
	if (is_udp9(ctx))
		add(3);
	return XDP_PASS;
}

SEC("xdp.frags")
int frags_len(struct xdp_md *ctx)
{
	buff_len = bpf_xdp_get_buff_len(ctx);
	linear_len = ctx->data_end - ctx->data;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
