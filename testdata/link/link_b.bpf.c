// Static linking (ObjectLinker, `sharpbpf obj link`): defines the map, the global variable and the global
// function that link_a.bpf.c declares extern, and the strong definition of its weak link_weak. The linker tests
// link the pair (in both orders), load the result and run both programs (XDP test runs).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} link_results SEC(".maps");

const volatile __u64 b_rodata = 1000; // .rodata of this object
__u64 b_counter = 5;                   // .data, extern in link_a
static __u64 b_static = 13;            // .data, reached through the section symbol plus an offset

// Same name as link_a's static subprogram: static symbols stay per object.
static __noinline __u64 scale(__u64 x)
{
	return x * 5;
}

// Global function, called from link_a through an extern declaration.
__noinline __u64 link_add(__u64 x)
{
	return x + b_rodata + scale(x);
}

// A string literal (.rodata.str1.1) read through its address.
__noinline __u64 link_text(void)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), "linkB!!");
	return v;
}

struct link_pair {
	__u64 first, second;
};

// Takes a struct link_a knows only as a forward declaration.
__noinline __u64 link_pair_sum(struct link_pair *p)
{
	return p ? p->first + p->second : 0;
}

// Strong: wins over link_a's weak definition whichever object comes first.
__noinline __u64 link_weak(__u64 x)
{
	return x + 2;
}

SEC("xdp")
int link_b_prog(struct xdp_md *ctx)
{
	__u32 k = 3;
	__u64 v = scale(2) + b_rodata;
	bpf_map_update_elem(&link_results, &k, &v, 0);
	k = 9;
	b_static += 2;
	v = b_static;
	bpf_map_update_elem(&link_results, &k, &v, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
