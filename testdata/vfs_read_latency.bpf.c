// The seed's vfs_read latency tracer: the kprobe stores the entry time by pid_tgid, the kretprobe takes it out
// and adds the elapsed time and a call to per-process totals.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct totals {
	__u64 calls;
	__u64 nanoseconds;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);	/* pid_tgid */
	__type(value, __u64);	/* bpf_ktime_get_ns() at entry */
	__uint(max_entries, 10240);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);	/* tgid */
	__type(value, struct totals);
	__uint(max_entries, 10240);
} latency SEC(".maps");

SEC("kprobe/vfs_read")
int BPF_KPROBE(vfs_read_entry)
{
	__u64 id = bpf_get_current_pid_tgid(), now = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &id, &now, BPF_ANY);
	return 0;
}

SEC("kretprobe/vfs_read")
int BPF_KRETPROBE(vfs_read_return)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *begin = bpf_map_lookup_elem(&start, &id);
	if (!begin)
		return 0;
	__u64 delta = bpf_ktime_get_ns() - *begin;
	bpf_map_delete_elem(&start, &id);
	__u32 tgid = id >> 32;
	struct totals *t = bpf_map_lookup_elem(&latency, &tgid);
	if (t) {
		__sync_fetch_and_add(&t->calls, 1);
		__sync_fetch_and_add(&t->nanoseconds, delta);
	} else {
		struct totals first = { 1, delta };
		bpf_map_update_elem(&latency, &tgid, &first, BPF_NOEXIST);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
