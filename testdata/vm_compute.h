/* Compute kernels shared by vm_compute.bpf.c (BPF: run in the kernel and in SharpBpf.Vm) and the native benchmark
 * peer bench/native/vmbench.c (gcc -O2), so the VM and native code run the same C. Pure functions over
 * [data, end) with the bounds checks the verifier needs. */
#ifndef VM_COMPUTE_H
#define VM_COMPUTE_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

static __always_inline __u16 vmc_be16(const unsigned char *p)
{
	return (__u16)((p[0] << 8) | p[1]);
}

/* Internet checksum (RFC 1071) of the frame, 16 bits at a time (frames up to 2048 bytes). */
static __always_inline __u16 vmc_csum(const unsigned char *data, const unsigned char *end)
{
	__u64 sum = 0;
	const unsigned char *p = data;
	for (int i = 0; i < 1024; i++) {
		if (p + 2 > end)
			break;
		sum += (__u32)p[0] << 8 | p[1];
		p += 2;
	}
	if (p + 1 <= end)
		sum += (__u32)p[0] << 8;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* FNV-1a over the frame, four rounds with a mix between them. */
static __always_inline __u32 vmc_hash(const unsigned char *data, const unsigned char *end)
{
	__u32 h = 2166136261u;
	for (int round = 0; round < 4; round++) {
		const unsigned char *p = data;
		for (int i = 0; i < 2048; i++) {
			if (p + 1 > end)
				break;
			h = (h ^ *p) * 16777619u;
			p++;
		}
		h ^= h >> 15;
		h *= 0x2c1b3c6du;
	}
	return h;
}

struct vmc_flow {
	__u32 l3;    /* ethertype of the network header (after VLAN tags) */
	__u32 proto; /* IP protocol / IPv6 next header */
	__u32 src, dst;
	__u32 sport, dport;
	__u32 vlans;
};

/* Parses Ethernet, up to two VLAN tags, IPv4 (any IHL, first fragments only for ports) or IPv6, then TCP/UDP
 * ports. Returns 0 when the frame is too short for what its headers announce, 1 otherwise. */
static __always_inline int vmc_parse(const unsigned char *data, const unsigned char *end, struct vmc_flow *f)
{
	const unsigned char *p = data + 14;
	if (p > end)
		return 0;
	__u32 type = vmc_be16(data + 12);
	f->vlans = 0;
	for (int i = 0; i < 2; i++) {
		if (type != 0x8100 && type != 0x88a8)
			break;
		if (p + 4 > end)
			return 0;
		type = vmc_be16(p + 2);
		p += 4;
		f->vlans++;
	}
	f->l3 = type;
	f->proto = 0;
	f->src = f->dst = f->sport = f->dport = 0;
	if (type == 0x0800) {
		if (p + 20 > end)
			return 0;
		__u32 ihl = (p[0] & 0xf) * 4;
		if (ihl < 20)
			return 0;
		f->proto = p[9];
		f->src = (__u32)p[12] << 24 | (__u32)p[13] << 16 | (__u32)p[14] << 8 | p[15];
		f->dst = (__u32)p[16] << 24 | (__u32)p[17] << 16 | (__u32)p[18] << 8 | p[19];
		if ((vmc_be16(p + 6) & 0x1fff) != 0)
			return 1; /* not the first fragment: no ports */
		p += ihl;
	} else if (type == 0x86dd) {
		if (p + 40 > end)
			return 0;
		f->proto = p[6];
		for (int i = 0; i < 16; i += 4) {
			f->src ^= (__u32)p[8 + i] << 24 | (__u32)p[9 + i] << 16 | (__u32)p[10 + i] << 8 | p[11 + i];
			f->dst ^= (__u32)p[24 + i] << 24 | (__u32)p[25 + i] << 16 | (__u32)p[26 + i] << 8 | p[27 + i];
		}
		p += 40;
	} else {
		return 1;
	}
	if (f->proto == 6 || f->proto == 17) {
		if (p + 4 > end)
			return 0;
		f->sport = vmc_be16(p);
		f->dport = vmc_be16(p + 2);
	}
	return 1;
}

static __always_inline __u32 vmc_flow_hash(const struct vmc_flow *f)
{
	__u32 h = f->src * 0x9e3779b1u ^ f->dst;
	h = (h ^ (f->sport << 16 | f->dport)) * 0x85ebca6bu;
	return h ^ f->proto ^ (h >> 13);
}

#endif
