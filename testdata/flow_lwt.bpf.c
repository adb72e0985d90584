// Flow dissector, lwt and sk_reuseport sections.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("flow_dissector")
int dissect(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_in")
int lwt_in_prog(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_xmit")
int lwt_xmit_prog(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("sk_reuseport")
int reuseport_prog(struct sk_reuseport_md *md)
{
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
