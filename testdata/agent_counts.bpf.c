// agent_counts: a user object for `sharpbpf agent` tests. Counts syscalls per (comm, syscall number, kind) in a
// hash map with a BTF struct key (char array, u32, enum) and keeps a per-CPU log2 histogram of syscall numbers per
// kind, so the agent's BTF label decoding, per-CPU summing and histogram exposition can be checked.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

enum call_kind {
	KIND_LOW = 0,	/* syscall number < 64 */
	KIND_HIGH = 1,
};

struct count_key {
	char comm[16];
	__u32 nr;
	enum call_kind kind;
};

struct count_value {
	__u64 calls;
	__u64 reserved;
};

struct slots {
	__u64 slots[12];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct count_key);
	__type(value, struct count_value);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, enum call_kind);
	__type(value, struct slots);
} nr_hist SEC(".maps");

/* the tracepoint's format: 8 bytes of common fields, then long id and the six arguments */
struct sys_enter_args {
	__u64 common;
	long id;
	unsigned long args[6];
};

SEC("tracepoint/raw_syscalls/sys_enter")
int count_sys_enter(struct sys_enter_args *ctx)
{
	struct count_key key = {};
	struct count_value one = { .calls = 1 }, *v;
	struct slots *h;
	__u64 nr = (__u64)ctx->id, slot = 0, x;
	__u32 kind;

	if (nr > 1023)
		return 0;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.nr = (__u32)nr;
	key.kind = nr < 64 ? KIND_LOW : KIND_HIGH;
	v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(&v->calls, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	for (x = nr; x > 1 && slot < 11; x >>= 1)
		slot++;
	kind = key.kind;
	h = bpf_map_lookup_elem(&nr_hist, &kind);
	if (h && slot < 12)
		h->slots[slot]++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
