// Native peer for the map benchmarks: the same loops as the C# benchmarks, through libbpf (libbpf-dev).
// Built as a shared library and called from BenchmarkDotNet so both sides are measured in one run.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <errno.h>

int mb_create_hash(uint32_t max_entries)
{
	return bpf_map_create(BPF_MAP_TYPE_HASH, "mb_hash", 4, 8, max_entries, NULL);
}

long mb_lookup(int fd, int n, uint32_t key_mask)
{
	long hits = 0;
	uint64_t value;
	for (int i = 0; i < n; i++) {
		uint32_t key = (uint32_t)i & key_mask;
		if (bpf_map_lookup_elem(fd, &key, &value) == 0)
			hits += (long)(value & 1) + 1;
	}
	return hits;
}

int mb_update(int fd, int n, uint32_t key_mask)
{
	for (int i = 0; i < n; i++) {
		uint32_t key = (uint32_t)i & key_mask;
		uint64_t value = (uint64_t)i;
		int err = bpf_map_update_elem(fd, &key, &value, BPF_ANY);
		if (err)
			return err;
	}
	return 0;
}

/* Reads every entry with BPF_MAP_LOOKUP_BATCH into caller buffers; returns the entry count or -errno. */
long mb_lookup_batch(int fd, uint32_t *keys, uint64_t *values, uint32_t capacity, uint32_t batch)
{
	uint32_t out_batch = 0, total = 0;
	void *in = NULL;
	int err = 0;
	while (total < capacity && !err) {
		uint32_t count = batch;
		if (count > capacity - total)
			count = capacity - total;
		err = bpf_map_lookup_batch(fd, in, &out_batch, keys + total, values + total, &count, NULL);
		if (err && err != -ENOENT)
			return err;
		total += count;
		in = &out_batch;
	}
	return total;
}

/* Reads every entry by BPF_MAP_GET_NEXT_KEY + BPF_MAP_LOOKUP_ELEM; returns the entry count or -errno. */
long mb_iterate(int fd, uint32_t *keys, uint64_t *values, uint32_t capacity)
{
	uint32_t key, next, total = 0;
	void *prev = NULL;
	while (total < capacity && bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(fd, &next, &values[total]) == 0)
			keys[total++] = next;
		key = next;
		prev = &key;
	}
	return total;
}
