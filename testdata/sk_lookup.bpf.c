// sk_lookup: reports the destination port it saw in a .bss variable and passes.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u32 seen_port;

SEC("sk_lookup")
int sk_lookup_prog(struct bpf_sk_lookup *ctx)
{
	seen_port = ctx->local_port;
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
