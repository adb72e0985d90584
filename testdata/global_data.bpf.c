// Global data: .rodata constants (set before load), .data and .bss variables updated by the program.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 multiplier = 3;
const volatile __u64 offset_value = 100;
__u64 calls = 0;              /* .bss */
__u64 last_result = 7;        /* .data */
__u32 history[4] = {1, 2, 3, 4};

SEC("xdp")
int global_data(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	calls++;
	last_result = len * multiplier + offset_value;
	history[calls & 3] = len;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
