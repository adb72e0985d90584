// kprobe, kretprobe, ksyscall and uprobe sections (loadable; attaching needs the attach issues and CONFIG_KPROBES).
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} unlinks SEC(".maps");

SEC("kprobe/do_unlinkat")
int kprobe_unlink(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1;
	bpf_map_update_elem(&unlinks, &pid, &one, BPF_ANY);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int kretprobe_unlink(struct pt_regs *ctx)
{
	return 0;
}

SEC("ksyscall/openat")
int ksyscall_openat(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe//proc/self/exe:main")
int uprobe_main(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe.s//proc/self/exe:main")
int uretprobe_sleepable(struct pt_regs *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
