// A program array filled from its BTF 'values' initializer: entry 1 tail-calls into slot 2, which returns 42.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int tail_second(struct __sk_buff *skb);
int tail_third(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__array(values, int (void *));
} jump_table SEC(".maps") = {
	.values = {
		[1] = (void *)&tail_second,
		[2] = (void *)&tail_third,
	},
};

SEC("socket")
int tail_entry(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jump_table, 1);
	return 1;
}

SEC("socket")
int tail_second(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jump_table, 2);
	return 2;
}

SEC("socket")
int tail_third(struct __sk_buff *skb)
{
	return 42;
}

char LICENSE[] SEC("license") = "GPL";
