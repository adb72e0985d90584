// bashreadline: prints the command lines bash reads, from a uretprobe on readline() (in bash itself or in
// libreadline); the tool attaches it to the binary that exports the symbol.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tools.h"

#define MAX_LINE_SIZE 80

struct readline_event {
	__u32 pid;
	char comm[TASK_COMM_LEN];
	char str[MAX_LINE_SIZE];
};

TOOL_EVENTS(1 << 18);

SEC("uretprobe")
int BPF_KRETPROBE(printret, const void *ret)
{
	struct readline_event *e;
	char comm[TASK_COMM_LEN];

	if (!ret)
		return 0;
	bpf_get_current_comm(&comm, sizeof(comm));
	if (comm[0] != 'b' || comm[1] != 'a' || comm[2] != 's' || comm[3] != 'h' || comm[4] != 0)
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	__builtin_memcpy(e->comm, comm, sizeof(comm));
	if (bpf_probe_read_user_str(e->str, sizeof(e->str), ret) < 0)
		e->str[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
