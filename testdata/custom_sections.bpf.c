// Variables in custom .data.* / .rodata.* / .bss.* sections become maps of their own.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 custom_const SEC(".rodata.limits") = 42;
__u32 custom_counter SEC(".data.counters") = 10;
__u64 custom_scratch[8] SEC(".bss.scratch");

SEC("socket")
int custom_sections(struct __sk_buff *skb)
{
	custom_counter += custom_const;
	custom_scratch[skb->len & 7] = custom_counter;
	return custom_counter;
}

char LICENSE[] SEC("license") = "GPL";
