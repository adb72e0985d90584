// tcplife: one line per closed TCP session with its duration and bytes, from sock:inet_sock_set_state. The
// birth time is taken when the socket first leaves CLOSE/LISTEN, the owning process when it connects
// (SYN_SENT) or closes (LAST_ACK), and the byte counts from the tcp_sock when it reaches CLOSE.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tools.h"

#define AF_INET 2
#define IPPROTO_TCP 6
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_FIN_WAIT1 4
#define TCP_CLOSE 7
#define TCP_LAST_ACK 9

struct ident {
	__u32 pid;
	char comm[TASK_COMM_LEN];
};

struct life_event {
	__u8 saddr[16];
	__u8 daddr[16];
	__u64 span_us;
	__u64 rx_b;
	__u64 tx_b;
	__u32 pid;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 pad[3];
	char comm[TASK_COMM_LEN];
};

const volatile __u32 targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, const void *);
	__type(value, __u64);
} birth SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, const void *);
	__type(value, struct ident);
} idents SEC(".maps");

TOOL_EVENTS(1 << 20);

SEC("tracepoint/sock/inet_sock_set_state")
int inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	const void *sk = ctx->skaddr;
	__u64 ts, *start;
	struct ident *identp, me;
	struct life_event *e;
	struct tcp_sock *tp;
	__u32 pid;
	/* every context field is read once, up front: clang would otherwise add a relocated offset to the context
	 * pointer, which the verifier rejects ("dereference of modified ctx ptr") */
	int newstate = ctx->newstate;
	__u16 family = ctx->family, sport = ctx->sport, dport = ctx->dport;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (newstate < TCP_FIN_WAIT1) {
		ts = bpf_ktime_get_ns();
		bpf_map_update_elem(&birth, &sk, &ts, BPF_NOEXIST);
	}
	if (newstate == TCP_SYN_SENT || newstate == TCP_LAST_ACK) {
		pid = bpf_get_current_pid_tgid() >> 32;
		if (targ_pid && targ_pid != pid)
			return 0;
		me.pid = pid;
		bpf_get_current_comm(&me.comm, sizeof(me.comm));
		bpf_map_update_elem(&idents, &sk, &me, BPF_ANY);
	}
	if (newstate != TCP_CLOSE)
		return 0;

	start = bpf_map_lookup_elem(&birth, &sk);
	if (!start) {
		bpf_map_delete_elem(&idents, &sk);
		return 0;
	}
	ts = bpf_ktime_get_ns();
	identp = bpf_map_lookup_elem(&idents, &sk);
	pid = identp ? identp->pid : bpf_get_current_pid_tgid() >> 32;
	if (targ_pid && targ_pid != pid)
		goto cleanup;

	e = reserve_event(sizeof(*e));
	if (!e)
		goto cleanup;
	tp = (struct tcp_sock *)sk;
	e->span_us = (ts - *start) / 1000;
	e->rx_b = BPF_CORE_READ(tp, bytes_received);
	e->tx_b = BPF_CORE_READ(tp, bytes_acked);
	e->pid = pid;
	e->sport = sport;
	e->dport = dport;
	e->family = family;
	e->pad[0] = e->pad[1] = e->pad[2] = 0;
	if (identp)
		__builtin_memcpy(e->comm, identp->comm, sizeof(e->comm));
	else
		bpf_get_current_comm(&e->comm, sizeof(e->comm));
	if (family == AF_INET) {
		__builtin_memset(e->saddr, 0, sizeof(e->saddr));
		__builtin_memset(e->daddr, 0, sizeof(e->daddr));
		bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
	}
	bpf_ringbuf_submit(e, 0);
cleanup:
	bpf_map_delete_elem(&birth, &sk);
	bpf_map_delete_elem(&idents, &sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
