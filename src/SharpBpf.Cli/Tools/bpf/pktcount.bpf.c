// pktcount: counts packets and bytes per IP protocol seen by a packet socket, with a socket filter that reads
// the protocol byte through the legacy packet load (the seed's load_byte). The filter returns 0: the socket
// never queues a packet, it only counts.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

TOOL_PROTO_COUNTERS();

SEC("socket")
int pktcount(struct __sk_buff *skb)
{
	__u32 proto;

	/* skb->protocol is in network byte order */
	if (skb->protocol == __builtin_bswap16(ETH_P_IP))
		proto = load_byte(skb, ETH_HLEN + 9);        /* iphdr.protocol */
	else if (skb->protocol == __builtin_bswap16(ETH_P_IPV6))
		proto = load_byte(skb, ETH_HLEN + 6);        /* ipv6hdr.nexthdr */
	else
		return 0;
	count_proto(proto, skb->len);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
