// tracepoint, tp and raw_tracepoint programs; a per-CPU hash counting syscalls by id.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u64);
	__type(value, __u64);
	__uint(max_entries, 512);
} syscalls SEC(".maps");

struct sys_enter_args {
	__u64 common;
	long id;
	unsigned long args[6];
};

SEC("tracepoint/raw_syscalls/sys_enter")
int tp_sys_enter(struct sys_enter_args *args)
{
	__u64 id = args->id, one = 1;
	__u64 *v = bpf_map_lookup_elem(&syscalls, &id);
	if (v)
		(*v)++;
	else
		bpf_map_update_elem(&syscalls, &id, &one, BPF_NOEXIST);
	return 0;
}

SEC("tp/sched/sched_process_exec")
int tp_exec(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int raw_tp_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	/* args[1] is the syscall id: return it so a test run can check the context was read */
	return ctx->args[1];
}

SEC("raw_tp/sys_exit")
int raw_tp_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
