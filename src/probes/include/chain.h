/* The one definition of the function-level chain events (tiers A and B). Rust types are generated from the BPF
 * object's BTF by build.rs. Object snapshots reuse struct sw_file/sw_socket/sw_sock from boundary/events.h. */
#ifndef SYSWALK_CHAIN_H
#define SYSWALK_CHAIN_H

#include "events.h"


enum sw_obj_kind {
	SW_OBJ_NONE = 0,
	SW_OBJ_SOCKET = 1,      /* struct socket * */
	SW_OBJ_SOCK = 2,        /* struct sock * */
	SW_OBJ_FILE = 3,        /* struct file * */
	SW_OBJ_SOCKET_PP = 4,   /* struct socket ** (snapshot *p) */
};

enum sw_chain_kind {
	SW_CH_ENTRY = 1,
	SW_CH_EXIT = 2,
};

/* What a free event says happened to a watched object (struct sw_free_event.what). */
enum sw_free_what {
	SW_FREE_SOCKET = 1,     /* sock_free_inode(inode): the struct socket_alloc holding the socket goes back */
	SW_FREE_SOCK = 2,       /* __sk_destruct(rcu_head): the sock is destructed and its memory given back */
	SW_FREE_TIMEWAIT = 3,   /* tcp_time_wait(sk, state, timeo): the sock hands its connection to a TIME_WAIT sock */
};

/* A watched object's end, seen in whatever context it happens (an RCU callback, a timer, a peer's packet). */
struct sw_free_event {
	__u64 ts_ns;
	__u64 addr;             /* the object: the struct socket or struct sock */
	__u64 arg;              /* the function's first argument as passed (an inode, an rcu_head, the sock) */
	__u64 func_ip;
	__u32 what;             /* enum sw_free_what */
	__u32 tgid;             /* the context it ran in (any task, or none: softirq/RCU on whatever was running) */
	__u32 tid;
	__u32 cpu;
	__s32 state;            /* tcp_time_wait's state argument; -1 otherwise */
	__u32 pad;
	char comm[SW_COMM_LEN];
};

/* What to snapshot for one traced function (set by user space from the function's BTF signature). */
struct sw_slot_cfg {
	__u8 arg_kind[6];       /* enum sw_obj_kind per argument */
	__u8 arg_when[6];       /* per argument: enum sw_when bits */
	__u8 ret_kind;          /* the return value, snapshotted at exit */
	__u8 used;
};

/* An object snapshot as it travels in a record: this header, then — only when addr != 0 — the one struct its kind
 * reads (struct sw_socket, sw_sock or sw_file; sizes are multiples of 8). The copy into the ring buffer is the
 * largest single cost of a traced call under emulation, so a record carries no unused bytes. */
struct sw_obj_hdr {
	__u64 addr;
	__u32 kind;             /* enum sw_obj_kind as read (SOCKET_PP is stored as SOCKET after the deref) */
	__s32 from;             /* -1: the return value; 0..5: that argument */
	__u32 bits;             /* SW_W_* bits from the readers */
	__u32 size;             /* bytes of this snapshot in the record, header included */
};

/* A snapshot as user space works with it (decoded from a record). */
struct sw_obj {
	__u64 addr;
	__u32 kind;
	__s32 from;
	__u32 bits;
	__u32 pad;
	struct sw_file file;
	struct sw_socket socket;
	struct sw_sock sock;
};

/* One entry or exit as recorded in the kernel; in a record it is followed by its nobjs snapshots (obj_bytes). */
struct sw_chain_item {
	__u32 kind;             /* enum sw_chain_kind */
	__u32 slot;
	__u64 ts_ns;
	__u64 func_ip;
	__u64 args[6];
	__s64 ret;
	__u64 stack[SW_STACK];  /* at entry: [0] the traced function's own return address from its fentry call (tier
	                         * A; 0 at tier B), [1] the return address into its caller */
	__s32 nargs;            /* bpf_get_func_arg_cnt at tier A; -1 at tier B */
	__u16 nobjs;
	__u16 obj_bytes;        /* bytes of the snapshots that follow this item */
};

/* One outermost traced call on one thread (normally one call of the chain's first function): its items in time
 * order, sent as ONE ring-buffer record when the call returns. Kept per thread in a map between calls, so a
 * traced function costs a lookup and a few stores instead of a ring-buffer reservation. */
struct sw_chain_rec {
	__u32 tgid;
	__u32 tid;
	__u32 used;             /* bytes of arena filled */
	__u32 items;
	__u32 dropped;          /* items that did not fit (reported as lost) */
	__u32 open_slot;        /* the slot whose entry opened the record */
	__u32 depth;            /* open_slot's nesting (recursion) */
	__u32 mode;             /* enum sw_rec_mode */
	__u64 root_sp;          /* kernel stack address at the opening entry (tier A: ctx, tier B: regs->sp) */
	__u8 arena[SW_ARENA];
	__u8 scratch[SW_SCRATCH]; /* walk.h's scratch for the object being snapshotted (not sent) */
};

/* What user space works with: one item with its thread and objects (decoded from a record). */
struct sw_chain_event {
	__u32 kind;
	__u32 slot;
	__u32 tgid;
	__u32 tid;
	__u64 ts_ns;
	__u64 func_ip;
	__u64 args[6];
	__s64 ret;
	__u64 stack[SW_STACK];
	__s32 nargs;
	__u32 nobjs;
	struct sw_obj objs[SW_OBJS];
};

#endif
