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

/* The ring buffer a streaming tool emits its records into, and the per-CPU count of records it could not emit:
 * the kernel keeps no such count, so the producers keep it and the reader reports it. reserve_event() counts a
 * failed reservation; count_drop() is for a failed bpf_ringbuf_output(). */
#define TOOL_EVENTS(ring_size)						\
struct {								\
	__uint(type, BPF_MAP_TYPE_RINGBUF);				\
	__uint(max_entries, ring_size);					\
} events SEC(".maps");							\
									\
struct {								\
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);			\
	__uint(max_entries, 1);						\
	__type(key, __u32);						\
	__type(value, __u64);						\
} drops SEC(".maps");							\
									\
static __always_inline __attribute__((unused)) void count_drop(void)			\
{									\
	__u32 zero = 0;							\
	__u64 *drop = bpf_map_lookup_elem(&drops, &zero);		\
	if (drop)							\
		__sync_fetch_and_add(drop, 1);				\
}									\
									\
static __always_inline __attribute__((unused)) void *reserve_event(__u64 size)		\
{									\
	void *e = bpf_ringbuf_reserve(&events, size, 0);		\
	if (!e)								\
		count_drop();						\
	return e;							\
}

/* The one log2 histogram of a latency tool (array map "hists", read by the tool) and how a value enters it. */
#define TOOL_HIST()							\
struct {								\
	__uint(type, BPF_MAP_TYPE_ARRAY);				\
	__uint(max_entries, 1);						\
	__type(key, __u32);						\
	__type(value, struct hist);					\
} hists SEC(".maps");							\
									\
static __always_inline void hist_add(__u64 value)			\
{									\
	__u32 zero = 0;							\
	__u64 slot = log2_u64(value);					\
	struct hist *h;							\
									\
	if (slot >= MAX_SLOTS)						\
		slot = MAX_SLOTS - 1;					\
	h = bpf_map_lookup_elem(&hists, &zero);				\
	if (h)								\
		__sync_fetch_and_add(&h->slots[slot], 1);		\
}

/* Packets and bytes per IP protocol number (per-CPU array map "counts", summed by the tool). */
struct counter {
	__u64 packets;
	__u64 bytes;
};

#define TOOL_PROTO_COUNTERS()						\
struct {								\
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);			\
	__uint(max_entries, 256);					\
	__type(key, __u32);						\
	__type(value, struct counter);					\
} counts SEC(".maps");							\
									\
static __always_inline void count_proto(__u32 proto, __u64 bytes)	\
{									\
	struct counter *c = bpf_map_lookup_elem(&counts, &proto);	\
	if (c) {							\
		c->packets++;						\
		c->bytes += bytes;					\
	}								\
}

#endif
