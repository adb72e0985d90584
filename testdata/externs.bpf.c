// Externs resolved at load time: .kconfig values (from the kernel config and libbpf's virtual LINUX_* ones),
// __ksym variables (typeless: an address from /proc/kallsyms; typed: a BTF id of kernel BTF) and kfuncs.
// Built against our own vmlinux.h (sharpbpf btf dump --kernel --format c).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>


extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern int CONFIG_HZ __kconfig;
extern unsigned long long CONFIG_NR_CPUS __kconfig;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig;
extern char CONFIG_LOCALVERSION[4] __kconfig; /* truncated, as libbpf does */
extern int CONFIG_SHARPBPF_NOT_THERE __kconfig __weak;
extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig;

struct kconfig_out {
	__u64 bpf_syscall, bpf_jit, hz, nr_cpus, not_there, kernel_version, syscall_wrapper, bpf_cookie;
	char hostname[16];
	char localversion[4];
};

struct kconfig_out kconfig_out = {};

SEC("syscall")
int read_kconfig(void *ctx)
{
	kconfig_out.bpf_syscall = CONFIG_BPF_SYSCALL;
	kconfig_out.bpf_jit = CONFIG_BPF_JIT;
	kconfig_out.hz = CONFIG_HZ;
	kconfig_out.nr_cpus = CONFIG_NR_CPUS;
	kconfig_out.not_there = CONFIG_SHARPBPF_NOT_THERE;
	kconfig_out.kernel_version = LINUX_KERNEL_VERSION;
	kconfig_out.syscall_wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	kconfig_out.bpf_cookie = LINUX_HAS_BPF_COOKIE;
	__builtin_memcpy(kconfig_out.hostname, CONFIG_DEFAULT_HOSTNAME, 16);
	__builtin_memcpy(kconfig_out.localversion, CONFIG_LOCALVERSION, 4);
	return 0;
}

extern const void _stext __ksym;                    /* typeless: address from /proc/kallsyms */
extern const int bpf_prog_active_typed __ksym __weak; /* weak and absent: reads as a null address */

__u64 typeless_addr = 0, missing_addr = 1;

SEC("syscall")
int read_ksyms(void *ctx)
{
	typeless_addr = (__u64)&_stext;
	missing_addr = (__u64)&bpf_prog_active_typed;
	return 0;
}

/* typed: the BTF id of the per-CPU VAR (the kernel finds its address in kallsyms, so this needs
 * CONFIG_KALLSYMS_ALL) */
extern const struct rq runqueues __ksym;

__u64 rq_cpu = 99, rq_nonnull = 0;

SEC("syscall")
int read_percpu_ksym(void *ctx)
{
	struct rq *rq = (struct rq *)bpf_per_cpu_ptr(&runqueues, 0);

	if (rq) {
		rq_nonnull = 1;
		rq_cpu = rq->cpu;
	}
	return 0;
}

extern struct bpf_cpumask *bpf_cpumask_create(void) __ksym;
extern void bpf_cpumask_release(struct bpf_cpumask *cpumask) __ksym;
extern void bpf_cpumask_set_cpu(u32 cpu, struct bpf_cpumask *cpumask) __ksym;
extern u32 bpf_cpumask_weight(const struct cpumask *cpumask) __ksym;
extern void bpf_sharpbpf_not_a_kfunc(void) __ksym __weak;
extern void bpf_rcu_read_lock(void) __ksym __weak; /* weak but present */

__u64 weight = 0, weak_kfunc_present = 1, kfunc_present = 0;

SEC("syscall")
int call_kfuncs(void *ctx)
{
	struct bpf_cpumask *mask = bpf_cpumask_create();

	if (!mask)
		return 1;
	bpf_cpumask_set_cpu(0, mask);
	bpf_cpumask_set_cpu(1, mask);
	weight = bpf_cpumask_weight((const struct cpumask *)mask);
	bpf_cpumask_release(mask);
	/* bpf_ksym_exists(): a 64-bit load of the kfunc (a typed ksym: its BTF id), or 0 when a weak one is missing */
	kfunc_present = !!bpf_rcu_read_lock;
	weak_kfunc_present = !!bpf_sharpbpf_not_a_kfunc;
	if (weak_kfunc_present)
		bpf_sharpbpf_not_a_kfunc();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
