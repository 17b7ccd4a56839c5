//! Run-wide evidence that a failed call left nothing behind: the kernel's own counts of sockets in use.
use crate::claims::{ev, global_claim, ids, Claim, Verdict};
use crate::model::Call;

const SOCKSTAT: &str = "/proc/net/sockstat (sockets: used)";
const PROTOCOLS: &str = "/proc/net/protocols (the TCP row's sockets: TCP socks in the hash tables)";

/// The counts read before the target was let go and after it ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub sockets_used: Option<[u64; 2]>,
    pub tcp_sockets: Option<[u64; 2]>,
}

/// `sockets.none_left` for a built-in target with a failed call: a socket() target whose calls all failed, or a
/// connection's failure target (`scenario`: it closes every socket it made before it ends). Nothing for a socket()
/// target whose call succeeded (what it made is closed at its exit), or for a run with no failed call.
pub fn sockets_none_left(calls: &[Call], counts: Counts, scenario: bool) -> Option<Claim> {
    let failed = calls.iter().any(|c| c.ret.is_some_and(|r| r < 0));
    if scenario {
        if !failed {
            return None;
        }
    } else {
        let sockets: Vec<&Call> = calls.iter().filter(|c| super::DEF.is(c)).collect();
        if sockets.is_empty() || sockets.iter().any(|c| c.ret.is_none_or(|r| r >= 0)) {
            return None;
        }
    }
    let Some([before, after]) = counts.sockets_used else {
        return Some(global_claim(
            ids::SOCKETS_NONE_LEFT,
            Verdict::NotObservable,
            ids::SOCKETS_NONE_LEFT.statement,
            vec![],
            Some("/proc/net/sockstat could not be read".into()),
        ));
    };
    let mut evidence = vec![
        ev("sockets in use before the target was let go", before.to_string(), SOCKSTAT),
        ev("sockets in use after it ended", after.to_string(), SOCKSTAT),
    ];
    let tcp = counts.tcp_sockets;
    match tcp {
        Some([b, a]) => {
            evidence.push(ev("TCP socks hashed (in use) before", b.to_string(), PROTOCOLS));
            evidence.push(ev("TCP socks hashed (in use) after", a.to_string(), PROTOCOLS));
        }
        None => evidence.push(ev(
            "TCP socks hashed (in use)",
            "not read at both moments (unreadable, or no TCP row in /proc/net/protocols)",
            PROTOCOLS,
        )),
    }
    let tcp_same = tcp.is_none_or(|[b, a]| b == a);
    Some(if before == after && tcp_same {
        global_claim(
            ids::SOCKETS_NONE_LEFT,
            Verdict::Proved,
            format!(
                "sockets in use: {before} before, {after} after{} — the failed call left no socket behind",
                tcp.map(|[b, a]| format!("; TCP: {b} before, {a} after")).unwrap_or_default()
            ),
            evidence,
            None,
        )
    } else {
        // The counts are the whole network namespace's: another process opening or closing a socket meanwhile
        // moves them too, so a difference alone does not single out this call (the function-level release claims
        // do).
        global_claim(
            ids::SOCKETS_NONE_LEFT,
            Verdict::NotObservable,
            ids::SOCKETS_NONE_LEFT.statement,
            evidence,
            Some(format!(
                "the namespace-wide counts moved while the target ran (sockets {before} → {after}{}): other processes open and close sockets too",
                tcp.map(|[b, a]| format!(", TCP {b} → {a}")).unwrap_or_default()
            )),
        )
    })
}

/// The machine-wide counts read right before the target was let go (`Sink::released`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Before {
    sockets_used: Option<u64>,
    tcp_sockets: Option<u64>,
}

impl Before {
    pub fn read() -> Self {
        Before { sockets_used: sockets_used(), tcp_sockets: tcp_sockets() }
    }
    /// With the counts read now (the target ended, its frees awaited: `Sink::ended`); a count unreadable at either
    /// moment is None.
    pub fn and_after(self) -> Counts {
        Counts {
            sockets_used: self.sockets_used.zip(sockets_used()).map(|(a, b)| [a, b]),
            tcp_sockets: self.tcp_sockets.zip(tcp_sockets()).map(|(a, b)| [a, b]),
        }
    }
}

/// TCP's count of socks in use, from /proc/net/protocols (the "sockets" column of the row named TCP).
pub fn tcp_sockets() -> Option<u64> {
    parse_protocols(&proc_text("/proc/net/protocols")?, "TCP")
}

/// A small /proc file's text (None when it cannot be read).
fn proc_text(path: &str) -> Option<String> {
    crate::machine::files::read_text_limited(std::path::Path::new(path), 1 << 16, path, crate::error::Kind::Io).ok()
}

fn parse_protocols(t: &str, proto: &str) -> Option<u64> {
    let mut lines = t.lines();
    let col = lines.next()?.split_whitespace().position(|h| h == "sockets")?;
    let row = lines.map(|l| l.split_whitespace().collect::<Vec<_>>()).find(|w| w.first() == Some(&proto))?;
    row.get(col)?.parse().ok()
}

/// `sockets: used N` from /proc/net/sockstat (this network namespace's count of struct sockets in use).
pub fn sockets_used() -> Option<u64> {
    parse_sockets_used(&proc_text("/proc/net/sockstat")?)
}

fn parse_sockets_used(t: &str) -> Option<u64> {
    t.lines().find_map(|l| l.strip_prefix("sockets: used ")).and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests_support::empty_call;

    fn call(syscall: &str, ret: i64) -> Call {
        Call { syscall: syscall.into(), ret: Some(ret), ..empty_call() }
    }

    fn counts(used: Option<[u64; 2]>, tcp: Option<[u64; 2]>) -> Counts {
        Counts { sockets_used: used, tcp_sockets: tcp }
    }

    #[test]
    fn only_failed_runs_are_judged_and_a_moved_count_proves_nothing() {
        let c = |u| counts(u, Some([1, 1]));
        assert!(sockets_none_left(&[call("socket", 3)], c(Some([5, 5])), false).is_none(), "not this claim's");
        assert!(sockets_none_left(&[], c(Some([5, 5])), false).is_none());
        let v = |u, t| sockets_none_left(&[call("socket", -24)], counts(u, t), false).map(|c| c.verdict);
        assert_eq!(v(Some([5, 5]), Some([1, 1])), Some(Verdict::Proved));
        assert_eq!(v(Some([5, 6]), Some([1, 1])), Some(Verdict::NotObservable));
        assert_eq!(v(Some([5, 5]), Some([1, 2])), Some(Verdict::NotObservable), "TCP's count moved");
        assert_eq!(v(Some([5, 5]), None), Some(Verdict::Proved), "no TCP row: sockstat alone");
        assert_eq!(v(None, None), Some(Verdict::NotObservable));
    }

    #[test]
    fn a_connection_s_failure_target_is_judged_over_the_whole_target() {
        let calls = [call("socket", 3), call("bind", -98), call("close", 0)];
        let v = |calls: &[Call], u| sockets_none_left(calls, counts(u, Some([2, 2])), true).map(|c| c.verdict);
        assert_eq!(v(&calls, Some([7, 7])), Some(Verdict::Proved));
        assert_eq!(v(&calls, Some([7, 8])), Some(Verdict::NotObservable));
        assert_eq!(v(&calls[..1], Some([7, 7])), None, "no failed call");
    }
}

#[cfg(test)]
mod sockstat_tests {
    #[test]
    fn sockets_used_is_read_from_sockstat() {
        let t = "sockets: used 8\nTCP: inuse 1 orphan 0 tw 0 alloc 2 mem 1\nUDP: inuse 0 mem 0\n";
        assert_eq!(super::parse_sockets_used(t), Some(8));
        assert_eq!(super::parse_sockets_used("TCP: inuse 1\n"), None);
        let p = "protocol  size sockets  memory press maxhdr  slab module     cl co\nTCPv6     2432      3       1   no     320   yes  kernel      y  y\nTCP       2272      5       1   no     320   yes  kernel      y  y\n";
        assert_eq!(super::parse_protocols(p, "TCP"), Some(5), "the TCP row, not TCPv6");
        assert_eq!(super::parse_protocols("protocol size\nTCP 1\n", "TCP"), None, "no sockets column");
    }
}
