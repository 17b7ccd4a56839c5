//! connect(fd, addr, addrlen): a client's connection. At the boundary: arguments, the sockaddr the program passed
//! (the server's address, read at entry), return value and the walk of the fd at entry and exit (the sock's state
//! and both ends' addresses); its claims against the tracker (the listener it reached); the chain at tiers A/B; the
//! course's connect chapter.
use super::conn::{self, Life};
use super::{claims_of, nth_ok, on_tcp, Chapter, Def, Judging, Syscall};
use crate::claims::{ev, ids, judged, Claim};
use crate::model::{plain_arg, user_ptr, Call, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub struct Connect;

impl Syscall for Connect {
    fn def(&self) -> &'static Def {
        &DEF
    }
    fn judge(&self, c: &Call, j: &mut Judging) -> Vec<Claim> {
        judge(c, j.life)
    }
    fn chain_claims(&self, c: &Call) -> Option<(&'static [ids::ClaimId], super::ChainJudgeFn)> {
        on_tcp(c).then_some((CHAIN_CLAIMS, judge_chain))
    }
    fn record(&self, c: &Call, life: &mut Life) {
        life.record_use(c, Some("client"));
    }
    fn chapter(&self, r: &crate::report::Report) -> Option<Chapter> {
        let used = claims_of(r, nth_ok(r, &DEF, 0));
        Some(Chapter { order: 30, steps: lesson_steps(&used), used })
    }
}

pub const DEF: Def = Def {
    name: "connect",
    fallback_nr: 42,
    args: &["fd", "addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_ENTRY,
    name_arg,
    chain: &["__sys_connect", "inet_stream_connect", "__inet_stream_connect", "tcp_v4_connect"],
};

/// fd as a number, the sockaddr pointer in hex, addrlen as a number (a pointer for accept: shown in hex).
fn name_arg(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    match idx {
        1 => user_ptr(raw),
        _ => plain_arg(idx, raw, all, n),
    }
}

/// connect()'s claims.
pub fn judge(c: &Call, life: &Life) -> Vec<Claim> {
    let mut out = vec![conn::same_socket(c, life, &c.before, "at entry")];
    if c.errno.as_ref().and_then(|e| e.name.as_deref()) == Some("ECONNREFUSED") {
        out.extend(refused(c, life));
        return out;
    }
    let (Some(0), Some(sk), Some(req)) = (c.ret, c.after.sock.as_ref(), c.sockaddr.as_ref()) else { return out };
    // A TCP stream only (a UDP connect() just sets the peer: no handshake, no state change, socket->state stays).
    let Some(i) = sk.inet.as_ref().filter(|i| i.tcp.is_some()) else { return out };
    // The first connect() of the socket only: after EINPROGRESS a second call finds the handshake done.
    let fresh = c.before.socket.as_ref().is_some_and(|s| s.state.name.as_deref() == Some("SS_UNCONNECTED"));
    if !fresh {
        return out;
    }
    // A port bound before connect() was chosen by the program, not from the ephemeral range.
    let prebound = c.before.sock.as_ref().and_then(|s| s.inet.as_ref()).is_some_and(|b| b.num != 0);
    let want = req.told();
    let req_ev = ev(
        "the sockaddr connect() was given",
        format!("{want} · bytes {}", req.bytes),
        "user memory at entry (bpf_probe_read_user)",
    );
    let after_ev = conn::inet_ev("after", sk, "tp_btf/sys_exit walk");
    let (inr, rev) = conn::in_range(&life.sys, i.num);
    out.push(judged(
        ids::CONNECT_PEER,
        Some(c.seq),
        req.addr
            .as_ref()
            .and(if prebound { Some(true) } else { inr })
            .map(|r| r && i.peer() == want && i.sport == i.num),
        format!(
            "peer {} (asked {want}); local {} — the kernel chose port {} from {}",
            i.peer(),
            i.local(),
            i.num,
            life.sys.port_range_text
        ),
        vec![req_ev.clone(), after_ev.clone(), rev],
        "the sockaddr is not AF_INET or AF_INET6, or the port range could not be read",
    ));
    let (changes, mut sev) = conn::states_of(life, c, sk.addr);
    let from_close = life
        .states_in(sk.addr, c.enter_ns, c.exit_ns)
        .first()
        .is_some_and(|s| s.old.name.as_deref() == Some("TCP_CLOSE"));
    sev.push(after_ev.clone());
    out.push(judged(
        ids::CONNECT_STATES,
        Some(c.seq),
        life.states_missing.is_none().then(|| from_close && changes == ["TCP_SYN_SENT", "TCP_ESTABLISHED"]),
        format!("TCP_CLOSE → {}", changes.join(" → ")),
        sev,
        life.states_missing.as_deref().unwrap_or(""),
    ));
    let (b, a) = (c.before.socket.as_ref(), c.after.socket.as_ref());
    out.push(judged(
        ids::CONNECT_SOCKET_STATE,
        Some(c.seq),
        b.zip(a).map(|(b, a)| {
            b.state.name.as_deref() == Some("SS_UNCONNECTED") && a.state.name.as_deref() == Some("SS_CONNECTED")
        }),
        format!(
            "{} → {}",
            b.map(|s| s.state.show()).unwrap_or_else(|| "?".into()),
            a.map(|s| s.state.show()).unwrap_or_else(|| "?".into())
        ),
        vec![
            ev(
                "socket->state at entry",
                b.map(|s| format!("{} · socket {}", s.state.show(), s.addr)).unwrap_or_default(),
                "tp_btf/sys_enter walk",
            ),
            ev(
                "socket->state after",
                a.map(|s| format!("{} · socket {}", s.state.show(), s.addr)).unwrap_or_default(),
                "tp_btf/sys_exit walk",
            ),
        ],
        "the socket was not walked at entry and exit",
    ));
    let l = life.listener_at(&want);
    out.push(judged(
        ids::CONNECT_LISTENER,
        Some(c.seq),
        l.map(|_| true),
        l.map(|l| {
            format!(
                "{want} is sk {} (pid {}, fd {})",
                l.sock,
                l.pid,
                l.fd.map(|f| f.to_string()).unwrap_or_else(|| "?".into())
            )
        })
        .unwrap_or_default(),
        {
            let mut e = vec![req_ev];
            if let Some(l) = l {
                e.push(ev(
                    "the listener at that address",
                    format!(
                        "sk {} · pid {}, fd {} · local {}",
                        l.sock,
                        l.pid,
                        l.fd.map(|f| f.to_string()).unwrap_or_else(|| "?".into()),
                        l.local.as_deref().unwrap_or("?")
                    ),
                    "the walk of its listen() call",
                ));
            }
            e
        },
        &format!("no listening sock at {want} is in this run's evidence (the server is not traced)"),
    ));
    out
}

/// The function-level claims (tiers A/B).
pub const CHAIN_CLAIMS: &[crate::claims::ids::ClaimId] = &[ids::CONNECT_CHAIN, ids::CONNECT_CHAIN_OBJECTS];

/// connect.refused: the failed handshake, from the state tracepoint and the walks at entry and exit.
fn refused(c: &Call, life: &Life) -> Option<Claim> {
    let sk = c.after.sock.as_ref()?;
    // A TCP stream over IPv4 only (the walk reads inet fields for AF_INET): a unix connect() refused has no state
    // changes to show, and is not this claim's.
    sk.inet.as_ref().filter(|i| i.tcp.is_some())?;
    // The first connect() of the socket only: a non-blocking socket's later call reports a refusal that came before.
    if c.before.socket.as_ref().is_none_or(|s| s.state.name.as_deref() != Some("SS_UNCONNECTED")) {
        return None;
    }
    let errno = c.errno.as_ref().map(|e| e.show()).unwrap_or_default();
    let (changes, mut evidence) = conn::states_of(life, c, sk.addr);
    let from_close = life
        .states_in(sk.addr, c.enter_ns, c.exit_ns)
        .first()
        .is_some_and(|s| s.old.name.as_deref() == Some("TCP_CLOSE"));
    let so = c.after.socket.as_ref();
    let closed = sk.state.name.as_deref() == Some("TCP_CLOSE");
    let unconnected = so.is_some_and(|s| s.state.name.as_deref() == Some("SS_UNCONNECTED"));
    evidence.insert(0, ev("connect() returned", format!("{} {errno}", c.ret.unwrap_or(0)), "tp_btf/sys_exit"));
    if let Some(req) = &c.sockaddr {
        evidence.push(ev("the sockaddr connect() was given", req.told(), "user memory at entry (bpf_probe_read_user)"));
    }
    evidence.push(conn::inet_ev("after", sk, "tp_btf/sys_exit walk"));
    evidence.push(ev(
        "socket->state after",
        so.map(|s| format!("{} · socket {}", s.state.show(), s.addr)).unwrap_or_else(|| "not walked".into()),
        "tp_btf/sys_exit walk",
    ));
    // No change inside the call at all: the refusal came outside it (not observable here), not a wrong path.
    let states_ok = (life.states_missing.is_none() && !changes.is_empty())
        .then(|| from_close && changes == ["TCP_SYN_SENT", "TCP_CLOSE"]);
    let first = life
        .states_in(sk.addr, c.enter_ns, c.exit_ns)
        .first()
        .map(|s| s.old.name.clone().unwrap_or_else(|| s.old.show()));
    Some(judged(
        ids::CONNECT_REFUSED,
        Some(c.seq),
        states_ok.map(|ok| ok && closed && unconnected),
        format!(
            "{errno}: {} → {}; after: {}, {}",
            first.unwrap_or_else(|| "(no state change inside the call)".into()),
            changes.join(" → "),
            sk.state.show(),
            so.map(|s| s.state.show()).unwrap_or_else(|| "socket not walked".into())
        ),
        evidence,
        life.states_missing.as_deref().unwrap_or("the state tracepoint saw no change of this sock inside the call"),
    ))
}

pub fn judge_chain(c: &Call, plan: &[crate::probes::chain::FnPlan]) -> Vec<Claim> {
    use super::chainproof::{arg, order, same, Group};
    let (so, sk) = (c.before.socket.as_ref().map(|s| s.addr), c.before.sock.as_ref().map(|s| s.addr));
    let s = "struct socket *";
    vec![
        order(ids::CONNECT_CHAIN, c, DEF.chain, plan),
        same(
            ids::CONNECT_CHAIN_OBJECTS,
            c,
            vec![
                Group::new("socket")
                    .walk("the fd's socket (walk at entry)", so)
                    .func(plan, "inet_stream_connect", "inet_stream_connect(sock)", arg(c, "inet_stream_connect", s, 0))
                    .func(
                        plan,
                        "__inet_stream_connect",
                        "__inet_stream_connect(sock)",
                        arg(c, "__inet_stream_connect", s, 0),
                    ),
                Group::new("sock").walk("the fd's sock (walk at entry)", sk).func(
                    plan,
                    "tcp_v4_connect",
                    "tcp_v4_connect(sk)",
                    arg(c, "tcp_v4_connect", "struct sock *", 0),
                ),
            ],
            vec![],
        ),
    ]
}

/// The lesson's connect chapter.
pub fn lesson_steps(cl: &[Claim]) -> Vec<crate::lesson::Step> {
    use crate::lesson::Step;
    vec![
        Step::new(
            "connect",
            "connect a second socket to the listener's address",
            "tp_btf/sys_enter: the sockaddr; tp_btf/sys_exit walk",
        )
        .judged_by(&[ids::CONNECT_PEER, ids::CONNECT_LISTENER], cl),
        Step::new(
            "connect",
            "watch the states the connection goes through",
            "tp_btf/inet_sock_set_state; socket->state at entry and exit",
        )
        .introduces(&["handshake"])
        .judged_by(&[ids::CONNECT_STATES, ids::CONNECT_SOCKET_STATE], cl),
        Step::new(
            "connect",
            "follow the socket and sock through connect's function chain",
            "fentry/fexit (or kprobes) on the chain",
        )
        .judged_by(&[ids::CONNECT_CHAIN, ids::CONNECT_CHAIN_OBJECTS], cl),
    ]
}

/// `lesson --fail connrefused`: connect() to a loopback port nobody listens on.
pub fn refused_failure() -> crate::lesson::failure::Failure {
    crate::lesson::failure::Failure {
        title: "When connect() is refused",
        syscall: "connect",
        question: "ask: what if connect() names a port no sock listens on?",
        wonder: "where does the sock go: does it stay half-open, or go back to where it started?",
        site_of: "tcp_v4_connect",
        predicts: "__inet_stream_connect sends the SYN through the protocol's connect, then waits; the peer's reset ends the wait with ECONNREFUSED",
        observations: vec![
            (
                "observe: the call failed with ECONNREFUSED, and the sock went back to TCP_CLOSE",
                "tp_btf/inet_sock_set_state inside the call; tp_btf/sys_exit walk",
                &[ids::CONNECT_REFUSED],
            ),
            (
                "observe: every sock's states form one chain that ends in TCP_CLOSE",
                "tp_btf/inet_sock_set_state",
                &[ids::TCP_STATES],
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Verdict;
    use crate::model::{KAddr, StateChange};

    /// A connect() to a port nobody listens on: ECONNREFUSED, inside the call CLOSE → SYN_SENT → CLOSE.
    fn refused_call() -> Call {
        let mut c = crate::fixtures::bind_call(0);
        c.seq = 3;
        c.syscall = "connect".into();
        c.ret = Some(-111);
        c.errno = Some(crate::fixtures::named(111, "ECONNREFUSED", "/usr/include/asm-generic/errno.h:111"));
        c.enter_ns = Some(100_000);
        c.exit_ns = Some(200_000);
        c
    }

    fn life_with(changes: &[(&str, &str, u64)]) -> Life {
        let mut l = Life::new(crate::fixtures::sysctls());
        l.record(&crate::fixtures::socket_call());
        let sk = refused_call().after.sock.as_ref().map(|k| k.addr).unwrap_or(KAddr(0));
        let st = |n: &str| crate::fixtures::named(if n == "TCP_CLOSE" { 7 } else { 2 }, n, "BTF enum");
        for (old, new, ts) in changes {
            l.state(StateChange {
                ts_ns: *ts,
                pid: 1,
                tid: 1,
                comm: "t".into(),
                sock: sk,
                old: st(old),
                new: st(new),
                local: "127.0.0.1:0".into(),
                peer: "127.0.0.1:40000".into(),
            });
        }
        l
    }

    fn verdict(c: &Call, l: &Life) -> Verdict {
        judge(c, l).iter().find(|k| k.id == ids::CONNECT_REFUSED.id).map(|k| k.verdict).expect("connect.refused")
    }

    #[test]
    fn a_refused_connect_is_proved_from_its_states_and_refuted_when_the_sock_is_left_open() {
        let handshake = [("TCP_CLOSE", "TCP_SYN_SENT", 120_000), ("TCP_SYN_SENT", "TCP_CLOSE", 150_000)];
        assert_eq!(verdict(&refused_call(), &life_with(&handshake)), Verdict::Proved);
        // The kernel left the sock in SYN_SENT although connect() said refused.
        let mut open = refused_call();
        if let Some(k) = open.after.sock.as_mut() {
            k.state = crate::fixtures::named(2, "TCP_SYN_SENT", "BTF enum");
        }
        assert_eq!(verdict(&open, &life_with(&handshake)), Verdict::Refuted);
        // Another path: the handshake completed and was then closed.
        let other = [
            ("TCP_CLOSE", "TCP_SYN_SENT", 120_000),
            ("TCP_SYN_SENT", "TCP_ESTABLISHED", 130_000),
            ("TCP_ESTABLISHED", "TCP_CLOSE", 150_000),
        ];
        assert_eq!(verdict(&refused_call(), &life_with(&other)), Verdict::Refuted);
        // No change seen inside the call: not observable, never ✓.
        assert_eq!(verdict(&refused_call(), &life_with(&[])), Verdict::NotObservable);
    }
}
