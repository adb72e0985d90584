// A netfilter program (Linux 6.4) that counts UDP datagrams to port 9 and drops them when `drop` is set.
// Slots of `counts`: 0 = seen, 1 = dropped. The IPv4 header is read through the skb (CO-RE field reads and
// bpf_probe_read_kernel), since netfilter programs get no direct packet access.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

#define NF_DROP 0
#define NF_ACCEPT 1

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

volatile const __u8 drop = 1;

static __always_inline void add(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("netfilter")
int nf_udp9(struct bpf_nf_ctx *ctx)
{
	struct sk_buff *skb = ctx->skb;
	struct iphdr ip;
	struct udphdr udp;
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);

	if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) || ip.version != 4 || ip.protocol != IPPROTO_UDP)
		return NF_ACCEPT;
	if (bpf_probe_read_kernel(&udp, sizeof(udp), head + nh + ip.ihl * 4))
		return NF_ACCEPT;
	if (udp.dest != bpf_htons(9))
		return NF_ACCEPT;
	add(0);
	if (drop) {
		add(1);
		return NF_DROP;
	}
	return NF_ACCEPT;
}

char LICENSE[] SEC("license") = "GPL";
