// SPDX-License-Identifier: GPL-2.0
/* Tier C: the syscall boundary. tp_btf/sys_enter and tp_btf/sys_exit, filtered in the kernel by process (TGID),
 * following forks; at exit, a CO-RE walk task -> files -> fdtable -> fd[n] -> file -> socket -> sock. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "events.h"
#include "walk.h"
#include "ids.h"

char LICENSE[] SEC("license") = "GPL";

/* Makes the event layout part of this object's BTF, so build.rs generates the Rust type from it. */
struct sw_event sw_event_layout = {};
enum sw_kind sw_kind_layout;
enum sw_mode sw_mode_layout;
enum sw_walk sw_walk_layout;
enum sw_limits sw_limits_layout;
enum sw_uaddr_mode sw_uaddr_mode_layout;
struct sw_sys_cfg sw_sys_cfg_layout = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);   /* tgid */
	__type(value, __u8);
} tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SW_NR_MAX);
	__type(key, __u32);   /* syscall number */
	__type(value, struct sw_sys_cfg);
} syscalls SEC(".maps");

/* Local ports of TCP socks a traced task changed the state of: their later state changes are recorded even when
 * the kernel makes them for another task (a listener's child created while the peer's packet is processed). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SW_WPORTS);
	__type(key, __u16);
	__type(value, __u8);
} wports SEC(".maps");

/* Socks a traced task changed the state of: their later changes are recorded in any context. A client's
 * CLOSE → SYN_SENT comes before its port is chosen, and a remote server's SYN-ACK is processed in whatever task the
 * interrupt found: only the sock's address ties SYN_SENT → ESTABLISHED to it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SW_WPORTS);
	__type(key, __u64);
	__type(value, __u8);
} wsocks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64); /* events dropped because the ring buffer was full */
} lost SEC(".maps");

const volatile bool follow_forks = true;

/* tgid as syswalk numbers it (ids.h); 0 is a task syswalk's namespace does not see: never traced. */
static __always_inline bool traced_tgid(__u32 tgid)
{
	return tgid && bpf_map_lookup_elem(&tgids, &tgid) != NULL;
}

static __always_inline struct sw_sys_cfg cfg_of(long nr)
{
	struct sw_sys_cfg none = {};
	__u32 key = (__u32)nr;
	struct sw_sys_cfg *m;
	if (nr < 0 || nr >= SW_NR_MAX)
		return none;
	m = bpf_map_lookup_elem(&syscalls, &key);
	return m ? *m : none;
}

/* The user sockaddr at `uptr`, `len` bytes (clamped to SW_UADDR_LEN). */
static __always_inline void read_uaddr(struct sw_event *e, __u64 uptr, __s64 len)
{
	__u32 n;
	e->uaddr.len = (__u32)len;
	e->uaddr.err = -1;
	if (!uptr || len <= 0)
		return;
	n = len > SW_UADDR_LEN ? SW_UADDR_LEN : (__u32)len;
	/* A bound the verifier sees on the register passed (clang may pass the unclamped copy otherwise). */
	asm volatile("%0 &= 31" : "+r"(n));
	e->uaddr.err = bpf_probe_read_user(e->uaddr.bytes, n, (void *)uptr);
}

/* walk.h's scratch: each object is copied here whole before its fields are picked. One per program: a tracing
 * program can be preempted (PREEMPT_LAZY/FULL kernels), and the kernel keeps a program from re-entering itself on a
 * CPU but not another program from running there: sys_enter's walk would otherwise overwrite sys_exit's copy. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[SW_SCRATCH]);
} wscratch_enter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[SW_SCRATCH]);
} wscratch_exit SEC(".maps");

/* Every loss so far, machine-wide: each event carries the value at its reservation, so user space knows which
 * stretches of a thread's evidence have holes (a claim never refutes on evidence that may be missing). */
__u64 lost_total = 0;

static __always_inline void count_lost(void)
{
	__sync_fetch_and_add(&lost_total, 1);
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline void walk(struct sw_event *e, struct task_struct *task, int fd, bool at_exit)
{
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct fdtable *fdt;
	struct file **fdarr;
	struct file *file = NULL;
	unsigned long *open_fds;
	struct socket *sock;
	struct sock *sk;
	__u32 words, zero = 0;
	__u8 *buf;

	e->walk_fd = fd;
	e->fdt.rlim_cur = BPF_CORE_READ(task, signal, rlim[SW_RLIMIT_NOFILE].rlim_cur);
	e->fdt.rlim_max = BPF_CORE_READ(task, signal, rlim[SW_RLIMIT_NOFILE].rlim_max);
	if (!files)
		return;
	fdt = BPF_CORE_READ(files, fdt);
	e->fdt.files = (__u64)files;
	e->fdt.fdt = (__u64)fdt;
	e->fdt.next_fd = BPF_CORE_READ(files, next_fd);
	e->fdt.files_users = BPF_CORE_READ(files, count.counter);
	if (!fdt)
		return;
	e->fdt.max_fds = BPF_CORE_READ(fdt, max_fds);
	open_fds = BPF_CORE_READ(fdt, open_fds);
	words = e->fdt.max_fds / 64;
	if (words > SW_FD_WORDS)
		words = SW_FD_WORDS;
	for (int i = 0; i < SW_FD_WORDS; i++) {
		if (i >= words)
			break;
		bpf_probe_read_kernel(&e->fdt.open_fds[i], sizeof(__u64), open_fds + i);
	}
	e->walked |= SW_W_FDT;
	if (fd < 0 || (__u32)fd >= e->fdt.max_fds)
		return;
	fdarr = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), fdarr + fd);
	if (!file)
		return;
	e->walked |= SW_W_FILE;
	buf = at_exit ? bpf_map_lookup_elem(&wscratch_exit, &zero) : bpf_map_lookup_elem(&wscratch_enter, &zero);
	if (!buf)
		return;
	e->walked |= sw_read_file(&e->file, buf, file);
	if (!sw_is_socket_file(&e->file, e->walked))
		return;
	sock = (struct socket *)e->file.private_data;
	if (!sock)
		return;
	e->walked |= SW_W_SOCKET;
	e->walked |= sw_read_socket(&e->socket, buf, sock);
	sk = (struct sock *)e->socket.sk;
	if (!sk)
		return;
	e->walked |= SW_W_SOCK;
	e->walked |= sw_read_sock(&e->sock, buf, sk);
}

/* Wake the reader only when a good batch is waiting; user space also polls on a short timeout, so nothing waits
 * long. A wakeup per event would cost the traced program more than the walk itself. */
static __always_inline void submit(struct sw_event *e)
{
	long avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(e, avail > (256 << 10) ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline struct sw_event *start(__u32 kind, __u64 id)
{
	struct sw_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->tgid = id >> 32;
	e->tid = (__u32)id;
	if (pidns_ino)
		e->host_tgid = bpf_get_current_pid_tgid() >> 32;
	e->ts_ns = bpf_ktime_get_ns();
	e->lost_seen = lost_total;
	e->walk_fd = -1;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sw_sys_enter, struct pt_regs *regs, long id)
{
	__u64 pid_tgid = sw_current_ids();
	struct sw_sys_cfg cfg;
	struct sw_event *e;

	if (!traced_tgid(pid_tgid >> 32))
		return 0;
	cfg = cfg_of(id);
	if (cfg.mode == SW_MODE_OFF)
		return 0;
	e = start(SW_ENTER, pid_tgid);
	if (!e)
		return 0;
	e->nr = id;
	e->args[0] = regs->di;
	e->args[1] = regs->si;
	e->args[2] = regs->dx;
	e->args[3] = regs->r10;
	e->args[4] = regs->r8;
	e->args[5] = regs->r9;
	/* The user side of the call: where `syscall` was executed and the word on top of the user stack. A libc
	 * wrapper that is a leaf (mov eax,NR; syscall; ret) leaves its caller's return address there. */
	e->user_ip = regs->ip;
	e->user_sp = regs->sp;
	if (bpf_probe_read_user(&e->user_sp0, sizeof(e->user_sp0), (void *)regs->sp))
		e->user_sp0 = 0;
	e->start_code = BPF_CORE_READ(bpf_get_current_task_btf(), mm, start_code);
	/* The fd table as the call finds it (and, for fd-argument calls, the object behind arg0). */
	walk(e, bpf_get_current_task_btf(),
	     cfg.mode == SW_MODE_WALK_ARG0 || cfg.mode == SW_MODE_WALK_ARG0_RET ? (int)e->args[0] : -1, false);
	if (cfg.uaddr == SW_UA_ENTRY)
		read_uaddr(e, e->args[1], (__s64)e->args[2]);
	submit(e);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sw_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 pid_tgid = sw_current_ids();
	long nr;
	struct sw_sys_cfg cfg;
	int fd = -1;
	struct sw_event *e;

	if (!traced_tgid(pid_tgid >> 32))
		return 0;
	nr = regs->orig_ax;
	cfg = cfg_of(nr);
	if (cfg.mode == SW_MODE_OFF)
		return 0;
	e = start(SW_EXIT, pid_tgid);
	if (!e)
		return 0;
	e->nr = nr;
	e->ret = ret;
	/* The argument registers still hold what the call was given (the kernel saved them at entry). */
	e->args[0] = regs->di;
	e->args[1] = regs->si;
	e->args[2] = regs->dx;
	if ((cfg.mode == SW_MODE_WALK_RET || cfg.mode == SW_MODE_WALK_ARG0_RET) && ret >= 0)
		fd = (int)ret;
	else if (cfg.mode == SW_MODE_WALK_ARG0)
		fd = (int)regs->di;
	walk(e, bpf_get_current_task_btf(), fd, true);
	if (cfg.uaddr == SW_UA_EXIT && ret >= 0 && e->args[2]) {
		int len = 0;
		if (!bpf_probe_read_user(&len, sizeof(len), (void *)e->args[2]))
			read_uaddr(e, e->args[1], len);
	}
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sw_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 pid_tgid;
	__u32 ptgid, ctgid;
	__u8 one = 1;
	struct sw_event *e;

	if (!follow_forks)
		return 0;
	/* The parent forks in its own context: it is the current task. */
	pid_tgid = sw_current_ids();
	ptgid = pid_tgid >> 32;
	if (!traced_tgid(ptgid))
		return 0;
	ctgid = sw_task_ids(child) >> 32;
	if (!ctgid || ptgid == ctgid)
		return 0;
	/* One process set for every program (the chain's object reuses this map): the child's first system call
	 * after fork() is traced at every tier, with no user-space step in between. */
	bpf_map_update_elem(&tgids, &ctgid, &one, BPF_ANY);
	e = start(SW_FORK, pid_tgid);
	if (!e)
		return 0;
	e->other = ctgid;
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sw_exit_proc, struct task_struct *task)
{
	/* The exiting task is the current one. */
	__u64 pid_tgid = sw_task_ids(task);
	__u32 tgid = pid_tgid >> 32;
	struct sw_event *e;

	if ((__u32)pid_tgid != tgid || !traced_tgid(tgid))
		return 0;
	e = start(SW_PEXIT, pid_tgid);
	if (!e)
		return 0;
	e->other = task->exit_code;
	submit(e);
	return 0;
}

/* TCP state changes of socks traced tasks use. Recorded when a traced task makes the change, or when the sock's
 * local or remote port is one a traced task's sock had (the loopback peer's packets are processed in the sender's
 * context: a listener's child reaches ESTABLISHED while the client runs). User space keeps those of socks it saw. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sw_tcp_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 pid_tgid = sw_current_ids();
	__u16 sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	__u16 dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	__u16 proto = BPF_CORE_READ(sk, sk_protocol);
	__u64 skaddr = (__u64)sk;
	__u8 one = 1;
	struct sw_event *e;

	if (proto != SW_IPPROTO_TCP)
		return 0;
	if (traced_tgid(pid_tgid >> 32)) {
		if (sport)
			bpf_map_update_elem(&wports, &sport, &one, BPF_ANY);
		bpf_map_update_elem(&wsocks, &skaddr, &one, BPF_ANY);
	} else if (!bpf_map_lookup_elem(&wsocks, &skaddr) && !(sport && bpf_map_lookup_elem(&wports, &sport)) &&
		   !(dport && bpf_map_lookup_elem(&wports, &dport))) {
		return 0;
	}
	e = start(SW_STATE, pid_tgid);
	if (!e)
		return 0;
	e->st.skaddr = skaddr;
	e->st.oldstate = oldstate;
	e->st.newstate = newstate;
	e->st.sport = sport;
	e->st.dport = dport;
	e->st.saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	e->st.daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
	e->st.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (e->st.family == SW_AF_INET6)
		sw_read_v6(e->st.saddr6, e->st.daddr6, sk);
	e->st.protocol = proto;
	submit(e);
	return 0;
}
