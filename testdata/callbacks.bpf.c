// Callbacks: bpf_loop and bpf_for_each_map_elem take the address of a static function (BPF_PSEUDO_FUNC).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} numbers SEC(".maps");

struct bpf_map;

struct loop_ctx {
	__u64 sum;
};

static int add_index(__u32 index, struct loop_ctx *c)
{
	c->sum += index;
	return 0;
}

static __u64 sum_values(struct bpf_map *map, __u32 *key, __u64 *value, struct loop_ctx *c)
{
	c->sum += *value;
	return 0;
}

SEC("syscall")
int callbacks(void *ctx)
{
	struct loop_ctx c = {};
	bpf_loop(10, add_index, &c, 0);           /* 0 + 1 + ... + 9 = 45 */
	bpf_for_each_map_elem(&numbers, sum_values, &c, 0);
	return c.sum;
}

char LICENSE[] SEC("license") = "GPL";
