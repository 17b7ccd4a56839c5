//! Run-wide evidence that a failed call left nothing behind: the kernel's own count of sockets in use.
use super::{ev, global_claim, ids, Claim, Verdict};
use crate::model::Call;

const SOURCE: &str =
    "/proc/net/sockstat (sockets: used), read before the built-in target was let go and after it ended";

/// `sockets.none_left` for a built-in target whose socket() calls all failed; nothing when one succeeded (the
/// target closes what it made) or when there was no call.
pub fn sockets_none_left(calls: &[Call], used: Option<[u64; 2]>) -> Option<Claim> {
    let sockets: Vec<&Call> = calls.iter().filter(|c| c.syscall == "socket").collect();
    if sockets.is_empty() || sockets.iter().any(|c| c.ret.is_none_or(|r| r >= 0)) {
        return None;
    }
    let Some([before, after]) = used else {
        return Some(global_claim(
            ids::SOCKETS_NONE_LEFT,
            Verdict::NotObservable,
            ids::SOCKETS_NONE_LEFT.statement,
            vec![],
            Some("/proc/net/sockstat could not be read".into()),
        ));
    };
    let evidence = vec![
        ev("sockets in use before", before.to_string(), SOURCE),
        ev("sockets in use after", after.to_string(), SOURCE),
    ];
    Some(if before == after {
        global_claim(
            ids::SOCKETS_NONE_LEFT,
            Verdict::Proved,
            format!("sockets in use: {before} before, {after} after — the failed call left no socket behind"),
            evidence,
            None,
        )
    } else {
        // The count is the whole network namespace's: another process opening or closing a socket meanwhile moves
        // it too, so a difference alone does not single out this call (the function-level release claims do).
        global_claim(
            ids::SOCKETS_NONE_LEFT,
            Verdict::NotObservable,
            ids::SOCKETS_NONE_LEFT.statement,
            evidence,
            Some(format!(
                "the namespace-wide count moved from {before} to {after} while the target ran: other processes open and close sockets too"
            )),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests_support::empty_call;

    fn socket(ret: i64) -> Call {
        Call { syscall: "socket".into(), ret: Some(ret), ..empty_call() }
    }

    #[test]
    fn only_failed_runs_are_judged_and_a_moved_count_proves_nothing() {
        assert!(sockets_none_left(&[socket(3)], Some([5, 5])).is_none(), "a successful call is not this claim's");
        assert!(sockets_none_left(&[], Some([5, 5])).is_none());
        let v = |u| sockets_none_left(&[socket(-24)], u).map(|c| c.verdict);
        assert_eq!(v(Some([5, 5])), Some(Verdict::Proved));
        assert_eq!(v(Some([5, 6])), Some(Verdict::NotObservable));
        assert_eq!(v(None), Some(Verdict::NotObservable));
    }
}
