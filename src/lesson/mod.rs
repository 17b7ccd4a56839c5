//! The lesson: an ordered list of steps, each with what to do by hand, the code or probe behind it, the evidence,
//! the verdict, and the terms it introduces and uses. The closing sections ("new things introduced without
//! derivation", "forward references", "rejection status") are computed from the steps, never written by hand.
use serde::Serialize;

use crate::claims::{Claim, Verdict};

/// A step's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, Serialize, PartialEq)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
    /// The claims this step rests on (ids in the claims list).
    pub claims: Vec<String>,
    pub introduces: Vec<String>,
    pub uses: Vec<String>,
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
            uses: vec![],
        }
    }
    pub fn introduces(mut self, t: &[&str]) -> Self {
        self.introduces.extend(t.iter().map(|s| s.to_string()));
        self
    }
    pub fn uses(mut self, t: &[&str]) -> Self {
        self.uses.extend(t.iter().map(|s| s.to_string()));
        self
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
            for e in c.evidence.iter().take(3) {
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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TermUse {
    pub term: String,
    pub used_at: usize,
    /// Where it is introduced (later than used_at), for a forward reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introduced_at: Option<usize>,
}

/// The computed closing sections.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Axioms {
    /// Terms used but introduced by no step ("new things introduced without derivation").
    pub undefined: Vec<TermUse>,
    /// Terms used before the step that introduces them.
    pub forward: Vec<TermUse>,
    /// Terms introduced by more than one step (the later ones redefine).
    pub reintroduced: Vec<TermUse>,
    /// Terms the axiom steps take as given.
    pub given: Vec<String>,
}

fn norm(t: &str) -> String {
    t.trim().to_lowercase()
}

/// Checks that no step uses a term before a step introduced it. A step may use what it introduces itself.
pub fn check(steps: &[Step]) -> Axioms {
    use std::collections::HashMap;
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut a = Axioms::default();
    for s in steps {
        for t in &s.introduces {
            match first.get(&norm(t)) {
                Some(_) => a.reintroduced.push(TermUse {
                    term: t.clone(),
                    used_at: s.n,
                    introduced_at: first.get(&norm(t)).copied(),
                }),
                None => {
                    first.insert(norm(t), s.n);
                    if s.status == Status::Axiom {
                        a.given.push(t.clone());
                    }
                }
            }
        }
    }
    for s in steps {
        for t in &s.uses {
            let seen_here = s.introduces.iter().any(|i| norm(i) == norm(t));
            match first.get(&norm(t)) {
                None if !a.undefined.iter().any(|u| norm(&u.term) == norm(t)) => {
                    a.undefined.push(TermUse { term: t.clone(), used_at: s.n, introduced_at: None });
                }
                None => {}
                Some(&at) if at > s.n && !seen_here => {
                    a.forward.push(TermUse { term: t.clone(), used_at: s.n, introduced_at: Some(at) })
                }
                _ => {}
            }
        }
    }
    a
}

#[derive(Debug, Clone, Serialize)]
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
        let axioms = check(&steps);
        Lesson { schema: SCHEMA.into(), title, kernel, tier, command, steps, axioms, claims }
    }
    pub fn count(&self, st: Status) -> usize {
        self.steps.iter().filter(|s| s.status == st).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::lesson::{markdown, text};

    fn st(intro: &[&str], uses: &[&str]) -> Step {
        Step::new("p", "a", "").introduces(intro).uses(uses)
    }

    #[test]
    fn a_clean_lesson_has_nothing_to_report() {
        let l = Lesson::new(
            "t".into(),
            "k".into(),
            crate::probes::caps::Tier::C,
            "c".into(),
            vec![st(&["byte"], &[]), st(&["address"], &["Byte"]), st(&[], &["address", "byte"])],
            vec![],
        );
        assert_eq!(l.axioms.undefined, vec![]);
        assert_eq!(l.axioms.forward, vec![]);
    }

    #[test]
    fn a_term_used_before_its_introduction_is_a_forward_reference() {
        let l = Lesson::new(
            "t".into(),
            "k".into(),
            crate::probes::caps::Tier::C,
            "c".into(),
            vec![st(&["byte"], &["fd"]), st(&["fd"], &["byte"])],
            vec![],
        );
        assert_eq!(l.axioms.forward, vec![TermUse { term: "fd".into(), used_at: 1, introduced_at: Some(2) }]);
        assert!(text(&l).contains("\"fd\" used at step 01, introduced only at step 02"));
    }

    #[test]
    fn a_term_never_introduced_is_reported_once() {
        let l = Lesson::new(
            "t".into(),
            "k".into(),
            crate::probes::caps::Tier::C,
            "c".into(),
            vec![st(&[], &["socket"]), st(&[], &["socket"])],
            vec![],
        );
        assert_eq!(l.axioms.undefined, vec![TermUse { term: "socket".into(), used_at: 1, introduced_at: None }]);
        assert!(text(&l).contains("✗ \"socket\" used at step 01 and introduced by no step"));
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
            Step::new("axioms", "count slots", "").introduces(&["byte"]).axiom("a byte holds 0..255"),
            Step::new("the number", "find __NR_socket in the header", "grep -n __NR_socket unistd_64.h")
                .introduces(&["syscall number"])
                .uses(&["byte"])
                .judged_by(&[crate::claims::ids::CONSTANTS_NR_SOCKET], &claims),
        ];
        let l =
            Lesson::new("T".into(), "6.1".into(), crate::probes::caps::Tier::A, "syswalk lesson".into(), steps, claims);
        let want = "T\nkernel 6.1 · tier A · syswalk lesson\n\nAXIOMS\n01. count slots ........................................... a byte holds 0..255 ≡\n\nTHE NUMBER\n02. find __NR_socket in the header ........................ __NR_socket = 41 (unistd_64.h:45) → __NR_socket = 41 in unistd_64.h and the call passed 41 ✓\n    $ grep -n __NR_socket unistd_64.h\n\nNEW THINGS INTRODUCED WITHOUT DERIVATION\n  ≡ taken as given by the axiom steps: byte\n\nFORWARD REFERENCES\n  (none): no step uses a term before the step that introduces it\n\nNEW INFERENCE\n  ∴ 02 __NR_socket = 41 in unistd_64.h and the call passed 41\n\nREJECTION STATUS\n  1 proved ✓ · 0 refuted ✗ · 0 not observable here – · 0 shown · 1 axioms ≡ (2 steps)\n";
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
        let steps = vec![Step::new("kernel addresses", "subtract", "syswalk kaslr")
            .uses(&["KASLR offset"])
            .judged_by(&[crate::claims::ids::KASLR_OFFSET_CONSTANT], &claims)];
        let l = Lesson::new("T".into(), "k".into(), crate::probes::caps::Tier::C, "c".into(), steps, claims);
        let want = "# T\n\nkernel `k` · tier C · `c`\n\n## kernel addresses\n\n| # | do this | evidence → result | |\n|---|---|---|---|\n| 01 | subtract<br>`syswalk kaslr` | not observable here: no System.map \\| here | – |\n\n## NEW THINGS INTRODUCED WITHOUT DERIVATION\n\n- ✗ \"KASLR offset\" used at step 01 and introduced by no step\n\n## FORWARD REFERENCES\n\n- (none): no step uses a term before the step that introduces it\n\n## NEW INFERENCE\n\n\n## REJECTION STATUS\n\n- 0 proved ✓ · 0 refuted ✗ · 1 not observable here – · 0 shown · 0 axioms ≡ (1 steps)\n";
        assert_eq!(markdown(&l), want);
    }
}
