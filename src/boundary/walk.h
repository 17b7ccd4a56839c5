/* CO-RE readers of struct file, struct socket and struct sock into the event structs of events.h.
 * Shared by every BPF program that snapshots these objects (boundary, chain). Each returns SW_W_* bits. */
#ifndef SYSWALK_WALK_H
#define SYSWALK_WALK_H

/* file->f_count before 6.13; file->f_ref since. */
struct file___old {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

static __always_inline __u32 sw_read_file(struct sw_file *out, struct file *file)
{
	const struct file_operations *fop;
	__u32 bits = 0;

	out->addr = (__u64)file;
	fop = BPF_CORE_READ(file, f_op);
	out->f_op = (__u64)fop;
	out->private_data = (__u64)BPF_CORE_READ(file, private_data);
	out->f_mode = BPF_CORE_READ(file, f_mode);
	out->f_flags = BPF_CORE_READ(file, f_flags);
	if (bpf_core_field_exists(struct file___old, f_count)) {
		struct file___old *fo = (void *)file;
		out->count = BPF_CORE_READ(fo, f_count.counter);
	} else {
		out->count = BPF_CORE_READ(file, f_ref.refcnt.counter);
		bits |= SW_W_FREF;
	}
	if (fop) {
		out->f_op_read_iter = (__u64)BPF_CORE_READ(fop, read_iter);
		out->f_op_release = (__u64)BPF_CORE_READ(fop, release);
		bits |= SW_W_FOP;
	}
	return bits;
}

static __always_inline __u32 sw_read_socket(struct sw_socket *out, struct socket *sock)
{
	const struct proto_ops *ops;

	out->addr = (__u64)sock;
	out->state = BPF_CORE_READ(sock, state);
	out->type = BPF_CORE_READ(sock, type);
	out->flags = BPF_CORE_READ(sock, flags);
	ops = BPF_CORE_READ(sock, ops);
	out->ops = (__u64)ops;
	out->file = (__u64)BPF_CORE_READ(sock, file);
	out->sk = (__u64)BPF_CORE_READ(sock, sk);
	if (!ops)
		return 0;
	out->ops_family = BPF_CORE_READ(ops, family);
	out->ops_release = (__u64)BPF_CORE_READ(ops, release);
	out->ops_bind = (__u64)BPF_CORE_READ(ops, bind);
	out->ops_connect = (__u64)BPF_CORE_READ(ops, connect);
	return SW_W_OPS;
}

static __always_inline __u32 sw_read_sock(struct sw_sock *out, struct sock *sk)
{
	struct proto *prot;

	out->addr = (__u64)sk;
	out->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	out->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	out->protocol = BPF_CORE_READ(sk, sk_protocol);
	out->type = BPF_CORE_READ(sk, sk_type);
	out->rcvbuf = BPF_CORE_READ(sk, sk_rcvbuf);
	out->sndbuf = BPF_CORE_READ(sk, sk_sndbuf);
	out->refcnt = BPF_CORE_READ(sk, __sk_common.skc_refcnt.refs.counter);
	out->sk_socket = (__u64)BPF_CORE_READ(sk, sk_socket);
	prot = BPF_CORE_READ(sk, __sk_common.skc_prot);
	out->sk_prot = (__u64)prot;
	if (!prot)
		return 0;
	bpf_probe_read_kernel_str(out->prot_name, sizeof(out->prot_name), &prot->name);
	out->prot_close = (__u64)BPF_CORE_READ(prot, close);
	return SW_W_PROT;
}

#endif
