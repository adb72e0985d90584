// execsnoop: traces exec() through the syscalls:sys_enter_execve / sys_exit_execve tracepoints. The entry
// copies the file name and the first arguments into a per-thread slot; the exit emits one ring buffer record
// with the return value, so failed execs are reported too.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tools.h"

#define ARGSIZE 128
#define MAX_ARGS 20
#define FULL_MAX_ARGS_ARR (MAX_ARGS * ARGSIZE)

struct exec_event {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__s32 retval;
	__s32 args_count;
	__u32 args_size;
	char comm[TASK_COMM_LEN];
	char args[FULL_MAX_ARGS_ARR];
};

const volatile __u32 targ_uid = (__u32)-1;
const volatile bool ignore_failed = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct exec_event);
} execs SEC(".maps");

TOOL_EVENTS(1 << 22);

static const struct exec_event empty_event = {};

SEC("tracepoint/syscalls/sys_enter_execve")
int tracepoint__syscalls__sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	struct task_struct *task;
	struct exec_event *event;
	const char **argv;
	const char *argp;
	int i, ret;

	if (targ_uid != (__u32)-1 && targ_uid != uid)
		return 0;
	if (bpf_map_update_elem(&execs, &tid, &empty_event, BPF_NOEXIST))
		return 0;
	event = bpf_map_lookup_elem(&execs, &tid);
	if (!event)
		return 0;

	event->pid = id >> 32;
	event->uid = uid;
	task = (struct task_struct *)bpf_get_current_task();
	event->ppid = BPF_CORE_READ(task, real_parent, tgid);
	event->args_count = 0;
	event->args_size = 0;

	ret = bpf_probe_read_user_str(event->args, ARGSIZE, (const char *)ctx->args[0]);
	if (ret < 0)
		return 0;
	if (ret <= ARGSIZE)
		event->args_size += ret;
	else {
		event->args[0] = '\0';
		event->args_size++;
	}
	event->args_count++;

	argv = (const char **)ctx->args[1];
#pragma unroll
	for (i = 1; i < MAX_ARGS; i++) {
		if (bpf_probe_read_user(&argp, sizeof(argp), &argv[i]) || !argp)
			return 0;
		if (event->args_size > FULL_MAX_ARGS_ARR - ARGSIZE)
			return 0;
		ret = bpf_probe_read_user_str(&event->args[event->args_size], ARGSIZE, argp);
		if (ret < 0)
			return 0;
		event->args_count++;
		event->args_size += ret;
	}
	/* more arguments than we copy: count one more so the tool prints "..." */
	if (bpf_probe_read_user(&argp, sizeof(argp), &argv[MAX_ARGS]) == 0 && argp)
		event->args_count++;
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int tracepoint__syscalls__sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_event *event;
	long ret;

	event = bpf_map_lookup_elem(&execs, &tid);
	if (!event)
		return 0;
	ret = ctx->ret;
	if (ignore_failed && ret < 0)
		goto cleanup;
	event->retval = ret;
	bpf_get_current_comm(&event->comm, sizeof(event->comm));
	{
		__u32 len = event->args_size;
		if (len > FULL_MAX_ARGS_ARR)
			len = FULL_MAX_ARGS_ARR;
		if (bpf_ringbuf_output(&events, event, sizeof(*event) - FULL_MAX_ARGS_ARR + len, 0))
			count_drop();
	}
cleanup:
	bpf_map_delete_elem(&execs, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
