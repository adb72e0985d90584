// cgroup_skb ingress/egress filters: allow everything but count bytes per direction.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 ingress_bytes;
__u64 egress_bytes;

SEC("cgroup_skb/ingress")
int cgroup_ingress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&ingress_bytes, skb->len);
	return 1;
}

SEC("cgroup_skb/egress")
int cgroup_egress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&egress_bytes, skb->len);
	return skb->len < 10 ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
