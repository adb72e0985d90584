// Static linking (ObjectLinker, `sharpbpf obj link`): calls a function, uses a map and a global variable that
// link_b.bpf.c defines (extern here), has its own .rodata constant, a static subprogram named like one in
// link_b, static .data variables, string literals and a CO-RE relocation. Only the linked pair loads (XDP test
// runs).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern __u64 link_add(__u64 x);
extern __u64 b_counter;
extern __u64 link_text(void);
struct link_pair; // only declared here (a BTF FWD); link_b defines it
extern __u64 link_pair_sum(struct link_pair *p);
extern struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} link_results SEC(".maps");

const volatile __u64 a_rodata = 7; // .rodata of this object
static __u64 a_static = 11;        // .data, reached through the section symbol plus an offset

struct task_struct {
	int pid;
} __attribute__((preserve_access_index));

static __noinline __u64 scale(__u64 x)
{
	return x * 3;
}

// Weak: link_b's strong definition replaces it.
__weak __noinline __u64 link_weak(__u64 x)
{
	return x + 1;
}

static __always_inline __u64 text(const char *s)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), s);
	return v;
}

static void put(__u32 k, __u64 v)
{
	bpf_map_update_elem(&link_results, &k, &v, 0);
}

SEC("xdp")
int link_a_prog(struct xdp_md *ctx)
{
	struct task_struct *t = 0;

	put(0, link_add(a_rodata));            // cross-object call: 7 + 1000 + 7 * 5
	put(1, scale(a_rodata));               // this object's scale: 7 * 3
	put(2, bpf_core_field_offset(t->pid)); // CO-RE: the kernel's offset of task_struct.pid
	b_counter += 10;                       // link_b's .data
	put(4, b_counter);
	put(5, link_weak(40));                 // link_b's strong definition: 42
	put(6, link_text());                   // link_b's string literal, through its .rodata.str1.1 piece
	put(7, text("linkA!!"));               // ours, in the same merged section
	a_static += 1;
	put(8, a_static);
	__u64 pair[2] = { 30, 12 };
	put(10, link_pair_sum((struct link_pair *)pair));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
