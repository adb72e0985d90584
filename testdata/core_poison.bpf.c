// CO-RE failure: a field the kernel does not have, read without a bpf_core_field_exists guard. The relocation
// cannot be resolved, the load instruction is poisoned, and because it is reachable the verifier rejects the
// program; the loader names the relocation. 'core_ok' in the same object loads fine.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct {
	int pid;
	long sharpbpf_no_such_field;
} __attribute__((preserve_access_index));

__u64 out;

SEC("raw_tp")
int core_unguarded(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();

	out = t->sharpbpf_no_such_field;
	return 0;
}

SEC("raw_tp")
int core_ok(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();

	out = t->pid;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
