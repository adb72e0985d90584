// tcpconnect: traces active TCP connects. Two variants, the CLI loads one: the sock:inet_sock_set_state tracepoint
// (CLOSE -> SYN_SENT runs in the context of the process calling connect()), and, where the kernel has kprobes,
// kprobes on tcp_v4_connect/tcp_v6_connect as libbpf-tools' tcpconnect does (entry keeps the socket per thread,
// return reports the connects that sent their SYN, with the source port already bound).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct sock *);
} sockets SEC(".maps");

static __always_inline int enter_connect(struct sock *sk)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	if (targ_pid && targ_pid != id >> 32)
		return 0;
	bpf_map_update_elem(&sockets, &tid, &sk, BPF_ANY);
	return 0;
}

static __always_inline int exit_connect(int ret, __u16 family)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct connect_event *e;
	struct sock **skp, *sk;
	__u16 dport;

	skp = bpf_map_lookup_elem(&sockets, &tid);
	if (!skp)
		return 0;
	sk = *skp;
	if (ret)
		goto end; /* the SYN was not sent */
	dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (targ_dport && targ_dport != dport)
		goto end;
	e = reserve_event(sizeof(*e));
	if (!e)
		goto end;
	e->ts = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = dport;
	e->family = family;
	e->pad = 0;
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	if (family == AF_INET) {
		BPF_CORE_READ_INTO(e->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO(e->daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(e->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
end:
	bpf_map_delete_elem(&sockets, &tid);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kprobe_tcp_v4_connect, struct sock *sk)
{
	return enter_connect(sk);
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(kretprobe_tcp_v4_connect, int ret)
{
	return exit_connect(ret, AF_INET);
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kprobe_tcp_v6_connect, struct sock *sk)
{
	return enter_connect(sk);
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(kretprobe_tcp_v6_connect, int ret)
{
	return exit_connect(ret, AF_INET6);
}

char LICENSE[] SEC("license") = "GPL";
