// SPDX-License-Identifier: GPL-2.0
/* The interface between every BPF program and Rust, in one object: a variable of each type the programs send or
 * share, so build.rs generates one Rust module of them (`probes::intf`, the scx intf.h pattern). Each program's
 * skeleton still generates its own copies; Rust reads ring-buffer records and limits through this one only, never
 * copying bytes between two generated copies of one struct. This object is never loaded. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "interface.h"
#include "events.h"
#include "chain.h"

/* interface.h's constants */
enum sw_limits intf_sw_limits;
enum sw_rec_mode intf_sw_rec_mode;
enum sw_when intf_sw_when;
/* events.h: the boundary program's events and the object reads every program shares */
enum sw_kind intf_sw_kind;
enum sw_mode intf_sw_mode;
enum sw_uaddr_mode intf_sw_uaddr_mode;
enum sw_walk intf_sw_walk;
struct sw_event intf_sw_event;
/* chain.h: the chain's records, object snapshots and object ends */
enum sw_obj_kind intf_sw_obj_kind;
enum sw_chain_kind intf_sw_chain_kind;
enum sw_free_what intf_sw_free_what;
struct sw_chain_rec intf_sw_chain_rec;
struct sw_chain_item intf_sw_chain_item;
struct sw_chain_event intf_sw_chain_event;
struct sw_obj_hdr intf_sw_obj_hdr;
struct sw_free_event intf_sw_free_event;

char LICENSE[] SEC("license") = "GPL";
