//! Renderers: text (the seeds' forensic line style), Markdown, JSON. Pure functions of the report.
use std::fmt::Write as _;

use crate::claims::{Claim, Verdict};
use crate::model::{Call, Walk};
use crate::report::Report;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Md,
    /// Counts only: calls, claims per id and verdict, session statistics (for long traces and benchmarks).
    Summary,
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

fn us(ns: u64) -> String {
    if ns < 10_000 {
        format!("{:.2} µs", ns as f64 / 1e3)
    } else {
        format!("{:.1} µs", ns as f64 / 1e3)
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
                    _ => String::new(),
                };
                format!("{}: {r} = {}{named}", a.name, a.value.raw)
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
                "{} · f_op {} (read_iter = {}, release = {}) · f_mode {} · f_flags {} · {} = {} → count {} · private_data {}",
                f.addr,
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
                k.prot_name,
                k.prot_close.symbol.as_deref().unwrap_or("?")
            ),
        ));
        out.push(("sk->sk_socket".into(), k.sk_socket.clone()));
    }
}

/// The function-level chain of a call as an indented tree: arguments, return, times, caller, objects.
pub fn chain_tree(c: &Call) -> Vec<String> {
    let mut out = Vec::new();
    for f in &c.chain {
        let ind = "  ".repeat(f.depth);
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
        let caller = f.caller.as_deref().map(|c| format!(" · ← {c}")).unwrap_or_default();
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
                        k.prot_name,
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
    let sk_addr = k.map(|k| k.addr.as_str()).unwrap_or("NULL");
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
                k.prot_name
            );
        }
        None => {
            let _ = writeln!(m, "                     (no struct sock: sk is NULL or was not read)");
        }
    }
    Some(m)
}

fn claim_lines(c: &Claim, st: &Style, out: &mut String) {
    let head = format!("{} {}", st.verdict(c.verdict), c.id);
    let _ = writeln!(out, "  {} {}", head, c.statement);
    match c.verdict {
        Verdict::NotObservable => {
            let _ = writeln!(out, "      not observable here: {}", c.reason.as_deref().unwrap_or("no evidence"));
        }
        _ => {
            for e in &c.evidence {
                let _ = writeln!(out, "      {} = {}   [{}]", e.what, e.value, e.source);
            }
        }
    }
}

pub fn text(r: &Report, st: &Style) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "syswalk — what the kernel did, from live evidence ({})", r.tool);
    let _ = writeln!(
        o,
        "kernel   {} {} · tier {} · {}",
        r.kernel.release, r.kernel.machine, r.kernel.tier, r.kernel.tier_reason
    );
    let _ = writeln!(o, "names    {}", r.kernel.kallsyms);
    let ending = match r.target.ending {
        crate::probes::target::Ending::Exited(c) => format!("exited {c}"),
        crate::probes::target::Ending::Signaled(s) => format!("killed by {}", crate::probes::target::signal_name(s)),
        crate::probes::target::Ending::Unknown => "ending not observed".into(),
    };
    let _ = writeln!(o, "target   {} · pid {} · {}", r.target.description, r.target.pid, ending);
    let _ = writeln!(
        o,
        "session  attached in {:.1} ms{} · {} events · {} lost{} · traced {:.0} ms",
        r.stats.attach_ms,
        r.stats.launch_to_attached_ms.map(|l| format!(" ({l:.0} ms after launch)")).unwrap_or_default(),
        r.stats.events,
        r.stats.lost,
        if r.stats.undecodable > 0 { format!(" · {} undecodable", r.stats.undecodable) } else { String::new() },
        r.stats.traced_ms
    );
    for l in cost_lines(&r.stats) {
        let _ = writeln!(o, "{l}");
    }
    if r.stats.lost > 0 {
        let _ = writeln!(o, "WARNING  {} events were lost (ring buffer full, or program runs the kernel skipped): calls below may be incomplete", r.stats.lost);
    }
    for c in &r.calls {
        let origin = r.syscalls.iter().find(|s| s.nr == c.nr).map(|s| s.nr_origin.as_str()).unwrap_or("?");
        let _ = writeln!(o);
        let lat = c.latency_ns.map(us).unwrap_or_else(|| "?".into());
        let _ =
            writeln!(o, "call {} · {} · pid {} tid {} \"{}\" · {}", c.seq, call_title(c), c.pid, c.tid, c.comm, lat);
        for (i, (label, val)) in steps(c, origin).iter().enumerate() {
            let _ = writeln!(o, " {:02}. {}{}", i + 1, dots(label), val);
        }
        if !c.chain.is_empty() {
            let _ = writeln!(o, "\n function chain ({}; tier {})", c.chain[0].probe, r.kernel.tier);
            for l in chain_tree(c) {
                let _ = writeln!(o, "   {l}");
            }
        }
        if let Some(m) = linkage_map(c) {
            let _ = writeln!(o, "\n memory linkage (live addresses)");
            o.push_str(&m);
        }
        let cl: Vec<&Claim> = r.claims.iter().filter(|k| k.call == Some(c.seq)).collect();
        if !cl.is_empty() {
            let _ = writeln!(o, "\n claims");
            for k in cl {
                claim_lines(k, st, &mut o);
            }
        }
    }
    let untraced: Vec<String> =
        r.chain_plan.iter().filter(|p| !p.traced).map(|p| format!("{} ({})", p.name, p.note)).collect();
    if !untraced.is_empty() {
        let _ = writeln!(o, "\nchain functions not traced here:");
        for u in untraced {
            let _ = writeln!(o, "  – {u}");
        }
    }
    if let Some(d) = &r.dispatch {
        let _ = writeln!(o, "\nfamily dispatch table, read live: {}", d.source);
        if let Some(e) = &d.error {
            let _ = writeln!(o, "  not observable here: {e}");
        }
        for s in &d.slots {
            let _ = writeln!(
                o,
                "  net_families[{}] = {} → create = {}",
                s.family.show(),
                s.net_proto_family.show(),
                s.create.show()
            );
        }
        for w in &d.inetsw {
            let _ = writeln!(
                o,
                "  inetsw[{}] first entry: protocol {}, prot = {}, ops = {}",
                w.ty.show(),
                w.protocol.show(),
                w.prot.show(),
                w.ops.show()
            );
        }
    }
    if let Some(b) = &r.chain_budget {
        let _ = writeln!(
            o,
            "\nevidence budget (--chain-calls {}): {} {} calls streamed in full; counted in the kernel for the rest:",
            b.requested, b.full, b.root
        );
        for (n, e, x) in &b.counted {
            let _ = writeln!(o, "  {n:<30} entries {e:>8}  exits {x:>8}");
        }
    }
    let global: Vec<&Claim> = r.claims.iter().filter(|k| k.call.is_none()).collect();
    if !global.is_empty() {
        let _ = writeln!(o, "\nfunction-level claims");
        for k in global {
            claim_lines(k, st, &mut o);
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "∴ {} proved · {} refuted · {} not observable here",
        r.summary.proved, r.summary.refuted, r.summary.not_observable
    );
    o
}

/// What syswalk's own programs cost (kernel run-time statistics, --bpf-stats) and what the kernel skipped.
fn cost_lines(st: &crate::probes::session::Stats) -> Vec<String> {
    let (runs, ns, misses) = crate::probes::selfcost::totals(&st.programs);
    let mut out = Vec::new();
    if st.bpf_stats {
        let per = if runs > 0 { format!("{:.0} ns per run", ns as f64 / runs as f64) } else { "no runs".into() };
        out.push(format!("bpf cost {runs} program runs · {:.3} ms inside syswalk's programs · {per} (kernel run-time statistics, dispatch not included)", ns as f64 / 1e6));
        let mut progs: Vec<_> = st.programs.iter().filter(|p| p.runs > 0).collect();
        progs.sort_by_key(|p| std::cmp::Reverse(p.run_ns));
        for p in progs {
            out.push(format!(
                "         {:<16} {:>9} runs · {:>10.3} ms · {:>6.0} ns/run",
                p.name,
                p.runs,
                p.run_ns as f64 / 1e6,
                p.run_ns as f64 / p.runs as f64
            ));
        }
    }
    if misses > 0 {
        out.push(format!("WARNING  {misses} program runs skipped by the kernel (recursion misses: already running on that CPU) — counted as lost"));
    }
    out
}

pub fn summary(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "kernel {} {} · tier {} · {}",
        r.kernel.release, r.kernel.machine, r.kernel.tier, r.kernel.tier_reason
    );
    let _ = writeln!(o, "target {} · pid {}", r.target.description, r.target.pid);
    let _ = writeln!(
        o,
        "session attach_ms {:.1} · launch_to_attached_ms {} · events {} · lost {} · undecodable {} · traced_ms {:.0} · calls {}",
        r.stats.attach_ms,
        r.stats.launch_to_attached_ms.map(|l| format!("{l:.0}")).unwrap_or_else(|| "?".into()),
        r.stats.events,
        r.stats.lost,
        r.stats.undecodable,
        r.stats.traced_ms,
        r.calls.len()
    );
    for l in cost_lines(&r.stats) {
        let _ = writeln!(o, "{l}");
    }
    if let Some(b) = &r.chain_budget {
        let _ = writeln!(
            o,
            "chain budget: {} {} calls in full (asked {}), the rest counted in the kernel",
            b.full, b.root, b.requested
        );
    }
    let mut ids: Vec<&str> = r.claims.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        let n = |v: Verdict| r.claims.iter().filter(|c| c.id == id && c.verdict == v).count();
        let _ = writeln!(
            o,
            "  {id:<30} ✓ {} ✗ {} – {}",
            n(Verdict::Proved),
            n(Verdict::Refuted),
            n(Verdict::NotObservable)
        );
    }
    let _ = writeln!(
        o,
        "∴ {} proved · {} refuted · {} not observable here",
        r.summary.proved, r.summary.refuted, r.summary.not_observable
    );
    o
}

pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# syswalk report\n");
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| kernel | `{}` {} |", r.kernel.release, r.kernel.machine);
    let _ = writeln!(o, "| tier | {} — {} |", r.kernel.tier, r.kernel.tier_reason);
    let _ = writeln!(o, "| names | {} |", r.kernel.kallsyms);
    let _ = writeln!(o, "| target | {} (pid {}) |", r.target.description, r.target.pid);
    let _ = writeln!(
        o,
        "| session | attached in {:.1} ms, {} events, {} lost |",
        r.stats.attach_ms, r.stats.events, r.stats.lost
    );
    for c in &r.calls {
        let origin = r.syscalls.iter().find(|s| s.nr == c.nr).map(|s| s.nr_origin.as_str()).unwrap_or("?");
        let _ = writeln!(o, "\n## Call {}: `{}`\n", c.seq, call_title(c));
        let _ = writeln!(
            o,
            "pid {} · tid {} · `{}` · latency {}\n",
            c.pid,
            c.tid,
            c.comm,
            c.latency_ns.map(us).unwrap_or_else(|| "?".into())
        );
        let _ = writeln!(o, "| # | step | evidence |\n|---|---|---|");
        for (i, (label, val)) in steps(c, origin).iter().enumerate() {
            let _ = writeln!(o, "| {:02} | {} | `{}` |", i + 1, label.replace('|', "\\|"), val.replace('|', "\\|"));
        }
        if !c.chain.is_empty() {
            let _ = writeln!(o, "\n### Function chain ({})\n\n```", c.chain[0].probe);
            for l in chain_tree(c) {
                let _ = writeln!(o, "{l}");
            }
            let _ = writeln!(o, "```");
        }
        if let Some(m) = linkage_map(c) {
            let _ = writeln!(o, "\n```\n{m}```");
        }
        let cl: Vec<&Claim> = r.claims.iter().filter(|k| k.call == Some(c.seq)).collect();
        if !cl.is_empty() {
            let _ = writeln!(o, "\n### Claims\n");
            for k in cl {
                md_claim(k, &mut o);
            }
        }
    }
    if let Some(b) = &r.chain_budget {
        let _ = writeln!(
            o,
            "\nevidence budget (--chain-calls {}): {} {} calls streamed in full; counted in the kernel for the rest:",
            b.requested, b.full, b.root
        );
        for (n, e, x) in &b.counted {
            let _ = writeln!(o, "  {n:<30} entries {e:>8}  exits {x:>8}");
        }
    }
    let global: Vec<&Claim> = r.claims.iter().filter(|k| k.call.is_none()).collect();
    if !global.is_empty() {
        let _ = writeln!(o, "\n## Function-level claims\n");
        for k in global {
            md_claim(k, &mut o);
        }
    }
    let _ = writeln!(
        o,
        "\n**∴ {} proved · {} refuted · {} not observable here**",
        r.summary.proved, r.summary.refuted, r.summary.not_observable
    );
    o
}

fn md_claim(k: &Claim, o: &mut String) {
    let _ = writeln!(o, "- {} **`{}`** — {}", k.verdict.symbol(), k.id, k.statement);
    if k.verdict == Verdict::NotObservable {
        let _ = writeln!(o, "  - not observable here: {}", k.reason.as_deref().unwrap_or("no evidence"));
    } else {
        for e in &k.evidence {
            let _ = writeln!(o, "  - {} = `{}` ({})", e.what, e.value, e.source);
        }
    }
}

pub fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\": \"serialising the report failed: {e}\"}}"))
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn dots_align() {
        assert_eq!(dots("ab").chars().count(), WIDTH + 1);
        assert!(dots(&"x".repeat(60)).ends_with(".. "));
    }
}
