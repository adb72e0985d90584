// bpf-to-bpf calls: static and global subprograms in .text, a subprogram calling another, and two programs
// sharing them (each program gets its own copy).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __noinline __u32 square(__u32 x)
{
	return x * x;
}

static __noinline __u32 sum_of_squares(__u32 a, __u32 b)
{
	return square(a) + square(b);
}

__noinline int twice(int x)
{
	return x + x;
}

SEC("xdp")
int sub_xdp(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	/* 3*3 + 4*4 = 25, twice(25) = 50, then + len & 1 so the verifier can't fold everything */
	return sum_of_squares(3, 4) == 25 && twice(25) == 50 ? XDP_PASS + (len & 0) : XDP_DROP;
}

SEC("socket")
int sub_socket(struct __sk_buff *skb)
{
	return sum_of_squares(skb->len, 1);
}

char LICENSE[] SEC("license") = "GPL";
