//! The report as Markdown.
use std::fmt::Write as _;

use super::escape::{md, md_cell_code, md_code, md_fence};
use super::{call_title, chain_tree, linkage_map, steps, us};
use crate::claims::{Claim, Verdict};
use crate::report::Report;

pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# syswalk report\n");
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| kernel | {} {} |", md_cell_code(&r.kernel.release), md(&r.kernel.machine));
    if r.totals.calls > r.calls.len() as u64 {
        let _ = writeln!(
            o,
            "| calls | {} traced and judged; {} shown in full (--keep-calls){} |",
            r.totals.calls,
            r.calls.len(),
            md(&super::text::other_files(r))
        );
    }
    let _ = writeln!(o, "| tier | {} — {} |", r.kernel.tier, md(&r.kernel.tier_reason));
    let _ = writeln!(o, "| names | {} |", md(&r.kernel.kallsyms));
    let _ = writeln!(
        o,
        "| target | {} (pid {}{}, {}) |",
        md(&r.target.description),
        r.target.pid,
        r.target.host_pid.map(|h| format!("; host PID {h}: syswalk runs in a PID namespace")).unwrap_or_default(),
        md(&r.target.ending.describe())
    );
    let _ = writeln!(
        o,
        "| session | attached in {:.1} ms, {} events, {} lost |",
        r.stats.attach_ms, r.stats.events, r.stats.lost
    );
    // Each call's claims, in report order, by an index (not a scan of every claim per call).
    let by_call = super::claims_by_call(r);
    for c in &r.calls {
        let origin = r.syscalls.iter().find(|s| s.nr == c.nr).map(|s| s.nr_origin.as_str()).unwrap_or("?");
        let _ = writeln!(o, "\n## Call {}: {}\n", c.seq, md_code(&call_title(c)));
        let _ = writeln!(
            o,
            "pid {} · tid {} · {} · latency {}\n",
            c.pid,
            c.tid,
            md_code(&c.comm),
            c.latency_ns.map(us).unwrap_or_else(|| "?".into())
        );
        let _ = writeln!(o, "| # | step | evidence |\n|---|---|---|");
        for (i, (label, val)) in steps(c, origin).iter().enumerate() {
            let _ = writeln!(o, "| {:02} | {} | {} |", i + 1, md(label), md_cell_code(val));
        }
        if !c.chain.is_empty() {
            let body: String = chain_tree(c).iter().map(|l| format!("{}\n", super::escape::text(l))).collect();
            let f = md_fence(&body);
            let _ = writeln!(o, "\n### Function chain ({})\n\n{f}\n{body}{f}", md(&c.chain[0].probe));
        }
        if !c.allocations.is_empty() {
            let _ = writeln!(o, "\n### Objects allocated (matched by pointer)\n");
            for l in super::allocation_lines(c) {
                let _ = writeln!(o, "- {}", md(&l));
            }
        }
        if let Some(m) = linkage_map(c) {
            let m = super::escape::document(&m);
            let f = md_fence(&m);
            let _ = writeln!(o, "\n{f}\n{m}{f}");
        }
        let cl: Vec<&Claim> = by_call.get(&c.seq).cloned().unwrap_or_default();
        if !cl.is_empty() {
            let _ = writeln!(o, "\n### Claims\n");
            for k in cl {
                md_claim(k, &mut o);
            }
        }
    }
    if let Some(b) = &r.chain_budget {
        for l in super::budget_lines(b) {
            let _ = writeln!(o, "{l}");
        }
    }
    let global: Vec<&Claim> = r.claims.iter().filter(|k| k.call.is_none()).collect();
    if let Some(v) = super::connection_view(r) {
        let v = super::escape::document(&v);
        let f = md_fence(&v);
        let _ = writeln!(o, "\n## Connections\n\nSocks followed across calls (live addresses).\n\n{f}\n{v}{f}");
    }
    if !global.is_empty() {
        let _ = writeln!(o, "\n## Run-wide claims (not tied to one call)\n");
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
    let _ = writeln!(o, "- {} **{}** — {}", k.verdict.symbol(), md_code(&k.id), md(&k.statement));
    if let Some(f) = &k.finding {
        let mark = if k.verdict == Verdict::NotObservable { "seen:" } else { "∴" };
        let _ = writeln!(o, "  - {mark} {}", md(f));
    }
    if k.verdict == Verdict::NotObservable {
        let _ = writeln!(o, "  - not observable here: {}", md(k.reason.as_deref().unwrap_or("no evidence")));
    } else {
        for e in &k.evidence {
            let _ = writeln!(o, "  - {} = {} ({})", md(&e.what), md_code(&e.value), md(&e.source));
        }
    }
}
