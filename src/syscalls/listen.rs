//! listen(fd, backlog): a socket that accepts connections. At the boundary: arguments (the backlog against
//! somaxconn), return value and the walk of the fd at entry and exit (TCP_CLOSE → TCP_LISTEN, the backlog the sock
//! keeps); the chain at tiers A/B; the course's listen chapter.
use super::conn::{self, Life};
use super::{claims_of, nth_ok, on_tcp, Chapter, Def, Judging, Syscall};
use crate::claims::{ev, ids, judged, Claim};
use crate::model::{plain_arg, Call};
use crate::probes::boundary::{Mode, UaddrMode};

pub struct Listen;

impl Syscall for Listen {
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
        life.record_use(c, Some("listener"));
    }
    fn chapter(&self, r: &crate::report::Report) -> Option<Chapter> {
        let used = claims_of(r, nth_ok(r, &DEF, 0));
        Some(Chapter { order: 20, steps: lesson_steps(&used), used })
    }
}

pub const DEF: Def = Def {
    name: "listen",
    fallback_nr: 50,
    args: &["fd", "backlog"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg: plain_arg,
    chain: &["__sys_listen", "inet_listen", "__inet_listen_sk", "inet_csk_listen_start"],
};

/// listen()'s claims.
pub fn judge(c: &Call, life: &Life) -> Vec<Claim> {
    let mut out = vec![conn::same_socket(c, life, &c.before, "at entry")];
    let (Some(0), Some(sk)) = (c.ret, c.after.sock.as_ref()) else { return out };
    let after_ev = conn::inet_ev("after", sk, "tp_btf/sys_exit walk");
    let (changes, mut sev) = conn::states_of(life, c, sk.addr);
    sev.push(after_ev.clone());
    let listening = sk.state.name.as_deref() == Some("TCP_LISTEN");
    // listen() again on a listener only changes its backlog: no state change is expected then.
    let again = c.before.sock.as_ref().is_some_and(|b| b.state.name.as_deref() == Some("TCP_LISTEN"));
    let from_close = life
        .states_in(sk.addr, c.enter_ns, c.exit_ns)
        .first()
        .is_some_and(|s| s.old.name.as_deref() == Some("TCP_CLOSE"));
    // Only inet socks report state changes to sock:inet_sock_set_state; another family's listen (unix_listen)
    // sets sk_state itself. The claim's tracepoint half cannot be checked then (not observable, the walks shown);
    // its walk half can: a sock not TCP_LISTEN after the call refutes it.
    let inet = matches!(sk.family.raw as i32, libc::AF_INET | libc::AF_INET6);
    if !inet {
        let before = c.before.sock.as_ref().filter(|b| b.addr == sk.addr);
        let was = before.map(|b| b.state.show()).unwrap_or_else(|| "not walked".into());
        let mut evidence = vec![after_ev];
        if let Some(b) = before {
            evidence.insert(0, ev(format!("sk {} at entry", b.addr), b.state.show(), "tp_btf/sys_enter walk"));
        }
        out.push(judged(
            ids::LISTEN_STATE,
            Some(c.seq),
            // sk_state holds TCP_* values for unix socks too; another family's states are its own (BT_LISTEN).
            (!listening && sk.family.raw as i32 == libc::AF_UNIX).then_some(false),
            format!("{was} at entry, {} after", sk.state.show()),
            evidence,
            &format!(
                "this {} sock reports no state changes: only inet socks have the sock:inet_sock_set_state tracepoint (the walks: {was} at entry, {} after)",
                sk.family.show(),
                sk.state.show()
            ),
        ));
    } else {
        out.push(judged(
            ids::LISTEN_STATE,
            Some(c.seq),
            if life.states_missing.is_some() {
                (!listening).then_some(false)
            } else if again {
                Some(listening && changes.is_empty())
            } else {
                Some(listening && from_close && changes == ["TCP_LISTEN"])
            },
            format!("state changes inside the call: [{}]; {} after", changes.join(", "), sk.state.show()),
            sev,
            life.states_missing.as_deref().unwrap_or(""),
        ));
    }
    let backlog = c.args.get(1).map(|a| a.value.raw as i32).unwrap_or(0);
    // __sys_listen: if ((unsigned int)backlog > somaxconn) backlog = somaxconn.
    let want = life.sys.somaxconn.map(|m| (backlog as u32).min(m));
    out.push(judged(
        ids::LISTEN_BACKLOG,
        Some(c.seq),
        want.map(|w| w == sk.max_ack_backlog),
        format!(
            "min({backlog}, {}) = {}; sk_max_ack_backlog {}",
            life.sys.somaxconn_text,
            want.map(|w| w.to_string()).unwrap_or_else(|| "?".into()),
            sk.max_ack_backlog
        ),
        vec![
            ev("backlog argument", format!("rsi = {backlog}"), "tp_btf/sys_enter"),
            ev("net.core.somaxconn", life.sys.somaxconn_text.clone(), conn::SOMAXCONN_FILE),
            ev(
                format!("sk {} sk_max_ack_backlog after", sk.addr),
                sk.max_ack_backlog.to_string(),
                "tp_btf/sys_exit walk",
            ),
        ],
        &format!("{} could not be read", conn::SOMAXCONN_FILE),
    ));
    out.push(judged(
        ids::LISTEN_QUEUE_EMPTY,
        Some(c.seq),
        // Only a new listener starts empty (a client may even connect before the exit walk: then it is not).
        (!again).then_some(sk.ack_backlog == 0),
        format!("sk_ack_backlog {}", sk.ack_backlog),
        vec![ev(format!("sk {} sk_ack_backlog after", sk.addr), sk.ack_backlog.to_string(), "tp_btf/sys_exit walk")],
        "the socket was already listening: connections may be waiting",
    ));
    out
}

/// The function-level claims (tiers A/B).
pub const CHAIN_CLAIMS: &[crate::claims::ids::ClaimId] = &[ids::LISTEN_CHAIN, ids::LISTEN_CHAIN_OBJECTS];

pub fn judge_chain(c: &Call, plan: &[crate::probes::chain::FnPlan]) -> Vec<Claim> {
    use super::chainproof::{arg, arg_named, order, same, Group};
    let (so, sk) = (c.before.socket.as_ref().map(|s| s.addr), c.before.sock.as_ref().map(|s| s.addr));
    let backlog = c.args.get(1).map(|a| a.value.raw as u64 & 0xffff_ffff);
    vec![
        order(ids::LISTEN_CHAIN, c, DEF.chain, plan),
        same(
            ids::LISTEN_CHAIN_OBJECTS,
            c,
            vec![
                Group::new("socket").walk("the fd's socket (walk at entry)", so).func(
                    plan,
                    "inet_listen",
                    "inet_listen(sock)",
                    arg(c, "inet_listen", "struct socket *", 0),
                ),
                Group::number("backlog").walk("listen()'s backlog (rsi)", backlog.map(crate::model::KAddr)).func(
                    plan,
                    "inet_listen",
                    "inet_listen(backlog)",
                    arg_named(c, "inet_listen", "backlog").map(|v| v & 0xffff_ffff),
                ),
                Group::new("sock")
                    .walk("the fd's sock (walk at entry)", sk)
                    .func(
                        plan,
                        "__inet_listen_sk",
                        "__inet_listen_sk(sk)",
                        arg(c, "__inet_listen_sk", "struct sock *", 0),
                    )
                    .func(
                        plan,
                        "inet_csk_listen_start",
                        "inet_csk_listen_start(sk)",
                        arg(c, "inet_csk_listen_start", "struct sock *", 0),
                    ),
            ],
            vec![],
        ),
    ]
}

/// The lesson's listen chapter.
pub fn lesson_steps(cl: &[Claim]) -> Vec<crate::lesson::Step> {
    use crate::lesson::Step;
    vec![
        Step::new(
            "listen",
            "make the socket a listener: listen(fd, 8)",
            "tp_btf/inet_sock_set_state; tp_btf/sys_exit walk",
        )
        .introduces(&["state tracepoint", "listener"])
        .judged_by(&[ids::LISTEN_STATE], cl),
        Step::new(
            "listen",
            "read how many connections may wait, and how many do",
            "tp_btf/sys_exit walk: sk_max_ack_backlog, sk_ack_backlog; /proc/sys/net/core/somaxconn",
        )
        .introduces(&["backlog", "accept queue"])
        .judged_by(&[ids::LISTEN_BACKLOG, ids::LISTEN_QUEUE_EMPTY], cl),
        Step::new(
            "listen",
            "follow the sock through listen's function chain",
            "fentry/fexit (or kprobes) on the chain",
        )
        .judged_by(&[ids::LISTEN_CHAIN, ids::LISTEN_CHAIN_OBJECTS], cl),
    ]
}
