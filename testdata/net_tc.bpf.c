// tc programs for the tcx / clsact tests: count or drop UDP to port 9, and record the order programs ran in.
// Slots of `counts`: 0 = counted, 1 = dropped, 2 = order (each program appends its digit: 12 = a then b).
// Every program returns TCX_NEXT / TC_ACT_UNSPEC (-1) unless it drops, so the next program or filter runs.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline int is_udp9(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
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

static __always_inline void append(__u64 digit)
{
	__u32 slot = 2;
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);
	if (v)
		*v = *v * 10 + digit;
}

SEC("tc")
int count_udp9(struct __sk_buff *skb)
{
	if (is_udp9(skb))
		add(0);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int drop_udp9(struct __sk_buff *skb)
{
	if (!is_udp9(skb))
		return TC_ACT_UNSPEC;
	add(1);
	return TC_ACT_SHOT;
}

SEC("tc")
int order_a(struct __sk_buff *skb)
{
	if (is_udp9(skb))
		append(1);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int order_b(struct __sk_buff *skb)
{
	if (is_udp9(skb))
		append(2);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int order_c(struct __sk_buff *skb)
{
	if (is_udp9(skb))
		append(3);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
