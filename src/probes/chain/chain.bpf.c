// SPDX-License-Identifier: GPL-2.0
/* Tiers A and B: the function-level chain. One handler per kind of probe (on_fentry, on_fexit, on_kprobe,
 * on_kretprobe) does the work; the programs are thin wrappers that only say which slot they are. fentry/fexit need
 * one program per traced function (each is loaded against its function's BTF): SW_SLOTS of each, pointed by user
 * space at one function before load. Kprobes carry their slot as the BPF cookie of the attachment where the kernel
 * has cookies (kp_cookie/kr_cookie, attached once per function), else use the per-slot wrappers. User space tells
 * each slot which arguments are objects to snapshot; events are filtered by TGID like tier C. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "chain.h"
#include "walk.h"
#include "ids.h"

char LICENSE[] SEC("license") = "GPL";

struct sw_chain_event sw_chain_event_layout = {};
struct sw_chain_item sw_chain_item_layout = {};
struct sw_obj_hdr sw_obj_hdr_layout = {};
struct sw_chain_rec *sw_chain_rec_layout = NULL;
enum sw_obj_kind sw_obj_kind_layout;
enum sw_chain_kind sw_chain_kind_layout;
enum sw_limits sw_limits_layout;
enum sw_rec_mode sw_rec_mode_layout;
enum sw_when sw_when_layout;
enum sw_free_what sw_free_what_layout;
struct sw_free_event sw_free_event_layout = {};

const volatile struct sw_slot_cfg cfg[SW_SLOTS] = {};

/* Evidence budget (--chain-calls N): 0 records every call in full. N > 0 records the first N calls of the root
 * function (slot 0) in full — every item of those calls, on the thread that made them — and only counts, per
 * function, the entries and exits of everything else. Counting is what bpftrace's count() does; full evidence per
 * item (arguments, caller, snapshots) is what a proof needs and what costs. */
const volatile __u32 root_calls = 0;
__u64 roots_full = 0;

/* Latency histograms (--format hist): every call of every traced function of the traced processes, recorded in full
 * or only counted, lands in one log2 bucket of its inclusive time. Kept here, so a run's histogram covers all its
 * calls whatever the evidence budget; off unless asked (it costs a map update per entry and exit). */
const volatile bool hist_on = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);   /* tid << 8 | slot */
	__type(value, __u64); /* entry time */
} hstart SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SW_SLOTS * SW_HIST_BUCKETS);
	__type(key, __u32);   /* slot * SW_HIST_BUCKETS + bucket */
	__type(value, __u64);
} hist SEC(".maps");

/* Exits whose entry time was not found (the entry came before attach, or the start map was full). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hmiss SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SW_SLOTS * 2);
	__type(key, __u32);
	__type(value, __u64); /* [slot * 2 + 0]: entries counted, [slot * 2 + 1]: exits counted */
} ccount SEC(".maps");

/* The traced processes: the boundary object's `tgids` map itself (user space reuses its fd before load), so a
 * process the boundary follows at fork is followed here from its first call, at every tier. Keys: ids.h's. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} tgids SEC(".maps");

static __always_inline bool traced_now(void)
{
	__u32 tgid = sw_current_ids() >> 32;
	return tgid && bpf_map_lookup_elem(&tgids, &tgid);
}

/* The per-thread records (key: tid). LRU: a thread that ended gives its place to a new one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct sw_chain_rec);
} recs SEC(".maps");

/* A zeroed record to create a thread's record from (a 16 KiB value does not fit on the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sw_chain_rec);
} rec_zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
} cevents SEC(".maps");

/* Items lost: the record did not fit in the ring buffer, or no record could be made for the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} clost SEC(".maps");

struct stash_val {
	__u64 args[6];
};

/* kprobe entry arguments, for the kretprobe of the same (thread, slot). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct stash_val);
} stash SEC(".maps");

/* Objects a recorded item snapshotted (key: address, value: enum sw_obj_kind): their free is sent (fevents). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SW_WATCH);
	__type(key, __u64);
	__type(value, __u8);
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} fevents SEC(".maps");

/* Free events lost (the ring buffer was full). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} flost SEC(".maps");

/* The largest snapshot a record can hold: its header and the largest of the three objects. */
#define SW_MAX2(a, b) ((a) > (b) ? (a) : (b))
#define SW_OBJ_MAX (sizeof(struct sw_obj_hdr) + SW_MAX2(sizeof(struct sw_sock), SW_MAX2(sizeof(struct sw_socket), sizeof(struct sw_file))))
#define SW_ITEM_MAX (sizeof(struct sw_chain_item) + SW_OBJS * SW_OBJ_MAX)

static __always_inline void lose(__u64 n)
{
	__u32 zero = 0;
	__u64 *l = bpf_map_lookup_elem(&clost, &zero);
	if (l)
		__sync_fetch_and_add(l, n);
}

/* Writes one snapshot at o (header, then the object when there is one); returns its size in the record. */
static __noinline __u32 snap(struct sw_obj_hdr *o, __u8 *buf, __u32 kind, __u64 addr, __s32 from)
{
	__u32 size = sizeof(*o);
	if (!o || !buf)
		return 0;
	o->from = from;
	o->bits = 0;
	if (kind == SW_OBJ_SOCKET_PP) {
		__u64 p = 0;
		bpf_probe_read_kernel(&p, sizeof(p), (void *)addr);
		addr = p;
		kind = SW_OBJ_SOCKET;
	}
	o->addr = addr;
	o->kind = kind;
	if (addr && (kind == SW_OBJ_SOCKET || kind == SW_OBJ_SOCK)) {
		__u8 k = kind;
		bpf_map_update_elem(&watched, &addr, &k, BPF_ANY);
	}
	if (addr) {
		if (kind == SW_OBJ_SOCKET) {
			o->bits = sw_read_socket((struct sw_socket *)(o + 1), buf, (struct socket *)addr);
			size += sizeof(struct sw_socket);
		} else if (kind == SW_OBJ_SOCK) {
			o->bits = sw_read_sock((struct sw_sock *)(o + 1), buf, (struct sock *)addr);
			size += sizeof(struct sw_sock);
		} else if (kind == SW_OBJ_FILE) {
			o->bits = sw_read_file((struct sw_file *)(o + 1), buf, (struct file *)addr);
			size += sizeof(struct sw_file);
		}
	}
	o->size = size;
	return size;
}

/* Snapshots follow their item in the arena, each as long as its object: the next one starts `bytes` after it. */
static __always_inline struct sw_obj_hdr *obj_at(struct sw_chain_item *e, __u32 bytes)
{
	/* Bounded for the verifier: at most SW_OBJS - 1 snapshots precede this one. */
	if (bytes > (SW_OBJS - 1) * SW_OBJ_MAX)
		return NULL;
	return (struct sw_obj_hdr *)((void *)e + sizeof(*e) + bytes);
}

static __always_inline void snap_all(struct sw_chain_item *e, __u8 *buf, __u32 slot, bool with_ret)
{
	__u32 n = 0, bytes = 0;
	__u64 s = slot;
	const volatile struct sw_slot_cfg *c;
	if (slot >= SW_SLOTS)
		return;
	/* A slot from a cookie is a run-time value: the mask is done in the register that then indexes cfg[] (as
	 * asm, so the compiler cannot drop it as redundant after the check), which is what the verifier tracks. */
	asm volatile("%[s] &= %[m]" : [s] "+r"(s) : [m] "i"(SW_SLOTS - 1));
	c = &cfg[s];
	if (with_ret && c->ret_kind && (__u64)e->ret > 4096 && e->ret < -4096) {
		bytes += snap(obj_at(e, bytes), buf, c->ret_kind, (__u64)e->ret, -1);
		n = 1;
	}
#pragma unroll
	for (int j = 0; j < 6; j++) {
		if (c->arg_kind[j] && (c->arg_when[j] & (with_ret ? SW_AT_EXIT : SW_AT_ENTRY)) && n < SW_OBJS) {
			bytes += snap(obj_at(e, bytes), buf, c->arg_kind[j], e->args[j], j);
			n++;
		}
	}
	e->nobjs = n;
	e->obj_bytes = bytes;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

static __always_inline void hist_enter(__u32 slot)
{
	__u64 id = bpf_get_current_pid_tgid(), key, t;
	if (!hist_on || slot >= SW_SLOTS || !traced_now())
		return;
	key = ((__u64)(__u32)id << 8) | slot;
	t = bpf_ktime_get_ns();
	bpf_map_update_elem(&hstart, &key, &t, BPF_ANY);
}

static __always_inline void hist_exit(__u32 slot)
{
	__u64 id = bpf_get_current_pid_tgid(), key, *t, d, *n;
	__u32 k, zero = 0;
	if (!hist_on || slot >= SW_SLOTS || !traced_now())
		return;
	key = ((__u64)(__u32)id << 8) | slot;
	t = bpf_map_lookup_elem(&hstart, &key);
	if (!t) {
		n = bpf_map_lookup_elem(&hmiss, &zero);
		if (n)
			*n += 1;
		return;
	}
	d = bpf_ktime_get_ns() - *t;
	bpf_map_delete_elem(&hstart, &key);
	k = slot * SW_HIST_BUCKETS + (log2_u64(d) & (SW_HIST_BUCKETS - 1));
	n = bpf_map_lookup_elem(&hist, &k);
	if (n)
		*n += 1;
}

static __always_inline void count(__u32 kind, __u32 slot)
{
	__u32 k = slot * 2 + (kind == SW_CH_EXIT);
	__u64 *c = bpf_map_lookup_elem(&ccount, &k);
	if (c)
		*c += 1;
}

/* Sends a closed record: its header and the part of the arena it filled. */
static __always_inline void emit(struct sw_chain_rec *r)
{
	__u64 sz = (__u64)r->used + __builtin_offsetof(struct sw_chain_rec, arena);
	long avail;
	r->mode = SW_REC_CLOSED;
	/* 64-bit and checked right before the call: the verifier must see sz bounded by the value's size. */
	asm volatile("" : "+r"(sz));
	if (sz > __builtin_offsetof(struct sw_chain_rec, scratch))
		sz = __builtin_offsetof(struct sw_chain_rec, scratch);
	avail = bpf_ringbuf_query(&cevents, BPF_RB_AVAIL_DATA);
	if (bpf_ringbuf_output(&cevents, r, sz, avail > (256 << 10) ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP))
		lose(r->items);
}

/* The thread's record, opened by an entry when none is open; NULL when this event is not recorded (another
 * process, an exit outside a recorded call, a counted call, or no room — then it is counted as lost). */
static __always_inline struct sw_chain_item *begin(__u32 kind, __u32 slot, struct sw_chain_rec **rp, __u64 sp)
{
	/* Records are keyed by the kernel's thread id (unique machine-wide); what they report is syswalk's (ids.h). */
	__u64 id = bpf_get_current_pid_tgid(), nid;
	__u32 tid = (__u32)id, tgid, off, limit;
	struct sw_chain_rec *r = bpf_map_lookup_elem(&recs, &tid);
	struct sw_chain_item *e;

	/* The opening function entered again while its record is open, at the same or a shallower place of the
	 * kernel stack: not a recursion (that runs deeper) but a new call whose predecessor's exit never came — the
	 * kernel skipped the program (a recursion miss: on 7.x's PREEMPT_LAZY a thread can be preempted inside a
	 * tracing program, and another thread on that CPU then finds it busy). Send what the record holds (user
	 * space sees the exit missing: that call's claims are not observable) and open this call afresh, instead of
	 * letting every later call of the thread pile into the stale record. */
	if (r && r->mode != SW_REC_CLOSED && kind == SW_CH_ENTRY && slot == r->open_slot && r->depth && sp) {
		/* Only where both addresses can be compared: sp on this task's stack. A record opened on another stack
		 * (a thread id reused after a thread died inside a call) is stale as well; one opened in interrupt
		 * context, while this entry too runs off the task stack, is left alone. */
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		__u64 lo = (__u64)BPF_CORE_READ(task, stack), hi = lo + SW_KSTACK;
		bool here = sp >= lo && sp < hi, root_here = r->root_sp >= lo && r->root_sp < hi;
		if (here && (!root_here || sp >= r->root_sp)) {
			if (r->mode == SW_REC_RECORDING)
				emit(r);
			r->mode = SW_REC_CLOSED;
		}
	}

	if (!r || r->mode == SW_REC_CLOSED) {
		if (kind != SW_CH_ENTRY)
			return NULL;
		nid = sw_current_ids();
		tgid = nid >> 32;
		if (!tgid || !bpf_map_lookup_elem(&tgids, &tgid))
			return NULL;
		if (!r) {
			__u32 zero = 0;
			void *z = bpf_map_lookup_elem(&rec_zero, &zero);
			if (!z)
				return NULL;
			bpf_map_update_elem(&recs, &tid, z, BPF_NOEXIST);
			r = bpf_map_lookup_elem(&recs, &tid);
			if (!r) {
				lose(1);
				return NULL;
			}
		}
		r->tgid = tgid;
		r->tid = (__u32)nid;
		r->used = 0;
		r->items = 0;
		r->dropped = 0;
		r->open_slot = slot;
		r->root_sp = sp;
		r->depth = 0;
		r->mode = SW_REC_RECORDING;
		if (root_calls) {
			/* Not atomic with the increment: two CPUs may both take the last place (user space reports the
			 * number of calls it really received in full). */
			bool full = slot == 0 && roots_full < root_calls;
			if (full)
				__sync_fetch_and_add(&roots_full, 1);
			r->mode = full ? SW_REC_RECORDING : SW_REC_COUNTING;
		}
	}
	if (slot == r->open_slot) {
		if (kind == SW_CH_ENTRY)
			r->depth++;
		else if (r->depth)
			r->depth--;
	}
	if (r->mode == SW_REC_COUNTING) {
		count(kind, slot);
		if (!r->depth)
			r->mode = SW_REC_CLOSED;
		return NULL;
	}
	/* Room for this item and, while the record stays open, for the exit that will close it. */
	off = r->used;
	limit = r->depth ? SW_ARENA - 2 * SW_ITEM_MAX : SW_ARENA - SW_ITEM_MAX;
	if (off > limit) {
		r->dropped++;
		lose(1);
		if (!r->depth)
			emit(r);
		return NULL;
	}
	off &= SW_ARENA - 1;
	if (off > SW_ARENA - SW_ITEM_MAX)
		return NULL;
	e = (void *)r->arena + off;
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->slot = slot;
	e->ts_ns = bpf_ktime_get_ns();
	e->nargs = -1;
	*rp = r;
	return e;
}

static __always_inline void finish(struct sw_chain_rec *r, struct sw_chain_item *e)
{
	r->used += sizeof(*e) + (e->obj_bytes > SW_OBJS * SW_OBJ_MAX ? SW_OBJS * SW_OBJ_MAX : e->obj_bytes);
	r->items++;
	if (!r->depth)
		emit(r);
}

/* Is RA a return address: does a call instruction end just before it? Returns 0 if not; for `e8 rel32` (the
 * direct call, also how retpoline/ITS kernels make indirect calls, through a thunk) the call's target, which user
 * space checks is the traced function or a thunk; 1 for the indirect forms ff /2, whose target is not in the code:
 * `call *%reg` (ff d0+r, 2 bytes; with REX.B 41, 3), `call *disp32(%rip)` (ff 15, 6), `call *disp32(%reg)`
 * (ff 90+r, 6, r ≠ 4) and `call *disp32(,%reg,8)` / with SIB and disp32 (ff 14 xx+5 or ff 94, 7). b[i] is the byte
 * at ra − 8 + i. */
static __always_inline __u64 after_call(__u64 ra)
{
	__u8 b[8] = {};
	if (bpf_probe_read_kernel(b, sizeof(b), (void *)(ra - 8)))
		return 0;
	if (b[3] == 0xe8) {
		__s32 rel = (__s32)((__u32)b[4] | (__u32)b[5] << 8 | (__u32)b[6] << 16 | (__u32)b[7] << 24);
		return ra + (__s64)rel;
	}
	if ((b[6] == 0xff && (b[7] & 0xf8) == 0xd0) ||                          /* call *%rax..%rdi, *%r8..%r15 */
	    (b[2] == 0xff && b[3] == 0x15) ||                                    /* call *disp32(%rip) */
	    (b[2] == 0xff && (b[3] & 0xf8) == 0x90 && b[3] != 0x94) ||           /* call *disp32(%reg) */
	    (b[1] == 0xff && (b[2] == 0x94 || (b[2] == 0x14 && (b[3] & 7) == 5)))) /* SIB + disp32 */
		return 1;
	return 0;
}

/* The caller, without unwinding (bpf_get_stack at every entry cost more than the rest of the event under TCG).
 * Tier A: the trampoline saved the argument registers in its own frame and ctx points at the first of them. Above
 * the last one (x86-64 JIT, arch_prepare_bpf_trampoline) come the return-value slot (when the trampoline calls the
 * function itself), the trampoline's saved rbp, and then either
 *   (a) the traced function's own return address (its fentry `call`, func+5 or +9 after an endbr) and the return
 *       address into its caller — 6.1, 6.12; or
 *   (b) directly the return address into its caller — 7.x, where the fentry site can reach the trampoline with a
 *       `jmp`, leaving no return address of its own (measured on 7.3.4: the word above the saved rbp of
 *       update_socket_protocol's trampoline is __sys_socket+0x27, just after `call update_socket_protocol`).
 * (a) is taken only where that word lies just past the traced function's start (bpf_get_func_ip); (b) only where a
 * call instruction ends just before the return address. stack[0] is the own return address in (a), 0 in (b); user space checks (a) again by symbol, and a
 * layout not recognised leaves the caller "not observable", never a wrong name. The program's own frame is no help:
 * from 6.14 a tracing program whose stack is 64 bytes or more runs on a private per-CPU stack
 * (bpf_jit_supports_private_stack), so r10 is no longer rbp. Tier B: at a kprobe on the function's entry, regs->sp
 * points at the return address (what kretprobes rely on). */
static __always_inline void caller_fentry(struct sw_chain_item *e, __u64 base)
{
	__u64 w[5] = {};
	if (!base || !e->func_ip || e->nargs < 0 || e->nargs > 12)
		return;
	if (bpf_probe_read_kernel(w, sizeof(w), (void *)(base + 8 * (__u64)e->nargs)))
		return;
	for (int k = 0; k < 2; k++) {
		__u64 own = w[k + 1];
		if (own > e->func_ip && own - e->func_ip <= SW_FENTRY_RA_MAX) {
			e->stack[0] = own;
			e->stack[1] = w[k + 2];
			return;
		}
	}
	/* (b): the return-value slot is there (every slot has an fexit, so the trampoline calls the function), then
	 * the saved rbp — any value: Debian builds without frame pointers use rbp as a general register — then the
	 * return address: w[2]. In layout (a) that word is the function's own return address, never a caller. */
	{
		__u64 ra = w[2], target = 0;
		if (ra >= e->func_ip && ra - e->func_ip <= SW_FENTRY_RA_MAX)
			return;
		target = after_call(ra);
		if (target) {
			/* stack[0]: the direct call's target (user space requires the traced function or a thunk), or 1
			 * for an indirect call. */
			e->stack[0] = target;
			e->stack[1] = ra;
		}
	}
}

/* The kretprobe trampoline's address (kallsyms, set by user space): a kretprobe that ran first has already put it
 * in place of the return address, and then only the unwinder (which knows how to recover it) can name the caller. */
const volatile __u64 rethook_tramp = 0;

static __always_inline void caller_kprobe(struct sw_chain_item *e, struct pt_regs *ctx)
{
	__u64 ra = 0;
	bpf_probe_read_kernel(&ra, sizeof(ra), (void *)PT_REGS_SP(ctx));
	if (ra && ra == rethook_tramp) {
		/* [0] the probed function, [1] its caller: the same shape as tier A's. */
		bpf_get_stack(ctx, e->stack, sizeof(e->stack), 0);
		return;
	}
	e->stack[1] = ra;
}

#define FARGS(e, ctx)                                          \
	do {                                                   \
		__u64 v = 0;                                   \
		e->nargs = bpf_get_func_arg_cnt(ctx);          \
		if (!bpf_get_func_arg(ctx, 0, &v)) e->args[0] = v; \
		if (!bpf_get_func_arg(ctx, 1, &v)) e->args[1] = v; \
		if (!bpf_get_func_arg(ctx, 2, &v)) e->args[2] = v; \
		if (!bpf_get_func_arg(ctx, 3, &v)) e->args[3] = v; \
		if (!bpf_get_func_arg(ctx, 4, &v)) e->args[4] = v; \
		if (!bpf_get_func_arg(ctx, 5, &v)) e->args[5] = v; \
	} while (0)

/* ctx as a number (where the trampoline saved the arguments, on the kernel stack): the verifier allows no
 * arithmetic on a ctx pointer, so its value is read back from the stack slot that holds it. */
static __always_inline __u64 ctx_addr(void *ctx)
{
	__u64 base = 0;
	void *p = ctx;
	bpf_probe_read_kernel(&base, sizeof(base), &p);
	return base;
}

static __always_inline int on_fentry(unsigned long long *ctx, __u32 slot)
{
	struct sw_chain_rec *r = NULL;
	__u64 base = ctx_addr(ctx);
	struct sw_chain_item *e;
	hist_enter(slot);
	e = begin(SW_CH_ENTRY, slot, &r, base);
	if (!e || !r)
		return 0;
	FARGS(e, ctx);
	e->func_ip = bpf_get_func_ip(ctx);
	caller_fentry(e, base);
	snap_all(e, r->scratch, slot, false);
	finish(r, e);
	return 0;
}

static __always_inline int on_fexit(unsigned long long *ctx, __u32 slot)
{
	__u64 rv = 0;
	struct sw_chain_rec *r = NULL;
	struct sw_chain_item *e;
	hist_exit(slot);
	e = begin(SW_CH_EXIT, slot, &r, 0);
	if (!e || !r)
		return 0;
	FARGS(e, ctx);
	bpf_get_func_ret(ctx, &rv);
	e->ret = (__s64)rv;
	e->func_ip = bpf_get_func_ip(ctx);
	snap_all(e, r->scratch, slot, true);
	finish(r, e);
	return 0;
}

static __always_inline int on_kprobe(struct pt_regs *ctx, __u32 slot)
{
	struct stash_val sv = {};
	__u64 key;
	struct sw_chain_rec *r = NULL;
	struct sw_chain_item *e;
	if (slot >= SW_SLOTS)
		return 0;
	hist_enter(slot);
	e = begin(SW_CH_ENTRY, slot, &r, PT_REGS_SP(ctx));
	if (!e || !r)
		return 0;
	e->args[0] = PT_REGS_PARM1(ctx);
	e->args[1] = PT_REGS_PARM2(ctx);
	e->args[2] = PT_REGS_PARM3(ctx);
	e->args[3] = PT_REGS_PARM4(ctx);
	e->args[4] = PT_REGS_PARM5(ctx);
	e->args[5] = PT_REGS_PARM6(ctx);
	e->func_ip = PT_REGS_IP(ctx);
	caller_kprobe(e, ctx);
	__builtin_memcpy(sv.args, e->args, sizeof(sv.args));
	key = (bpf_get_current_pid_tgid() << 8) | slot;
	bpf_map_update_elem(&stash, &key, &sv, BPF_ANY);
	snap_all(e, r->scratch, slot, false);
	finish(r, e);
	return 0;
}

static __always_inline int on_kretprobe(struct pt_regs *ctx, __u32 slot)
{
	__u64 key = (bpf_get_current_pid_tgid() << 8) | slot;
	struct stash_val *sv;
	struct sw_chain_rec *r = NULL;
	struct sw_chain_item *e;
	if (slot >= SW_SLOTS)
		return 0;
	hist_exit(slot);
	e = begin(SW_CH_EXIT, slot, &r, 0);
	if (!e || !r)
		return 0;
	sv = bpf_map_lookup_elem(&stash, &key);
	if (sv) {
		__builtin_memcpy(e->args, sv->args, sizeof(e->args));
		bpf_map_delete_elem(&stash, &key);
	}
	e->ret = PT_REGS_RC(ctx);
	snap_all(e, r->scratch, slot, true);
	finish(r, e);
	return 0;
}

/* Kprobes with the slot as the attachment's cookie: one program attached once per traced function. */
SEC("kprobe")
int kp_cookie(struct pt_regs *ctx) { return on_kprobe(ctx, (__u32)bpf_get_attach_cookie(ctx)); }

SEC("kretprobe")
int kr_cookie(struct pt_regs *ctx) { return on_kretprobe(ctx, (__u32)bpf_get_attach_cookie(ctx)); }

/* The per-slot wrappers (fentry/fexit always; kprobes where the kernel has no attach cookies). */
#define SLOT(i)                                                                     \
	SEC("fentry/__sys_socket") int BPF_PROG(fe_##i) { return on_fentry(ctx, i); } \
	SEC("fexit/__sys_socket") int BPF_PROG(fx_##i) { return on_fexit(ctx, i); }   \
	SEC("kprobe") int kp_##i(struct pt_regs *ctx) { return on_kprobe(ctx, i); }   \
	SEC("kretprobe") int kr_##i(struct pt_regs *ctx) { return on_kretprobe(ctx, i); }

SLOT(0) SLOT(1) SLOT(2) SLOT(3) SLOT(4) SLOT(5) SLOT(6) SLOT(7)
SLOT(8) SLOT(9) SLOT(10) SLOT(11) SLOT(12) SLOT(13) SLOT(14) SLOT(15)
SLOT(16) SLOT(17) SLOT(18) SLOT(19) SLOT(20) SLOT(21) SLOT(22) SLOT(23)
SLOT(24) SLOT(25) SLOT(26) SLOT(27) SLOT(28) SLOT(29) SLOT(30) SLOT(31)
SLOT(32) SLOT(33) SLOT(34) SLOT(35) SLOT(36) SLOT(37) SLOT(38) SLOT(39)
SLOT(40) SLOT(41) SLOT(42) SLOT(43) SLOT(44) SLOT(45) SLOT(46) SLOT(47)
SLOT(48) SLOT(49) SLOT(50) SLOT(51) SLOT(52) SLOT(53) SLOT(54) SLOT(55)
SLOT(56) SLOT(57) SLOT(58) SLOT(59) SLOT(60) SLOT(61) SLOT(62) SLOT(63)

/* The end of a watched object: sent once (a free stops the watch; handing a sock to TIME_WAIT does not). */
static __always_inline int on_free(__u64 addr, __u64 arg, __u32 what, __u64 ip, __s32 state)
{
	__u32 want = what == SW_FREE_SOCKET ? SW_OBJ_SOCKET : SW_OBJ_SOCK, zero = 0;
	__u64 id = sw_current_ids();
	struct sw_free_event *e;
	__u8 *k = bpf_map_lookup_elem(&watched, &addr);
	if (!k || *k != want)
		return 0;
	if (what != SW_FREE_TIMEWAIT)
		bpf_map_delete_elem(&watched, &addr);
	e = bpf_ringbuf_reserve(&fevents, sizeof(*e), 0);
	if (!e) {
		__u64 *l = bpf_map_lookup_elem(&flost, &zero);
		if (l)
			__sync_fetch_and_add(l, 1);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->addr = addr;
	e->arg = arg;
	e->func_ip = ip;
	e->what = what;
	e->tgid = id >> 32;
	e->tid = (__u32)id;
	e->cpu = bpf_get_smp_processor_id();
	e->state = state;
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* sock_free_inode(inode): the inode is the vfs_inode member of the struct socket_alloc whose first member is the
 * socket; __sk_destruct(head): head is the sock's sk_rcu. Offsets from this kernel's BTF (CO-RE). */
static __always_inline __u64 socket_of_inode(__u64 inode)
{
	return inode - bpf_core_field_offset(struct socket_alloc, vfs_inode) + bpf_core_field_offset(struct socket_alloc, socket);
}

static __always_inline __u64 sock_of_rcu(__u64 head)
{
	return head - bpf_core_field_offset(struct sock, sk_rcu);
}

SEC("fentry/sock_free_inode")
int BPF_PROG(fr_inode_fe, struct inode *inode)
{
	return on_free(socket_of_inode((__u64)inode), (__u64)inode, SW_FREE_SOCKET, bpf_get_func_ip(ctx), -1);
}

SEC("fentry/__sk_destruct")
int BPF_PROG(fr_sk_fe, struct callback_head *head)
{
	return on_free(sock_of_rcu((__u64)head), (__u64)head, SW_FREE_SOCK, bpf_get_func_ip(ctx), -1);
}

SEC("fentry/tcp_time_wait")
int BPF_PROG(fr_tw_fe, struct sock *sk, int state, int timeo)
{
	return on_free((__u64)sk, (__u64)sk, SW_FREE_TIMEWAIT, bpf_get_func_ip(ctx), state);
}

SEC("kprobe")
int fr_inode_kp(struct pt_regs *ctx)
{
	__u64 a = PT_REGS_PARM1(ctx);
	return on_free(socket_of_inode(a), a, SW_FREE_SOCKET, PT_REGS_IP(ctx), -1);
}

SEC("kprobe")
int fr_sk_kp(struct pt_regs *ctx)
{
	__u64 a = PT_REGS_PARM1(ctx);
	return on_free(sock_of_rcu(a), a, SW_FREE_SOCK, PT_REGS_IP(ctx), -1);
}

SEC("kprobe")
int fr_tw_kp(struct pt_regs *ctx)
{
	__u64 a = PT_REGS_PARM1(ctx);
	return on_free(a, a, SW_FREE_TIMEWAIT, PT_REGS_IP(ctx), (__s32)PT_REGS_PARM2(ctx));
}

/* At every system call's exit, a record still open on this thread is stale: a syscall-rooted call returns before
 * its syscall does, so its exit was skipped by the kernel (a recursion miss). Send what it holds and close it, so
 * the next call starts afresh. (The root re-entry rule in begin() cannot always tell: the kernel randomizes the
 * stack offset of each system call, RANDOMIZE_KSTACK_OFFSET, so a new call's stack can lie deeper than the old.) */
SEC("tp_btf/sys_exit")
int BPF_PROG(cs_exit, struct pt_regs *regs, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sw_chain_rec *r = bpf_map_lookup_elem(&recs, &tid);
	if (!r || r->mode == SW_REC_CLOSED)
		return 0;
	if (r->mode == SW_REC_RECORDING)
		emit(r);
	r->mode = SW_REC_CLOSED;
	return 0;
}

/* Reads the live dispatch table net_families[] (address from kallsyms, set by user space) when syswalk itself
 * calls getpid(): which struct net_proto_family each family slot holds, and its ->create function. */
__u64 net_families_addr = 0;
__u32 reader_tgid = 0;
/* The getpid syscall number (user space knows it: the machine's headers / libc). */
const volatile __u32 getpid_nr = 0;
__u64 fam_ptr[SW_NPROTO] = {};
__u64 fam_create[SW_NPROTO] = {};
__u32 fam_read = 0;
/* inetsw[type]: the first struct inet_protosw on each type's list (what inet_create takes for protocol 0). */
__u64 inetsw_addr = 0;
__u64 sw_entry[SW_NSOCKTYPE] = {};
__u64 sw_prot[SW_NSOCKTYPE] = {};
__u64 sw_ops[SW_NSOCKTYPE] = {};
__s32 sw_protocol[SW_NSOCKTYPE] = {};

SEC("tp_btf/sys_enter")
int BPF_PROG(read_families, struct pt_regs *regs, long id)
{
	if ((sw_current_ids() >> 32) != reader_tgid || id != getpid_nr || !net_families_addr)
		return 0;
#pragma clang loop unroll(full)
	for (int i = 0; i < SW_NPROTO; i++) {
		__u64 p = 0;
		bpf_probe_read_kernel(&p, sizeof(p), (void *)(net_families_addr + i * 8));
		fam_ptr[i] = p;
		if (p) {
			struct net_proto_family *f = (void *)p;
			fam_create[i] = (__u64)BPF_CORE_READ(f, create);
		}
	}
	if (inetsw_addr) {
		__u64 lh = bpf_core_type_size(struct list_head);
		__u64 off = bpf_core_field_offset(struct inet_protosw, list);
#pragma clang loop unroll(full)
		for (int t = 1; t < SW_NSOCKTYPE; t++) {
			__u64 head = inetsw_addr + t * lh, next = 0;
			struct inet_protosw *a;
			bpf_probe_read_kernel(&next, sizeof(next), (void *)head);
			if (!next || next == head)
				continue;
			a = (void *)(next - off);
			sw_entry[t] = (__u64)a;
			sw_prot[t] = (__u64)BPF_CORE_READ(a, prot);
			sw_ops[t] = (__u64)BPF_CORE_READ(a, ops);
			sw_protocol[t] = BPF_CORE_READ(a, protocol);
		}
	}
	fam_read = 1;
	return 0;
}
