// Array of maps and hash of maps with an inner map definition and initial 'values'.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
};

struct inner inner_a SEC(".maps");
struct inner inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
} outer_array SEC(".maps") = {
	.values = { &inner_a, &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer_hash SEC(".maps") = {
	.values = { [3] = &inner_b },
};

SEC("syscall")
int map_in_map(void *ctx)
{
	__u32 key = 0, one = 1, three = 3;
	__u32 *inner = bpf_map_lookup_elem(&outer_array, &one);
	if (!inner)
		return -1;
	__u32 *v = bpf_map_lookup_elem(inner, &key);
	if (!v)
		return -2;
	*v = 77;
	inner = bpf_map_lookup_elem(&outer_hash, &three);
	if (!inner)
		return -3;
	v = bpf_map_lookup_elem(inner, &key);
	return v ? *v : -4;
}

char LICENSE[] SEC("license") = "GPL";
