// Programs that BpfCollection.AttachAll attaches by their section names, for the link tests: a tracepoint and a
// tp_btf program counting execs of a binary (by comm), a raw_tp counting syscalls of one process, task and bpf_map
// iterators printing ids (kernel struct offsets come from the kernel's BTF through .rodata, since CO-RE relocations
// are not applied yet), a map element iterator, and an XDP program that auto-attach must leave alone.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct seq_file;
struct task_struct;
struct bpf_map;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} counts SEC(".maps"); /* 0: tracepoint execs, 1: tp_btf execs, 2: raw_tp syscalls of target_tgid */

const volatile char target_comm[16] = "true";
const volatile __u32 target_tgid;
const volatile __u32 task_pid_offset;  /* offsetof(struct task_struct, pid) */
const volatile __u32 task_tgid_offset; /* offsetof(struct task_struct, tgid) */
const volatile __u32 map_id_offset;    /* offsetof(struct bpf_map, id) */

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &slot);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline int comm_matches(void)
{
	char comm[16];
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < 16; i++) {
		if (comm[i] != target_comm[i])
			return 0;
		if (!comm[i])
			return 1;
	}
	return 1;
}

SEC("tracepoint/sched/sched_process_exec")
int count_exec(void *ctx)
{
	if (comm_matches())
		bump(0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int count_exec_btf(unsigned long long *ctx)
{
	if (comm_matches())
		bump(1);
	return 0;
}

SEC("raw_tp/sys_enter")
int count_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == target_tgid)
		bump(2);
	return 0;
}

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};
struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};
struct bpf_iter__bpf_map {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
};
struct bpf_iter__bpf_map_elem {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
	void *key;
	void *value;
};

SEC("iter/task")
int dump_tasks(struct bpf_iter__task *ctx)
{
	static const char fmt[] = "%u %u\n";
	struct task_struct *task = ctx->task;
	__u32 pid = 0, tgid = 0;
	__u64 args[2];

	if (!task)
		return 0;
	bpf_probe_read_kernel(&pid, sizeof(pid), (char *)task + task_pid_offset);
	bpf_probe_read_kernel(&tgid, sizeof(tgid), (char *)task + task_tgid_offset);
	args[0] = tgid;
	args[1] = pid;
	bpf_seq_printf(ctx->meta->seq, fmt, sizeof(fmt), args, sizeof(args));
	return 0;
}

SEC("iter/bpf_map")
int dump_maps(struct bpf_iter__bpf_map *ctx)
{
	static const char fmt[] = "%u\n";
	struct bpf_map *map = ctx->map;
	__u32 id = 0;
	__u64 args[1];

	if (!map)
		return 0;
	bpf_probe_read_kernel(&id, sizeof(id), (char *)map + map_id_offset);
	args[0] = id;
	bpf_seq_printf(ctx->meta->seq, fmt, sizeof(fmt), args, sizeof(args));
	return 0;
}

SEC("iter/bpf_map_elem")
int dump_counts(struct bpf_iter__bpf_map_elem *ctx)
{
	__u32 *key = ctx->key;
	__u64 *value = ctx->value;
	struct {
		__u32 key;
		__u64 value;
	} rec;

	if (!key || !value)
		return 0;
	__builtin_memset(&rec, 0, sizeof(rec));
	rec.key = *key;
	rec.value = *value;
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

SEC("xdp")
int pass_all(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
