//! The lesson: an ordered list of steps, each with what to do by hand, the code or probe behind it, the evidence,
//! the verdict, and the terms it introduces. What a step *uses* is read from its text (`glossary`): the closing
//! sections ("new things introduced without derivation", "forward references", "new inference", "rejection status")
//! are computed from what the steps say, never from tags written beside them.
pub mod failure;
pub mod glossary;
pub mod questions;

use serde::Serialize;

use crate::claims::{Claim, Verdict};

/// A step's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Taken as given (the lesson's starting point); listed as such, never as proved.
    Axiom,
    Proved,
    Refuted,
    NotObservable,
    /// A measurement shown without a claim about it.
    Shown,
}

impl Status {
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Axiom => "≡",
            Status::Proved => "✓",
            Status::Refuted => "✗",
            Status::NotObservable => "–",
            Status::Shown => "·",
        }
    }
    fn rank(self) -> u8 {
        match self {
            Status::Refuted => 4,
            Status::NotObservable => 3,
            Status::Proved => 2,
            Status::Shown => 1,
            Status::Axiom => 0,
        }
    }
}

impl From<Verdict> for Status {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Proved => Status::Proved,
            Verdict::Refuted => Status::Refuted,
            Verdict::NotObservable => Status::NotObservable,
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Step {
    pub n: usize,
    pub part: String,
    /// What to do by hand.
    pub action: String,
    /// The command, code or probe behind it.
    pub code: String,
    /// Captured values, each with where it came from.
    pub evidence: Vec<String>,
    /// input → computation → output, in one line.
    pub result: String,
    pub status: Status,
    /// Why this step is not observable on this kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
    /// The claims this step rests on (ids in the claims list).
    pub claims: Vec<String>,
    /// Glossary terms this step derives (or, for an axiom step, takes as given).
    pub introduces: Vec<String>,
    /// Terms this step derives itself, not in the glossary (an identifier the text goes on to use), with how.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub defines: Vec<Definition>,
    /// Terms this step's text uses — glossary terms whose marks occur in it, and identifiers (`glossary::identifiers`)
    /// no mark covers: computed by `Lesson::new`, never written by hand.
    pub uses: Vec<String>,
    /// Strings from outside (the user's program path and arguments, its binary) that the checker does not read
    /// as the lesson's words: a program named `chain` uses no term.
    #[serde(skip)]
    pub quoted: Vec<String>,
}

impl Step {
    pub fn new(part: &str, action: impl Into<String>, code: impl Into<String>) -> Self {
        Step {
            n: 0,
            part: part.into(),
            action: action.into(),
            code: code.into(),
            evidence: vec![],
            result: String::new(),
            status: Status::Shown,
            why_not: None,
            claims: vec![],
            introduces: vec![],
            defines: vec![],
            uses: vec![],
            quoted: vec![],
        }
    }
    pub fn introduces(mut self, t: &[&str]) -> Self {
        self.introduces.extend(t.iter().map(|s| s.to_string()));
        self
    }
    /// Derives a term the glossary does not hold (an identifier only this course's later steps use): the step
    /// introduces it, and `how` is its derivation.
    pub fn derives(mut self, term: &str, how: &str) -> Self {
        self.introduces.push(term.to_string());
        self.defines.push(Definition { term: term.to_string(), derived: how.to_string() });
        self
    }
    /// What the identifier check reads: the action, code, result and evidence (not the part's heading, nor why a
    /// step is not observable, which is the kernel's or the tool's answer), outside strings blanked.
    pub fn words(&self) -> String {
        let mut t = vec![self.action.as_str(), self.code.as_str(), self.result.as_str()];
        t.extend(self.evidence.iter().map(String::as_str));
        let mut t = t.join("\n");
        for q in self.quoted.iter().filter(|q| !q.is_empty()) {
            t = t.replace(q.as_str(), "‹quoted›");
        }
        t
    }
    /// Everything the step says, as the renderers show it (its part's heading too), with outside strings blanked:
    /// what the checker reads.
    pub fn text(&self) -> String {
        let mut t = vec![self.part.as_str(), self.action.as_str(), self.code.as_str(), self.result.as_str()];
        t.extend(self.evidence.iter().map(String::as_str));
        if let Some(w) = &self.why_not {
            t.push(w);
        }
        let mut t = t.join("\n");
        for q in self.quoted.iter().filter(|q| !q.is_empty()) {
            t = t.replace(q.as_str(), "‹quoted›");
        }
        t
    }
    pub fn axiom(mut self, result: impl Into<String>) -> Self {
        self.status = Status::Axiom;
        self.result = result.into();
        self
    }
    /// Rests the step on claims: its status is the worst of theirs (refuted > not observable > proved); a claim
    /// the run did not produce makes the step not observable, with that said.
    pub fn judged_by(mut self, ids: &[crate::claims::ids::ClaimId], claims: &[Claim]) -> Self {
        let mut status = Status::Shown;
        let mut why: Vec<String> = Vec::new();
        let mut results: Vec<String> = Vec::new();
        for id in ids.iter().map(|i| i.id) {
            self.claims.push(id.to_string());
            let mine: Vec<&Claim> = claims.iter().filter(|c| c.id == id).collect();
            if mine.is_empty() {
                status = worst(status, Status::NotObservable);
                why.push(format!("{id}: not produced by this run"));
                continue;
            }
            // One claim per id is shown (the first call's); the status takes all of them into account.
            let c = mine[0];
            for m in &mine {
                status = worst(status, m.verdict.into());
                if let (Verdict::NotObservable, Some(r)) = (m.verdict, &m.reason) {
                    if !why.contains(r) {
                        why.push(r.clone());
                    }
                }
            }
            // Every value the conclusion combines is shown, so the step can be redone by hand.
            for e in &c.evidence {
                self.evidence.push(format!("{} = {} ({})", e.what, e.value, e.source));
            }
            results.push(c.conclusion().to_string());
        }
        self.status = status;
        if !results.is_empty() {
            self.result = results.join("; ");
        }
        if status == Status::NotObservable {
            self.why_not = Some(why.join("; "));
        }
        self
    }
    /// Replaces the evidence gathered from the claims with one line (the claims keep theirs in the claims list).
    pub fn only_evidence(mut self, e: impl Into<String>) -> Self {
        self.evidence = vec![e.into()];
        self
    }
    pub fn evidence(mut self, e: impl Into<String>) -> Self {
        self.evidence.push(e.into());
        self
    }
    pub fn result(mut self, r: impl Into<String>) -> Self {
        self.result = r.into();
        self
    }
}

fn worst(a: Status, b: Status) -> Status {
    if b.rank() > a.rank() {
        b
    } else {
        a
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TermUse {
    pub term: String,
    pub used_at: usize,
    /// The word of the step's text that marks the use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word: Option<String>,
    /// Where it is introduced (later than used_at), for a forward reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced_at: Option<usize>,
}

/// A term a step derives that the glossary does not hold.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Definition {
    pub term: String,
    pub derived: String,
}

/// A string of the reviewed "named, not derived" list (`glossary::NAMED`) the text uses, where first, and why it
/// needs no derivation.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct NamedUse {
    pub name: String,
    pub used_at: usize,
    pub why: String,
}

/// A term and the step that introduces it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TermDef {
    pub term: String,
    pub step: usize,
    pub derived: String,
}

/// A conclusion drawn (a ✓ step's result) and the steps that introduced the terms it combines.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Inference {
    pub step: usize,
    pub conclusion: String,
    pub from: Vec<usize>,
}

/// A step refuted or not observable, and why.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Rejection {
    pub step: usize,
    pub action: String,
    pub status: Status,
    pub why: String,
}

/// The computed closing sections.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Default)]
pub struct Axioms {
    /// Terms used but introduced by no step ("new things introduced without derivation").
    pub undefined: Vec<TermUse>,
    /// Terms used before the step that introduces them.
    pub forward: Vec<TermUse>,
    /// Terms introduced by more than one step (the later ones redefine).
    pub reintroduced: Vec<TermUse>,
    /// Terms a step introduces that the glossary does not know (so no use of them could be found).
    pub unknown: Vec<TermUse>,
    /// Terms the axiom steps take as given.
    pub given: Vec<String>,
    /// Identifier-shaped strings the text uses as quoted data, from the reviewed list (`glossary::NAMED`), each
    /// with its first step: printed so a reader can audit what the check let through.
    #[serde(default)]
    pub named: Vec<NamedUse>,
    /// Every term introduced, where, and how it is derived (the glossary's words): what a course page links a term to.
    pub terms: Vec<TermDef>,
    /// Every conclusion drawn, with the steps whose terms it combines.
    pub inferences: Vec<Inference>,
    /// What was refuted or not observable, with why.
    pub rejections: Vec<Rejection>,
}

/// Derives each of `terms` (name, how) at the first step whose text uses it as an identifier no glossary mark
/// covers — for names a run brings into its evidence (the functions its chain went through) or a chapter's own
/// (its errno, the functions of its prediction), so each is derived where it is first used, whatever the tier
/// shows. A term some step already introduces, or no step uses, is left alone.
pub fn derive_at_first_use(steps: &mut [Step], terms: &[(String, String)]) {
    for (term, how) in terms {
        if steps.iter().any(|s| s.introduces.iter().any(|i| norm(i) == norm(term))) {
            continue;
        }
        let first = steps.iter().position(|s| {
            let words = s.words();
            let covered = glossary::mark_spans(&words);
            glossary::identifiers(&words)
                .iter()
                .any(|id| &id.name == term && !covered.iter().any(|&(a, b, _)| a <= id.start && id.end <= b))
        });
        if let Some(i) = first {
            steps[i] = steps[i].clone().derives(term, how);
        }
    }
}

/// Introduces each term of `glossary::AT_FIRST_USE` that no step introduces at the first step whose text uses it
/// (its marks, as the checker reads them).
pub fn place_at_first_use(steps: &mut [Step]) {
    for t in glossary::AT_FIRST_USE {
        if steps.iter().any(|s| s.introduces.iter().any(|i| norm(i) == norm(t.name))) {
            continue;
        }
        if let Some(s) = steps.iter_mut().find(|s| glossary::uses(&s.text()).iter().any(|(n, _)| *n == t.name)) {
            s.introduces.push(t.name.to_string());
        }
    }
}

/// The functions a run's calls went through (their chains, at tiers A/B), each derived as such: the chain's
/// evidence names them, and a name the glossary derives better is left to it.
pub fn chain_functions(r: &crate::report::Report) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, how: String| {
        if !name.is_empty() && glossary::term(name).is_none() && !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), how));
        }
    };
    for c in &r.calls {
        for f in &c.chain {
            add(
                &f.func,
                format!(
                    "a kernel function a {}() call went through: its chain, seen at {}, the name from kallsyms",
                    c.syscall, f.probe
                ),
            );
        }
        for f in &c.chain {
            if let Some(k) = &f.caller {
                add(
                    &k.symbol,
                    format!(
                        "the kernel function {} was called from: the return address at its entry, named by kallsyms",
                        f.func
                    ),
                );
            }
        }
    }
    out
}

/// The functions DWARF names for the chain's addresses (source.lines: "FILE:LINE (in NAME)"), which may be inlined
/// helpers no chain frame shows, each derived as such.
pub fn source_functions(claims: &[Claim]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for e in claims.iter().filter(|c| c.id == crate::claims::ids::SOURCE_LINES.id).flat_map(|c| c.evidence.iter()) {
        let Some(name) = e.value.rsplit_once("(in ").map(|(_, n)| n.trim_end_matches(')').trim()) else { continue };
        if !name.is_empty() && glossary::term(name).is_none() && !out.iter().any(|(n, _)| n == name) {
            out.push((
                name.to_string(),
                format!(
                    "the kernel function DWARF names for the chain's address {} (its source holds that line; it may be \
                     inlined into the function kallsyms names)",
                    e.what
                ),
            ));
        }
    }
    out
}

fn norm(t: &str) -> String {
    t.trim().to_lowercase()
}

/// Fills each step's `uses` from its text and checks that no step uses a term before a step introduced it. A step
/// may use what it introduces itself. Steps of several chapters are checked as one course: pass them in order.
pub fn check(steps: &mut [Step]) -> Axioms {
    use std::collections::HashMap;
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut a = Axioms::default();
    for s in steps.iter() {
        for t in &s.introduces {
            let own = s.defines.iter().find(|d| norm(&d.term) == norm(t));
            if glossary::term(t).is_none() && own.is_none() {
                a.unknown.push(TermUse { term: t.clone(), used_at: s.n, word: None, introduced_at: None });
            }
            match first.get(&norm(t)) {
                Some(&at) => {
                    a.reintroduced.push(TermUse { term: t.clone(), used_at: s.n, word: None, introduced_at: Some(at) })
                }
                None => {
                    first.insert(norm(t), s.n);
                    if let Some(g) = glossary::term(t) {
                        a.terms.push(TermDef { term: g.name.into(), step: s.n, derived: g.derived.into() });
                    } else if let Some(d) = own {
                        a.terms.push(TermDef { term: d.term.clone(), step: s.n, derived: d.derived.clone() });
                    }
                    if s.status == Status::Axiom {
                        a.given.push(t.clone());
                    }
                }
            }
        }
    }
    for s in steps.iter_mut() {
        let mut found: Vec<(String, String)> =
            glossary::uses(&s.text()).into_iter().map(|(t, m)| (t.to_string(), m.to_string())).collect();
        // Every identifier of the text is a use: of the glossary term whose mark covers it, else of the term it
        // names (derived by a step, or by none), unless it is on the reviewed list of quoted data.
        let words = s.words();
        let covered = glossary::mark_spans(&words);
        for id in glossary::identifiers(&words) {
            if covered.iter().any(|&(a, b, _)| a <= id.start && id.end <= b) {
                continue;
            }
            if let Some(n) = glossary::named(&id.name) {
                if !a.named.iter().any(|u| u.name == n.name) {
                    a.named.push(NamedUse { name: n.name.into(), used_at: s.n, why: n.why.into() });
                }
                continue;
            }
            if !found.iter().any(|(t, _)| norm(t) == norm(&id.name)) {
                found.push((id.name.clone(), id.shown.clone()));
            }
        }
        s.uses = found.iter().map(|(t, _)| t.clone()).collect();
        for (t, mark) in &found {
            let (t, word) = (t.as_str(), Some(mark.clone()));
            let seen_here = s.introduces.iter().any(|i| norm(i) == norm(t));
            match first.get(&norm(t)) {
                None if !a.undefined.iter().any(|u| norm(&u.term) == norm(t)) => {
                    a.undefined.push(TermUse { term: t.into(), used_at: s.n, word, introduced_at: None });
                }
                None => {}
                Some(&at) if at > s.n && !seen_here => {
                    a.forward.push(TermUse { term: t.into(), used_at: s.n, word, introduced_at: Some(at) })
                }
                _ => {}
            }
        }
    }
    for s in steps.iter() {
        match s.status {
            Status::Proved => {
                let mut from: Vec<usize> =
                    s.uses.iter().filter_map(|t| first.get(&norm(t)).copied()).filter(|&n| n < s.n).collect();
                from.sort_unstable();
                from.dedup();
                a.inferences.push(Inference { step: s.n, conclusion: s.result.clone(), from });
            }
            Status::Refuted | Status::NotObservable => a.rejections.push(Rejection {
                step: s.n,
                action: s.action.clone(),
                status: s.status,
                why: if s.status == Status::Refuted {
                    s.result.clone()
                } else {
                    s.why_not.clone().unwrap_or_else(|| "not observable here".into())
                },
            }),
            _ => {}
        }
    }
    a
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Lesson {
    pub schema: String,
    pub title: String,
    pub kernel: String,
    pub tier: crate::probes::caps::Tier,
    pub command: String,
    pub steps: Vec<Step>,
    pub axioms: Axioms,
    /// Every claim the steps rest on, with full evidence.
    pub claims: Vec<Claim>,
    /// The whole report of the run the lesson was built from (its calls, chain, dispatch table, layouts): what
    /// `syswalk site` draws Part 2, the chapters and the comparison from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Box<crate::report::Report>>,
}

pub const SCHEMA: &str = "syswalk.lesson/1";

impl Lesson {
    pub fn new(
        title: String,
        kernel: String,
        tier: crate::probes::caps::Tier,
        command: String,
        mut steps: Vec<Step>,
        claims: Vec<Claim>,
    ) -> Self {
        for (i, s) in steps.iter_mut().enumerate() {
            s.n = i + 1;
        }
        let axioms = check(&mut steps);
        Lesson { schema: SCHEMA.into(), title, kernel, tier, command, steps, axioms, claims, report: None }
    }
    pub fn count(&self, st: Status) -> usize {
        self.steps.iter().filter(|s| s.status == st).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::lesson::{markdown, text};

    /// A step whose action text is `says`.
    fn st(intro: &[&str], says: &str) -> Step {
        Step::new("p", says, "").introduces(intro)
    }

    fn lesson_of(steps: Vec<Step>) -> Lesson {
        Lesson::new("t".into(), "k".into(), crate::probes::caps::Tier::C, "c".into(), steps, vec![])
    }

    #[test]
    fn a_clean_lesson_has_nothing_to_report() {
        let l = lesson_of(vec![
            st(&["byte"], "count bytes"),
            st(&["address"], "a byte's number is its address"),
            st(&[], "the address of a byte"),
        ]);
        assert_eq!(l.axioms.undefined, vec![]);
        assert_eq!(l.axioms.forward, vec![]);
        assert_eq!(l.steps[2].uses, vec!["byte", "address"], "uses are read from the text");
    }

    #[test]
    fn a_term_used_in_the_text_before_its_introduction_is_a_forward_reference() {
        // No tag says step 1 uses fd: its text does.
        let l =
            lesson_of(vec![st(&["byte"], "read fd = 3 from a byte"), st(&["file descriptor"], "a byte numbers it")]);
        assert_eq!(
            l.axioms.forward,
            vec![TermUse {
                term: "file descriptor".into(),
                used_at: 1,
                word: Some("fd".into()),
                introduced_at: Some(2)
            }]
        );
        assert!(
            text(&l).contains("\"file descriptor\" used at step 01 (\"fd\"), introduced only at step 02"),
            "{}",
            text(&l)
        );
        // The same word in evidence or a result counts too.
        let l = lesson_of(vec![st(&["byte"], "x").evidence("via tp_btf/sys_enter"), st(&["sys_enter", "tp_btf"], "y")]);
        assert_eq!(l.axioms.forward.len(), 2, "{:?}", l.axioms.forward);
    }

    #[test]
    fn a_term_never_introduced_is_reported_once_and_an_axiom_is_not() {
        let l = lesson_of(vec![
            Step::new("axioms", "count bytes", "").introduces(&["byte"]).axiom("a byte holds 0..255"),
            st(&[], "the kallsyms file"),
            st(&[], "kallsyms again, in bytes"),
        ]);
        assert_eq!(
            l.axioms.undefined,
            vec![TermUse { term: "kallsyms".into(), used_at: 2, word: Some("kallsyms".into()), introduced_at: None }]
        );
        assert_eq!(l.axioms.given, vec!["byte"]);
        assert!(text(&l).contains("✗ \"kallsyms\" used at step 02 and introduced by no step"));
    }

    #[test]
    fn an_identifier_no_step_derives_is_undefined_and_a_later_derivation_makes_it_a_forward_reference() {
        // The glossary does not know tcp_hashinfo: the text alone shows it is a term.
        let l = lesson_of(vec![st(&["byte"], "look the sock up in tcp_hashinfo"), st(&[], "count the bytes")]);
        assert_eq!(
            l.axioms.undefined,
            vec![TermUse {
                term: "tcp_hashinfo".into(),
                used_at: 1,
                word: Some("tcp_hashinfo".into()),
                introduced_at: None
            }]
        );
        assert!(text(&l).contains("✗ \"tcp_hashinfo\" used at step 01 and introduced by no step"), "{}", text(&l));
        let l = lesson_of(vec![
            st(&["byte"], "look the sock up in tcp_hashinfo"),
            st(&[], "x").derives("tcp_hashinfo", "the kernel's hash tables of TCP socks"),
            st(&[], "tcp_hashinfo again"),
        ]);
        assert_eq!(l.axioms.undefined, vec![]);
        assert_eq!(
            l.axioms.forward,
            vec![TermUse {
                term: "tcp_hashinfo".into(),
                used_at: 1,
                word: Some("tcp_hashinfo".into()),
                introduced_at: Some(2)
            }]
        );
        assert_eq!(l.axioms.unknown, vec![], "a term a step derives itself is known");
        assert!(l.axioms.terms.iter().any(|t| t.term == "tcp_hashinfo" && t.step == 2));
        assert_eq!(l.steps[2].uses, vec!["tcp_hashinfo"]);
        // Every shape counts: a field, a struct, an acronym, a register.
        for (says, term) in [
            ("sk->sk_wmem_queued", "sk_wmem_queued"),
            ("a struct sk_buff", "struct sk_buff"),
            ("the NAPI", "NAPI"),
            ("r9 holds it", "general registers"),
        ] {
            let l = lesson_of(vec![st(&[], says)]);
            assert!(l.axioms.undefined.iter().any(|u| u.term == term), "{says}: {:?}", l.axioms.undefined);
        }
    }

    #[test]
    fn a_term_outside_the_glossary_cannot_be_introduced() {
        let l = lesson_of(vec![st(&["flux capacitor"], "x")]);
        assert_eq!(l.axioms.unknown.len(), 1);
        assert!(text(&l).contains("flux capacitor"), "{}", text(&l));
    }

    #[test]
    fn inferences_name_the_steps_they_combine_and_rejections_say_why() {
        let mut proved = st(&[], "the address of a byte").result("an address ∴");
        proved.status = Status::Proved;
        let mut no = st(&[], "x");
        no.status = Status::NotObservable;
        no.why_not = Some("no kprobes here".into());
        let l = lesson_of(vec![st(&["byte"], "b"), st(&["address"], "a"), proved, no]);
        assert_eq!(
            l.axioms.inferences,
            vec![Inference { step: 3, conclusion: "an address ∴".into(), from: vec![1, 2] }]
        );
        assert_eq!(l.axioms.rejections.len(), 1);
        assert!(text(&l).contains("– 04 x: no kprobes here"), "{}", text(&l));
        assert!(text(&l).contains("∴ 03 (from 01, 02) an address ∴"), "{}", text(&l));
    }

    #[test]
    fn a_step_is_as_good_as_its_worst_claim_and_a_missing_claim_is_not_observable() {
        use crate::claims::ids::ClaimId;
        let id = |id: &'static str| ClaimId { id, statement: "" };
        let c = |id: &str, v: Verdict| Claim {
            id: id.into(),
            call: None,
            verdict: v,
            statement: format!("{id} holds"),
            finding: None,
            evidence: vec![],
            reason: Some("r".into()),
        };
        let claims = vec![c("a", Verdict::Proved), c("b", Verdict::NotObservable), c("r", Verdict::Refuted)];
        assert_eq!(Step::new("p", "x", "").judged_by(&[id("a")], &claims).status, Status::Proved);
        assert_eq!(Step::new("p", "x", "").judged_by(&[id("a"), id("b")], &claims).status, Status::NotObservable);
        assert_eq!(Step::new("p", "x", "").judged_by(&[id("a"), id("b"), id("r")], &claims).status, Status::Refuted);
        let m = Step::new("p", "x", "").judged_by(&[id("zz")], &claims);
        assert_eq!(m.status, Status::NotObservable);
        assert_eq!(m.why_not.as_deref(), Some("zz: not produced by this run"));
    }

    #[test]
    fn the_socket_lesson_is_axiomatic_by_its_text() {
        let l = crate::fixtures::lesson();
        let a = &l.axioms;
        assert!(a.forward.is_empty() && a.undefined.is_empty(), "{:?} {:?}", a.forward, a.undefined);
        assert!(a.unknown.is_empty() && a.reintroduced.is_empty(), "{:?} {:?}", a.unknown, a.reintroduced);
        // Every step's uses were found in its text, and the checker would see a use moved one step earlier.
        let watching = l.steps.iter().position(|s| s.introduces.iter().any(|t| t == "tp_btf")).expect("tp_btf step");
        let mut steps = l.steps.clone();
        steps[watching - 1].evidence.push("read at tp_btf/sys_enter".into());
        let moved = Lesson::new("t".into(), "k".into(), l.tier, "c".into(), steps, vec![]);
        assert!(
            moved.axioms.forward.iter().any(|u| u.term == "tp_btf" && u.used_at == watching),
            "{:?}",
            moved.axioms.forward
        );
    }

    #[test]
    fn rendering_snapshot() {
        let claims = vec![Claim {
            id: "constants.nr_socket".into(),
            call: None,
            verdict: Verdict::Proved,
            statement: "__NR_socket = 41 in unistd_64.h and the call passed 41".into(),
            finding: None,
            evidence: vec![crate::claims::Evidence {
                what: "__NR_socket".into(),
                value: "41".into(),
                source: "unistd_64.h:45".into(),
            }],
            reason: None,
        }];
        let steps = vec![
            Step::new("axioms", "count slots", "").introduces(&["byte", "call"]).axiom("a byte holds 0..255"),
            Step::new("the number", "find __NR_socket in the header", "grep -n __NR_socket unistd_64.h")
                .introduces(&["__NR_socket", "header"])
                .judged_by(&[crate::claims::ids::CONSTANTS_NR_SOCKET], &claims),
        ];
        let l =
            Lesson::new("T".into(), "6.1".into(), crate::probes::caps::Tier::A, "syswalk lesson".into(), steps, claims);
        let want = "T\nkernel 6.1 · tier A · syswalk lesson\n\nAXIOMS\n01. count slots ........................................... a byte holds 0..255 ≡\n\nTHE NUMBER\n02. find __NR_socket in the header ........................ __NR_socket = 41 (unistd_64.h:45) → __NR_socket = 41 in unistd_64.h and the call passed 41 ✓\n    $ grep -n __NR_socket unistd_64.h\n\nTERMS\n  02 __NR_socket (the header's syscall number for socket); header (the installed C headers)\n\nNEW THINGS INTRODUCED WITHOUT DERIVATION\n  ≡ taken as given by the axiom steps: byte, call\n\nNAMED, NOT DERIVED\n  (none): every identifier of the text is a term the course introduces\n\nFORWARD REFERENCES\n  (none): no step's text uses a term before the step that introduces it\n\nNEW INFERENCE\n  ∴ 02 (from 01) __NR_socket = 41 in unistd_64.h and the call passed 41\n\nREJECTION STATUS\n  1 proved ✓ · 0 refuted ✗ · 0 not observable here – · 0 shown · 1 axioms ≡ (2 steps)\n";
        assert_eq!(text(&l), want);
    }

    #[test]
    fn markdown_snapshot_marks_not_observable_with_the_reason() {
        let claims = vec![Claim {
            id: "kaslr.offset_constant".into(),
            call: None,
            verdict: Verdict::NotObservable,
            statement: "s".into(),
            finding: None,
            evidence: vec![],
            reason: Some("no System.map | here".into()),
        }];
        let steps = vec![Step::new("kernel addresses", "subtract the KASLR offset", "syswalk kaslr")
            .judged_by(&[crate::claims::ids::KASLR_OFFSET_CONSTANT], &claims)];
        let l = Lesson::new("T".into(), "k".into(), crate::probes::caps::Tier::C, "c".into(), steps, claims);
        let want = "# T\n\nkernel `k` · tier C · `c`\n\n## kernel addresses\n\n| # | do this | evidence → result | |\n|---|---|---|---|\n| 01 | subtract the KASLR offset<br>`syswalk kaslr` | not observable here: no System.map \\| here | – |\n\n## TERMS\n\n- (none derived)\n\n## NEW THINGS INTRODUCED WITHOUT DERIVATION\n\n- ✗ \"address\" used at step 01 and introduced by no step\n- ✗ \"kernel\" used at step 01 and introduced by no step\n- ✗ \"KASLR offset\" used at step 01 and introduced by no step\n\n## NAMED, NOT DERIVED\n\n- (none): every identifier of the text is a term the course introduces\n\n## FORWARD REFERENCES\n\n- (none): no step's text uses a term before the step that introduces it\n\n## NEW INFERENCE\n\n\n## REJECTION STATUS\n\n- 0 proved ✓ · 0 refuted ✗ · 1 not observable here – · 0 shown · 0 axioms ≡ (1 steps)\n- – 01 subtract the KASLR offset: no System.map \\| here\n";
        assert_eq!(markdown(&l), want);
    }
}
