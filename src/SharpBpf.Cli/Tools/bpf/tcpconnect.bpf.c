// tcpconnect: traces active TCP connects from the sock:inet_sock_set_state tracepoint (CLOSE -> SYN_SENT runs
// in the context of the process calling connect()).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7

struct connect_event {
	__u8 saddr[16];
	__u8 daddr[16];
	__u64 ts;
	__u32 pid;
	__u32 uid;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 pad;
	char comm[TASK_COMM_LEN];
};

const volatile __u32 targ_pid = 0;
const volatile __u16 targ_dport = 0;

TOOL_EVENTS(1 << 20);

SEC("tracepoint/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct connect_event *e;

	if (ctx->protocol != IPPROTO_TCP || ctx->oldstate != TCP_CLOSE || ctx->newstate != TCP_SYN_SENT)
		return 0;
	if (targ_pid && targ_pid != pid)
		return 0;
	if (targ_dport && targ_dport != ctx->dport)
		return 0;
	e = reserve_event(sizeof(*e));
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->pid = pid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	e->family = ctx->family;
	e->pad = 0;
	if (ctx->family == AF_INET) {
		__builtin_memset(e->saddr, 0, sizeof(e->saddr));
		__builtin_memset(e->daddr, 0, sizeof(e->daddr));
		bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
	}
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
