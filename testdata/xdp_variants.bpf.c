// XDP section variants: frags (multi-buffer), devmap and cpumap programs, and a devmap to redirect into.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct bpf_devmap_val));
	__uint(max_entries, 4);
} ports SEC(".maps");

SEC("xdp.frags")
int xdp_frags_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp/devmap")
int xdp_devmap_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp/cpumap")
int xdp_cpumap_prog(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_redirect_prog(struct xdp_md *ctx)
{
	return bpf_redirect_map(&ports, 0, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
