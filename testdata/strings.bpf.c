// String literals (.rodata.str1.1) used by bpf_printk, a const array in .rodata, and a global subprogram
// reading them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const char greeting[] = "hello";
const volatile int table[4] = {10, 20, 30, 40};

__noinline int lookup_table(__u32 i)
{
	if (i > 3)
		return -1;
	return table[i];
}

SEC("syscall")
int strings_prog(void *ctx)
{
	bpf_printk("strings_prog %s", greeting);
	return lookup_table(2) + greeting[1];   /* 30 + 'e' (101) = 131 */
}

char LICENSE[] SEC("license") = "GPL";
