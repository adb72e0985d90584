// perf_event program writing samples to a perf event array and a ring buffer.
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4);
} events SEC(".maps");

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 period = ctx->sample_period;
	bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, &period, sizeof(period));
	bpf_ringbuf_output(&events, &period, sizeof(period), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
