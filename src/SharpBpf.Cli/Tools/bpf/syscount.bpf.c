// syscount: counts system calls (and their total latency) per syscall number or per process, from the
// raw_syscalls:sys_enter / sys_exit tracepoints.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct data_t {
	__u64 count;
	__u64 total_ns;
	char comm[TASK_COMM_LEN];
};

const volatile __u32 targ_pid = 0;
const volatile bool by_process = false;
const volatile bool filter_failed = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct data_t);
} data SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 ts;

	if (targ_pid && targ_pid != id >> 32)
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, key;
	static const struct data_t zero;
	struct data_t *val;
	__u64 *startp, delta;

	if (targ_pid && targ_pid != id >> 32)
		return 0;
	startp = bpf_map_lookup_elem(&start, &tid);
	if (!startp)
		return 0;
	delta = bpf_ktime_get_ns() - *startp;
	bpf_map_delete_elem(&start, &tid);
	if (filter_failed && ctx->ret >= 0)
		return 0;
	if (ctx->id < 0)
		return 0;
	key = by_process ? id >> 32 : (__u32)ctx->id;
	val = bpf_map_lookup_elem(&data, &key);
	if (!val) {
		bpf_map_update_elem(&data, &key, &zero, BPF_NOEXIST);
		val = bpf_map_lookup_elem(&data, &key);
		if (!val)
			return 0;
	}
	/* the latest name: a child's first calls still run under its parent's name, before exec */
	if (by_process)
		bpf_get_current_comm(&val->comm, sizeof(val->comm));
	__sync_fetch_and_add(&val->count, 1);
	__sync_fetch_and_add(&val->total_ns, delta);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
