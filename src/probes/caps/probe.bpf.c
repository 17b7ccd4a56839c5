// SPDX-License-Identifier: GPL-2.0
/* One empty program per attach type. `syswalk caps` loads and attaches each one alone, for real, and reports what
 * the kernel answered, then makes the event happen and checks the program fired. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

#include "interface.h"

/* How often each program fired: proof that an attached program really runs. Index = enum cap_kind. */
__u64 hits[CAP_N] = {};
enum cap_kind cap_kind_layout;

#define HIT(k) __sync_fetch_and_add(&hits[k], 1)

SEC("fentry/__sys_socket")
int BPF_PROG(cap_fentry) { HIT(CAP_FENTRY); return 0; }

SEC("fexit/__sys_socket")
int BPF_PROG(cap_fexit) { HIT(CAP_FEXIT); return 0; }

SEC("kprobe/__sys_socket")
int cap_kprobe(void *ctx) { HIT(CAP_KPROBE); return 0; }

SEC("kretprobe/__sys_socket")
int cap_kretprobe(void *ctx) { HIT(CAP_KRETPROBE); return 0; }

SEC("tp_btf/sys_enter")
int BPF_PROG(cap_tp_btf) { HIT(CAP_TP_BTF); return 0; }

SEC("raw_tp/sys_enter")
int cap_raw_tp(void *ctx) { HIT(CAP_RAW_TP); return 0; }

SEC("uprobe")
int cap_uprobe(void *ctx) { HIT(CAP_UPROBE); return 0; }
