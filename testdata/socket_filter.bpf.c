// Socket filter: keeps the first 64 bytes of long packets, counts packets per length bucket in a per-CPU array.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} buckets SEC(".maps");

SEC("socket")
int socket_trim(struct __sk_buff *skb)
{
	__u32 bucket = skb->len / 100;
	if (bucket > 15)
		bucket = 15;
	__u64 *v = bpf_map_lookup_elem(&buckets, &bucket);
	if (v)
		(*v)++;
	return skb->len > 64 ? 64 : skb->len;
}

char LICENSE[] SEC("license") = "GPL";
