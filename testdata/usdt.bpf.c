// libbpf-style USDT programs, written exactly as for libbpf: usdt.bpf.h's bpf_usdt_arg/bpf_usdt_arg_cnt/
// bpf_usdt_cookie and the BPF_USDT macro, reading the spec map (__bpf_usdt_specs) SharpBpf's UsdtLink fills and
// the spec id it passes as the BPF cookie. The probes are in the USDT test target (tests/.../UsdtTarget.cs).
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#define MAX_ARGS 12

/* Slots: 0..11 the last hit's arguments, then the slots below. */
enum { ARG_COUNT = MAX_ARGS, HITS, COOKIE, TGID, ARG_ERRORS, GUARDED_HITS, GUARDED_X, GUARDED_Y, GUARDED_COOKIE, SLOTS };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SLOTS);
} results SEC(".maps");

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

/* Every argument of the probe through bpf_usdt_arg; an index past the count must fail with -ENOENT. */
SEC("usdt")
int on_args(struct pt_regs *ctx)
{
	int n = bpf_usdt_arg_cnt(ctx);
	long value;

	set(ARG_COUNT, n);
	for (__u32 i = 0; i < MAX_ARGS; i++) {
		if ((int)i >= n)
			break;
		if (bpf_usdt_arg(ctx, i, &value) == 0)
			set(i, value);
		else
			add(ARG_ERRORS);
	}
	if (bpf_usdt_arg(ctx, n, &value) != -ENOENT)
		add(ARG_ERRORS);
	set(COOKIE, bpf_usdt_cookie(ctx));
	set(TGID, bpf_get_current_pid_tgid() >> 32);
	add(HITS);
	return 0;
}

/* The BPF_USDT macro form; attached by section name. */
SEC("usdt") /* the test sets the section to usdt/TARGET:sb:guarded and auto-attaches */
int BPF_USDT(on_guarded, int x, int y)
{
	set(GUARDED_X, x);
	set(GUARDED_Y, y);
	set(GUARDED_COOKIE, bpf_usdt_cookie(ctx));
	add(GUARDED_HITS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
