// Native peer for the event benchmarks: libbpf's ring buffer and perf buffer readers (libbpf-dev), with
// callbacks that do what the C# handlers do (count the record and read its first u64). Built as a shared library
// and called from BenchmarkDotNet, so both readers drain the same kernel objects in one process.
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct eb_counter {
	long records;
	uint64_t sum;
	long lost;
};

static int rb_sample(void *ctx, void *data, size_t size)
{
	struct eb_counter *c = ctx;
	c->records++;
	if (size >= 8)
		c->sum += *(uint64_t *)data;
	return 0;
}

struct eb_rb {
	struct ring_buffer *rb;
	struct eb_counter counter;
};

void *eb_rb_new(int map_fd)
{
	struct eb_rb *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->rb = ring_buffer__new(map_fd, rb_sample, &r->counter, NULL);
	if (!r->rb) {
		free(r);
		return NULL;
	}
	return r;
}

/* Returns the records handled by this call (or -errno). */
long eb_rb_consume(void *p)
{
	struct eb_rb *r = p;
	long before = r->counter.records;
	int err = ring_buffer__consume(r->rb);
	return err < 0 ? err : r->counter.records - before;
}

long eb_rb_poll(void *p, int timeout_ms)
{
	struct eb_rb *r = p;
	long before = r->counter.records;
	int err = ring_buffer__poll(r->rb, timeout_ms);
	return err < 0 ? err : r->counter.records - before;
}

uint64_t eb_rb_sum(void *p)
{
	return ((struct eb_rb *)p)->counter.sum;
}

void eb_rb_free(void *p)
{
	struct eb_rb *r = p;
	if (!r)
		return;
	ring_buffer__free(r->rb);
	free(r);
}

struct eb_pb {
	struct perf_buffer *pb;
	struct eb_counter counter;
};

struct raw_sample {
	struct perf_event_header header;
	uint32_t size;
	char data[];
};

struct lost_record {
	struct perf_event_header header;
	uint64_t id;
	uint64_t lost;
};

static enum bpf_perf_event_ret pb_event(void *ctx, int cpu, struct perf_event_header *event)
{
	struct eb_counter *c = ctx;
	(void)cpu;
	if (event->type == PERF_RECORD_SAMPLE) {
		struct raw_sample *s = (struct raw_sample *)event;
		c->records++;
		if (s->size >= 8)
			c->sum += *(uint64_t *)s->data;
	} else if (event->type == PERF_RECORD_LOST) {
		c->lost += (long)((struct lost_record *)event)->lost;
	}
	return LIBBPF_PERF_EVENT_CONT;
}

/* One BPF_OUTPUT buffer of page_cnt pages per CPU, waking the reader every wakeup_events records. */
void *eb_pb_new(int map_fd, int page_cnt, int wakeup_events)
{
	struct eb_pb *r = calloc(1, sizeof(*r));
	struct perf_event_attr attr;
	if (!r)
		return NULL;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_BPF_OUTPUT;
	attr.sample_type = PERF_SAMPLE_RAW;
	attr.sample_period = 1;
	attr.wakeup_events = wakeup_events > 0 ? wakeup_events : 1;
	r->pb = perf_buffer__new_raw(map_fd, page_cnt, &attr, pb_event, &r->counter, NULL);
	if (!r->pb) {
		free(r);
		return NULL;
	}
	return r;
}

long eb_pb_consume(void *p)
{
	struct eb_pb *r = p;
	long before = r->counter.records;
	int err = perf_buffer__consume(r->pb);
	return err < 0 ? err : r->counter.records - before;
}

long eb_pb_poll(void *p, int timeout_ms)
{
	struct eb_pb *r = p;
	long before = r->counter.records;
	int err = perf_buffer__poll(r->pb, timeout_ms);
	return err < 0 ? err : r->counter.records - before;
}

long eb_pb_lost(void *p)
{
	return ((struct eb_pb *)p)->counter.lost;
}

void eb_pb_free(void *p)
{
	struct eb_pb *r = p;
	if (!r)
		return;
	perf_buffer__free(r->pb);
	free(r);
}
