// BTF-typed tracing programs: fentry/fexit/fmod_ret resolve a kernel function, tp_btf a BTF tracepoint.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 fentry_hits;

SEC("fentry/do_unlinkat")
int fentry_unlink(unsigned long long *ctx)
{
	fentry_hits++;
	return 0;
}

SEC("fexit/do_unlinkat")
int fexit_unlink(unsigned long long *ctx)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int tp_btf_switch(unsigned long long *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
