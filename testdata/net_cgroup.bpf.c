// cgroup programs for the CgroupLink tests: count egress UDP datagrams to port 9, count socket creations, and
// rewrite connect() destinations from one port to another. Ports are set before load (.rodata).
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 from_port = 1;
const volatile __u16 to_port = 1;

__u64 udp9_packets;   // cgroup_skb egress: UDP datagrams to port 9
__u64 sockets;        // sock_create calls
__u64 rewrites;       // connect4 rewrites
__u64 established;    // sock_ops: active connections established

SEC("cgroup_skb/egress")
int count_udp9_egress(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;

	if (skb->protocol != bpf_htons(0x0800))
		return 1;
	if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != IPPROTO_UDP)
		return 1;
	if (bpf_skb_load_bytes(skb, ip.ihl * 4, &udp, sizeof(udp)))
		return 1;
	if (udp.dest == bpf_htons(9))
		__sync_fetch_and_add(&udp9_packets, 1);
	return 1;
}

SEC("cgroup_skb/ingress")
int pass_ingress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup/sock_create")
int count_sockets(struct bpf_sock *sk)
{
	__sync_fetch_and_add(&sockets, 1);
	return 1;
}

SEC("cgroup/connect4")
int rewrite_connect4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_port == bpf_htons(from_port)) {
		ctx->user_port = bpf_htons(to_port);
		__sync_fetch_and_add(&rewrites, 1);
	}
	return 1;
}

SEC("cgroup/connect6")
int pass_connect6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("sockops")
int count_established(struct bpf_sock_ops *ops)
{
	if (ops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		__sync_fetch_and_add(&established, 1);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
