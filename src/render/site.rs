//! The course as a static site (`syswalk site`): plain HTML5 from a template engine with auto-escaping (maud), one
//! stylesheet, no script. Pure: the same evidence gives byte-identical pages. Every outside string goes through
//! `escape::text` (control characters shown) before maud escapes it for HTML; the builder checks its own internal
//! links before anything is written (`check_links`).
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use maud::{html, Markup, DOCTYPE};

use crate::claims::{ids, Claim, Verdict};
use crate::lesson::questions::{self, Answer, By};
use crate::lesson::{Lesson, Status};
use crate::model::Call;
use crate::render::escape;
use crate::report::Report;

/// One machine's evidence: a kernel, a tier, and what was traced there.
pub struct Machine {
    /// A file-name-safe identifier ([a-z0-9.-]), unique in the site.
    pub slug: String,
    /// Where the evidence came from: a file name, or "a run here".
    pub source: String,
    pub lesson: Option<Lesson>,
    pub report: Option<Report>,
}

impl Machine {
    pub fn new(source: String, lesson: Option<Lesson>, report: Option<Report>, taken: &BTreeSet<String>) -> Self {
        let (release, tier) = match (&report, &lesson) {
            (Some(r), _) => (r.kernel.release.clone(), format!("{:?}", r.kernel.tier)),
            (None, Some(l)) => (l.kernel.clone(), format!("{:?}", l.tier)),
            (None, None) => ("unknown".into(), "?".into()),
        };
        let base: String = format!("{release}-tier-{tier}")
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' })
            .collect();
        let base = bounded_name(base);
        let mut slug = base.clone();
        let mut n = 2;
        while taken.contains(&slug) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        Machine { slug, source, lesson, report }
    }
    fn release(&self) -> String {
        self.report
            .as_ref()
            .map(|r| r.kernel.release.clone())
            .or(self.lesson.as_ref().map(|l| l.kernel.clone()))
            .unwrap_or_default()
    }
    fn tier(&self) -> String {
        self.report
            .as_ref()
            .map(|r| format!("{:?}", r.kernel.tier))
            .or(self.lesson.as_ref().map(|l| format!("{:?}", l.tier)))
            .unwrap_or_default()
    }
    fn label(&self) -> String {
        format!("{} · tier {}", self.release(), self.tier())
    }
    /// Every claim of the machine's evidence, once: the report's, then the lesson's own (KASLR, constants, source
    /// lines) that the report does not have.
    fn claims(&self) -> Vec<&Claim> {
        let mut v: Vec<&Claim> = self.report.iter().flat_map(|r| r.claims.iter()).collect();
        if let Some(l) = &self.lesson {
            // By (id, call): the evidence is compared only among the few claims of one id and call.
            let mut by: HashMap<(&str, Option<usize>), Vec<&Claim>> = HashMap::new();
            for c in &v {
                by.entry((c.id.as_str(), c.call)).or_default().push(c);
            }
            for c in &l.claims {
                let same = by.entry((c.id.as_str(), c.call)).or_default();
                if !same.iter().any(|k| k.evidence == c.evidence) {
                    same.push(c);
                    v.push(c);
                }
            }
        }
        v
    }
    fn page(&self, what: &str) -> String {
        format!("{}-{what}.html", self.slug)
    }
}

/// The longest slug or chapter name in a file name: a page's name stays far below NAME_MAX (255 bytes) whatever a
/// report's kernel release or syscall names hold.
const NAME_PART_MAX: usize = 64;

/// `s` (ASCII, from a slug) if it is at most NAME_PART_MAX bytes, else its first bytes and a hash of the whole
/// (FNV-1a: the same name gives the same page names on every build), so long names stay distinct.
fn bounded_name(s: String) -> String {
    if s.len() <= NAME_PART_MAX {
        return s;
    }
    let h = s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    let head: String = s.chars().take(NAME_PART_MAX - 17).collect();
    format!("{head}-{h:016x}")
}

/// The built site: relative path → content.
pub struct Site {
    pub files: BTreeMap<String, String>,
}

const CSS: &str = "\
html{color:#000;background:#fff}\n\
body{margin:0;padding:0 1em;font:16px/1.4 serif}\n\
nav{border-bottom:1px solid #000;padding:.3em 0;font-family:monospace}\n\
nav a{margin-right:1em;white-space:nowrap}\n\
pre,code,.ev,td.mono{font-family:monospace}\n\
pre{white-space:pre;overflow-x:auto;margin:.3em 0}\n\
a{color:#000}\n\
table{border-collapse:collapse}\n\
td,th{border:1px solid #000;padding:.15em .4em;vertical-align:top;text-align:left}\n\
details{border-left:1px solid #000;padding-left:.5em;margin:.4em 0}\n\
summary{cursor:pointer}\n\
.tree div{font-family:monospace;white-space:pre}\n\
.verdict{font-family:monospace;white-space:nowrap}\n\
.split,.three{display:grid;gap:1em;height:calc(100vh - 4.5em)}\n\
.split{grid-template-columns:1fr 1fr}\n\
.three{grid-template-columns:1fr 1fr 1fr}\n\
.pane{overflow:auto;min-width:0;border:1px solid #000;padding:0 .6em}\n\
.pane h2{margin-top:.3em}\n\
@media (max-width:900px){.split,.three{grid-template-columns:1fr;height:auto}.pane{overflow:visible}}\n";

/// An outside or kernel string as visible text (control characters escaped); maud escapes it for HTML after.
fn t(s: &str) -> String {
    escape::text(s).into_owned()
}

fn verdict_mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Proved => "✓ proved",
        Verdict::Refuted => "✗ refuted",
        Verdict::NotObservable => "– not observable here",
    }
}

fn status_mark(s: Status) -> &'static str {
    match s {
        Status::Axiom => "≡ axiom",
        Status::Proved => "✓ proved",
        Status::Refuted => "✗ refuted",
        Status::NotObservable => "– not observable here",
        Status::Shown => "· shown",
    }
}

/// A claim's anchor on its machine's claims page: the first claim of an id is `c-ID`, the k-th (k ≥ 2) `c-ID-k`.
fn claim_anchors(claims: &[&Claim]) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    claims
        .iter()
        .map(|c| {
            let n = seen.entry(c.id.as_str()).or_insert(0);
            *n += 1;
            if *n == 1 {
                format!("c-{}", escape::frag(&c.id))
            } else {
                format!("c-{}-{}", escape::frag(&c.id), n)
            }
        })
        .collect()
}

/// The upstream version a kernel build is of, for source links: "Debian 6.1.158-1" in /proc/version, else the
/// release's leading numbers ("6.18.44-fc" → 6.18.44). None when neither says.
pub fn upstream_version(release: &str, version_line: &str) -> Option<String> {
    let nums = |s: &str| -> Option<String> {
        let v: String = s.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let parts: Vec<&str> = v.split('.').filter(|p| !p.is_empty()).collect();
        (parts.len() >= 2).then(|| {
            // Debian's ABI names end in .0 (6.1.0-41): the upstream version is not in them.
            parts.join(".")
        })
    };
    let v = nums(release)?;
    // The build's own version, not the compiler's ("gcc-12 (Debian 12.2.0-14)" comes first): the last "Debian X.Y.Z"
    // of the same series as the release.
    let series: String = v.split('.').take(2).collect::<Vec<_>>().join(".") + ".";
    if let Some(d) = version_line
        .match_indices("Debian ")
        .filter_map(|(i, _)| nums(&version_line[i + 7..]))
        .filter(|d| d.starts_with(&series))
        .last()
    {
        return Some(d);
    }
    // "6.1.0" is an ABI name, not a release: only the series is known.
    Some(v.strip_suffix(".0").map(str::to_string).unwrap_or(v))
}

/// A kernel function's cross-reference link for this exact version (Elixir), at its DWARF line when known.
fn xref(version: Option<&str>, func: &str, line: Option<&(String, u32)>) -> Option<String> {
    let v = version?;
    let ok = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || "_./-".contains(c));
    if !ok(func) {
        return None;
    }
    // A line number is only meaningful in the exact tree: with the series alone (6.1), link the identifier.
    let exact = v.split('.').count() >= 3;
    Some(match line {
        Some((file, n)) if ok(file) && exact => format!("https://elixir.bootlin.com/linux/v{v}/source/{file}#L{n}"),
        _ => format!("https://elixir.bootlin.com/linux/v{v}/C/ident/{func}"),
    })
}

/// Function → (source file relative to the tree, line) from the source.lines claim's evidence ("path:line (in f)").
fn source_lines(claims: &[&Claim]) -> BTreeMap<String, (String, u32)> {
    let mut m = BTreeMap::new();
    for c in claims.iter().filter(|c| c.id == ids::SOURCE_LINES.id) {
        for e in &c.evidence {
            if e.what.contains('+') || e.what.contains(' ') {
                continue;
            }
            let loc = e.value.split(" (in ").next().unwrap_or("");
            let Some((path, line)) = loc.rsplit_once(':') else { continue };
            let Ok(line) = line.parse::<u32>() else { continue };
            // DWARF paths are the build's: keep the part from the tree's top folder on.
            let tops =
                ["net/", "fs/", "kernel/", "include/", "mm/", "arch/", "security/", "lib/", "block/", "drivers/"];
            let rel = tops
                .iter()
                .filter_map(|t| {
                    path.find(&format!("/{t}")).map(|i| &path[i + 1..]).or(path.starts_with(t).then_some(path))
                })
                .next()
                .unwrap_or(path.trim_start_matches("./"));
            m.insert(e.what.clone(), (rel.to_string(), line));
        }
    }
    m
}

/// The chapters every page's navigation names (the index lists them all): a page's size does not grow with the
/// number of distinct syscalls a report holds.
const NAV_CHAPTERS: usize = 24;

struct Ctx<'a> {
    ms: &'a [Machine],
    /// One per machine, in the order of `ms`.
    ix: Vec<Ix<'a>>,
}

impl<'a> Ctx<'a> {
    fn new(ms: &'a [Machine]) -> Self {
        Ctx { ms, ix: ms.iter().map(Ix::new).collect() }
    }
    fn ix(&self, m: &Machine) -> &Ix<'a> {
        let i = self.ms.iter().position(|x| std::ptr::eq(x, m)).unwrap_or(0);
        &self.ix[i]
    }
}

/// A machine's claims, anchors, calls and chapters, computed once per build: every page looks them up instead of
/// rebuilding them (a report of thousands of calls builds in time linear in its size).
struct Ix<'a> {
    claims: Vec<&'a Claim>,
    /// Each claim's anchor on the claims page, by the claim's address.
    anchor: HashMap<*const Claim, String>,
    ids: HashSet<&'a str>,
    by_call: HashMap<usize, Vec<&'a Claim>>,
    calls_by_syscall: HashMap<&'a str, Vec<&'a Call>>,
    chapters: Vec<String>,
}

impl<'a> Ix<'a> {
    fn new(m: &'a Machine) -> Self {
        let claims = m.claims();
        let anchor = claims.iter().zip(claim_anchors(&claims)).map(|(c, a)| (*c as *const Claim, a)).collect();
        let ids = claims.iter().map(|c| c.id.as_str()).collect();
        let mut by_call: HashMap<usize, Vec<&Claim>> = HashMap::new();
        for c in &claims {
            if let Some(n) = c.call {
                by_call.entry(n).or_default().push(c);
            }
        }
        let mut calls_by_syscall: HashMap<&str, Vec<&Call>> = HashMap::new();
        for c in m.report.iter().flat_map(|r| r.calls.iter()) {
            calls_by_syscall.entry(c.syscall.as_str()).or_default().push(c);
        }
        Ix { claims, anchor, ids, by_call, calls_by_syscall, chapters: syscalls(m) }
    }
    fn anchor_of(&self, c: &Claim) -> &str {
        self.anchor.get(&(c as *const Claim)).map(String::as_str).unwrap_or_default()
    }
    fn of_call(&self, seq: usize) -> &[&'a Claim] {
        self.by_call.get(&seq).map(Vec::as_slice).unwrap_or_default()
    }
}

fn nav(ctx: &Ctx, here: &Machine) -> Markup {
    html! {
        nav {
            a href="index.html" { "index" }
            @if let Some(l) = &here.lesson { a href=(here.page("part1")) { (lesson_name(l)) } }
            @if here.report.is_some() {
                a href=(here.page("part2")) { "Part 2: the proof" }
                @let chapters = &ctx.ix(here).chapters;
                @for s in chapters.iter().take(NAV_CHAPTERS) { a href=(here.page(&format!("call-{s}"))) { (s) "()" } }
                @if chapters.len() > NAV_CHAPTERS {
                    a href=(format!("index.html#m-{}", here.slug)) { "all " (chapters.len()) " chapters" }
                }
                a href=(here.page("questions")) { "questions" }
                a href=(here.page("mistakes")) { "mistakes" }
            }
            a href=(here.page("claims")) { "claims" }
            @if ctx.ms.iter().filter(|m| m.report.is_some()).count() > 1 { a href="compare.html" { "comparison" } }
            " · " (t(&here.label()))
        }
    }
}

fn page(title: &str, nav: Markup, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t(title)) }
                link rel="stylesheet" href="style.css";
            }
            body { (nav) (body) }
        }
    }
    .into_string()
}

/// The syscalls of a machine's report, in order of first call.
/// Only names a syscall can have (letters, digits, `_`, at most NAME_PART_MAX bytes) make a chapter and a page name.
fn syscalls(m: &Machine) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for c in m.report.iter().flat_map(|r| r.calls.iter()) {
        let s = c.syscall.as_str();
        if !s.is_empty()
            && s.len() <= NAME_PART_MAX
            && s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            && seen.insert(s)
        {
            v.push(s.to_string());
        }
    }
    v
}

fn call_title(c: &Call) -> String {
    let args: Vec<String> = c.args.iter().map(|a| a.value.show()).collect();
    let ret = match (c.ret, &c.errno) {
        (Some(r), Some(e)) => format!("{r} ({})", e.show()),
        (Some(r), None) => r.to_string(),
        (None, _) => "?".into(),
    };
    format!("call {} · {}({}) = {ret} · pid {} \"{}\"", c.seq, c.syscall, args.join(", "), c.pid, c.comm)
}

/// One machine's claims page: every claim with its statement, verdict, finding and evidence.
fn claims_page(ctx: &Ctx, m: &Machine) -> String {
    let claims = &ctx.ix(m).claims;
    let anchors = claims.iter().map(|c| ctx.ix(m).anchor_of(c));
    let body = html! {
        h1 { "Every claim, with its evidence" }
        p { "Evidence: " (t(&m.source)) ". A claim this kernel cannot check is “not observable here”, with why; never ✓." }
        @for (c, a) in claims.iter().zip(anchors) {
            section id=(a) {
                h3 { span.verdict { (verdict_mark(c.verdict)) } " " code { (t(&c.id)) }
                     @if let Some(n) = c.call { " · call " (n) } }
                p { (t(&c.statement)) }
                @if let Some(f) = &c.finding { p { "found: " (t(f)) } }
                @if let Some(r) = &c.reason { p { "why not: " (t(r)) } }
                @if !c.evidence.is_empty() {
                    table { tr { th { "what" } th { "value" } th { "where it was read" } }
                        @for e in &c.evidence { tr { td { (t(&e.what)) } td.mono { (t(&e.value)) } td { (t(&e.source)) } } } }
                }
            }
        }
    };
    page(&format!("claims — {}", m.label()), nav(ctx, m), body)
}

/// Links to the claims page for the claim ids a step rests on.
fn claim_links(ctx: &Ctx, m: &Machine, ids: &[String]) -> Markup {
    let known = &ctx.ix(m).ids;
    html! {
        @for id in ids {
            @if known.contains(id.as_str()) {
                a href=(format!("{}#c-{}", m.page("claims"), escape::frag(id))) { code { (t(id)) } } " "
            } @else {
                code { (t(id)) } " (not produced by this run) "
            }
        }
    }
}

/// Part 1 in the split view: theory (what to do, what follows, the terms) left; the proof (command, evidence,
/// claims) right; each pane scrolls on its own, each step expands on its own.
fn part1(ctx: &Ctx, m: &Machine, l: &Lesson) -> String {
    let intro: BTreeMap<String, usize> = l.axioms.terms.iter().map(|d| (d.term.to_lowercase(), d.step)).collect();
    let term_id = |term: &str| format!("term-{}", slug(term));
    let body = html! {
        div.split {
            div.pane #theory {
                h2 { (t(&l.title.replace("from this machine", &format!("from {}", m.label())))) }
                p { "kernel " code { (t(&l.kernel)) } " · tier " (format!("{:?}", l.tier)) " · " code { (t(&l.command)) } }
                @for (i, s) in l.steps.iter().enumerate() {
                    @if i == 0 || l.steps[i - 1].part != s.part { h3 { (t(&s.part)) } }
                    details open id=(format!("t-{}", s.n)) {
                        summary { (format!("{:02}. ", s.n)) (t(&s.action)) " " span.verdict { (status_mark(s.status)) } }
                        @if !s.result.is_empty() { p { "→ " (t(&s.result)) } }
                        @if let Some(w) = &s.why_not { p { "why not: " (t(w)) } }
                        @if !s.introduces.is_empty() {
                            p { "introduces: "
                                @for term in &s.introduces { span id=(term_id(term)) { (t(term)) } "; " } }
                        }
                        @if !s.uses.is_empty() {
                            p { "uses: "
                                @for term in &s.uses {
                                    @match intro.get(&term.to_lowercase()) {
                                        Some(n) => { a href=(format!("#t-{n}")) { (t(term)) } " (step " (n) ") " }
                                        None => { (t(term)) " (given) " }
                                    }
                                }
                            }
                        }
                        p { a href=(format!("#p-{}", s.n)) { "its proof →" } }
                    }
                }
                h3 #terms { "Terms, where each is derived" }
                ul { @for d in &l.axioms.terms { li { a href=(format!("#t-{}", d.step)) { (t(&d.term)) } " — step " (d.step) ": " (t(&d.derived)) } } }
                h3 { "New things introduced without derivation" }
                @if l.axioms.undefined.is_empty() { p { "(none)" } }
                ul { @for u in &l.axioms.undefined { li { "✗ “" (t(&u.term)) "” used at step " (u.used_at) } } }
                @if !l.axioms.given.is_empty() { p { "≡ taken as given by the axiom steps: " (t(&l.axioms.given.join(", "))) } }
                h3 { "Named, not derived" }
                @if l.axioms.named.is_empty() { p { "(none): every identifier of the text is a term the course introduces" } }
                ul { @for u in &l.axioms.named { li { "“" (t(&u.name)) "” at " a href=(format!("#t-{}", u.used_at)) { "step " (u.used_at) } ": " (t(&u.why)) } } }
                h3 { "Forward references" }
                @if l.axioms.forward.is_empty() { p { "(none): no step's text uses a term before the step that introduces it" } }
                ul { @for u in &l.axioms.forward { li { "“" (t(&u.term)) "” used at step " (u.used_at) ", introduced at " (u.introduced_at.unwrap_or(0)) } } }
                h3 { "New inference" }
                ul { @for i in &l.axioms.inferences { li { "∴ " a href=(format!("#t-{}", i.step)) { (format!("{:02}", i.step)) } " " (t(&i.conclusion)) } } }
                h3 { "Rejection status" }
                p { (l.count(Status::Proved)) " proved ✓ · " (l.count(Status::Refuted)) " refuted ✗ · " (l.count(Status::NotObservable)) " not observable here – · " (l.count(Status::Shown)) " shown · " (l.count(Status::Axiom)) " axioms ≡" }
                ul { @for r in &l.axioms.rejections { li { (status_mark(r.status)) " " a href=(format!("#t-{}", r.step)) { (format!("{:02}", r.step)) } " " (t(&r.action)) ": " (t(&r.why)) } } }
            }
            div.pane #proof {
                h2 { "The proof, step by step" }
                @for s in &l.steps {
                    details open id=(format!("p-{}", s.n)) {
                        summary { (format!("{:02}. ", s.n)) span.verdict { (status_mark(s.status)) } " " a href=(format!("#t-{}", s.n)) { "← theory" } }
                        @if s.status == Status::Axiom { p { "≡ taken as given: " (t(&s.result)) } }
                        @if !s.code.is_empty() { pre { "$ " (t(&s.code)) } }
                        @if !s.evidence.is_empty() { ul { @for e in &s.evidence { li.ev { (t(e)) } } } }
                        @if !s.claims.is_empty() { p { "claims: " (claim_links(ctx, m, &s.claims)) } }
                    }
                }
            }
        }
    };
    page(&format!("{} — {}", lesson_name(l), m.label()), nav(ctx, m), body)
}

/// What a lesson document is in the site's navigation: Part 1 (with the life's chapters), the puzzle, or a
/// connection's failure.
fn lesson_name(l: &Lesson) -> &'static str {
    if l.steps.iter().any(|s| s.part == "the harder puzzle") {
        "the puzzle"
    } else if l.steps.iter().any(|s| s.part == crate::lesson::failure::PART) {
        "a connection's failure"
    } else {
        "Part 1"
    }
}

fn slug(s: &str) -> String {
    s.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

/// A call's function-level chain as a tree, each function linked to its source.
fn tree(m: &Machine, c: &Call, lines: &BTreeMap<String, (String, u32)>) -> Markup {
    let version = m.report.as_ref().and_then(|r| upstream_version(&r.kernel.release, &r.kernel.version));
    html! {
        div.tree {
            @for f in &c.chain {
                @let args: Vec<String> = f.args.iter().map(|a| format!("{}={}", a.name, a.value)).collect();
                @let ret = match (f.ret, f.exit_ns) {
                    (Some(r), _) if r.unsigned_abs() > 1 << 32 => format!("{:#x}", r as u64),
                    (Some(r), _) => r.to_string(),
                    (None, Some(_)) => "void".into(),
                    (None, None) => "(no exit seen)".into(),
                };
                div {
                    // Depth comes from the evidence file: bounded.
                    (" ".repeat(2 * f.depth.min(64)))
                    @match xref(version.as_deref(), &f.func, lines.get(&f.func)) {
                        Some(u) => { a href=(u) { (t(&f.func)) } }
                        None => { (t(&f.func)) }
                    }
                    "(" (t(&args.join(", "))) ") = " (ret)
                    @if let Some(cl) = &f.caller { " ← " (t(&cl.to_string())) }
                    @if let Some((file, n)) = lines.get(&f.func) { "  [" (t(file)) ":" (n) "]" }
                }
            }
        }
    }
}

fn claim_table(ctx: &Ctx, m: &Machine, claims: &[&Claim]) -> Markup {
    let anchor_of = |c: &Claim| ctx.ix(m).anchor_of(c);
    html! {
        table {
            tr { th { "claim" } th { "verdict" } th { "what was found" } }
            @for c in claims {
                tr {
                    td { a href=(format!("{}#{}", m.page("claims"), anchor_of(c))) { code { (t(&c.id)) } } }
                    td.verdict { (verdict_mark(c.verdict)) }
                    td { (t(c.conclusion())) @if let Some(r) = &c.reason { " — " (t(r)) } }
                }
            }
        }
    }
}

/// Part 2: the proof — the chain as a call tree, provenance, the linkage map, the dispatch tables, KASLR, source
/// lines, and the failure puzzle when the evidence has failed calls.
fn part2(ctx: &Ctx, m: &Machine, r: &Report) -> String {
    let claims = &ctx.ix(m).claims;
    let lines = source_lines(claims);
    let call =
        crate::syscalls::socket::lesson::course_call(r).or(r.calls.iter().find(|c| crate::syscalls::socket::DEF.is(c)));
    let of = |pre: &[&str]| -> Vec<&Claim> {
        claims.iter().copied().filter(|c| pre.iter().any(|p| c.id.starts_with(p))).collect()
    };
    let failed: Vec<&Call> = r.calls.iter().filter(|c| c.ret.is_some_and(|v| v < 0)).collect();
    let origin =
        |c: &Call| r.syscalls.iter().find(|s| s.name == c.syscall).map(|s| s.nr_origin.clone()).unwrap_or_default();
    let body = html! {
        h1 { "Part 2: the proof" }
        p { "kernel " code { (t(&r.kernel.release)) } " · tier " (format!("{:?}", r.kernel.tier)) " — " (t(&r.kernel.tier_reason)) }
        p { "target: " (t(&r.target.description)) " · command " code { (t(&r.command)) } }
        @if let Some(c) = call {
            details open id="call" {
                summary { "The call: " (t(&call_title(c))) }
                table { @for (what, val) in crate::render::steps(c, &origin(c)) { tr { td { (t(&what)) } td.mono { (t(&val)) } } } }
            }
            details open id="tree" {
                summary { "The chain as a call tree (arguments, returns, callers)" }
                @if c.chain.is_empty() {
                    p { "– not observable here: " (t(&r.kernel.tier_reason)) }
                } @else { (tree(m, c, &lines)) }
            }
            details open id="provenance" {
                summary { "Provenance of every pointer" }
                (claim_table(ctx, m, &of(&["provenance.", "socket.", "sock.", "file.", "fd_install.", "chain."]).into_iter().filter(|k| k.call == Some(c.seq)).collect::<Vec<_>>()))
            }
            details open id="linkage" {
                summary { "The linkage map (live addresses)" }
                @match crate::render::linkage_map(c) { Some(map) => { pre { (escape::document(&map)) } } None => { p { "the call's walk did not reach a socket" } } }
            }
        } @else {
            p { "This evidence has no socket() call." }
        }
        details open id="dispatch" {
            summary { "Dispatch tables (net_families[], inetsw[])" }
            @match &r.dispatch {
                Some(d) => {
                    p { "read from " (t(&d.source)) @if let Some(e) = &d.error { " — " (t(e)) } }
                    table { tr { th { "family" } th { "net_proto_family" } th { "create" } }
                        @for s in &d.slots { tr { td { (t(&s.family.show())) } td.mono { (t(&s.net_proto_family.show())) } td.mono { (t(&s.create.show())) } } } }
                    @if !d.inetsw.is_empty() {
                        table { tr { th { "type" } th { "protocol" } th { "prot" } th { "ops" } }
                            @for s in &d.inetsw { tr { td { (t(&s.ty.show())) } td { (t(&s.protocol.show())) } td.mono { (t(&s.prot.show())) } td.mono { (t(&s.ops.show())) } } } }
                    }
                }
                None => { p { "– not observable here: the table is read at tiers A/B where kallsyms has net_families" } }
            }
            (claim_table(ctx, m, &of(&["dispatch."])))
        }
        details open id="kaslr" {
            summary { "KASLR" }
            @let k = of(&["kaslr."]);
            @if k.is_empty() { p { "– this evidence has no KASLR claims (they are the lesson's: give lesson JSON)" } } @else { (claim_table(ctx, m, &k)) }
        }
        details open id="source" {
            summary { "Source lines (DWARF)" }
            @let s = of(&["source."]);
            @if s.is_empty() { p { "– this evidence has no source-line claim (the lesson's, with `lab run --dbg`)" } } @else { (claim_table(ctx, m, &s)) }
            @if !lines.is_empty() {
                table { tr { th { "function" } th { "file:line" } }
                    @for (f, (file, n)) in &lines { tr { td { (t(f)) } td.mono { (t(file)) ":" (n) } } } }
            }
        }
        details open id="puzzle" {
            summary { "The failure puzzle: a call that fails halfway" }
            @if failed.is_empty() {
                p { "This evidence has no failed call. Make one with " code { "syswalk prove --fail emfile" } " (or family-range, family-unregistered, protocol, type, connrefused, addrinuse, accept-emfile)." }
            }
            @for c in &failed {
                h4 { (t(&call_title(c))) }
                (claim_table(ctx, m, ctx.ix(m).of_call(c.seq)))
                @if !c.chain.is_empty() { (tree(m, c, &lines)) }
            }
        }
        @if let Some(v) = crate::render::connection_view(r) {
            details open id="connections" { summary { "The connection's socks" } pre { (escape::document(&v)) } }
        }
    };
    page(&format!("Part 2: the proof — {}", m.label()), nav(ctx, m), body)
}

/// One chapter per system call present: its calls, each with its evidence, chain and claims, and the lesson's
/// steps of that call.
fn chapter(ctx: &Ctx, m: &Machine, r: &Report, sys: &str) -> String {
    let lines = source_lines(&ctx.ix(m).claims);
    let origin = r.syscalls.iter().find(|s| s.name == sys).map(|s| s.nr_origin.clone()).unwrap_or_default();
    let steps: Vec<&crate::lesson::Step> = m
        .lesson
        .iter()
        .flat_map(|l| l.steps.iter())
        .filter(|s| s.part == sys || crate::syscalls::by_name(sys).is_some_and(|x| x.lesson_part() == s.part))
        .collect();
    let calls: &[&Call] = ctx.ix(m).calls_by_syscall.get(sys).map(Vec::as_slice).unwrap_or_default();
    let total = r.totals.by_syscall.get(sys).copied().unwrap_or(calls.len() as u64);
    let body = html! {
        h1 { (sys) "()" }
        p { (total) " call(s) in the run; " (calls.len()) " kept with their full evidence." }
        @if sys == crate::syscalls::socket::DEF.name && m.lesson.is_some() {
            p { "socket()'s lesson is " a href=(m.page("part1")) { "Part 1" } "; its proof is " a href=(m.page("part2")) { "Part 2" } "." }
        }
        @if calls.iter().all(|c| c.chain.is_empty()) && r.kernel.tier == crate::probes::caps::Tier::C {
            p { "The function-level chain: – not observable here (tier C: " (t(&r.kernel.tier_reason)) "); the claims on it are “not observable” on the claims page." }
        }
        @if !steps.is_empty() {
            details open id="lesson" {
                summary { "The lesson's chapter" }
                ol { @for s in &steps { li value=(s.n) {
                    @if m.lesson.is_some() { a href=(format!("{}#t-{}", m.page("part1"), s.n)) { (t(&s.action)) } } " "
                    span.verdict { (status_mark(s.status)) } @if !s.result.is_empty() { " → " (t(&s.result)) } } } }
            }
        }
        @for c in calls {
            details open id=(format!("call-{}", c.seq)) {
                summary { (t(&call_title(c))) }
                table { @for (what, val) in crate::render::steps(c, &origin) { tr { td { (t(&what)) } td.mono { (t(&val)) } } } }
                @if !c.chain.is_empty() { p { "its chain:" } (tree(m, c, &lines)) }
                @let mine = ctx.ix(m).of_call(c.seq);
                @if !mine.is_empty() { (claim_table(ctx, m, mine)) }
            }
        }
    };
    page(&format!("{sys}() — {}", m.label()), nav(ctx, m), body)
}

/// The socket() call the answers read: the course's (AF_INET, SOCK_STREAM, 0), else the first that made a socket.
fn answer_call(r: &Report) -> Option<&Call> {
    crate::syscalls::socket::lesson::course_call(r)
        .or_else(|| r.calls.iter().find(|c| crate::syscalls::socket::DEF.is(c) && c.after.socket.is_some()))
}

/// The mark, the answer and the proof lines of an answer: a claim's verdict and conclusion (its reason when it is
/// not observable) and its evidence, or what the evidence shows.
fn answer_parts(a: &Answer) -> (&'static str, String, Vec<String>) {
    match &a.by {
        By::Claim { claim, .. } => (
            claim.verdict.symbol(),
            match claim.verdict {
                Verdict::NotObservable => {
                    format!("not observable here: {}", claim.reason.as_deref().unwrap_or_default())
                }
                _ => claim.conclusion().to_string(),
            },
            claim.evidence.iter().map(|e| format!("{} = {} ({})", e.what, e.value, e.source)).collect(),
        ),
        By::Shown { observable, text, proof } => (if *observable { "·" } else { "–" }, text.clone(), proof.clone()),
    }
}

/// The claim that answers and the report's claims it rests on: a claim judged for the site (not on the claims
/// page) by its id, each cited claim by a link to it on the claims page.
fn answer_claims(ctx: &Ctx, m: &Machine, a: &Answer) -> Markup {
    let By::Claim { claim, cites } = &a.by else { return html! {} };
    let ix = ctx.ix(m);
    html! {
        p { "claims: "
            @if !cites.iter().any(|c| c.id == claim.id) {
                code { (t(&claim.id)) } " (judged from this evidence when the site was built) "
            }
            @for c in cites {
                @match ix.claims.iter().find(|k| k.id == c.id && k.call == c.call) {
                    Some(k) => { a href=(format!("{}#{}", m.page("claims"), ix.anchor_of(k))) { code { (t(c.id)) } }
                                 @if let Some(n) = c.call { " (call " (n) ")" } " " }
                    None => { code { (t(c.id)) } " (not produced by this run) " }
                }
            }
        }
    }
}

/// Questions and confusions in the three-pane view: the proof | the theory | the questions.
fn questions_page(ctx: &Ctx, m: &Machine, r: &Report) -> String {
    let qs = questions::questions(r, &ctx.ix(m).claims, answer_call(r));
    let parts: Vec<_> = qs.iter().map(answer_parts).collect();
    let body = html! {
        div.three {
            div.pane #q-proof {
                h2 { "Proof" }
                @for (i, (q, (_, _, proof))) in qs.iter().zip(&parts).enumerate() {
                    details open id=(format!("q{}-proof", i + 1)) {
                        summary { (i + 1) ". evidence" }
                        @if proof.is_empty() { p { "(no evidence in this run)" } }
                        ul { @for p in proof { li.ev { (t(p)) } } }
                        (answer_claims(ctx, m, q))
                    }
                }
            }
            div.pane #q-theory {
                h2 { "Theory" }
                @for (i, (q, (mark, answer, _))) in qs.iter().zip(&parts).enumerate() {
                    section id=(format!("q{}-theory", i + 1)) {
                        h3 { (i + 1) ". " (q.asks) }
                        p { span.verdict { (mark) } " " (t(answer)) }
                    }
                }
            }
            div.pane #q-list {
                h2 { "Questions and confusions" }
                ol { @for (i, q) in qs.iter().enumerate() { li {
                    (q.asks) " " a href=(format!("#q{}-theory", i + 1)) { "answer" } " · " a href=(format!("#q{}-proof", i + 1)) { "evidence" } } } }
            }
        }
    };
    page(&format!("questions — {}", m.label()), nav(ctx, m), body)
}

fn mistakes_page(ctx: &Ctx, m: &Machine, r: &Report) -> String {
    let ms = questions::mistakes(r, &ctx.ix(m).claims, answer_call(r));
    let body = html! {
        h1 { "Mistakes: what is often said about socket(), judged by this run" }
        p { "Each saying is judged by the claim that refutes it: ✓ the kernel did what the claim says, so the saying \
             is wrong here; ✗ it did something other than the claim says (see what was found); – this evidence \
             cannot tell (why is said)." }
        table {
            tr { th { "statement" } th { "the claim that refutes it" } th { "proof" } }
            @for (i, x) in ms.iter().enumerate() {
                @let (mark, answer, proof) = answer_parts(x);
                tr id=(format!("m{}", i + 1)) {
                    td { (x.asks) }
                    td { span.verdict { (mark) } " " (t(&answer)) }
                    td { ul { @for p in &proof { li.ev { (t(p)) } } } (answer_claims(ctx, m, x)) }
                }
            }
        }
    };
    page(&format!("mistakes — {}", m.label()), nav(ctx, m), body)
}

/// Functions, signatures, claim verdicts and struct sizes side by side, one column per machine with a report.
fn compare(ctx: &Ctx) -> String {
    let ms: Vec<(&Machine, &Report)> = ctx.ms.iter().filter_map(|m| m.report.as_ref().map(|r| (m, r))).collect();
    // Each function once, in order of first sight; per machine its first plan entry of a name, and its first one
    // in kallsyms, by an index (not a scan of the plan per function and machine).
    let mut seen_fn: HashSet<&str> = HashSet::new();
    let fns: Vec<String> = ms
        .iter()
        .flat_map(|(_, r)| r.chain_plan.iter())
        .filter(|p| seen_fn.insert(p.name.as_str()))
        .map(|p| p.name.clone())
        .collect();
    fn plan_ix(r: &Report, in_kallsyms: bool) -> HashMap<&str, &crate::probes::chain::FnPlan> {
        let mut m = HashMap::new();
        for p in r.chain_plan.iter().filter(|p| !in_kallsyms || p.in_kallsyms) {
            m.entry(p.name.as_str()).or_insert(p);
        }
        m
    }
    let first: Vec<_> = ms.iter().map(|(_, r)| plan_ix(r, false)).collect();
    let first_ks: Vec<_> = ms.iter().map(|(_, r)| plan_ix(r, true)).collect();
    let struct_ix: Vec<HashMap<&str, &crate::machine::btf::Layout>> = ms
        .iter()
        .map(|(_, r)| {
            let mut m = HashMap::new();
            for l in r.layouts.iter().flat_map(|l| l.structs.iter()) {
                m.entry(l.name.as_str()).or_insert(l);
            }
            m
        })
        .collect();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for (_, r) in &ms {
        ids.extend(r.totals.claims.keys().cloned());
    }
    let mut structs: BTreeSet<String> = BTreeSet::new();
    for (_, r) in &ms {
        structs.extend(r.layouts.iter().flat_map(|l| l.structs.iter().map(|s| s.name.clone())));
    }
    let fn_cell = |i: usize, r: &Report, f: &str| -> (String, String) {
        match first[i].get(f) {
            None if r.chain_plan.is_empty() => {
                (format!("– not observable at tier {:?}: no function-level probes", r.kernel.tier), String::new())
            }
            None => ("not in this run's chain".into(), String::new()),
            Some(p) => {
                let state = if p.traced {
                    "traced".to_string()
                } else if !p.in_kallsyms {
                    p.note.clone()
                } else {
                    format!("not traced: {}", p.note)
                };
                let sig = p
                    .params
                    .as_ref()
                    .map(|ps| {
                        format!(
                            "{} ({})",
                            p.ret.clone().unwrap_or_else(|| "?".into()),
                            ps.iter().map(|(n, ty)| format!("{ty} {n}")).collect::<Vec<_>>().join(", ")
                        )
                    })
                    .unwrap_or_default();
                (state, sig)
            }
        }
    };
    let body = html! {
        nav { a href="index.html" { "index" } }
        h1 { "Comparison of kernels" }
        p { "One column per evidence file. Functions: traced, absent (not in kallsyms: inlined into its caller, or not in this version) or not traced, with the signature BTF gives." }
        h2 #functions { "Functions of the chain" }
        table {
            tr { th { "function" } th { "differs" } @for (m, _) in &ms { th { a href=(m.page("part2")) { (t(&m.label())) } } } }
            @for f in &fns {
                @let seen: BTreeSet<bool> = ms.iter().enumerate().filter(|(_, (_, r))| !r.chain_plan.is_empty())
                    .map(|(i, _)| first_ks[i].contains_key(f.as_str())).collect();
                @let sigs: BTreeSet<String> = (0..ms.len()).filter_map(|i| first_ks[i].get(f.as_str()))
                    .map(|p| format!("{:?} {:?}", p.ret, p.params)).collect();
                tr id=(format!("fn-{}", slug(f))) { td { code { (t(f)) } } td { @if seen.len() > 1 { "present on some kernels only" } @else if sigs.len() > 1 { "signature differs" } }
                    @for (i, (_, r)) in ms.iter().enumerate() { @let (st, sig) = fn_cell(i, r, f); td { (t(&st)) @if !sig.is_empty() { br; code { (t(&sig)) } } } } }
            }
        }
        h2 #claims { "Claim verdicts (over every call: proved / refuted / not observable)" }
        table {
            tr { th { "claim" } @for (m, _) in &ms { th { (t(&m.label())) } } }
            @for id in &ids {
                tr { td { code { (t(id)) } }
                    @for (m, r) in &ms {
                        td.mono { @match r.totals.claims.get(id) {
                            Some([p, x, n]) => {
                                @if ctx.ix(m).ids.contains(id.as_str()) { a href=(format!("{}#c-{}", m.page("claims"), escape::frag(id))) { (format!("✓{p} ✗{x} –{n}")) } }
                                @else { (format!("✓{p} ✗{x} –{n}")) }
                            }
                            None => { "(no such claim)" }
                        } }
                    }
                }
            }
        }
        h2 #structs { "Struct sizes (BTF)" }
        table {
            tr { th { "struct" } @for (m, _) in &ms { th { (t(&m.label())) } } }
            @for s in &structs {
                tr { td { code { (t(s)) } }
                    @for i in 0..ms.len() { td.mono { @match struct_ix[i].get(s.as_str()) {
                        Some(l) => { (l.size) " bytes, " (l.members.len()) " members" } None => { "—" } } } } }
            }
        }
    };
    page("comparison of kernels", body_nav_none(), body)
}

fn body_nav_none() -> Markup {
    html! {}
}

fn index(ctx: &Ctx) -> String {
    let body = html! {
        h1 { "What happens when you write socket() — from live evidence" }
        p { "Every statement on these pages was judged from evidence captured on the machine named beside it: ✓ proved, ✗ refuted, – not observable here (with why); in the lesson also · shown (a measurement without a claim) and ≡ axiom (taken as given). “Checks” count a claim once per call it was judged for." }
        @if ctx.ms.iter().filter(|m| m.report.is_some()).count() > 1 { p { a href="compare.html" { "Comparison of the kernels" } } }
        table {
            tr { th { "kernel" } th { "tier" } th { "evidence" } th { "pages" } th { "checks proved" } th { "refuted" } th { "not observable" } }
            @for m in ctx.ms {
                @let claims = &ctx.ix(m).claims;
                tr id=(format!("m-{}", m.slug)) {
                    td { code { (t(&m.release())) } }
                    td { (m.tier()) }
                    td { (t(&m.source)) }
                    td {
                        @if let Some(l) = &m.lesson { a href=(m.page("part1")) { (lesson_name(l)) } " " }
                        @if m.report.is_some() {
                            a href=(m.page("part2")) { "Part 2" } " " a href=(m.page("claims")) { "claims" } " "
                            a href=(m.page("questions")) { "questions" } " " a href=(m.page("mistakes")) { "mistakes" }
                            br; "chapters: " @for s in &ctx.ix(m).chapters { a href=(m.page(&format!("call-{s}"))) { (s) "()" } " " }
                        }
                    }
                    td { (claims.iter().filter(|c| c.verdict == Verdict::Proved).count()) }
                    td { (claims.iter().filter(|c| c.verdict == Verdict::Refuted).count()) }
                    td { (claims.iter().filter(|c| c.verdict == Verdict::NotObservable).count()) }
                }
            }
        }
        @for m in ctx.ms {
            @let why: BTreeMap<String, Vec<String>> = {
                let mut w: BTreeMap<String, Vec<String>> = BTreeMap::new();
                let mut seen: HashSet<(&str, &str)> = HashSet::new();
                for c in ctx.ix(m).claims.iter().filter(|c| c.verdict == Verdict::NotObservable) {
                    let reason = c.reason.as_deref().unwrap_or("no reason given");
                    if seen.insert((reason, c.id.as_str())) { w.entry(reason.to_string()).or_default().push(c.id.clone()); }
                }
                w
            };
            @let proved: Vec<String> = {
                let mut v: Vec<String> = Vec::new();
                let mut seen: HashSet<&str> = HashSet::new();
                for c in ctx.ix(m).claims.iter().filter(|c| c.verdict == Verdict::Proved) {
                    if seen.insert(c.id.as_str()) { v.push(c.id.clone()); }
                }
                v
            };
            details id=(format!("proved-{}", m.slug)) {
                summary { (t(&m.label())) ": what it proved (" (proved.len()) " distinct claims)" }
                ul { @for id in &proved { li { a href=(format!("{}#c-{}", m.page("claims"), escape::frag(id))) { code { (t(id)) } } } } }
            }
            @if !why.is_empty() {
                details id=(format!("why-{}", m.slug)) {
                    summary { (t(&m.label())) ": what it could not observe, and why ("
                        (why.values().map(|v| v.len()).sum::<usize>()) " claims, " (why.len()) " reasons)" }
                    ul { @for (reason, ids) in &why { li { (t(reason)) " — " (t(&ids.join(", "))) } } }
                }
            }
            @if m.report.is_none() {
                p { (t(&m.label())) ": " (t(&m.source)) " holds a lesson without its run's report (a file made before \
                    syswalk kept it): Part 2, the chapters, questions and mistakes need the report — make it again \
                    with `syswalk lesson --format json`." }
            }
            @if m.lesson.is_none() {
                p { (t(&m.label())) ": " (t(&m.source)) " is a report (prove/trace): it has no lesson, so no Part 1 — \
                    `syswalk lesson --format json` writes both." }
            }
        }
    };
    page("syswalk — the course", html! { nav { a href="index.html" { "index" } } }, body)
}

/// Builds every page. Errors name each broken internal link (the build fails on one).
pub fn build(ms: &[Machine]) -> Result<Site, Vec<String>> {
    let ctx = Ctx::new(ms);
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    files.insert("style.css".into(), CSS.into());
    files.insert("index.html".into(), index(&ctx));
    for m in ms {
        files.insert(m.page("claims"), claims_page(&ctx, m));
        if let Some(l) = &m.lesson {
            files.insert(m.page("part1"), part1(&ctx, m, l));
        }
        if let Some(r) = &m.report {
            files.insert(m.page("part2"), part2(&ctx, m, r));
            files.insert(m.page("questions"), questions_page(&ctx, m, r));
            files.insert(m.page("mistakes"), mistakes_page(&ctx, m, r));
            for s in &ctx.ix(m).chapters {
                files.insert(m.page(&format!("call-{s}")), chapter(&ctx, m, r, s));
            }
        }
    }
    if ms.iter().filter(|m| m.report.is_some()).count() > 1 {
        files.insert("compare.html".into(), compare(&ctx));
    }
    let broken = check_links(&files);
    if broken.is_empty() {
        Ok(Site { files })
    } else {
        Err(broken)
    }
}

/// The builder's own check of its output: every internal href names a file of the site and an id in it.
pub fn check_links(files: &BTreeMap<String, String>) -> Vec<String> {
    let attr = |s: &str, name: &str| -> Vec<String> {
        let pat = format!(" {name}=\"");
        let mut v = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find(&pat) {
            rest = &rest[i + pat.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            v.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
        v
    };
    let ids: BTreeMap<&str, BTreeSet<String>> =
        files.iter().map(|(f, s)| (f.as_str(), attr(s, "id").into_iter().collect())).collect();
    let mut broken = Vec::new();
    for (f, s) in files.iter().filter(|(f, _)| f.ends_with(".html")) {
        for h in attr(s, "href") {
            if h.starts_with("https://") {
                continue;
            }
            let (file, frag) = match h.split_once('#') {
                Some((file, frag)) => (if file.is_empty() { f.as_str() } else { file }, Some(frag)),
                None => (h.as_str(), None),
            };
            match (ids.get(file), frag) {
                (None, _) => broken.push(format!("{f}: href=\"{h}\": no file {file}")),
                (Some(set), Some(fr)) if !set.contains(fr) => {
                    broken.push(format!("{f}: href=\"{h}\": no id {fr} in {file}"))
                }
                _ => {}
            }
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_of_fixture() -> Site {
        let mut l = crate::fixtures::lesson();
        l.report = Some(Box::new(crate::fixtures::report()));
        let r = l.report.as_deref().cloned();
        let m = Machine::new("fixture.json".into(), Some(l), r, &BTreeSet::new());
        match build(&[m]) {
            Ok(s) => s,
            Err(b) => panic!("broken links: {b:#?}"),
        }
    }

    #[test]
    fn the_same_evidence_gives_the_same_bytes_and_every_internal_link_resolves() {
        let a = site_of_fixture();
        let b = site_of_fixture();
        assert_eq!(a.files, b.files);
        assert!(a.files.contains_key("index.html"));
        assert!(a.files.keys().any(|k| k.ends_with("-part1.html")), "{:?}", a.files.keys());
        assert!(a.files.keys().any(|k| k.ends_with("-call-socket.html")), "{:?}", a.files.keys());
        assert!(check_links(&a.files).is_empty());
    }

    #[test]
    fn the_questions_and_mistakes_show_their_claims_and_link_what_they_rest_on() {
        let s = site_of_fixture();
        let page = |what: &str| {
            s.files
                .iter()
                .find(|(f, _)| f.ends_with(&format!("-{what}.html")))
                .map(|(_, h)| h.clone())
                .unwrap_or_default()
        };
        let (q, m) = (page("questions"), page("mistakes"));
        let q1 = q.split("id=\"q2-proof\"").next().unwrap_or_default();
        assert!(q1.contains("<code>kaddr.virtual</code>"), "the physical-address question's own claim: {q1}");
        assert!(!q.contains("kaslr.offset_constant"), "it cites no unrelated claim (issue 33)");
        assert!(q.contains("-claims.html#c-fd.lowest_free\"><code>fd.lowest_free</code></a> (call 1)"), "{q}");
        for id in ["sock.new_tcp_closed", "chain.sock_alloc_first", "sock.protocol_zero_tcp", "dispatch.absolute"] {
            assert!(m.contains(&format!("<code>{id}</code>")), "{id} on the mistakes page");
        }
        assert!(m.contains("-claims.html#c-chain.order\"><code>chain.order</code></a>"), "{m}");
    }

    #[test]
    fn a_broken_anchor_or_file_is_named() {
        let mut f = BTreeMap::new();
        f.insert(
            "a.html".to_string(),
            "<a href=\"b.html#x\">x</a><a href=\"#here\">y</a><p id=\"here\"></p><a href=\"c.html\">".to_string(),
        );
        f.insert("b.html".to_string(), "<p id=\"y\"></p>".to_string());
        let b = check_links(&f);
        assert_eq!(b.len(), 2, "{b:?}");
        assert!(b[0].contains("no id x in b.html"), "{b:?}");
        assert!(b[1].contains("no file c.html"), "{b:?}");
    }

    #[test]
    fn a_hostile_comm_is_text_not_markup() {
        let mut r = crate::fixtures::report();
        for c in r.calls.iter_mut() {
            c.comm = "<script>alert(1)</script>\x1b[2J".into();
        }
        r.target.description = "\"><img src=x onerror=alert(1)>".into();
        let m = Machine::new("x".into(), None, Some(r), &BTreeSet::new());
        let s = build(&[m]).expect("links");
        for (f, html) in &s.files {
            assert!(!html.contains("<script"), "{f}");
            assert!(!html.contains("<img"), "{f}");
            assert!(!html.contains('\x1b'), "{f}");
        }
        assert!(s.files.values().any(|h| h.contains("&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J")));
    }

    /// Every `id` and `href` attribute value of every page.
    fn attrs(s: &Site) -> Vec<String> {
        let mut v = Vec::new();
        for html in s.files.values() {
            for pat in [" id=\"", " href=\""] {
                let mut rest = html.as_str();
                while let Some(i) = rest.find(pat) {
                    rest = &rest[i + pat.len()..];
                    let end = rest.find('"').unwrap_or(rest.len());
                    v.push(rest[..end].to_string());
                    rest = &rest[end..];
                }
            }
        }
        v
    }

    #[test]
    fn a_claim_id_with_control_characters_gives_none_in_ids_or_links() {
        let mut r = crate::fixtures::report();
        let hostile = "fd.lowest_free\x1b]0;owned\x07 \"x#y";
        for c in r.claims.iter_mut().take(2) {
            c.id = hostile.into();
        }
        let mut l = crate::fixtures::lesson();
        if let Some(st) = l.steps.iter_mut().find(|s| !s.claims.is_empty()) {
            st.claims.push(hostile.into());
        }
        let m = Machine::new("x".into(), Some(l), Some(r), &BTreeSet::new());
        let s = build(&[m]).unwrap_or_else(|b| panic!("links: {b:#?}"));
        let a = attrs(&s);
        assert!(a.iter().any(|x| x.contains("c-fd.lowest_free~1b;~5d;0~3b;owned~7;")), "the claim's anchor: {a:?}");
        assert!(a.iter().any(|x| x.ends_with("#c-fd.lowest_free~1b;~5d;0~3b;owned~7;~20;~22;x~23;y")), "its link");
        for x in &a {
            assert!(!x.chars().any(|c| c.is_control() || c == ' '), "a raw control character in {x:?}");
        }
        for (f, html) in &s.files {
            assert!(!html.contains('\x1b') && !html.contains('\x07'), "{f}");
        }
    }

    #[test]
    fn a_long_release_and_many_chapters_keep_names_and_pages_bounded() {
        let mut r = crate::fixtures::report();
        r.kernel.release = "6.1.".to_string() + &"x".repeat(100_000);
        let call = r.calls[0].clone();
        for i in 0..200 {
            let mut c = call.clone();
            c.syscall = format!("sys{i}");
            c.seq = 1000 + i;
            r.calls.push(c);
        }
        let mut c = call.clone();
        c.syscall = "y".repeat(300);
        r.calls.push(c);
        let m = Machine::new("x".into(), None, Some(r.clone()), &BTreeSet::new());
        let m2 = Machine::new("y".into(), None, Some(r), &[m.slug.clone()].into_iter().collect());
        assert_ne!(m.slug, m2.slug);
        let s = build(&[m, m2]).unwrap_or_else(|b| panic!("links: {b:#?}"));
        for (f, html) in &s.files {
            assert!(f.len() <= 160, "{} bytes: {}", f.len(), &f[..80]);
            let nav = html.split("</nav>").next().unwrap_or("");
            assert!(nav.matches("-call-").count() <= NAV_CHAPTERS, "{f}: the nav lists every chapter");
        }
        assert!(s.files.keys().any(|f| f.ends_with("-call-sys199.html")), "every chapter still has its page");
        assert!(!s.files.keys().any(|f| f.contains("yyyy")), "a name no syscall has makes no page");
    }

    #[test]
    fn upstream_versions_come_from_proc_version_then_the_release() {
        assert_eq!(
            upstream_version("6.1.0-41-amd64", "Linux version 6.1.0-41-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)").as_deref(),
            Some("6.1.158")
        );
        assert_eq!(upstream_version("6.18.44-fc-v669", "").as_deref(), Some("6.18.44"));
        assert_eq!(upstream_version("6.1.0-41-amd64", "").as_deref(), Some("6.1"));
        assert_eq!(upstream_version("weird", ""), None);
    }
}
