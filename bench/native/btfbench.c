// Native peer for the BTF parse benchmark: libbpf's btf__parse / btf__new on the same input as BtfSpec.Parse.
// Built as a shared library and called from BenchmarkDotNet so both sides are measured in one run.
#include <bpf/btf.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>

// Reads and parses a BTF file (raw or ELF); returns the number of types (incl. void) or -errno.
int bb_parse_file(const char *path)
{
	struct btf *btf = btf__parse(path, NULL);
	if (!btf)
		return -errno;
	int n = (int)btf__type_cnt(btf);
	btf__free(btf);
	return n;
}

// Parses a BTF blob already in memory (libbpf copies it); returns the number of types or -errno.
int bb_parse_mem(const void *data, uint32_t size)
{
	struct btf *btf = btf__new(data, size);
	if (!btf)
		return -errno;
	int n = (int)btf__type_cnt(btf);
	btf__free(btf);
	return n;
}

// Heap bytes (malloc arena + mmapped chunks) held by a parsed BTF: the native counterpart of allocated bytes.
long bb_parse_file_heap_bytes(const char *path)
{
	struct mallinfo2 before = mallinfo2();
	struct btf *btf = btf__parse(path, NULL);
	if (!btf)
		return -errno;
	struct mallinfo2 after = mallinfo2();
	btf__free(btf);
	return (long)((after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd));
}
