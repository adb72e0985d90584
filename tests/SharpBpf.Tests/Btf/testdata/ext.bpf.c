// Small object for the .BTF.ext tests: two programs in two sections, a static subprogram (bpf-to-bpf call),
// a global variable and CO-RE field accesses (core_relo records).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct task_like {
	int pid;
	long flags;
} __attribute__((preserve_access_index));

int counter = 0;

static __attribute__((noinline)) int add(int a, int b)
{
	return a + b * 2;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	counter = add(counter, 1);
	return XDP_PASS;
}

SEC("socket")
int sock_core(struct __sk_buff *skb)
{
	struct task_like local = { .pid = skb->len, .flags = skb->mark };
	struct task_like *volatile p = &local;
	struct task_like *t = p;

	if (skb->len < 16)
		return 0;
	return add(t->pid, (int)t->flags);
}

char LICENSE[] SEC("license") = "GPL";
