//! socket(): the course's first line. This module owns the call's definition (arguments named from the headers and
//! BTF), its default function chain and where that chain takes snapshots; `claims` judges the boundary and the walk,
//! `chain` the function-level chain, `lesson` tells it as the course's Part 1.
use super::conn::{Life, Made, Pending};
use super::{Def, Judging, Syscall};
use crate::claims::{ids, Claim};
use crate::model::{Call, KAddr, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub mod chain;
pub mod claims;
pub mod dispatch;
pub mod leaks;
pub mod lesson;

pub const DEF: Def = Def {
    name: "socket",
    fallback_nr: 41,
    args: &["family", "type", "protocol"],
    mode: Mode::SW_MODE_WALK_RET,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
    chain: &[],
};

pub struct Socket;

impl Syscall for Socket {
    fn def(&self) -> &'static Def {
        &DEF
    }

    /// The boundary and the walk (against the window of fd-table uses), and at tiers A/B the chain: a successful
    /// call's creation chain, a failed call's release (what it allocated must go back: the frees are awaited).
    fn judge(&self, c: &Call, j: &mut Judging) -> Vec<Claim> {
        j.counts.socket_calls += 1;
        let mut claims = claims::judge_socket_in(c, j.tables, j.names);
        let failed = c.ret.is_some_and(|r| r < 0);
        if let Some(ch) = j.chain {
            j.counts.root_full += crate::claims::budget::root_calls(c, ch.plan);
            // Past the evidence budget a call has no chain: counted, not judged.
            if ch.budget && c.chain.is_empty() {
                return claims;
            }
            if failed {
                claims.push(chain::judge_release(c, ch.plan));
                claims.push(chain::judge_release_sock(c, ch.plan));
                // What it allocated must also go back to the kernel: judged when the frees come (RCU).
                let since = |by: &str, a: KAddr| {
                    c.chain.iter().find(|f| f.func == by && f.ret.map(|r| r as u64) == Some(a.0))?.exit_ns
                };
                let of = |object: &str| -> Vec<(KAddr, u64)> {
                    c.allocations
                        .iter()
                        .filter(|a| a.object == object)
                        .filter_map(|a| Some((a.addr, since(&a.allocated_by, a.addr)?)))
                        .collect()
                };
                let (sockets, socks) = (of("struct socket"), of("struct sock"));
                j.life.expect_freed(Pending { call: c.seq, sockets, socks });
            } else if c.ret.is_some() {
                let fam = c.args.first().map(|a| a.value.raw).unwrap_or(-1);
                let create = ch
                    .families
                    .iter()
                    .find(|(i, _, _)| *i as i64 == fam)
                    .and_then(|(_, _, cr)| j.names.kallsyms.symbolize(*cr));
                claims.extend(chain::judge(c, create.as_deref(), ch.plan));
            }
        } else if let (Some(why), true) = (j.chain_why, failed) {
            // Tier C: the puzzle's claims are made, as not observable here, with why.
            claims.extend(super::chainproof::not_here(
                c,
                &[ids::RELEASE_SAME_SOCKET, ids::RELEASE_SAME_SOCK, ids::RELEASE_FREED],
                why,
            ));
        }
        claims
    }

    fn record(&self, c: &Call, life: &mut Life) {
        life.record_install(c, Made::BySocket);
    }

    fn returns_fd(&self) -> bool {
        true
    }

    fn uses_fd_window(&self) -> bool {
        true
    }
}

/// family from the headers (AF_*), type from BTF (enum sock_type, with SOCK_NONBLOCK/SOCK_CLOEXEC bits shown apart),
/// protocol from BTF (IPPROTO_*).
pub fn name_arg(idx: usize, raw: u64, _all: &[u64], n: &Namer) -> Value {
    let v = raw as i64;
    match idx {
        0 => n.family(v as i32 as i64),
        1 => {
            let base = (v as i32) & 0xf;
            let mut val = n.sock_type(base as i64);
            val.raw = v as i32 as i64;
            if base as i64 != val.raw {
                let flags = crate::model::sock_flags(val.raw & !0xf).unwrap_or_default();
                val.name = val.name.map(|s| format!("{s}|{flags}"));
            }
            val
        }
        2 => n.protocol(v as i32 as i64),
        _ => Value::plain(v),
    }
}

/// The default chain for socket(); `{create}` is the family's create function, read live from net_families[].
pub const DEFAULT_CHAIN: &[&str] = &[
    "__sys_socket",
    "update_socket_protocol",
    "__sock_create",
    "security_socket_create",
    "sock_alloc",
    "{create}",
    "sk_alloc",
    "sock_init_data",
    "security_socket_post_create",
    "sock_alloc_file",
    "get_unused_fd_flags",
    "fd_install",
    "sock_map_fd",
    "sock_release",
];

/// The default chain's snapshots: each object where the course looks at it — before and after the calls that change
/// it — and nowhere else (each snapshot is ~40 reads per call). `{create}` is the family's create function.
pub fn default_snapshots(name: &str, is_create: bool) -> Vec<String> {
    let v: &[&str] = match name {
        _ if is_create => &["sock"],
        "sock_alloc" | "sk_alloc" | "sock_alloc_file" => &["exit:return"],
        "sock_init_data" => &["exit:sk"],
        "fd_install" => &["entry:file"],
        "sock_release" | "__sock_release" => &["entry:sock"],
        // close(): the objects whose frees `close.freed` watches for (a snapshot is what puts them on the watch).
        "tcp_close" => &["entry:sk"],
        _ => &[],
    };
    v.iter().map(|s| s.to_string()).collect()
}

/// The chain's functions for a run: `{create}` becomes the family's create function(s) read live from
/// net_families[] — in its place for the built-in target (one family), after the core chain otherwise (slots are
/// limited).
pub fn chain_functions(creates: &[String], one_family: bool) -> Vec<String> {
    let mut fnames: Vec<String> = Vec::new();
    for f in DEFAULT_CHAIN {
        if *f == "{create}" {
            if one_family {
                fnames.extend(creates.iter().cloned());
            }
        } else {
            fnames.push(f.to_string());
        }
    }
    if !one_family {
        fnames.extend(creates.iter().cloned());
    }
    fnames
}

/// The chain's functions that are kernel symbols (without the `{create}` placeholder).
pub fn chain_symbols() -> impl Iterator<Item = &'static str> {
    DEFAULT_CHAIN.iter().copied().filter(|f| !f.starts_with('{'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_where_the_course_looks() {
        assert_eq!(default_snapshots("inet_create", true), vec!["sock"], "the create: its socket before and after");
        assert_eq!(default_snapshots("__sock_create", false), Vec::<String>::new());
    }

    #[test]
    fn the_create_goes_in_its_place_for_one_family() {
        let one = chain_functions(&["inet_create".into()], true);
        let at = one.iter().position(|f| f == "inet_create").expect("create");
        assert_eq!(one[at - 1], "sock_alloc");
        let all = chain_functions(&["inet_create".into(), "unix_create".into()], false);
        assert_eq!(&all[all.len() - 2..], &["inet_create".to_string(), "unix_create".to_string()]);
    }
}
