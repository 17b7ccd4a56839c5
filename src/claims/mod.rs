//! Claims: statements about a call or a run, each judged from the evidence captured for it. A claim is proved only
//! with the values that prove it; what this kernel cannot show is `not_observable`, with the reason.
//!
//! The per-syscall claims live with their syscall (`crate::syscalls::*`); the claims about the run as a whole live
//! here: KASLR, constants, source lines, the dispatch code.
use serde::Serialize;

pub mod budget;
pub mod constants;
pub mod ids;
pub mod kaslr;
pub mod kcode;
pub mod srcline;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Evidence {
    pub what: String,
    pub value: String,
    /// Where the value was captured: probe or file.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Claim {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<usize>,
    pub verdict: Verdict,
    /// The claim's one statement (claims::ids), whatever the verdict.
    pub statement: String,
    /// What this run found: the values and names behind the verdict, when they say more than the statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One piece of evidence: what was read, its value, and where it was captured.
pub fn ev(what: impl Into<String>, value: impl Into<String>, source: impl Into<String>) -> Evidence {
    Evidence { what: what.into(), value: value.into(), source: source.into() }
}

/// A claim about the run as a whole (not tied to one call).
pub fn global_claim(
    id: ids::ClaimId,
    verdict: Verdict,
    finding: impl Into<String>,
    evidence: Vec<Evidence>,
    reason: Option<String>,
) -> Claim {
    Claim::new(id, None, verdict, finding.into(), evidence, reason)
}

impl Claim {
    /// A claim `id` with its verdict; `finding` is kept when it says more than the id's statement.
    pub fn new(
        id: ids::ClaimId,
        call: Option<usize>,
        verdict: Verdict,
        finding: String,
        evidence: Vec<Evidence>,
        reason: Option<String>,
    ) -> Claim {
        let finding = (!finding.is_empty() && finding != id.statement).then_some(finding);
        Claim { id: id.id.into(), call, verdict, statement: id.statement.into(), finding, evidence, reason }
    }

    /// What to show as the conclusion: the finding, or the statement when there is none.
    pub fn conclusion(&self) -> &str {
        self.finding.as_deref().unwrap_or(&self.statement)
    }
}

impl Claim {
    /// A ✗ judged after the run lost `lost` events (a full ring buffer) is not a refutation: the evidence it compares
    /// may be among the lost events (a close() and socket() between an fd's install and its use, say). It becomes
    /// "not observable here (events lost: N)", keeping what was seen. Proved and not-observable claims are unchanged.
    pub fn unless_lost(mut self, lost: u64) -> Claim {
        if self.verdict == Verdict::Refuted && lost > 0 {
            self.verdict = Verdict::NotObservable;
            let seen = self.finding.take().map(|f| format!(" (what was seen: {f})")).unwrap_or_default();
            self.reason = Some(format!(
                "events lost: {lost} boundary events were lost before this verdict (the ring buffer was full), so \
                 the evidence it compares may be incomplete{seen}"
            ));
            self.evidence.push(ev(
                "events lost before this verdict",
                lost.to_string(),
                "boundary ring buffer's loss count",
            ));
        }
        self
    }
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
    id: ids::ClaimId,
    call: Option<usize>,
    ok: Option<bool>,
    finding: String,
    evidence: Vec<Evidence>,
    missing: &str,
) -> Claim {
    let verdict = verdict_of(ok);
    let reason = (verdict == Verdict::NotObservable).then(|| missing.to_string());
    Claim::new(id, call, verdict, finding, evidence, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refutation_after_lost_events_is_not_observable_and_keeps_what_was_seen() {
        let k = judged(ids::SAME_SOCKET, Some(4), Some(false), "fd 3 holds another socket".into(), vec![], "");
        assert_eq!(k.clone().unless_lost(0).verdict, Verdict::Refuted, "nothing lost: the ✗ stands");
        let k = k.unless_lost(17);
        assert_eq!(k.verdict, Verdict::NotObservable);
        let why = k.reason.as_deref().unwrap_or_default();
        assert!(why.starts_with("events lost: 17 boundary events"), "{why}");
        assert!(why.contains("fd 3 holds another socket"), "{why}");
        let proved = judged(ids::SAME_SOCKET, Some(4), Some(true), String::new(), vec![], "").unless_lost(17);
        assert_eq!(proved.verdict, Verdict::Proved, "losses never weaken what was seen whole");
    }
}
