// A map value with a bpf_spin_lock: the kernel needs the map's BTF to accept it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct locked {
	struct bpf_spin_lock lock;
	__u64 value;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct locked);
	__uint(max_entries, 1);
} counter SEC(".maps");

SEC("tc")
int spin_lock_prog(struct __sk_buff *skb)
{
	__u32 key = 0;
	struct locked *l = bpf_map_lookup_elem(&counter, &key);
	if (!l)
		return 0;
	bpf_spin_lock(&l->lock);
	l->value++;
	bpf_spin_unlock(&l->lock);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
