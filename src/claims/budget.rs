//! `chain.counts_complete`: the evidence budget's account (`--chain-calls N`).
use serde::Serialize;

use crate::claims::ids;
use crate::claims::{ev, judged, Claim};
use crate::model::Call;
use crate::probes::chain::FnPlan;

/// The evidence budget's account: calls streamed in full, and per function what the kernel counted instead.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Budget {
    pub requested: u32,
    pub root: String,
    /// Root calls received in full (entry events of the root function).
    pub full: usize,
    /// (function, entries counted, exits counted).
    pub counted: Vec<(String, u64, u64)>,
}

/// Judges `chain.counts_complete`: full + counted root calls = the calls seen at the syscall boundary (for the
/// socket chain), and every counted entry has its exit.
/// The root function's outermost calls among `calls` (what `budget` counts as streamed in full).
pub fn root_calls(c: &Call, plan: &[FnPlan]) -> usize {
    let root = plan.iter().find(|p| p.traced).map(|p| p.name.as_str()).unwrap_or_default();
    c.chain.iter().filter(|f| f.func == root && f.depth == 0).count()
}

/// `full`: root calls received in full (see `root_calls`), `socket_calls`: socket() calls seen at the boundary,
/// `lost`: events the run lost (boundary and chain). With events lost, a sum that does not add up is incomplete
/// evidence — the boundary's count or the streamed calls are short — not a call that bypassed the root: not
/// observable, never ✗.
pub fn budget(
    full: usize,
    socket_calls: usize,
    plan: &[FnPlan],
    counted: &[(String, u64, u64)],
    requested: u32,
    lost: u64,
) -> (Budget, Claim) {
    let root = plan.iter().find(|p| p.traced).map(|p| p.name.clone()).unwrap_or_default();
    let root_counted = counted.iter().find(|(n, _, _)| *n == root).map(|c| c.1).unwrap_or(0);
    let unbalanced: Vec<String> =
        counted.iter().filter(|(_, e, x)| e != x).map(|(n, e, x)| format!("{n} {e}≠{x}")).collect();
    let mut evidence = vec![
        ev(format!("{root} calls streamed in full"), full.to_string(), "chain ring buffer"),
        ev(format!("{root} entries counted in the kernel"), root_counted.to_string(), "ccount per-CPU array"),
        ev(
            "per function (entries/exits counted)",
            counted.iter().map(|(n, e, x)| format!("{n} {e}/{x}")).collect::<Vec<_>>().join(" · "),
            "ccount per-CPU array",
        ),
    ];
    let (ok, statement) = if root == "__sys_socket" {
        evidence.push(ev("socket() calls at the syscall boundary", socket_calls.to_string(), "tp_btf/sys_enter"));
        let total = full as u64 + root_counted;
        (
            Some(total == socket_calls as u64 && unbalanced.is_empty()),
            format!("every socket() went through {root}: {full} in full + {root_counted} counted = {total} of {socket_calls} calls; every counted entry has its exit"),
        )
    } else {
        (
            Some(unbalanced.is_empty()),
            format!("every counted entry of the chain functions has its exit ({full} root calls in full)"),
        )
    };
    if !unbalanced.is_empty() {
        evidence.push(ev("unbalanced", unbalanced.join(", "), "ccount per-CPU array"));
    }
    if lost > 0 {
        evidence.push(ev("events lost in this run", lost.to_string(), "ring buffers' loss counters"));
    }
    let ok = if ok == Some(false) && lost > 0 { None } else { ok };
    let why = format!(
        "{lost} events were lost in this run (a full ring buffer, or program runs the kernel skipped): the counts \
         cannot be compared"
    );
    let c = judged(ids::CHAIN_COUNTS_COMPLETE, None, ok, statement, evidence, &why);
    (Budget { requested, root, full, counted: counted.to_vec() }, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Verdict;
    use crate::fixtures::{chain_event as item, plan_of};
    use crate::model::frame::frames;
    use crate::model::Namer;
    use crate::probes::chain::ChKind;

    #[test]
    fn budget_counts_must_add_up_to_the_boundary_calls() {
        let p = plan_of(&["__sys_socket", "sock_alloc"]);
        let e = vec![
            item(ChKind::SW_CH_ENTRY, 0, 1, 1, 0),
            item(ChKind::SW_CH_ENTRY, 1, 1, 2, 0),
            item(ChKind::SW_CH_EXIT, 1, 1, 3, 0),
            item(ChKind::SW_CH_EXIT, 0, 1, 4, 3),
        ];
        let mut c1 = crate::model::tests_support::empty_call();
        c1.chain = frames(&e, &p, "fentry", &Namer::default());
        let calls = [c1, crate::model::tests_support::empty_call(), crate::model::tests_support::empty_call()];
        let ok = vec![("__sys_socket".to_string(), 2, 2), ("sock_alloc".to_string(), 2, 2)];
        let (b, c) = budget(calls.iter().map(|c| root_calls(c, &p)).sum(), calls.len(), &p, &ok, 1, 0);
        assert_eq!((b.full, c.verdict), (1, Verdict::Proved), "{c:?}");
        let missed = vec![("__sys_socket".to_string(), 1, 1), ("sock_alloc".to_string(), 1, 1)];
        assert_eq!(
            budget(calls.iter().map(|c| root_calls(c, &p)).sum(), calls.len(), &p, &missed, 1, 0).1.verdict,
            Verdict::Refuted,
            "a call that bypassed __sys_socket"
        );
        // The same sums with events lost: the evidence is incomplete, not contrary.
        let lossy = budget(calls.iter().map(|c| root_calls(c, &p)).sum(), calls.len(), &p, &missed, 1, 3020).1;
        assert_eq!(lossy.verdict, Verdict::NotObservable, "{lossy:?}");
        assert!(lossy.reason.as_deref().unwrap_or_default().contains("3020 events were lost"), "{lossy:?}");
        let unbalanced = vec![("__sys_socket".to_string(), 2, 2), ("sock_alloc".to_string(), 2, 1)];
        assert_eq!(
            budget(calls.iter().map(|c| root_calls(c, &p)).sum(), calls.len(), &p, &unbalanced, 1, 0).1.verdict,
            Verdict::Refuted
        );
    }
}
