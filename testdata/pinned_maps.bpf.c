// A map pinned by name (LIBBPF_PIN_BY_NAME): a second load reuses the pinned map.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shared_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} private_counts SEC(".maps");

SEC("syscall")
int pinned_maps(void *ctx)
{
	__u32 key = 1;
	__u64 one = 1, *v = bpf_map_lookup_elem(&shared_counts, &key);
	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&shared_counts, &key, &one, BPF_ANY);
	v = bpf_map_lookup_elem(&private_counts, &(__u32){0});
	if (v)
		*v += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
