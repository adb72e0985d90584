// Inspection fixtures for the CLI: a hash map whose key and value have rich BTF types (struct, enum, char array,
// nested array, union, anonymous union, bitfield, bool, pointer, 128-bit int) printed by `sharpbpf map dump`, a
// per-CPU array, a bpf-to-bpf call and helper calls for `prog dump xlated|jited`, and a bpf_printk of a
// packet-chosen marker for `sharpbpf tracelog`.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum color { RED = 0, GREEN = 1, BLUE = 7 };

struct inner {
	__u16 a;
	__s8 b;
};

struct key {
	__u32 pid;
	__u16 port;
};

struct value {
	__u64 count;
	char comm[16];
	enum color color;
	__u32 arr[3];
	struct inner in;
	union {
		__u32 u;
		__u8 bytes[4];
	} un;
	__u32 flag : 1, level : 3;
	__s32 delta;
	union {
		__u32 anon_u;
		__u16 anon_h;
	};
	_Bool ok;
	char ch;
	void *ptr;
	enum color other;
	unsigned __int128 big;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct key);
	__type(value, struct value);
} inspect_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} inspect_pcpu SEC(".maps");

static __noinline int bump(struct key *k)
{
	struct value *v = bpf_map_lookup_elem(&inspect_hash, k);
	if (!v)
		return 0;
	v->count++;
	return 1;
}

SEC("xdp")
int inspect_xdp(struct xdp_md *ctx)
{
	struct key k = { .pid = 1, .port = 80 };
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&inspect_pcpu, &zero);
	if (c)
		(*c)++;
	return bump(&k) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int printk_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + 4 > end)
		return XDP_ABORTED;
	bpf_printk("sharpbpf-marker %u", *(__u32 *)data);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
