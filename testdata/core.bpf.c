// CO-RE: every relocation kind against the running kernel's BTF. Kernel types are declared locally (reduced,
// members out of order and with other sizes on purpose) with preserve_access_index, so every offset, size and
// id in the object is wrong until relocated. Run with BPF_PROG_TEST_RUN (raw_tp runs in the caller's task).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define __core __attribute__((preserve_access_index))

struct signal_struct {
	unsigned int has_child_subreaper:1;
	unsigned int is_child_subreaper:1;
} __core;

struct list_head {
	struct list_head *next, *prev;
} __core;

struct task_struct {
	char comm[16];
	int tgid;
	int pid;
	unsigned int flags;
	struct signal_struct *signal;
	struct list_head children;
} __core;

// A flavor: same kernel struct, other local view (a field the kernel lacks; flags as 64 bits).
struct task_struct___old {
	int pid;
	long sharpbpf_no_such_field;
	unsigned long long flags;
} __core;

// TYPE_MATCHES: list_head matches its flavor with the right shape, not one with an int.
struct list_head___good {
	struct list_head___good *next, *prev;
} __core;
struct list_head___bad {
	int next;
} __core;

struct sharpbpf_no_such_type {
	int x;
} __core;

enum pid_type { PIDTYPE_SID = 100, PIDTYPE_TGID = 200, SHARPBPF_NO_SUCH_PIDTYPE = 300 };
enum perf_callchain_context___local { PERF_CONTEXT_USER = 7, PERF_CONTEXT_MAX = 8 };

struct core_results {
	__u64 pid, tgid, comm0;
	__u64 pid_offset, pid_size, pid_exists, pid_signed;
	__u64 comm_size, comm_offset;
	__u64 missing_exists, missing_value;
	__u64 flags, flags_old;
	__u64 subreaper, subreaper_probed;
	__u64 subreaper_lshift, subreaper_rshift;
	__u64 local_type_id, target_type_id;
	__u64 type_exists, missing_type_exists, type_size;
	__u64 matches_good, matches_bad;
	__u64 sid_value, tgid_exists, missing_enum_exists;
	__u64 user_value, max_value;
	__u64 children_offset;
	__u64 runs;
	__u64 sub_tgid_fields, sub_tgid_types;
};

struct core_results results;

// A subprogram with its own relocation, linked into both programs: each copy must be relocated.
static __noinline __u64 sub_tgid(struct task_struct *t)
{
	return t->tgid;
}

SEC("raw_tp")
int core_fields(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct task_struct___old *o = (void *)t;

	results.pid = t->pid;                 // LDX off relocated
	results.tgid = BPF_CORE_READ(t, tgid); // ALU add relocated (probe read)
	results.comm0 = t->comm[0];
	results.pid_offset = bpf_core_field_offset(t->pid);
	results.pid_size = bpf_core_field_size(t->pid);
	results.pid_exists = bpf_core_field_exists(t->pid);
	results.pid_signed = __builtin_preserve_field_info(t->pid, BPF_FIELD_SIGNED);
	results.comm_size = bpf_core_field_size(t->comm);
	results.comm_offset = bpf_core_field_offset(t->comm);
	results.children_offset = bpf_core_field_offset(t->children.prev);
	results.missing_exists = bpf_core_field_exists(o->sharpbpf_no_such_field);
	if (bpf_core_field_exists(o->sharpbpf_no_such_field))
		results.missing_value = o->sharpbpf_no_such_field; // poisoned, but dead code
	else
		results.missing_value = 12345;
	results.flags = t->flags;
	results.flags_old = o->flags; // 8-byte load shrunk to the kernel's 4 bytes
	results.subreaper = BPF_CORE_READ_BITFIELD(t->signal, is_child_subreaper);
	results.subreaper_probed = BPF_CORE_READ_BITFIELD_PROBED(t->signal, is_child_subreaper);
	results.subreaper_lshift = __builtin_preserve_field_info(t->signal->is_child_subreaper, BPF_FIELD_LSHIFT_U64);
	results.subreaper_rshift = __builtin_preserve_field_info(t->signal->is_child_subreaper, BPF_FIELD_RSHIFT_U64);
	results.sub_tgid_fields = sub_tgid(t);
	results.runs++;
	return 0;
}

SEC("raw_tp")
int core_types(void *ctx)
{
	results.sub_tgid_types = sub_tgid(bpf_get_current_task_btf());
	results.local_type_id = bpf_core_type_id_local(struct task_struct);
	results.target_type_id = bpf_core_type_id_kernel(struct task_struct);
	results.type_exists = bpf_core_type_exists(struct task_struct);
	results.missing_type_exists = bpf_core_type_exists(struct sharpbpf_no_such_type);
	results.type_size = bpf_core_type_size(struct task_struct);
	// clang-14 cannot emit TYPE_MATCHES (clang 15+); the test turns these two TYPE_EXISTS records into
	// TYPE_MATCHES in the object bytes, where both expect the local value 1.
	results.matches_good = bpf_core_type_exists(struct list_head___good);
	results.matches_bad = bpf_core_type_exists(struct list_head___bad);
	results.sid_value = bpf_core_enum_value(enum pid_type, PIDTYPE_SID);
	results.tgid_exists = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID);
	results.missing_enum_exists = bpf_core_enum_value_exists(enum pid_type, SHARPBPF_NO_SUCH_PIDTYPE);
	results.user_value = bpf_core_enum_value(enum perf_callchain_context___local, PERF_CONTEXT_USER);
	results.max_value = bpf_core_enum_value(enum perf_callchain_context___local, PERF_CONTEXT_MAX);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
