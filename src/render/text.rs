//! The report as text, in the seeds' forensic line style, and the one-screen summary.
use std::fmt::Write as _;

use super::{call_title, chain_tree, dots, linkage_map, steps, us, Style};
use crate::claims::{Claim, Verdict};
use crate::report::Report;

fn claim_lines(c: &Claim, out: &mut String) {
    let _ = writeln!(out, "  {} {} {}", c.verdict.symbol(), c.id, esc(&c.statement));
    // "∴" is a conclusion: only under a verdict. Under "not observable" the finding is what was seen, no more.
    if let Some(f) = &c.finding {
        let mark = if c.verdict == Verdict::NotObservable { "seen:" } else { "∴" };
        let _ = writeln!(out, "      {mark} {}", esc(f));
    }
    match c.verdict {
        Verdict::NotObservable => {
            let _ = writeln!(out, "      not observable here: {}", esc(c.reason.as_deref().unwrap_or("no evidence")));
        }
        _ => {
            for e in &c.evidence {
                let _ = writeln!(out, "      {} = {}   [{}]", esc(&e.what), esc(&e.value), esc(&e.source));
            }
        }
    }
}

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    super::escape::text(s)
}

/// The verdict marks of claim lines in colour (after escaping: no colour code can come from outside).
fn colorize(doc: String, st: &Style) -> String {
    if !st.color {
        return doc;
    }
    doc.split('\n')
        .map(|l| {
            for v in [Verdict::Proved, Verdict::Refuted, Verdict::NotObservable] {
                if let Some(rest) = l.strip_prefix(&format!("  {} ", v.symbol())) {
                    return format!("  {} {rest}", st.verdict(v));
                }
            }
            l.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// "; N read/write/close calls on files that are not sockets: counted, not shown".
pub fn other_files(r: &Report) -> String {
    if r.totals.other_files == 0 {
        return String::new();
    }
    format!("; {} read/write/close calls on files that are not sockets: counted, not shown", r.totals.other_files)
}

pub fn text(r: &Report, st: &Style) -> String {
    colorize(super::escape::document(&plain(r)), st)
}

fn plain(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "syswalk — what the kernel did, from live evidence ({})", r.tool);
    let _ = writeln!(
        o,
        "kernel   {} {} · tier {} · {}",
        esc(&r.kernel.release),
        esc(&r.kernel.machine),
        r.kernel.tier,
        esc(&r.kernel.tier_reason)
    );
    let _ = writeln!(o, "names    {}", esc(&r.kernel.kallsyms));
    let ending = r.target.ending.describe();
    let host = r
        .target
        .host_pid
        .map(|h| format!(" (host PID {h}: syswalk runs in a PID namespace; PIDs here are the namespace's)"))
        .unwrap_or_default();
    let _ = writeln!(o, "target   {} · pid {}{host} · {}", esc(&r.target.description), r.target.pid, esc(&ending));
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
    if r.totals.calls > r.calls.len() as u64 {
        let _ = writeln!(
            o,
            "calls    {} traced and judged; the first of each syscall shown in full below ({}; --keep-calls), all counted in the summary{}",
            r.totals.calls,
            r.calls.len(),
            other_files(r)
        );
    }
    // Each call's claims, in report order, by an index (not a scan of every claim per call).
    let by_call = super::claims_by_call(r);
    for c in &r.calls {
        let origin = r.syscalls.iter().find(|s| s.nr == c.nr).map(|s| s.nr_origin.as_str()).unwrap_or("?");
        let _ = writeln!(o);
        let lat = c.latency_ns.map(us).unwrap_or_else(|| "?".into());
        let _ = writeln!(
            o,
            "call {} · {} · pid {} tid {} \"{}\" · {}",
            c.seq,
            esc(&call_title(c)),
            c.pid,
            c.tid,
            esc(&c.comm),
            lat
        );
        for (i, (label, val)) in steps(c, esc(origin).as_ref()).iter().enumerate() {
            let _ = writeln!(o, " {:02}. {}{}", i + 1, dots(&esc(label)), esc(val));
        }
        if !c.chain.is_empty() {
            let _ = writeln!(o, "\n function chain ({}; tier {})", c.chain[0].probe, r.kernel.tier);
            for l in chain_tree(c) {
                let _ = writeln!(o, "   {}", esc(&l));
            }
        }
        if !c.allocations.is_empty() {
            let _ = writeln!(o, "\n objects allocated (matched by pointer)");
            for l in super::allocation_lines(c) {
                let _ = writeln!(o, "   {}", esc(&l));
            }
        }
        if let Some(m) = linkage_map(c) {
            let _ = writeln!(o, "\n memory linkage (live addresses)");
            o.push_str(&m);
        }
        let cl: Vec<&Claim> = by_call.get(&c.seq).cloned().unwrap_or_default();
        if !cl.is_empty() {
            let _ = writeln!(o, "\n claims");
            for k in cl {
                claim_lines(k, &mut o);
            }
        }
    }
    if let Some(v) = super::connection_view(r) {
        let _ = writeln!(o, "\nconnections (socks followed across calls; live addresses)");
        for l in v.lines() {
            let _ = writeln!(o, "{}", esc(l));
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
        for l in super::budget_lines(b) {
            let _ = writeln!(o, "{l}");
        }
    }
    let global: Vec<&Claim> = r.claims.iter().filter(|k| k.call.is_none()).collect();
    if !global.is_empty() {
        let _ = writeln!(o, "\nrun-wide claims (not tied to one call)");
        // Claims not observable for one shared reason (the chain needs fentry or kprobes): the reason once.
        let mut said: Option<&str> = None;
        for k in global {
            match (k.verdict, k.reason.as_deref()) {
                (Verdict::NotObservable, Some(r)) if said == Some(r) => {
                    let _ = writeln!(o, "  {} {} {}", k.verdict.symbol(), k.id, esc(&k.statement));
                    let _ = writeln!(o, "      not observable here: the same reason");
                }
                (v, r) => {
                    claim_lines(k, &mut o);
                    said = if v == Verdict::NotObservable { r } else { None };
                }
            }
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
    super::escape::document(&summary_plain(r))
}

fn summary_plain(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "kernel {} {} · tier {} · {}",
        esc(&r.kernel.release),
        esc(&r.kernel.machine),
        r.kernel.tier,
        esc(&r.kernel.tier_reason)
    );
    let _ = writeln!(o, "target {} · pid {}", esc(&r.target.description), r.target.pid);
    let _ = writeln!(
        o,
        "session attach_ms {:.1} · launch_to_attached_ms {} · events {} · lost {} · undecodable {} · traced_ms {:.0} · calls {}",
        r.stats.attach_ms,
        r.stats.launch_to_attached_ms.map(|l| format!("{l:.0}")).unwrap_or_else(|| "?".into()),
        r.stats.events,
        r.stats.lost,
        r.stats.undecodable,
        r.stats.traced_ms,
        r.totals.calls
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
    // Every call's claims (totals), not only those of the calls kept in full: the lines add up to the ∴ line.
    for (id, [p, x, n]) in &r.totals.claims {
        let _ = writeln!(o, "  {id:<30} ✓ {p} ✗ {x} – {n}");
    }
    let _ = writeln!(
        o,
        "∴ {} proved · {} refuted · {} not observable here",
        r.summary.proved, r.summary.refuted, r.summary.not_observable
    );
    o
}
