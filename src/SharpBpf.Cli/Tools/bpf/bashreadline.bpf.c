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

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

SEC("uretprobe")
int BPF_KRETPROBE(printret, const void *ret)
{
	struct readline_event *e;
	char comm[TASK_COMM_LEN];
	__u32 zero = 0;
	__u64 *drop;

	if (!ret)
		return 0;
	bpf_get_current_comm(&comm, sizeof(comm));
	if (comm[0] != 'b' || comm[1] != 'a' || comm[2] != 's' || comm[3] != 'h' || comm[4] != 0)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		drop = bpf_map_lookup_elem(&drops, &zero);
		if (drop)
			__sync_fetch_and_add(drop, 1);
		return 0;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	__builtin_memcpy(e->comm, comm, sizeof(comm));
	if (bpf_probe_read_user_str(e->str, sizeof(e->str), ret) < 0)
		e->str[0] = '\0';
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
