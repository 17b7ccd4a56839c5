//! `syswalk diff` as text and Markdown. Every string in a diff came from a report (a kernel's release, a command
//! line, function names): escaped for the format.
use super::escape::{md, md_cell_code, text as esc};
use crate::diff::Diff;

fn members(n: usize) -> String {
    format!("{n} {}", if n == 1 { "member" } else { "members" })
}

fn verdict(v: &Option<String>) -> String {
    v.as_deref().map(|v| esc(v).into_owned()).unwrap_or_else(|| "(no such claim)".into())
}

pub fn text(d: &Diff) -> String {
    let mut o = String::new();
    let side = |n: &str, s: &crate::diff::Side| {
        format!("{n}: {} · kernel {} · tier {} · {}\n", esc(&s.file), esc(&s.kernel), esc(&s.tier), esc(&s.command))
    };
    o += &side("a", &d.a);
    o += &side("b", &d.b);
    if d.differences == 0 && d.not_compared.is_empty() {
        o += "\nno difference: the same functions with the same signatures, the same struct layouts, and every claim kept in full with the same verdict\n";
    } else if d.differences == 0 {
        o += "\nno difference in what both runs have: see \"not compared\" below for what was not\n";
    }
    let changed: Vec<_> = d.functions.iter().filter(|f| !f.change.is_empty()).collect();
    if !changed.is_empty() {
        o += &format!("\nfunctions that differ ({} of {} planned):\n", changed.len(), d.functions.len());
        for f in changed {
            o += &format!("  {:<28} {}\n", esc(&f.name), esc(&f.change));
            o += &format!("      a: {}\n      b: {}\n", esc(&f.a), esc(&f.b));
            if f.change == "signature" {
                o += &format!(
                    "      a: {}\n      b: {}\n",
                    esc(f.sig_a.as_deref().unwrap_or("?")),
                    esc(f.sig_b.as_deref().unwrap_or("?"))
                );
            }
        }
    }
    if !d.claims.is_empty() {
        o += &format!("\nclaims whose verdict differs ({}):\n", d.claims.len());
        for c in &d.claims {
            o += &format!(
                "  {:<28} {} #{}: a {} · b {}\n",
                esc(&c.id),
                esc(&c.call),
                c.nth + 1,
                verdict(&c.a),
                verdict(&c.b)
            );
        }
    }
    if !d.structs.is_empty() {
        o += &format!(
            "\nstruct layouts that differ ({} of {} compared, from each kernel's BTF):\n",
            d.structs.len(),
            d.structs_compared
        );
        for st in &d.structs {
            let size = |x: Option<u64>| x.map(|v| format!("{v} bytes")).unwrap_or_else(|| "absent".into());
            o += &format!(
                "  struct {:<22} a {} · b {} · {} the same\n",
                esc(&st.name),
                size(st.size_a),
                size(st.size_b),
                members(st.same)
            );
            for m in &st.members {
                let place = |x: &Option<String>| x.as_deref().map(|v| esc(v).into_owned()).unwrap_or("(none)".into());
                o += &format!("      {:<26} a {}\n      {:<26} b {}\n", esc(&m.name), place(&m.a), "", place(&m.b));
            }
        }
    }
    o += &format!("\nrefuted claims: a {} · b {}\n", d.refuted_a, d.refuted_b);
    for n in &d.not_compared {
        o += &format!("not compared: {}\n", esc(n));
    }
    if !d.latency.is_empty() {
        o += &format!("\nper function, median inclusive time ({}):\n", d.latency_note);
        o += &format!("  {:<28} {:>12} {:>12} {:>8}\n", "function", "a", "b", "b / a");
        for l in &d.latency {
            o += &format!(
                "  {:<28} {:>9.1} µs {:>9.1} µs {:>7.2}×   ({} and {} calls)\n",
                esc(&l.func),
                l.median_ns_a as f64 / 1e3,
                l.median_ns_b as f64 / 1e3,
                l.ratio,
                l.calls_a,
                l.calls_b
            );
        }
    }
    o
}

pub fn markdown(d: &Diff) -> String {
    let mut o = String::from("# syswalk diff\n\n| | file | kernel | tier | command |\n|---|---|---|---|---|\n");
    for (n, s) in [("a", &d.a), ("b", &d.b)] {
        o += &format!(
            "| {n} | {} | {} | {} | {} |\n",
            md_cell_code(&s.file),
            md(&s.kernel),
            md(&s.tier),
            md_cell_code(&s.command)
        );
    }
    if d.differences == 0 && d.not_compared.is_empty() {
        o += "\nNo difference: the same functions with the same signatures, the same struct layouts, and every claim kept in full with the same verdict.\n";
    } else if d.differences == 0 {
        o += "\nNo difference in what both runs have: see \"Not compared\" below for what was not.\n";
    }
    o += "\n## Functions\n\n| function | a | b | change |\n|---|---|---|---|\n";
    for f in &d.functions {
        o += &format!("| {} | {} | {} | {} |\n", md_cell_code(&f.name), md(&f.a), md(&f.b), md(&f.change));
    }
    if !d.claims.is_empty() {
        o += "\n## Claims whose verdict differs\n\n| claim | call | a | b |\n|---|---|---|---|\n";
        for c in &d.claims {
            o += &format!(
                "| {} | {} #{} | {} | {} |\n",
                md_cell_code(&c.id),
                md(&c.call),
                c.nth + 1,
                md(&verdict(&c.a)),
                md(&verdict(&c.b))
            );
        }
    }
    if !d.structs.is_empty() {
        o += &format!(
            "\n## Struct layouts that differ\n\n{} of {} compared, from each kernel's BTF.\n",
            d.structs.len(),
            d.structs_compared
        );
        for st in &d.structs {
            let size = |x: Option<u64>| x.map(|v| format!("{v} bytes")).unwrap_or_else(|| "absent".into());
            o += &format!(
                "\n### struct {}\n\nSize: a {} · b {} · {} the same\n\n| member | a | b |\n|---|---|---|\n",
                md(&st.name),
                size(st.size_a),
                size(st.size_b),
                members(st.same)
            );
            for m in &st.members {
                let place = |x: &Option<String>| x.as_deref().map(md_cell_code).unwrap_or_else(|| "(none)".into());
                o += &format!("| {} | {} | {} |\n", md_cell_code(&m.name), place(&m.a), place(&m.b));
            }
        }
    }
    o += &format!("\nRefuted claims: a {} · b {}\n", d.refuted_a, d.refuted_b);
    for n in &d.not_compared {
        o += &format!("\nNot compared: {}\n", md(n));
    }
    if !d.latency.is_empty() {
        o += &format!(
            "\n## Median inclusive time\n\n{}\n\n| function | a µs | b µs | b / a |\n|---|---|---|---|\n",
            md(d.latency_note)
        );
        for l in &d.latency {
            o += &format!(
                "| {} | {:.1} | {:.1} | {:.2} |\n",
                md_cell_code(&l.func),
                l.median_ns_a as f64 / 1e3,
                l.median_ns_b as f64 / 1e3,
                l.ratio
            );
        }
    }
    o
}
