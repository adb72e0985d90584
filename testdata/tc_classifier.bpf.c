// tc classifier: drops IPv6, marks IPv4 packets and accepts them.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("tc")
int tc_classify(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return TC_ACT_SHOT;
	skb->mark = 0x42;
	return TC_ACT_OK;
}

SEC("tcx/ingress")
int tcx_ingress(struct __sk_buff *skb)
{
	return skb->len > 1000 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("classifier")
int classifier_legacy(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
