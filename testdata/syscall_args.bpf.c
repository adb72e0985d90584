// A syscall program reading its context (the TestRun ctx_in bytes) and writing a result back.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct args {
	__u32 a;
	__u32 b;
	__u64 product;
};

SEC("syscall")
int syscall_args(struct args *args)
{
	args->product = (__u64)args->a * args->b;
	return args->a + args->b;
}

char LICENSE[] SEC("license") = "GPL";
