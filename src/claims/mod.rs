//! Claims: statements about a call or a run, each judged from the evidence captured for it. A claim is proved only
//! with the values that prove it; what this kernel cannot show is `not_observable`, with the reason.
//!
//! The per-syscall claims live with their syscall (`crate::syscalls::*`); the claims about the run as a whole live
//! here: KASLR, constants, source lines, the dispatch code.
use serde::Serialize;

pub mod budget;
pub mod constants;
pub mod kaslr;
pub mod kcode;
pub mod srcline;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Proved,
    Refuted,
    NotObservable,
}

impl Verdict {
    pub fn symbol(self) -> &'static str {
        match self {
            Verdict::Proved => "✓",
            Verdict::Refuted => "✗",
            Verdict::NotObservable => "–",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evidence {
    pub what: String,
    pub value: String,
    /// Where the value was captured: probe or file.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Claim {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<usize>,
    pub verdict: Verdict,
    pub statement: String,
    pub evidence: Vec<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One piece of evidence: what was read, its value, and where it was captured.
pub fn ev(what: impl Into<String>, value: impl Into<String>, source: impl Into<String>) -> Evidence {
    Evidence { what: what.into(), value: value.into(), source: source.into() }
}

/// A claim about the run as a whole (not tied to one call).
pub fn global_claim(
    id: &str,
    verdict: Verdict,
    statement: impl Into<String>,
    evidence: Vec<Evidence>,
    reason: Option<String>,
) -> Claim {
    Claim { id: id.into(), call: None, verdict, statement: statement.into(), evidence, reason }
}

/// The verdict an optional judgement gives: proved, refuted, or (None) not observable.
pub fn verdict_of(ok: Option<bool>) -> Verdict {
    match ok {
        Some(true) => Verdict::Proved,
        Some(false) => Verdict::Refuted,
        None => Verdict::NotObservable,
    }
}

/// A judged claim: `ok` None is "not observable here", with `missing` as the reason.
pub fn judged(
    id: &str,
    call: Option<usize>,
    ok: Option<bool>,
    statement: String,
    evidence: Vec<Evidence>,
    missing: &str,
) -> Claim {
    let verdict = verdict_of(ok);
    let reason = (verdict == Verdict::NotObservable).then(|| missing.to_string());
    Claim { id: id.into(), call, verdict, statement, evidence, reason }
}
