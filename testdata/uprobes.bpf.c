// uprobe, uretprobe, sleepable uprobe and uprobe.multi programs recording the probed call's first argument,
// return value and BPF cookie (pt_regs read with bpf_tracing.h; build.sh passes -D__TARGET_ARCH_x86).
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

enum {
	ENTRY_COUNT, ENTRY_ARG, ENTRY_COOKIE, RETURN_COUNT, RETURN_VALUE, RETURN_COOKIE, ENTRY_TGID, SLEEPABLE_COUNT,
	SLOTS
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SLOTS);
} results SEC(".maps");

/* uprobe.multi hits by cookie */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u64);
	__uint(max_entries, 64);
} multi_hits SEC(".maps");

static __always_inline void set(__u32 slot, __u64 value)
{
	__u64 *p = bpf_map_lookup_elem(&results, &slot);
	if (p)
		*p = value;
}

static __always_inline void add(__u32 slot)
{
	__u64 *p = bpf_map_lookup_elem(&results, &slot);
	if (p)
		__sync_fetch_and_add(p, 1);
}

SEC("uprobe")
int BPF_KPROBE(on_entry, long arg)
{
	add(ENTRY_COUNT);
	set(ENTRY_ARG, arg);
	set(ENTRY_COOKIE, bpf_get_attach_cookie(ctx));
	set(ENTRY_TGID, bpf_get_current_pid_tgid() >> 32);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(on_return, long ret)
{
	add(RETURN_COUNT);
	set(RETURN_VALUE, ret);
	set(RETURN_COOKIE, bpf_get_attach_cookie(ctx));
	return 0;
}

SEC("uprobe.s")
int BPF_KPROBE(on_entry_sleepable, long arg)
{
	add(SLEEPABLE_COUNT);
	set(ENTRY_ARG, arg);
	return 0;
}

SEC("uprobe.multi")
int on_multi(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), one = 1;
	__u64 *v = bpf_map_lookup_elem(&multi_hits, &cookie);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&multi_hits, &cookie, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
