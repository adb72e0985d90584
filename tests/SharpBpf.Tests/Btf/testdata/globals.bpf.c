// Global data in .data, .bss, .rodata and a custom .data.* section, a hidden global, static variables, a float,
// decl and type tags: for DATASEC fix-ups, sanitizing and loading the object's BTF.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __user __attribute__((btf_type_tag("user")))

struct pair {
	int a __tag("field");
	long b;
};

int data_one = 1;
long data_two = 2;
__attribute__((visibility("hidden"))) int data_hidden = 3;
static int data_static = 4;
struct pair bss_pair;
char bss_bytes[13];
const volatile int ro_limit = 7;
const volatile float ro_scale = 1.5f;
const volatile int ro_scale_bits = 3;
int custom_counter SEC(".data.custom") = 9;
int __user *user_ptr;

static __attribute__((noinline)) __tag("helper") int scaled(int v)
{
	return v * 2 + (ro_scale_bits & 1);
}

SEC("xdp")
int use_globals(struct xdp_md *ctx)
{
	bss_pair.a += data_one + data_static++ + data_hidden;
	bss_pair.b += data_two;
	bss_bytes[3]++;
	if (*(const volatile int *)&ro_scale != 0)
		bss_bytes[4]++;
	custom_counter++;
	if (user_ptr)
		return XDP_DROP;
	return scaled(ro_limit) > 0 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
