// SPDX-License-Identifier: GPL-2.0
/* One empty program per attach type. `syswalk caps` loads and attaches each one alone, for real, and reports what
 * the kernel answered. The programs do nothing when they fire. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/__sys_socket")
int BPF_PROG(cap_fentry) { return 0; }

SEC("fexit/__sys_socket")
int BPF_PROG(cap_fexit) { return 0; }

SEC("kprobe/__sys_socket")
int cap_kprobe(void *ctx) { return 0; }

SEC("kretprobe/__sys_socket")
int cap_kretprobe(void *ctx) { return 0; }

SEC("tp_btf/sys_enter")
int BPF_PROG(cap_tp_btf) { return 0; }

SEC("raw_tp/sys_enter")
int cap_raw_tp(void *ctx) { return 0; }

SEC("uprobe")
int cap_uprobe(void *ctx) { return 0; }
