// sk_skb and sk_msg programs for the socket map attach tests.
// stream_verdict redirects everything a socket in `socks` receives out of the socket at `socks[0]`;
// msg_verdict counts what sockets in `sock_hash` send and drops messages of exactly 13 bytes.
// Slots of `counts`: 0 = parsed, 1 = redirected, 2 = messages, 3 = message bytes, 4 = dropped messages.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} sock_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void add(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);
	if (v)
		__sync_fetch_and_add(v, n);
}

SEC("sk_skb/stream_parser")
int stream_parser(struct __sk_buff *skb)
{
	add(0, 1);
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int stream_verdict(struct __sk_buff *skb)
{
	add(1, 1);
	return bpf_sk_redirect_map(skb, &socks, 0, 0);
}

SEC("sk_msg")
int msg_verdict(struct sk_msg_md *msg)
{
	add(2, 1);
	add(3, msg->size);
	if (msg->size == 13) {
		add(4, 1);
		return SK_DROP;
	}
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
