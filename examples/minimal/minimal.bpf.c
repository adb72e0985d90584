// minimal: like libbpf-bootstrap's minimal.bpf.c — a tracepoint program that bpf_printk()s when the process the
// loader names (my_pid, set before load) calls write().
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile int my_pid = 0;

SEC("tracepoint/syscalls/sys_enter_write")
int handle_tp(void *ctx)
{
	int pid = bpf_get_current_pid_tgid() >> 32;

	if (pid != my_pid)
		return 0;
	bpf_printk("BPF triggered from PID %d.", pid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
