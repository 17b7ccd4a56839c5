/* CO-RE readers of struct file, struct socket and struct sock into the event structs of events.h.
 * Shared by every BPF program that snapshots these objects (boundary, chain). Each returns SW_W_* bits. */
#ifndef SYSWALK_WALK_H
#define SYSWALK_WALK_H

/* linux/stat.h: the file type bits of i_mode. */
#define SW_S_IFMT 00170000
#define SW_S_IFSOCK 0140000

/* Only a file whose inode says it is a socket is read as one: private_data of a pipe, an eventfd or a directory is
 * something else entirely (never a struct socket to walk). */
static __always_inline bool sw_is_socket_file(const struct sw_file *f, __u32 bits)
{
	return (bits & SW_W_INODE) && (f->i_mode & SW_S_IFMT) == SW_S_IFSOCK;
}

/* file->f_count before 6.13; file->f_ref since. */
struct file___old {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* Each object is copied whole into `buf` (SW_SCRATCH bytes: a per-CPU map value at tier C, the thread's record at
 * tiers A/B) with one read, then every field is picked at its CO-RE offset with its CO-RE size: 2 helper calls per
 * object (the object and the ops/proto table it points to) instead of one per field (7 to 12), which under TCG was
 * the larger part of a snapshot's cost. Unreadable memory leaves the fields 0, as field-by-field reads did. */
static __always_inline __u64 pick(const __u8 *buf, const void *src, __u32 off, __u32 size)
{
	__u64 v = 0;
	if (off <= SW_SCRATCH - 8) {
		if (size == 8)
			return *(const __u64 *)(buf + off);
		if (size == 4)
			return *(const __u32 *)(buf + off);
		if (size == 2)
			return *(const __u16 *)(buf + off);
		if (size == 1)
			return *(const __u8 *)(buf + off);
		return 0;
	}
	/* Past the scratch (an object bigger than SW_SCRATCH, e.g. with lock debugging): read the field itself. */
	if (size <= 8)
		bpf_probe_read_kernel(&v, size, src + off);
	return v;
}

#define PICK(buf, src, type, field) pick(buf, src, bpf_core_field_offset(type, field), bpf_core_field_size(type, field))

/* Copies `size` bytes (bounded by the scratch) of kernel memory at src; false when unreadable. */
static __always_inline bool grab(__u8 *buf, __u64 size, const void *src)
{
	asm volatile("" : "+r"(size));
	if (size > SW_SCRATCH)
		size = SW_SCRATCH;
	return bpf_probe_read_kernel(buf, size, src) == 0;
}

static __always_inline __u32 sw_read_socket(struct sw_socket *out, __u8 *buf, struct socket *sock)
{
	__u64 ops;
	__builtin_memset(out, 0, sizeof(*out));
	out->addr = (__u64)sock;
	if (!grab(buf, bpf_core_type_size(struct socket), sock))
		return 0;
	out->state = PICK(buf, sock, struct socket, state);
	out->type = PICK(buf, sock, struct socket, type);
	out->flags = PICK(buf, sock, struct socket, flags);
	ops = PICK(buf, sock, struct socket, ops);
	out->ops = ops;
	out->file = PICK(buf, sock, struct socket, file);
	out->sk = PICK(buf, sock, struct socket, sk);
	if (!ops || !grab(buf, bpf_core_type_size(struct proto_ops), (void *)ops))
		return 0;
	out->ops_family = PICK(buf, (void *)ops, struct proto_ops, family);
	out->ops_release = PICK(buf, (void *)ops, struct proto_ops, release);
	out->ops_bind = PICK(buf, (void *)ops, struct proto_ops, bind);
	out->ops_connect = PICK(buf, (void *)ops, struct proto_ops, connect);
	return SW_W_OPS;
}

/* linux/socket.h, linux/in.h, linux/net.h: what makes a sock an inet_sock, and a TCP one a tcp_sock. */
#define SW_AF_INET 2
#define SW_AF_INET6 10
#define SW_IPPROTO_TCP 6
#define SW_SOCK_STREAM 1

/* An AF_INET6 sock's local and peer addresses (struct in6_addr in sock_common; absent without CONFIG_IPV6). */
static __always_inline void sw_read_v6(__u32 *saddr6, __u32 *daddr6, const struct sock *sk)
{
	if (!bpf_core_field_exists(struct sock, __sk_common.skc_v6_rcv_saddr))
		return;
	bpf_core_read(saddr6, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	bpf_core_read(daddr6, 16, &sk->__sk_common.skc_v6_daddr);
}

/* The inet fields, read only from a sock whose family says it is an inet_sock (AF_INET or AF_INET6), and the TCP
 * ones only from a TCP stream sock. */
static __always_inline __u32 sw_read_inet(struct sw_sock *out, __u8 *buf, struct sock *sk)
{
	__u32 have = bpf_core_type_size(struct sock), want, bits = SW_W_INET;
	__u64 tb;
	bool tcp;
	if (out->family != SW_AF_INET && out->family != SW_AF_INET6)
		return 0;
	tcp = out->protocol == SW_IPPROTO_TCP && out->type == SW_SOCK_STREAM;
	want = tcp ? bpf_core_type_size(struct tcp_sock) : bpf_core_type_size(struct inet_sock);
	/* Copied again whole, now as the bigger object (one read, as for struct sock). */
	if (want > have && !grab(buf, want, sk))
		return 0;
	out->rcv_saddr = PICK(buf, sk, struct sock, __sk_common.skc_rcv_saddr);
	out->daddr = PICK(buf, sk, struct sock, __sk_common.skc_daddr);
	if (out->family == SW_AF_INET6)
		sw_read_v6(out->rcv_saddr6, out->daddr6, sk);
	out->num = PICK(buf, sk, struct sock, __sk_common.skc_num);
	out->dport = PICK(buf, sk, struct sock, __sk_common.skc_dport);
	out->sport = PICK(buf, sk, struct inet_sock, inet_sport);
	if (!tcp)
		return bits;
	tb = PICK(buf, sk, struct inet_connection_sock, icsk_bind_hash);
	out->bind_hash = tb;
	if (tb)
		out->bind_port = BPF_CORE_READ((struct inet_bind_bucket *)tb, port);
	out->rcv_nxt = PICK(buf, sk, struct tcp_sock, rcv_nxt);
	out->copied_seq = PICK(buf, sk, struct tcp_sock, copied_seq);
	out->write_seq = PICK(buf, sk, struct tcp_sock, write_seq);
	out->snd_una = PICK(buf, sk, struct tcp_sock, snd_una);
	return bits | SW_W_TCP;
}

static __always_inline __u32 sw_read_sock(struct sw_sock *out, __u8 *buf, struct sock *sk)
{
	__u64 prot;
	__u32 off, bits = 0;
	__builtin_memset(out, 0, sizeof(*out));
	out->addr = (__u64)sk;
	if (!grab(buf, bpf_core_type_size(struct sock), sk))
		return 0;
	out->family = PICK(buf, sk, struct sock, __sk_common.skc_family);
	out->state = PICK(buf, sk, struct sock, __sk_common.skc_state);
	out->protocol = PICK(buf, sk, struct sock, sk_protocol);
	out->type = PICK(buf, sk, struct sock, sk_type);
	out->rcvbuf = PICK(buf, sk, struct sock, sk_rcvbuf);
	out->sndbuf = PICK(buf, sk, struct sock, sk_sndbuf);
	out->refcnt = PICK(buf, sk, struct sock, __sk_common.skc_refcnt.refs.counter);
	out->sk_socket = PICK(buf, sk, struct sock, sk_socket);
	prot = PICK(buf, sk, struct sock, __sk_common.skc_prot);
	out->sk_prot = prot;
	out->max_ack_backlog = PICK(buf, sk, struct sock, sk_max_ack_backlog);
	out->ack_backlog = PICK(buf, sk, struct sock, sk_ack_backlog);
	out->rcvq_len = PICK(buf, sk, struct sock, sk_receive_queue.qlen);
	bits |= sw_read_inet(out, buf, sk);
	if (!prot || !grab(buf, bpf_core_type_size(struct proto), (void *)prot))
		return bits;
	out->prot_close = PICK(buf, (void *)prot, struct proto, close);
	off = bpf_core_field_offset(struct proto, name);
	if (off <= SW_SCRATCH - SW_PROT_NAME_LEN)
		__builtin_memcpy(out->prot_name, buf + off, SW_PROT_NAME_LEN);
	else
		bpf_probe_read_kernel_str(out->prot_name, sizeof(out->prot_name), (void *)prot + off);
	out->prot_name[SW_PROT_NAME_LEN - 1] = 0;
	return bits | SW_W_PROT;
}

static __always_inline __u32 sw_read_file(struct sw_file *out, __u8 *buf, struct file *file)
{
	__u32 bits = 0;
	__u64 fop;
	__builtin_memset(out, 0, sizeof(*out));
	out->addr = (__u64)file;
	if (!grab(buf, bpf_core_type_size(struct file), file))
		return 0;
	fop = PICK(buf, file, struct file, f_op);
	out->f_op = fop;
	out->private_data = PICK(buf, file, struct file, private_data);
	out->f_mode = PICK(buf, file, struct file, f_mode);
	out->f_flags = PICK(buf, file, struct file, f_flags);
	if (bpf_core_field_exists(struct file___old, f_count)) {
		out->count = PICK(buf, file, struct file___old, f_count.counter);
	} else {
		out->count = PICK(buf, file, struct file, f_ref.refcnt.counter);
		bits |= SW_W_FREF;
	}
	out->f_inode = PICK(buf, file, struct file, f_inode);
	if (out->f_inode) {
		struct inode *inode = (struct inode *)out->f_inode;
		umode_t mode = 0;
		/* Only a mode really read says what the file is: a failed read is "unknown", not an anonymous inode. */
		if (!bpf_core_read(&mode, sizeof(mode), &inode->i_mode)) {
			out->i_mode = mode;
			bits |= SW_W_INODE;
		}
	}
	if (fop && grab(buf, bpf_core_type_size(struct file_operations), (void *)fop)) {
		out->f_op_read_iter = PICK(buf, (void *)fop, struct file_operations, read_iter);
		out->f_op_release = PICK(buf, (void *)fop, struct file_operations, release);
		bits |= SW_W_FOP;
	}
	return bits;
}

#endif
