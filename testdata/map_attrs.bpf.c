// Map attributes from BTF: flags, numa_node, map_extra (bloom filter hashes), LRU, LPM trie, queue, stack,
// and a stack trace map that user space resizes before load.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key);
	__type(value, __u32);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 128);
	__uint(numa_node, 0);
	__uint(map_flags, BPF_F_NUMA_NODE);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__type(value, __u32);
	__uint(max_entries, 256);
	__uint(map_extra, 3);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__type(value, __u32);
	__uint(max_entries, 16);
} fifo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__type(value, __u32);
	__uint(max_entries, 16);
} lifo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
	__uint(max_entries, 1);
} stacks SEC(".maps");

SEC("xdp")
int map_attrs(struct xdp_md *ctx)
{
	struct lpm_key key = { .prefixlen = 32, .addr = 0x0100007f };
	__u32 value = 5, out = 0, hit = 0;
	bpf_map_push_elem(&fifo, &value, 0);
	value = 6;
	bpf_map_push_elem(&fifo, &value, 0);
	bpf_map_push_elem(&lifo, &value, 0);
	bpf_map_push_elem(&seen, &value, 0);
	if (bpf_map_peek_elem(&seen, &value) == 0)
		hit = 1;
	bpf_map_pop_elem(&fifo, &out);
	__u32 *r = bpf_map_lookup_elem(&routes, &key);
	__u64 one = 1;
	bpf_map_update_elem(&recent, &out, &one, BPF_ANY);
	/* 5 from the FIFO head, + 10 when the bloom filter has 6, + 100 when a route matched */
	return out + hit * 10 + (r ? 100 : 0);
}

char LICENSE[] SEC("license") = "GPL";
