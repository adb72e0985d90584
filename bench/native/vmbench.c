// Native peer for the VM benchmarks: the same C as testdata/vm_compute.bpf.c (the shared vm_compute.h), compiled by
// gcc -O2 for the host. Each function runs its kernel n times over the frame (a compiler barrier per round keeps
// gcc from hoisting the pure computation out of the loop) and stores the result like the BPF programs do.
#include <stdint.h>
#include <stddef.h>
#include "../../testdata/vm_compute.h"

static uint64_t results[4];

#define BARRIER(p) __asm__ volatile("" : : "r"(p) : "memory")

uint64_t vb_checksum(const unsigned char *data, size_t len, int n)
{
	for (int i = 0; i < n; i++) {
		BARRIER(data);
		results[0] = vmc_csum(data, data + len);
	}
	return results[0];
}

uint64_t vb_hashloop(const unsigned char *data, size_t len, int n)
{
	for (int i = 0; i < n; i++) {
		BARRIER(data);
		results[1] = vmc_hash(data, data + len);
	}
	return results[1];
}

uint64_t vb_parser(const unsigned char *data, size_t len, int n)
{
	struct vmc_flow f;
	uint64_t drops = 0;
	for (int i = 0; i < n; i++) {
		BARRIER(data);
		if (!vmc_parse(data, data + len, &f))
			continue;
		results[2] = vmc_flow_hash(&f);
		drops += f.dport == 22;
	}
	return results[2] + drops;
}
