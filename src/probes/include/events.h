/* The one definition of the events the boundary BPF program sends to user space.
 * Rust does not copy this layout: build.rs generates the Rust types from the BPF object's BTF
 * (libbpf-cargo skeleton `types` module). Change it here only. */
#ifndef SYSWALK_EVENTS_H
#define SYSWALK_EVENTS_H

#include "interface.h"

#define SW_RLIMIT_NOFILE 7     /* asm-generic/resource.h; same on every architecture Linux has (BPF only) */

enum sw_kind {
	SW_ENTER = 1,      /* traced syscall entered (tp_btf/sys_enter) */
	SW_EXIT = 2,       /* traced syscall returned (tp_btf/sys_exit) */
	SW_FORK = 3,       /* a traced process forked a new process, now traced too */
	SW_PEXIT = 4,      /* a traced process's leader exited */
	SW_STATE = 5,      /* a TCP sock changed state (tp_btf/inet_sock_set_state): `st` */
};

/* Per-syscall behaviour, set by user space in the `syscalls` map (index = syscall number). */
enum sw_mode {
	SW_MODE_OFF = 0,
	SW_MODE_ARGS = 1,          /* arguments and return only */
	SW_MODE_WALK_RET = 2,      /* on success, walk the object behind the returned fd */
	SW_MODE_WALK_ARG0 = 3,     /* walk the object behind fd = arg0, at entry and at exit */
	SW_MODE_WALK_ARG0_RET = 4, /* walk fd = arg0 at entry and, on success, the returned fd at exit (accept4) */
};

/* Which user sockaddr a syscall's event carries (struct sw_sys_cfg.uaddr). */
enum sw_uaddr_mode {
	SW_UA_NONE = 0,
	SW_UA_ENTRY = 1,           /* at entry: the sockaddr at arg1, arg2 bytes long (bind, connect) */
	SW_UA_EXIT = 2,            /* at exit, on success: the sockaddr at arg1, *(int *)arg2 bytes (accept4, getsockname) */
};

/* One traced syscall's configuration: the value of the `syscalls` map. */
struct sw_sys_cfg {
	__u8 mode;                 /* enum sw_mode */
	__u8 uaddr;                /* enum sw_uaddr_mode */
};

/* Walk result bits (sw_event.walked): which links of task->files->fdt->fd[n]->file->socket->sock were read. */
enum sw_walk {
	SW_W_FDT = 1 << 0,
	SW_W_FILE = 1 << 1,
	SW_W_SOCKET = 1 << 2,
	SW_W_SOCK = 1 << 3,
	SW_W_OPS = 1 << 4,
	SW_W_PROT = 1 << 5,
	SW_W_FOP = 1 << 6,
	SW_W_FREF = 1 << 7,  /* file count read from file_ref_t (6.13+: stored value = count - 1) */
	SW_W_INODE = 1 << 8, /* f_inode->i_mode read: the file's type is known */
	SW_W_INET = 1 << 9,  /* the sock is AF_INET: struct inet_sock's fields were read */
	SW_W_TCP = 1 << 10,  /* ... and a TCP stream sock: struct inet_connection_sock's and tcp_sock's too */
};

struct sw_fdtable {
	__u64 files;                      /* task->files */
	__u64 fdt;                        /* files->fdt */
	__u64 open_fds[SW_FD_WORDS];      /* fdt->open_fds[0..] */
	__u32 max_fds;
	__u32 next_fd;                    /* files->next_fd: the kernel's own search start hint */
	__u64 rlim_cur;                   /* task->signal->rlim[RLIMIT_NOFILE] */
	__u64 rlim_max;
	__u32 files_users;                /* files->count: tasks sharing this fd table (threads: CLONE_FILES) */
	__u32 pad;
};

struct sw_file {
	__u64 addr;                       /* fdt->fd[n] */
	__u64 f_op;
	__u64 f_op_read_iter;             /* f_op->read_iter: names the file_operations by a text symbol */
	__u64 f_op_release;
	__u64 private_data;
	__s64 count;                      /* raw f_count / f_ref.refcnt */
	__u32 f_mode;
	__u32 f_flags;
	__u64 f_inode;                    /* file->f_inode */
	__u32 i_mode;                     /* f_inode->i_mode: the file's type (S_IFSOCK, S_IFIFO, …) and permissions */
	__u32 pad;
};

struct sw_socket {
	__u64 addr;                       /* file->private_data, read as struct socket */
	__u64 flags;
	__u64 ops;
	__u64 file;
	__u64 sk;
	__u64 ops_release;                /* ops->release, ->bind, ->connect: text symbols naming the proto_ops */
	__u64 ops_bind;
	__u64 ops_connect;
	__s32 state;
	__s32 ops_family;                 /* ops->family */
	__s16 type;
	__u16 pad0;
	__u32 pad1;
};

struct sw_sock {
	__u64 addr;                       /* socket->sk */
	__u64 sk_prot;
	__u64 sk_socket;
	__u64 prot_close;                 /* sk_prot->close: text symbol naming the struct proto */
	__s32 rcvbuf;
	__s32 sndbuf;
	__s32 refcnt;
	__u16 family;
	__u16 protocol;
	__u16 type;
	__u8 state;
	__u8 pad0;
	__u32 pad1;
	char prot_name[SW_PROT_NAME_LEN]; /* sk_prot->name */
	/* SW_W_INET (AF_INET and AF_INET6 socks): where the sock is bound and connected. Addresses and sport/dport as memory holds them
	 * (network byte order); num is the local port in host order (inet_num = skc_num). An AF_INET6 sock's addresses are in
	 * rcv_saddr6/daddr6 (its IPv4 fields hold the v4 address only of a v4-mapped connection). */
	__u32 rcv_saddr;                  /* skc_rcv_saddr: the bound local address */
	__u32 daddr;                      /* skc_daddr: the peer */
	__u32 rcv_saddr6[4];              /* skc_v6_rcv_saddr (AF_INET6) */
	__u32 daddr6[4];                  /* skc_v6_daddr (AF_INET6) */
	__u16 num;                        /* skc_num (inet_num) */
	__u16 sport;                      /* inet_sport */
	__u16 dport;                      /* skc_dport */
	__u16 bind_port;                  /* SW_W_TCP: icsk_bind_hash->port (0 when no bucket) */
	__u64 bind_hash;                  /* SW_W_TCP: icsk_bind_hash, the bind bucket */
	__u32 max_ack_backlog;            /* sk_max_ack_backlog */
	__u32 ack_backlog;                /* sk_ack_backlog: connections waiting in the accept queue */
	__u32 rcvq_len;                   /* sk_receive_queue.qlen */
	__u32 rcv_nxt;                    /* SW_W_TCP: tcp_sock.rcv_nxt */
	__u32 copied_seq;                 /* SW_W_TCP: tcp_sock.copied_seq (rcv_nxt - copied_seq: bytes not yet read) */
	__u32 write_seq;                  /* SW_W_TCP: tcp_sock.write_seq */
	__u32 snd_una;                    /* SW_W_TCP: tcp_sock.snd_una */
	__u32 pad2;
};

/* A sockaddr from user memory (enum sw_uaddr_mode). */
struct sw_uaddr {
	__u32 len;                        /* the length the call gave (or returned), before clamping */
	__s32 err;                        /* 0: `bytes` were read; else the read's error, or -1 when not taken */
	__u8 bytes[SW_UADDR_LEN];
	__u32 pad;
};

/* A TCP state change (SW_STATE), from tp_btf/inet_sock_set_state(sk, oldstate, newstate). */
struct sw_tcpstate {
	__u64 skaddr;
	__s32 oldstate;
	__s32 newstate;
	__u32 saddr;                      /* network byte order (AF_INET) */
	__u32 daddr;
	__u32 saddr6[4];                  /* AF_INET6: skc_v6_rcv_saddr, skc_v6_daddr */
	__u32 daddr6[4];
	__u16 sport;                      /* host order (inet_num) */
	__u16 dport;                      /* host order */
	__u16 family;
	__u16 protocol;
};

struct sw_event {
	__u32 kind;                       /* enum sw_kind */
	__u32 tgid;
	__u32 tid;
	__u32 other;                      /* SW_FORK: child tgid; SW_PEXIT: exit_code */
	__u32 host_tgid;                  /* in a PID namespace (ids.h): the kernel's own tgid of the task; else 0 */
	__u32 pad_host;
	__s64 nr;                         /* syscall number (orig_ax) */
	__s64 ret;
	__u64 ts_ns;                      /* bpf_ktime_get_ns */
	__u64 lost_seen;                  /* events the boundary lost (ring full) before this one was reserved */
	__u64 args[SW_ARGS];              /* rdi rsi rdx r10 r8 r9 at entry */
	__u64 user_ip;                    /* SW_ENTER: regs->ip, the user instruction after `syscall` */
	__u64 user_sp;                    /* SW_ENTER: regs->sp, the user stack pointer */
	__u64 user_sp0;                   /* SW_ENTER: the word at user sp (a leaf libc wrapper: its return address) */
	__u64 start_code;                 /* SW_ENTER: task->mm->start_code, where the executable's text was loaded */
	__s32 walk_fd;                    /* fd walked, -1 when none */
	__u32 walked;                     /* SW_W_* bits */
	char comm[SW_COMM_LEN];
	struct sw_fdtable fdt;
	struct sw_file file;
	struct sw_socket socket;
	struct sw_sock sock;
	struct sw_uaddr uaddr;
	struct sw_tcpstate st;
};

#endif
