// Old-style map definitions in the "maps" section (struct bpf_map_def), as RedBPF and old BCC code emit them,
// plus a "version" section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def_legacy {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def_legacy SEC("maps") packets = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 1,
};

struct bpf_map_def_legacy SEC("maps") lengths = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 64,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket")
int legacy_count(struct __sk_buff *skb)
{
	__u32 zero = 0, len = skb->len;
	__u64 one = 1, *v = bpf_map_lookup_elem(&packets, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);
	v = bpf_map_lookup_elem(&lengths, &len);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&lengths, &len, &one, BPF_ANY);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
__u32 VERSION SEC("version") = 0x060100;
