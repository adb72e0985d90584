// pktcount: counts packets and bytes per IP protocol seen by a packet socket, with a socket filter that reads
// the protocol byte through the legacy packet load (the seed's load_byte). The filter returns 0: the socket
// never queues a packet, it only counts.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

struct counter {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct counter);
} counts SEC(".maps");

SEC("socket")
int pktcount(struct __sk_buff *skb)
{
	__u32 proto;
	struct counter *c;

	/* skb->protocol is in network byte order */
	if (skb->protocol == __builtin_bswap16(ETH_P_IP))
		proto = load_byte(skb, ETH_HLEN + 9);        /* iphdr.protocol */
	else if (skb->protocol == __builtin_bswap16(ETH_P_IPV6))
		proto = load_byte(skb, ETH_HLEN + 6);        /* ipv6hdr.nexthdr */
	else
		return 0;
	c = bpf_map_lookup_elem(&counts, &proto);
	if (c) {
		c->packets++;
		c->bytes += skb->len;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
