/* Shared by the ready tools' BPF programs: small helpers and the log2 histogram. */
#ifndef SHARPBPF_TOOLS_H
#define SHARPBPF_TOOLS_H

#define TASK_COMM_LEN 16
#define MAX_SLOTS 27

/* floor(log2(v)) for v > 0, 0 for 0; branch-light so the verifier sees a bounded result. */
static __always_inline __u64 log2_u64(__u64 v)
{
	__u64 r = 0, shift;
	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

struct hist {
	__u64 slots[MAX_SLOTS];
};

#endif
