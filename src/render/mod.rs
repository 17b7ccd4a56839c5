//! Every renderer: the report as text (the seeds' forensic line style), Markdown, JSON and a summary; the lesson;
//! `caps`, `kaslr` and `constants` output. Pure functions of what they render. The views both the text and the
//! Markdown report use (steps of a call, the chain tree, the linkage map) are here.
use std::fmt::Write as _;

use crate::claims::Verdict;
use crate::model::{Call, KAddr, Walk};
use crate::report::Report;

pub mod caps;
pub mod constants;
pub mod diff;
pub(crate) use crate::escape;
pub mod hist;
pub mod kaslr;
pub mod lesson;
mod markdown;
pub mod perfetto;
pub mod site;
pub mod svg;
mod text;

pub use markdown::markdown;
pub use text::{summary, text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Md,
    /// Counts only: calls, claims per id and verdict, session statistics (for long traces and benchmarks).
    Summary,
    /// prove and trace: a timeline (Chrome trace-event JSON for ui.perfetto.dev): a track per thread, each call a
    /// slice with its kernel functions inside, one flow per kernel object.
    Perfetto,
    /// prove and trace: per chain function, a log2 histogram of the inclusive time of every call (kept in the
    /// kernel, so calls past --chain-calls count too), like bpftrace's hist().
    Hist,
    /// prove and trace: the memory graph — the fd table, file, socket, sock and the tables they point into, with
    /// fields and live addresses, an arrow per pointer, backlinks marked by their claims — as an SVG picture.
    Svg,
    /// prove and trace: the latency histograms as an SVG picture (one panel per chain function).
    HistSvg,
}

impl Format {
    /// A usage error for a command that has no such output (checked before any work starts).
    pub fn only_for_reports(self, command: &str) -> crate::error::Result<Self> {
        if matches!(self, Format::Perfetto | Format::Hist | Format::Svg | Format::HistSvg | Format::Summary) {
            let f = match self {
                Format::Summary => "summary",
                Format::Hist => "hist",
                Format::Svg => "svg",
                Format::HistSvg => "hist-svg",
                _ => "perfetto",
            };
            return Err(crate::error::Error::new(
                crate::error::Kind::Usage,
                format!("{command} has no --format {f}: that format draws or counts a report's calls, and {command} prints a document of its own"),
            )
            .hint(format!("use it with prove or trace (e.g. `syswalk prove --format {f}`, or `syswalk prove --fail KIND --format {f}`); {command} has text, md and json")));
        }
        Ok(self)
    }
}

pub struct Style {
    pub color: bool,
}

impl Style {
    fn verdict(&self, v: Verdict) -> String {
        let s = v.symbol();
        if !self.color {
            return s.to_string();
        }
        let code = match v {
            Verdict::Proved => "32",
            Verdict::Refuted => "31",
            Verdict::NotObservable => "33",
        };
        format!("\x1b[{code}m{s}\x1b[0m")
    }
}

const WIDTH: usize = 46;

fn dots(label: &str) -> String {
    let n = label.chars().count();
    if n + 2 >= WIDTH {
        format!("{label} .. ")
    } else {
        format!("{label} {} ", ".".repeat(WIDTH - n - 1))
    }
}

/// A duration a person can read: µs below 10 ms, then ms, then s.
fn us(ns: u64) -> String {
    match ns {
        0..10_000 => format!("{:.2} µs", ns as f64 / 1e3),
        10_000..10_000_000 => format!("{:.1} µs", ns as f64 / 1e3),
        10_000_000..10_000_000_000 => format!("{:.1} ms", ns as f64 / 1e6),
        _ => format!("{:.1} s", ns as f64 / 1e9),
    }
}

fn call_title(c: &Call) -> String {
    let args: Vec<String> =
        c.args.iter().map(|a| a.value.name.clone().unwrap_or_else(|| a.value.raw.to_string())).collect();
    let ret = match (c.ret, &c.errno) {
        (Some(_), Some(e)) => format!("-1 {}", e.name.clone().unwrap_or_else(|| format!("errno {}", e.raw))),
        (Some(r), None) => r.to_string(),
        (None, _) => "(no return seen)".into(),
    };
    format!("{}({}) = {}", c.syscall, args.join(", "), ret)
}

fn open_set(v: &[u32]) -> String {
    let s: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("{{{}}}", s.join(","))
}

/// The numbered evidence lines of one call.
pub fn steps(c: &Call, spec_origin: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if c.enter_ns.is_some() {
        out.push((
            format!("{} entered (tp_btf/sys_enter)", c.syscall),
            format!("orig_ax = {} ← __NR_{} [{spec_origin}]", c.nr, c.syscall),
        ));
        let args: Vec<String> = c
            .args
            .iter()
            .zip(["rdi", "rsi", "rdx", "r10", "r8", "r9"])
            .map(|(a, r)| {
                let named = match (&a.value.name, &a.value.origin) {
                    (Some(n), Some(o)) => format!(" = {n} [{o}]"),
                    (Some(n), None) => format!(" = {n}"),
                    _ => String::new(),
                };
                // A pointer (named by its hex) is shown in hex only.
                match &a.value.name {
                    Some(n) if a.value.origin.is_none() && (n.starts_with("0x") || n == "NULL") => {
                        format!("{}: {r} = {n}", a.name)
                    }
                    _ => format!("{}: {r} = {}{named}", a.name, a.value.raw),
                }
            })
            .collect();
        out.push(("arguments in registers".into(), args.join("; ")));
    } else {
        out.push((format!("{} entered", c.syscall), "not seen: the call began before syswalk attached".into()));
    }
    if let Some(t) = &c.before.fdtable {
        out.push((
            "fd table before (task->files->fdt)".into(),
            format!(
                "open {} of max_fds {} · next_fd {} · RLIMIT_NOFILE {}/{} · files {} fdt {}",
                open_set(&t.open),
                t.max_fds,
                t.next_fd,
                t.rlimit_nofile_cur,
                t.rlimit_nofile_max,
                t.files,
                t.fdt
            ),
        ));
    }
    walk_steps(&c.before, "at entry", &mut out);
    match (c.ret, c.latency_ns) {
        (Some(r), lat) => {
            let e = c.errno.as_ref().map(|e| format!(" = -{}", e.show())).unwrap_or_default();
            let l = lat.map(|l| format!(" after {}", us(l))).unwrap_or_default();
            out.push(("returned (tp_btf/sys_exit)".into(), format!("rax = {r}{e}{l}")));
        }
        (None, _) => out.push(("returned".into(), "no sys_exit seen".into())),
    }
    if let Some(t) = &c.after.fdtable {
        out.push(("fd table after".into(), format!("open {}", open_set(&t.open))));
    }
    walk_steps(&c.after, "", &mut out);
    out
}

fn walk_steps(w: &Walk, when: &str, out: &mut Vec<(String, String)>) {
    let Some(fd) = w.fd else { return };
    let sfx = if when.is_empty() { String::new() } else { format!(" ({when})") };
    if let Some(f) = &w.file {
        out.push((
            format!("fdt->fd[{fd}] → struct file{sfx}"),
            format!(
                "{} · {} (f_inode->i_mode {}) · f_op {} (read_iter = {}, release = {}) · f_mode {} · f_flags {} · {} = {} → count {} · private_data {}",
                f.addr,
                f.ty,
                f.i_mode,
                f.f_op.show(),
                f.f_op_read_iter.symbol.as_deref().unwrap_or("?"),
                f.f_op_release.symbol.as_deref().unwrap_or("?"),
                f.f_mode,
                f.f_flags,
                f.f_count_field,
                f.f_count_raw,
                f.f_count,
                f.private_data
            ),
        ));
    } else {
        out.push((format!("fdt->fd[{fd}]{sfx}"), "empty (NULL) or not read".into()));
    }
    if let Some(f) = w.file.as_ref().filter(|f| !f.is_socket()) {
        out.push((
            "file->private_data".into(),
            format!("{} — not read as a struct socket: the file is a {}, not a socket", f.private_data, f.ty),
        ));
    }
    if let Some(s) = &w.socket {
        out.push((
            "file->private_data → struct socket".into(),
            format!(
                "{} · state {} · type {} · flags {} · file {} · sk {}",
                s.addr,
                s.state.show(),
                s.ty.show(),
                s.flags,
                s.file,
                s.sk
            ),
        ));
        out.push((
            "socket->ops (struct proto_ops)".into(),
            format!(
                "{} · family {} · release = {} · bind = {} · connect = {}",
                s.ops.show(),
                s.ops_family.show(),
                s.ops_release.symbol.as_deref().unwrap_or("?"),
                s.ops_bind.symbol.as_deref().unwrap_or("?"),
                s.ops_connect.symbol.as_deref().unwrap_or("?")
            ),
        ));
    }
    if let Some(k) = &w.sock {
        out.push((
            "socket->sk → struct sock".into(),
            format!(
                "{} · family {} · protocol {} · type {} · state {} · rcvbuf {} · sndbuf {} · refcnt {}",
                k.addr,
                k.family.show(),
                k.protocol.show(),
                k.ty.show(),
                k.state.show(),
                k.rcvbuf,
                k.sndbuf,
                k.refcnt
            ),
        ));
        out.push((
            "sk->sk_prot (struct proto)".into(),
            format!(
                "{} · name \"{}\" · close = {}",
                k.sk_prot.show(),
                escape::text(&k.prot_name),
                k.prot_close.symbol.as_deref().unwrap_or("?")
            ),
        ));
        out.push(("sk->sk_socket".into(), k.sk_socket.to_string()));
        if let Some(i) = &k.inet {
            let mut v = format!(
                "local {} (inet_num {} · inet_sport {} as read → ntohs → {}) · peer {}",
                i.local(),
                i.num,
                i.sport_raw,
                i.sport,
                i.peer()
            );
            if let Some(t) = &i.tcp {
                v += &format!(
                    " · bind bucket {} (port {}) · backlog max {}, waiting {} · rcv_nxt {} − copied_seq {} = {} unread · write_seq {} snd_una {}",
                    t.bind_bucket,
                    t.bind_bucket_port,
                    k.max_ack_backlog,
                    k.ack_backlog,
                    t.rcv_nxt,
                    t.copied_seq,
                    t.unread,
                    t.write_seq,
                    t.snd_una
                );
            }
            out.push(("sk as inet_sock (addresses, ports)".into(), v));
        }
    }
}

/// The run's connections: each followed sock with its ends, then their TCP state changes over time, one column
/// per sock (ms from the first change). None when no sock was followed.
pub fn connection_view(r: &Report) -> Option<String> {
    let cv = r.connections.as_ref()?;
    let mut o = String::new();
    let paired = |s: KAddr| cv.pairs.iter().find(|p| p.a == s || p.b == s).map(|p| if p.a == s { p.b } else { p.a });
    for s in &cv.socks {
        let peer_sock =
            paired(s.sock).map(|p| format!("  ⇄ sk {p} (its peer: the addresses match)")).unwrap_or_default();
        let _ = writeln!(
            o,
            "  {:<9} pid {} fd {:<4} socket {} sk {}  {} ↔ {}{peer_sock}",
            s.role,
            s.pid,
            s.fd.map(|f| f.to_string())
                .or(s.closed_by.map(|c| format!("– (closed by call {c})")))
                .unwrap_or_else(|| "?".into()),
            s.socket.map(|a| a.to_string()).unwrap_or_else(|| "?".into()),
            s.sock,
            s.local.as_deref().unwrap_or("?"),
            s.peer.as_deref().unwrap_or("–"),
        );
    }
    let mut all: Vec<(u64, usize, String)> = Vec::new();
    for (col, s) in cv.socks.iter().enumerate() {
        for st in &s.states {
            let name = |v: &crate::model::Value| {
                v.name.as_deref().map(|n| n.trim_start_matches("TCP_").to_string()).unwrap_or_else(|| v.raw.to_string())
            };
            all.push((st.ts_ns, col, format!("{} → {}", name(&st.old), name(&st.new))));
        }
    }
    all.sort();
    if let Some(t0) = all.first().map(|a| a.0) {
        const W: usize = 26;
        let _ = writeln!(o, "\n  TCP states over time (tp_btf/inet_sock_set_state; ms from the first change)");
        // A column per sock up to COLS; the changes of further socks share the last column, each named by its sock
        // (a line's width stays bounded however many socks a report holds).
        let mut head: String = cv
            .socks
            .iter()
            .take(STATE_COLS)
            .map(|s| format!("{:<W$}", format!("{} {}", s.role, short(s.sock))))
            .collect();
        if cv.socks.len() > STATE_COLS {
            head += &format!("(the other {} socks, named)", cv.socks.len() - STATE_COLS);
        }
        let _ = writeln!(o, "  {:>9}  {}", "ms", head.trim_end());
        for (t, col, text) in &all {
            let line = match cv.socks.get(*col).filter(|_| *col >= STATE_COLS) {
                Some(s) => format!("{}{} {text}", " ".repeat(STATE_COLS * W), short(s.sock)),
                None => format!("{}{text}", " ".repeat(col * W)),
            };
            let _ = writeln!(o, "  {:>9.3}  {line}", t.saturating_sub(t0) as f64 / 1e6);
        }
    } else if let Some(why) = &cv.states_missing {
        let _ = writeln!(o, "\n  TCP states: not observable here ({why})");
    }
    if cv.unfollowed > 0 {
        let _ =
            writeln!(o, "  ({} calls or state changes of socks past the first 256 were not followed)", cv.unfollowed);
    }
    Some(o)
}

/// The socks the state table gives a column of their own.
const STATE_COLS: usize = 8;

/// The last 6 hex digits of an address, for a column heading ("…d0c0").
fn short(a: KAddr) -> String {
    let s = a.to_string();
    format!("…{}", &s[s.len().saturating_sub(6)..])
}

/// The call's allocation list, one line per object: allocated by, released by, freed by (and when).
pub fn allocation_lines(c: &Call) -> Vec<String> {
    c.allocations
        .iter()
        .map(|a| {
            let failed = c.ret.is_some_and(|r| r < 0);
            let rel = if a.released_by.is_empty() && failed && crate::syscalls::socket::DEF.is(c) {
                "not released in the failed call (see release.same_socket)".to_string()
            } else if a.released_by.is_empty() && failed {
                // A failed accept4's new file goes back by a deferred fput, after the call returned: not followed.
                "not released inside the call (a failed call's file is put after it returns: not followed here)"
                    .to_string()
            } else if a.released_by.is_empty() {
                "kept by the call (not released in it)".to_string()
            } else {
                format!("released by {}", a.released_by.join(" → "))
            };
            let freed = match (&a.freed_by, a.freed_after_ns) {
                (Some(f), Some(ns)) if ns < 0 => {
                    format!(" · freed by {f} inside the call, {:.3} ms before it returned", -ns as f64 / 1e6)
                }
                (Some(f), Some(ns)) => format!(" · freed by {f} {:.3} ms after the call", ns as f64 / 1e6),
                (Some(f), None) => format!(" · freed by {f}"),
                (None, _) if a.released_by.is_empty() || !crate::syscalls::socket::DEF.is(c) => String::new(),
                (None, _) => " · no free seen while tracing".into(),
            };
            format!("{} {} ← {}() · {rel}{freed}", a.object, a.addr, a.allocated_by)
        })
        .collect()
}

/// The function-level chain of a call as an indented tree: arguments, return, times, caller, objects.
pub fn chain_tree(c: &Call) -> Vec<String> {
    let mut out = Vec::new();
    for f in &c.chain {
        // A saved report's depth is checked on reading (Report::check_read_back); bounded here as well.
        let ind = "  ".repeat(f.depth.min(crate::report::FRAME_DEPTH_MAX));
        let args: Vec<String> = f.args.iter().map(|a| format!("{}={}", a.name, a.value)).collect();
        let ret = match (f.ret, f.exit_ns) {
            (Some(r), _) if r.unsigned_abs() > 1 << 32 => format!("{:#x}", r as u64),
            (Some(r), _) => r.to_string(),
            (None, Some(_)) => "void".into(),
            (None, None) => "(no exit seen)".into(),
        };
        let t = match (f.inclusive_ns, f.exclusive_ns) {
            (Some(i), Some(e)) => format!("{} incl · {} excl", us(i), us(e)),
            _ => "?".into(),
        };
        let caller = f.caller.as_ref().map(|c| format!(" · ← {c}")).unwrap_or_default();
        out.push(format!("{ind}{}({}) = {ret} · {t}{caller}", f.func, args.join(", ")));
        for (when, objs) in [("in", &f.entry_objects), ("out", &f.exit_objects)] {
            for o in objs.iter() {
                let detail = if let Some(s) = &o.socket {
                    format!("state {} · ops {} · sk {} · file {}", s.state.show(), s.ops.show(), s.sk, s.file)
                } else if let Some(k) = &o.sock {
                    format!(
                        "family {} · protocol {} · sk_prot {} \"{}\" · sk_socket {}",
                        k.family.show(),
                        k.protocol.show(),
                        k.sk_prot.show(),
                        escape::text(&k.prot_name),
                        k.sk_socket
                    )
                } else if let Some(fl) = &o.file {
                    format!("f_op {} · private_data {}", fl.f_op.show(), fl.private_data)
                } else {
                    String::new()
                };
                out.push(format!("{ind}    {when} {} {} {}: {detail}", o.from, o.kind, o.addr));
            }
        }
    }
    out
}

/// The ASCII memory-linkage map fd → file → socket ⇄ sock with the real addresses.
pub fn linkage_map(c: &Call) -> Option<String> {
    let w = &c.after;
    let (fd, f, s) = (w.fd?, w.file.as_ref()?, w.socket.as_ref()?);
    let mut m = String::new();
    let k = w.sock.as_ref();
    let sk_addr = k.map(|k| k.addr.to_string()).unwrap_or_else(|| "NULL".into());
    let _ = writeln!(m, "  fd {fd:<3} ──fdt->fd[{fd}]──▶ struct file {}", f.addr);
    let _ = writeln!(m, "                          │ private_data = {}", f.private_data);
    let _ = writeln!(m, "                          ▼");
    let _ = writeln!(
        m,
        "                     struct socket {}   ──file──▶ {} {}",
        s.addr,
        s.file,
        if s.file == f.addr { "(= the file above ✓)" } else { "(≠ the file above ✗)" }
    );
    let _ = writeln!(m, "                          │ sk = {}      ▲", s.sk);
    let _ = writeln!(m, "                          ▼                                   │ sk_socket");
    match k {
        Some(k) => {
            let _ = writeln!(
                m,
                "                     struct sock   {sk_addr}   ──sk_socket──▶ {} {}",
                k.sk_socket,
                if k.sk_socket == s.addr { "(= the socket above ✓)" } else { "(≠ the socket above ✗)" }
            );
            let _ = writeln!(
                m,
                "                       family {} · protocol {} · sk_prot \"{}\"",
                k.family.show(),
                k.protocol.show(),
                escape::text(&k.prot_name)
            );
        }
        None => {
            let _ = writeln!(m, "                     (no struct sock: sk is NULL or was not read)");
        }
    }
    Some(m)
}

/// A report's claims by the call they are about (each call's in report order).
pub fn claims_by_call(r: &Report) -> std::collections::HashMap<usize, Vec<&crate::claims::Claim>> {
    let mut m: std::collections::HashMap<usize, Vec<&crate::claims::Claim>> = std::collections::HashMap::new();
    for k in &r.claims {
        if let Some(s) = k.call {
            m.entry(s).or_default().push(k);
        }
    }
    m
}

/// The evidence budget's account (`--chain-calls N`), as the text and Markdown reports show it.
fn budget_lines(b: &crate::claims::budget::Budget) -> Vec<String> {
    std::iter::once(format!(
        "\nevidence budget (--chain-calls {}): {} {} calls streamed in full; counted in the kernel for the rest:",
        b.requested, b.full, b.root
    ))
    .chain(b.counted.iter().map(|(n, e, x)| format!("  {n:<30} entries {e:>8}  exits {x:>8}")))
    .collect()
}

pub fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"serialising the report failed: {e}\"}}"))
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `syswalk render --format text|md` reads a saved report back into the model: nothing may be lost on the way.
    #[test]
    fn a_saved_report_reads_back_whole_and_renders_the_same() {
        let r = crate::fixtures::report();
        let v = serde_json::to_value(&r).expect("json");
        let back: Report = serde_json::from_value(v.clone()).expect("reads back");
        assert_eq!(serde_json::to_value(&back).expect("json"), v, "the JSON of the read-back report is the same");
        let st = Style { color: false };
        assert_eq!(text(&back, &st), text(&r, &st));
        assert_eq!(markdown(&back), markdown(&r));
    }
    #[test]
    fn dots_align() {
        assert_eq!(dots("ab").chars().count(), WIDTH + 1);
        assert!(dots(&"x".repeat(60)).ends_with(".. "));
    }
}

/// Snapshots of every renderer on the fixed fixture (src/fixtures.rs): a wording or layout change shows as a diff
/// to review (`cargo insta review`, or INSTA_UPDATE=always then `git diff`).
#[cfg(test)]
mod snapshots {
    use crate::fixtures;

    #[test]
    fn report_text() {
        insta::assert_snapshot!(super::text(&fixtures::report(), &super::Style { color: false }));
    }

    #[test]
    fn report_markdown() {
        insta::assert_snapshot!(super::markdown(&fixtures::report()));
    }

    #[test]
    fn report_summary() {
        insta::assert_snapshot!(super::summary(&fixtures::report()));
    }

    #[test]
    fn lesson_text_and_markdown() {
        let l = fixtures::lesson();
        insta::assert_snapshot!("lesson_text", super::lesson::text(&l));
        insta::assert_snapshot!("lesson_markdown", super::lesson::markdown(&l));
    }
}
