//! The lesson as text (the seeds' line style) and as Markdown.
use super::escape::{md, md_cell_code, md_code, text as esc};
use crate::lesson::{Lesson, Status};

fn dots(left: &str, width: usize) -> String {
    let n = left.chars().count();
    let pad = if n + 2 < width { width - n } else { 4 };
    format!("{left} {}", ".".repeat(pad.saturating_sub(2)))
}

/// The seeds' line style: `NN. do this .......... evidence → result ✓`, one step per (long) line, the code under it.
pub fn text(l: &Lesson) -> String {
    let mut o = format!("{}\nkernel {} · tier {} · {}\n", l.title, esc(&l.kernel), l.tier, esc(&l.command));
    let mut part = String::new();
    for s in &l.steps {
        if s.part != part {
            part = s.part.clone();
            o.push_str(&format!("\n{}\n", part.to_uppercase()));
        }
        let left = format!("{:02}. {}", s.n, s.action);
        let ev = if s.evidence.is_empty() { String::new() } else { format!("{} → ", s.evidence.join("; ")) };
        let res = match (&s.status, &s.why_not) {
            (Status::NotObservable, Some(w)) => format!("not observable here: {w}"),
            _ => s.result.clone(),
        };
        o.push_str(&format!("{} {}{} {}\n", dots(&left, 60), esc(&ev), esc(&res), s.status.symbol()));
        if !s.code.is_empty() {
            o.push_str(&format!("    $ {}\n", esc(&s.code)));
        }
    }
    o.push_str(&closing(l, false));
    super::escape::document(&o)
}

fn closing(l: &Lesson, as_md: bool) -> String {
    let md = as_md;
    // Results and actions carry outside strings (symbol names, the user's binary): escaped for the format.
    let e = |t: &str| if md { super::escape::md(t) } else { esc(t).into_owned() };
    let h = |t: &str| if md { format!("\n## {t}\n\n") } else { format!("\n{t}\n") };
    let item = if md { "- " } else { "  " };
    let mut o = h("TERMS");
    let mut by_step: Vec<(usize, Vec<String>)> = Vec::new();
    for t in l.axioms.terms.iter().filter(|t| !t.derived.starts_with("given")) {
        let d = format!("{} ({})", e(&t.term), e(&t.derived));
        match by_step.last_mut() {
            Some((n, v)) if *n == t.step => v.push(d),
            _ => by_step.push((t.step, vec![d])),
        }
    }
    if by_step.is_empty() {
        o.push_str(&format!("{item}(none derived)\n"));
    }
    for (n, v) in by_step {
        o.push_str(&format!("{item}{n:02} {}\n", v.join("; ")));
    }
    o.push_str(&h("NEW THINGS INTRODUCED WITHOUT DERIVATION"));
    if l.axioms.given.is_empty() && l.axioms.undefined.is_empty() {
        o.push_str(&format!("{item}(none)\n"));
    }
    if !l.axioms.given.is_empty() {
        o.push_str(&format!("{item}≡ taken as given by the axiom steps: {}\n", l.axioms.given.join(", ")));
    }
    for u in &l.axioms.undefined {
        o.push_str(&format!("{item}✗ \"{}\" used at step {:02} and introduced by no step\n", e(&u.term), u.used_at));
    }
    for u in &l.axioms.unknown {
        o.push_str(&format!(
            "{item}✗ \"{}\" introduced at step {:02} but not in the glossary (src/lesson/glossary.rs): its uses cannot be found\n",
            e(&u.term),
            u.used_at
        ));
    }
    o.push_str(&h("NAMED, NOT DERIVED"));
    if l.axioms.named.is_empty() {
        o.push_str(&format!("{item}(none): every identifier of the text is a term the course introduces\n"));
    }
    for u in &l.axioms.named {
        o.push_str(&format!("{item}\"{}\" at step {:02}: {}\n", e(&u.name), u.used_at, e(&u.why)));
    }
    o.push_str(&h("FORWARD REFERENCES"));
    if l.axioms.forward.is_empty() {
        o.push_str(&format!("{item}(none): no step's text uses a term before the step that introduces it\n"));
    }
    for u in &l.axioms.forward {
        o.push_str(&format!(
            "{item}✗ \"{}\" used at step {:02} (\"{}\"), introduced only at step {:02}\n",
            e(&u.term),
            u.used_at,
            e(u.word.as_deref().unwrap_or("")),
            u.introduced_at.unwrap_or(0)
        ));
    }
    for u in &l.axioms.reintroduced {
        o.push_str(&format!(
            "{item}✗ \"{}\" introduced again at step {:02} (first at step {:02})\n",
            e(&u.term),
            u.used_at,
            u.introduced_at.unwrap_or(0)
        ));
    }
    o.push_str(&h("NEW INFERENCE"));
    for i in &l.axioms.inferences {
        let from: Vec<String> = i.from.iter().map(|n| format!("{n:02}")).collect();
        let from = if from.is_empty() { String::new() } else { format!("(from {}) ", from.join(", ")) };
        o.push_str(&format!("{item}∴ {:02} {from}{}\n", i.step, e(&i.conclusion)));
    }
    o.push_str(&h("REJECTION STATUS"));
    o.push_str(&format!(
        "{item}{} proved ✓ · {} refuted ✗ · {} not observable here – · {} shown · {} axioms ≡ ({} steps)\n",
        l.count(Status::Proved),
        l.count(Status::Refuted),
        l.count(Status::NotObservable),
        l.count(Status::Shown),
        l.count(Status::Axiom),
        l.steps.len()
    ));
    for r in &l.axioms.rejections {
        o.push_str(&format!("{item}{} {:02} {}: {}\n", r.status.symbol(), r.step, e(&r.action), e(&r.why)));
    }
    o
}

pub fn markdown(l: &Lesson) -> String {
    let mut o = format!("# {}\n\nkernel {} · tier {} · {}\n", l.title, md_code(&l.kernel), l.tier, md_code(&l.command));
    let mut part = String::new();
    for s in &l.steps {
        if s.part != part {
            part = s.part.clone();
            o.push_str(&format!("\n## {part}\n\n| # | do this | evidence → result | |\n|---|---|---|---|\n"));
        }
        let ev = if s.evidence.is_empty() { String::new() } else { format!("{} → ", s.evidence.join("; ")) };
        let res = match (&s.status, &s.why_not) {
            (Status::NotObservable, Some(w)) => format!("not observable here: {w}"),
            _ => s.result.clone(),
        };
        let code = if s.code.is_empty() { String::new() } else { format!("<br>{}", md_cell_code(&s.code)) };
        o.push_str(&format!(
            "| {:02} | {}{} | {}{} | {} |\n",
            s.n,
            md(&s.action),
            code,
            md(&ev),
            md(&res),
            s.status.symbol()
        ));
    }
    o.push_str(&closing(l, true));
    o
}
