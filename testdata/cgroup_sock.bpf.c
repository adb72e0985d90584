// cgroup socket programs: sock_create, connect4 (sock_addr), sysctl, sockopt and device filters.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk)
{
	return 1;
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_port == __builtin_bswap16(9))
		return 0;
	return 1;
}

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sysctl")
int sysctl_filter(struct bpf_sysctl *ctx)
{
	return ctx->write ? 0 : 1;
}

SEC("cgroup/getsockopt")
int getsockopt_filter(struct bpf_sockopt *ctx)
{
	return 1;
}

SEC("cgroup/dev")
int device_filter(struct bpf_cgroup_dev_ctx *ctx)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
