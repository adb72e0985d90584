// A BPF iterator over tasks (iter/task).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct seq_file;
struct task_struct;
struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};
struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};

SEC("iter/task")
int iter_tasks(struct bpf_iter__task *ctx)
{
	if (!ctx->task)
		return 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
