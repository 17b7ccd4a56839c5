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
};

/* Per-syscall behaviour, set by user space in the `syscalls` map (index = syscall number). */
enum sw_mode {
	SW_MODE_OFF = 0,
	SW_MODE_ARGS = 1,          /* arguments and return only */
	SW_MODE_WALK_RET = 2,      /* on success, walk the object behind the returned fd */
	SW_MODE_WALK_ARG0 = 3,     /* walk the object behind fd = arg0, at entry and at exit */
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
};

struct sw_event {
	__u32 kind;                       /* enum sw_kind */
	__u32 tgid;
	__u32 tid;
	__u32 other;                      /* SW_FORK: child tgid; SW_PEXIT: exit_code */
	__s64 nr;                         /* syscall number (orig_ax) */
	__s64 ret;
	__u64 ts_ns;                      /* bpf_ktime_get_ns */
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
};

#endif
