// xdpstats: per-protocol packet and byte counters of an interface, counted by an XDP program that passes every
// packet on (IPv4/IPv6 by next protocol; other ethertypes under slot 0).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

TOOL_PROTO_COUNTERS();

SEC("xdp")
int xdpstats(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 proto = 0;
	__u16 h_proto;
	void *l3;

	if ((void *)(eth + 1) > data_end)
		goto count;
	h_proto = eth->h_proto;
	l3 = eth + 1;
	if (h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l3;
		if ((void *)(vh + 1) > data_end)
			goto count;
		h_proto = vh->h_vlan_encapsulated_proto;
		l3 = vh + 1;
	}
	if (h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = l3;
		if ((void *)(iph + 1) <= data_end)
			proto = iph->protocol;
	} else if (h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = l3;
		if ((void *)(ip6h + 1) <= data_end)
			proto = ip6h->nexthdr;
	}
count:
	count_proto(proto, data_end - data);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
