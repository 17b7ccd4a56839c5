//! shutdown(fd, how): one or both directions of a connection closed without closing the fd (a half-close). At the
//! boundary: arguments (`how` named SHUT_RD/SHUT_WR/SHUT_RDWR), return value and the walk of the fd at entry and
//! exit; with SHUT_WR or SHUT_RDWR on an established TCP sock, the FIN it sends, seen as the sock's state change
//! inside the call.
use super::conn::{self, Life};
use super::{Def, Judging, Syscall};
use crate::claims::{ev, ids, judged, Claim};
use crate::model::{plain_arg, Call, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub struct Shutdown;

impl Syscall for Shutdown {
    fn def(&self) -> &'static Def {
        &DEF
    }
    fn judge(&self, c: &Call, j: &mut Judging) -> Vec<Claim> {
        judge(c, j.life)
    }
    fn record(&self, c: &Call, life: &mut Life) {
        life.record_use(c, None);
    }
}

pub const DEF: Def = Def {
    name: "shutdown",
    fallback_nr: 48,
    args: &["fd", "how"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
    chain: &[],
};

/// SHUT_RD, SHUT_WR, SHUT_RDWR (include/linux/net.h; the values every libc uses).
const SHUT: [&str; 3] = ["SHUT_RD", "SHUT_WR", "SHUT_RDWR"];

fn name_arg(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    match idx {
        1 => {
            let v = raw as i64 as i32 as i64;
            let mut val = Value::plain(v);
            val.name = usize::try_from(v).ok().and_then(|i| SHUT.get(i)).map(|s| s.to_string());
            val
        }
        _ => plain_arg(idx, raw, all, n),
    }
}

/// shutdown()'s claims: the fd's socket, and `shutdown.fin` for SHUT_WR/SHUT_RDWR on an ESTABLISHED or
/// CLOSE_WAIT TCP sock (any other state at entry sends no FIN, or another FIN already went: no claim).
pub fn judge(c: &Call, life: &Life) -> Vec<Claim> {
    let mut out = Vec::new();
    let (Some(0), Some(b), Some(a)) = (c.ret, c.before.sock.as_ref(), c.after.sock.as_ref()) else { return out };
    if b.inet.as_ref().and_then(|i| i.tcp.as_ref()).is_none() {
        return out;
    }
    out.push(conn::same_socket(c, life, &c.before, "at entry"));
    let how = c.args.get(1).map(|a| a.value.raw).unwrap_or(-1);
    let from = b.state.name.as_deref().unwrap_or("");
    let to = match from {
        "TCP_ESTABLISHED" => "TCP_FIN_WAIT1",
        "TCP_CLOSE_WAIT" => "TCP_LAST_ACK",
        _ => return out,
    };
    if how != 1 && how != 2 {
        return out;
    }
    let (changes, mut evidence) = conn::states_of(life, c, a.addr);
    evidence.insert(0, ev(format!("sk {} at entry", b.addr), b.state.show(), "tp_btf/sys_enter walk"));
    evidence.push(ev(format!("sk {} after", a.addr), a.state.show(), "tp_btf/sys_exit walk"));
    // The peer's FIN may come while the call runs (ESTABLISHED → CLOSE_WAIT, then this FIN: → LAST_ACK), and the
    // ACK of this FIN may too (FIN_WAIT1 → FIN_WAIT2): the FIN is sent when either FIN state is entered.
    let sent = changes.iter().any(|s| s == "TCP_FIN_WAIT1" || s == "TCP_LAST_ACK");
    out.push(judged(
        ids::SHUTDOWN_FIN,
        Some(c.seq),
        if life.states_missing.is_some() { None } else { Some(sent) },
        format!(
            "{} with {from} at entry (expected → {to}); state changes inside the call: [{}]; {} after",
            SHUT.get(how as usize).copied().unwrap_or("?"),
            changes.join(", "),
            a.state.show()
        ),
        evidence,
        life.states_missing.as_deref().unwrap_or(""),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Verdict;
    use crate::model::{KAddr, StateChange};

    fn call(how: i64, at_entry: &str) -> Call {
        let mut c = crate::fixtures::bind_call(4242);
        c.syscall = "shutdown".into();
        c.ret = Some(0);
        c.args.truncate(1);
        c.args.push(crate::model::Arg { name: "how".into(), value: Value::plain(how) });
        if let Some(s) = c.before.sock.as_mut() {
            s.state = crate::fixtures::named(1, at_entry, "BTF enum");
        }
        c.enter_ns = Some(100);
        c.exit_ns = Some(200);
        c
    }

    fn life(changes: &[(&str, &str, u64)], sk: KAddr) -> Life {
        let mut l = Life::new(crate::fixtures::sysctls());
        let st = |n: &str| crate::fixtures::named(4, n, "BTF enum");
        for (old, new, ts) in changes {
            l.state(StateChange {
                ts_ns: *ts,
                pid: 1,
                tid: 1,
                comm: "t".into(),
                sock: sk,
                old: st(old),
                new: st(new),
                local: "127.0.0.1:4242".into(),
                peer: "127.0.0.1:40000".into(),
            });
        }
        l
    }

    fn fin(c: &Call, l: &Life) -> Option<Verdict> {
        judge(c, l).iter().find(|k| k.id == ids::SHUTDOWN_FIN.id).map(|k| k.verdict)
    }

    #[test]
    fn a_half_close_is_proved_by_its_fin_state_and_refuted_without_it() {
        let c = call(1, "TCP_ESTABLISHED");
        let sk = c.after.sock.as_ref().map(|s| s.addr).expect("sock");
        let sent = life(&[("TCP_ESTABLISHED", "TCP_FIN_WAIT1", 150), ("TCP_FIN_WAIT1", "TCP_FIN_WAIT2", 160)], sk);
        assert_eq!(fin(&c, &sent), Some(Verdict::Proved));
        // The peer's FIN first, then this one: CLOSE_WAIT → LAST_ACK inside the call.
        let crossed = life(&[("TCP_ESTABLISHED", "TCP_CLOSE_WAIT", 120), ("TCP_CLOSE_WAIT", "TCP_LAST_ACK", 150)], sk);
        assert_eq!(fin(&c, &crossed), Some(Verdict::Proved));
        assert_eq!(fin(&c, &life(&[], sk)), Some(Verdict::Refuted), "no FIN state inside the call");
        // SHUT_RD sends nothing; a sock already past ESTABLISHED sent its FIN before: no claim.
        assert_eq!(fin(&call(0, "TCP_ESTABLISHED"), &sent), None);
        assert_eq!(fin(&call(1, "TCP_FIN_WAIT2"), &sent), None);
    }
}
