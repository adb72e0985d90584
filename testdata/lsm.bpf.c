// LSM hooks (sleepable and not).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("lsm/file_open")
int lsm_file_open(unsigned long long *ctx)
{
	return 0;
}

SEC("lsm.s/bprm_committed_creds")
int lsm_exec(unsigned long long *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
