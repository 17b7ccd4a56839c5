/* The one interface between syswalk's BPF programs and its Rust side: every number both sides use is here, as a C
 * enum. build.rs generates the Rust types of each program's BTF (libbpf-cargo skeleton `types`), so Rust reads
 * these values (e.g. `sw_limits::SW_SLOTS`) instead of keeping copies. Values only Rust knows (the getpid number,
 * addresses from kallsyms) reach BPF through read-only data instead. Change a value here only. */
#ifndef SYSWALK_INTERFACE_H
#define SYSWALK_INTERFACE_H

enum sw_limits {
	SW_NR_MAX = 512,          /* syscall numbers the boundary's `syscalls` map covers: 0 .. SW_NR_MAX-1 */
	SW_SLOTS = 64,            /* kernel functions one run's chain can trace (a power of two: slots are masked) */
	SW_OBJS = 3,              /* object snapshots per chain item */
	SW_STACK = 2,             /* return addresses captured per chain entry */
	SW_FENTRY_RA_MAX = 16,    /* tier A: the traced function's own return address lies at most this far past its
	                           * start (fentry call of 5 bytes, after an endbr of 4) */
	SW_KSTACK = 16384,        /* x86-64 THREAD_SIZE without KASAN: a task's kernel stack is [stack, stack + this) */
	SW_ARGS = 6,              /* arguments captured per call and per chain item */
	SW_FD_WORDS = 4,          /* open_fds bitmap words captured: fds 0..255 */
	SW_PROT_NAME_LEN = 32,    /* struct proto.name */
	SW_COMM_LEN = 16,
	SW_SCRATCH = 2048,        /* walk.h copies a kernel object whole into a scratch area this big */
	SW_ARENA = 1 << 14,       /* bytes of items one chain record holds */
	SW_NPROTO = 46,           /* net_families[] slots the family-table reader reads (NPROTO) */
	SW_NSOCKTYPE = 11,        /* inetsw[] slots (SOCK_MAX) */
	SW_UADDR_LEN = 28,        /* bytes of a user sockaddr captured (sizeof(struct sockaddr_in6)) */
	SW_WPORTS = 1024,         /* local ports whose TCP state changes are recorded though no traced task made them */
	SW_WATCH = 8192,
	SW_HIST_BUCKETS = 64,     /* log2 buckets of a chain function's inclusive time (--format hist): [2^k, 2^(k+1)) ns */          /* objects (struct socket, struct sock) whose free is watched at tiers A/B */
};

/* A chain record's state (struct sw_chain_rec.mode). */
enum sw_rec_mode {
	SW_REC_CLOSED = 0,        /* no outermost call open on this thread */
	SW_REC_RECORDING = 1,     /* items are appended, sent when the outermost call returns */
	SW_REC_COUNTING = 2,      /* past the evidence budget: entries and exits only counted */
};

/* When a chain function's object is snapshotted (struct sw_slot_cfg.arg_when): bits. */
enum sw_when {
	SW_AT_ENTRY = 1 << 0,
	SW_AT_EXIT = 1 << 1,
};

/* The capability probe's programs, one per attach type: index of probe.bpf.c's hits[]. */
enum cap_kind {
	CAP_FENTRY,
	CAP_FEXIT,
	CAP_KPROBE,
	CAP_KRETPROBE,
	CAP_TP_BTF,
	CAP_RAW_TP,
	CAP_UPROBE,
	CAP_N,
};

#endif
