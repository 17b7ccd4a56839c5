/* The one definition of the function-level chain events (tiers A and B). Rust types are generated from the BPF
 * object's BTF by build.rs. Object snapshots reuse struct sw_file/sw_socket/sw_sock from boundary/events.h. */
#ifndef SYSWALK_CHAIN_H
#define SYSWALK_CHAIN_H

#include "../boundary/events.h"

#define SW_SLOTS 16     /* functions one run can trace */
#define SW_OBJS 3       /* object snapshots per event */
#define SW_STACK 2      /* return addresses captured per entry (see stack[] below) */

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

/* What to snapshot for one traced function (set by user space from the function's BTF signature). */
struct sw_slot_cfg {
	__u8 arg_kind[6];       /* enum sw_obj_kind per argument */
	__u8 ret_kind;
	__u8 used;
};

struct sw_obj {
	__u64 addr;
	__u32 kind;             /* enum sw_obj_kind as read (SOCKET_PP is stored as SOCKET after the deref) */
	__s32 from;             /* -1: the return value; 0..5: that argument */
	__u32 bits;             /* SW_W_* bits from the readers */
	__u32 pad;
	struct sw_file file;
	struct sw_socket socket;
	struct sw_sock sock;
};

struct sw_chain_event {
	__u32 kind;             /* enum sw_chain_kind */
	__u32 slot;
	__u32 tgid;
	__u32 tid;
	__u64 ts_ns;
	__u64 func_ip;
	__u64 args[6];
	__s64 ret;
	__u64 stack[SW_STACK];  /* at entry: [0] the traced function's own return address from its fentry call (tier
	                         * A; 0 at tier B), [1] the return address into its caller */
	__s32 nargs;            /* bpf_get_func_arg_cnt at tier A; -1 at tier B */
	__u32 nobjs;
	struct sw_obj objs[SW_OBJS];
};

#endif
