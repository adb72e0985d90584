// Compute-heavy and packet-touching programs for the userspace VM: differential tests run them in the kernel
// (BPF_PROG_TEST_RUN) and in SharpBpf.Vm on generated frames; bench/ runs the same C (vm_compute.h) natively.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "vm_compute.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} results SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} protos SEC(".maps");

static __always_inline void put(__u32 slot, __u64 value)
{
	__u64 *v = bpf_map_lookup_elem(&results, &slot);
	if (v)
		*v = value;
}

SEC("xdp")
int vmc_checksum(struct xdp_md *ctx)
{
	const unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u16 sum = vmc_csum(data, end);
	put(0, sum);
	return sum & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int vmc_hashloop(struct xdp_md *ctx)
{
	const unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 h = vmc_hash(data, end);
	put(1, h);
	return h % 5;
}

SEC("xdp")
int vmc_parser(struct xdp_md *ctx)
{
	const unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct vmc_flow f;
	if (!vmc_parse(data, end, &f))
		return XDP_ABORTED;
	__u32 key = f.l3 << 8 | f.proto;
	__u64 one = 1, *n = bpf_map_lookup_elem(&protos, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&protos, &key, &one, BPF_NOEXIST);
	put(2, vmc_flow_hash(&f));
	return f.dport == 22 ? XDP_DROP : XDP_PASS;
}

/* Swaps the MAC addresses and, for IPv4, decrements the TTL with an incremental checksum update (RFC 1624). */
SEC("xdp")
int vmc_rewrite(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (data + 34 > end)
		return XDP_PASS;
	for (int i = 0; i < 6; i++) {
		unsigned char t = data[i];
		data[i] = data[6 + i];
		data[6 + i] = t;
	}
	if (vmc_be16(data + 12) != 0x0800)
		return XDP_TX;
	unsigned char *ip = data + 14;
	if (ip[8] <= 1)
		return XDP_DROP;
	__u32 old = vmc_be16(ip + 8);
	ip[8]--;
	__u32 new = vmc_be16(ip + 8);
	__u32 sum = (__u16)~vmc_be16(ip + 10) + (__u16)~old + new;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	ip[10] = sum >> 8;
	ip[11] = sum & 0xff;
	return XDP_TX;
}

SEC("tc")
int vmc_tc(struct __sk_buff *skb)
{
	const unsigned char *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct vmc_flow f;
	if (!vmc_parse(data, end, &f))
		return TC_ACT_SHOT;
	skb->mark = f.proto << 16 | f.vlans;
	skb->priority = f.dport;
	put(3, vmc_flow_hash(&f) ^ skb->len);
	return f.proto == 17 ? TC_ACT_OK : TC_ACT_UNSPEC;
}

/* Legacy packet loads (LD_ABS/LD_IND): a socket filter's data starts at the network header. */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

SEC("socket")
int vmc_socket(struct __sk_buff *skb)
{
	__u32 first = load_byte(skb, 0);
	if ((first >> 4) != 4)
		return 0;
	__u32 ihl = (first & 0xf) * 4;
	__u32 proto = load_byte(skb, 9);
	if (proto != 17 && proto != 6)
		return 0;
	__u32 dport = load_half(skb, ihl + 2);
	return dport < 1024 ? skb->len : (int)(dport & 0xff);
}

char LICENSE[] SEC("license") = "GPL";
