// sockops, sk_skb and sk_msg programs around a sockmap and a sockhash.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__type(key, __u64);
	__type(value, __u64);
	__uint(max_entries, 8);
} sock_hash SEC(".maps");

SEC("sockops")
int sockops_prog(struct bpf_sock_ops *ops)
{
	return 1;
}

SEC("sk_skb/stream_parser")
int skb_parser(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int skb_verdict(struct __sk_buff *skb)
{
	return bpf_sk_redirect_map(skb, &socks, 0, 0);
}

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	__u64 key = 0;
	return bpf_msg_redirect_hash(msg, &sock_hash, &key, 0);
}

char LICENSE[] SEC("license") = "GPL";
