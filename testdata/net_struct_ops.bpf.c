// A TCP congestion control written in BPF (struct tcp_congestion_ops): Reno through the kernel's kfuncs, counting
// how often each operation ran. `sharpbpf_cc` registers through a map update (SEC(".struct_ops")),
// `sharpbpf_ccl` through a struct_ops link (SEC(".struct_ops.link")).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

extern void tcp_reno_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) __ksym;
extern __u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern __u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

__u64 inits = 0;
__u64 cong_avoids = 0;
__u64 ssthreshs = 0;

SEC("struct_ops/sb_init")
void BPF_PROG(sb_init, struct sock *sk)
{
	__sync_fetch_and_add(&inits, 1);
}

SEC("struct_ops/sb_ssthresh")
__u32 BPF_PROG(sb_ssthresh, struct sock *sk)
{
	__sync_fetch_and_add(&ssthreshs, 1);
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops/sb_cong_avoid")
void BPF_PROG(sb_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&cong_avoids, 1);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops/sb_undo_cwnd")
__u32 BPF_PROG(sb_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops")
struct tcp_congestion_ops sharpbpf_cc = {
	.init = (void *)sb_init,
	.ssthresh = (void *)sb_ssthresh,
	.cong_avoid = (void *)sb_cong_avoid,
	.undo_cwnd = (void *)sb_undo_cwnd,
	.flags = 1, // TCP_CONG_NON_RESTRICTED: unprivileged sockets may choose it
	.name = "sharpbpf_cc",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops sharpbpf_ccl = {
	.ssthresh = (void *)sb_ssthresh,
	.cong_avoid = (void *)sb_cong_avoid,
	.undo_cwnd = (void *)sb_undo_cwnd,
	.name = "sharpbpf_ccl",
};

char LICENSE[] SEC("license") = "GPL";
