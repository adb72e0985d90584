// Deliberately rejected by the verifier: reads packet data without a bounds check. Loaders must fail naming
// 'unchecked_read' and show the verifier's reason; the good program in the same object must not stay loaded.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int good_before(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int unchecked_read(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	return data[20];
}

char LICENSE[] SEC("license") = "GPL";
