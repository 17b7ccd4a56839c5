//! accept4(fd, addr, addrlen, flags) and accept(fd, addr, addrlen) (accept4 without flags): a new connection's
//! socket from a listener's queue. At the boundary: arguments, the peer's sockaddr it writes back, return value and
//! the walk of the listener's fd at entry and the new fd at exit; the chain at tiers A/B; the course's accept
//! chapter.
use super::conn::{self, Life};
use super::{claims_of, nth_ok, on_tcp, Chapter, Def, Judging, Syscall};
use crate::claims::{ev, ids, judged, Claim};
use crate::model::{plain_arg, user_ptr, Call, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

/// accept4()'s chain in the order the course expects: the fd is reserved first, then the socket made.
pub const ACCEPT_CHAIN: &[&str] = &[
    "__sys_accept4",
    "get_unused_fd_flags",
    "do_accept",
    "sock_alloc",
    "sock_alloc_file",
    "inet_accept",
    "inet_csk_accept",
    "sock_graft",
    "fd_install",
];

/// accept4() and accept() (`ACCEPT`): one implementation, registered once per descriptor; accept4()'s carries the
/// chapter.
pub struct Accept {
    pub def: &'static Def,
    pub chapter: bool,
}

impl Syscall for Accept {
    fn def(&self) -> &'static Def {
        self.def
    }
    fn judge(&self, c: &Call, j: &mut Judging) -> Vec<Claim> {
        judge(c, j.life)
    }
    fn chain_claims(&self, c: &Call) -> Option<(&'static [ids::ClaimId], super::ChainJudgeFn)> {
        let emfile = c.errno.as_ref().and_then(|e| e.name.as_deref()) == Some("EMFILE");
        let tcp = c.before.sock.as_ref().and_then(|s| s.inet.as_ref()).is_some_and(|i| i.tcp.is_some());
        if on_tcp(c) {
            Some((CHAIN_CLAIMS, judge_chain))
        } else if emfile && tcp {
            Some((FAILED_CHAIN_CLAIMS, judge_failed_chain))
        } else {
            None
        }
    }
    fn record(&self, c: &Call, life: &mut Life) {
        life.record_accept(c);
        life.record_install(c, conn::Made::Accepted);
    }
    fn returns_fd(&self) -> bool {
        true
    }
    /// One chapter for both (registered twice): accept4()'s, from the first accept4() or else the first accept().
    fn chapter(&self, r: &crate::report::Report) -> Option<Chapter> {
        if !self.chapter {
            return None;
        }
        let used = claims_of(r, nth_ok(r, &DEF, 0).or(nth_ok(r, &ACCEPT, 0)));
        Some(Chapter { order: 40, steps: lesson_steps(&used), used })
    }
}

pub const DEF: Def = Def {
    name: "accept4",
    fallback_nr: 288,
    args: &["fd", "addr", "addrlen", "flags"],
    mode: Mode::SW_MODE_WALK_ARG0_RET,
    uaddr: UaddrMode::SW_UA_EXIT,
    name_arg,
    chain: ACCEPT_CHAIN,
};

/// accept(): accept4() without its flags argument.
pub const ACCEPT: Def = Def {
    name: "accept",
    fallback_nr: 43,
    args: &["fd", "addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0_RET,
    uaddr: UaddrMode::SW_UA_EXIT,
    name_arg: accept_name_arg,
    chain: ACCEPT_CHAIN,
};

/// accept(): fd as a number, the sockaddr pointer in hex, addrlen as a number (a pointer for accept: shown in hex).
fn accept_name_arg(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    match idx {
        1 => user_ptr(raw),
        2 => user_ptr(raw),
        _ => plain_arg(idx, raw, all, n),
    }
}

/// fd as a number, the sockaddr pointer in hex, addrlen as a number (a pointer for accept: shown in hex), flags decoded.
fn name_arg(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    match idx {
        1 => user_ptr(raw),
        2 => user_ptr(raw),
        3 => Value { name: crate::model::sock_flags(raw as i64), ..Value::plain(raw as i64) },
        _ => plain_arg(idx, raw, all, n),
    }
}

/// accept4()'s (and accept()'s) claims: entry walks the listener, exit the new fd.
pub fn judge(c: &Call, life: &Life) -> Vec<Claim> {
    let mut out = vec![conn::same_socket(c, life, &c.before, "at entry")];
    let (Some(ret), Some(lsk)) = (c.ret, c.before.sock.as_ref()) else { return out };
    if c.errno.as_ref().and_then(|e| e.name.as_deref()) == Some("EMFILE") {
        out.extend(emfile(c));
        return out;
    }
    if ret < 0 {
        return out;
    }
    let (Some(so), Some(sk), Some(f)) = (c.after.socket.as_ref(), c.after.sock.as_ref(), c.after.file.as_ref()) else {
        return out;
    };
    let lso = c.before.socket.as_ref();
    let lev = conn::inet_ev("(the listener) at entry", lsk, "tp_btf/sys_enter walk");
    let cev = conn::inet_ev(&format!("(fd {ret}) after"), sk, "tp_btf/sys_exit walk");
    out.push(judged(
        ids::ACCEPT_NEW_SOCKET,
        Some(c.seq),
        Some(lso.is_some_and(|l| l.addr != so.addr) && lsk.addr != sk.addr),
        format!(
            "fd {ret}: socket {} / sk {}; the listener's: {} / {}",
            so.addr,
            sk.addr,
            lso.map(|l| l.addr.to_string()).unwrap_or_else(|| "?".into()),
            lsk.addr
        ),
        vec![
            ev(
                "the listener fd's struct socket at entry",
                lso.map(|l| l.addr.to_string()).unwrap_or_else(|| "not read".into()),
                "tp_btf/sys_enter walk",
            ),
            ev(format!("fd {ret}'s struct socket after"), so.addr.to_string(), "tp_btf/sys_exit walk"),
            lev.clone(),
            cev.clone(),
        ],
        "",
    ));
    out.push(judged(
        ids::ACCEPT_GRAFT,
        Some(c.seq),
        Some(f.private_data == so.addr && so.sk == sk.addr && sk.sk_socket == so.addr && so.file == f.addr),
        format!("file {} → private_data {} → sk {} → sk_socket {}", f.addr, f.private_data, so.sk, sk.sk_socket),
        vec![ev(
            format!("fdt->fd[{ret}] after"),
            format!(
                "file {} · private_data {} · socket->file {} · socket->sk {} · sk->sk_socket {}",
                f.addr, f.private_data, so.file, so.sk, sk.sk_socket
            ),
            "tp_btf/sys_exit walk",
        )],
        "",
    ));
    let (Some(li), Some(ci)) = (lsk.inet.as_ref(), sk.inet.as_ref()) else { return out };
    let any = li.any_local();
    out.push(judged(
        ids::ACCEPT_LOCAL,
        Some(c.seq),
        Some(ci.num == li.num && (any || ci.rcv_saddr == li.rcv_saddr)),
        format!("child local {}; listener {}", ci.local(), li.local()),
        vec![lev.clone(), cev.clone()],
        "",
    ));
    if let Some(sa) = c.sockaddr.as_ref() {
        let told = sa.told();
        out.push(judged(
            ids::ACCEPT_PEER_ADDR,
            Some(c.seq),
            sa.addr.is_some().then(|| told == ci.peer()),
            format!("told {told}; the child's peer {}", ci.peer()),
            vec![
                ev(
                    "the sockaddr written back",
                    format!("{told} · bytes {}", sa.bytes),
                    "user memory at exit (bpf_probe_read_user)",
                ),
                cev.clone(),
            ],
            "the sockaddr is not AF_INET or AF_INET6",
        ));
    }
    let other = life.other_end(sk.addr, &ci.local(), &ci.peer());
    // The other end's state when this call returned (its later changes are known by now too).
    let until = c.exit_ns.unwrap_or(u64::MAX);
    let other_state = other.and_then(|o| life.state_at(o.sock, o.since_ns, until));
    let end = other.map(|o| {
        format!(
            "sk {} · pid {}, fd {}, {} · local {} · peer {} · {}",
            o.sock,
            o.pid,
            o.fd.map(|f| f.to_string()).unwrap_or_else(|| "?".into()),
            o.role,
            o.local.as_deref().unwrap_or("?"),
            o.peer.as_deref().unwrap_or("?"),
            other_state.as_deref().unwrap_or("state unknown")
        )
    });
    // Both ends were connected: the client's end entered ESTABLISHED by the time accept4() returned (it may have
    // moved on: a client that wrote and closed before the server's accept4() is in FIN_WAIT or CLOSE by then), and
    // the child is in a state only an established connection reaches (CLOSE_WAIT when the client's FIN came first),
    // or was seen entering ESTABLISHED. Nothing seen of the client's states: not observable, never ✗.
    let child_now = sk.state.name.as_deref().unwrap_or("");
    // Only what was seen proves: a change missed (a timeline evicted, a Fast Open child still SYN_RECV) is not a
    // refutation. The child's history starts at its own life (LISTEN → SYN_RECV), not at an older sock's there.
    let child_since = life
        .states_in(sk.addr, None, Some(until))
        .iter()
        .rev()
        .find(|s| s.old.name.as_deref() == Some("TCP_LISTEN"))
        .map_or(c.enter_ns.unwrap_or(0), |s| s.ts_ns);
    let child_est = matches!(child_now, "TCP_ESTABLISHED" | "TCP_CLOSE_WAIT" | "TCP_LAST_ACK")
        || life.reached(sk.addr, child_since, until, "TCP_ESTABLISHED") == Some(true);
    // other_end matched the addresses both ways (walks, or the client's own state changes): the mirror holds.
    let ends_ok = other.and_then(|o| {
        let client_est = life.reached(o.sock, o.since_ns, until, "TCP_ESTABLISHED") == Some(true);
        (client_est && child_est).then_some(true)
    });
    let ends_why = if other.is_some() {
        format!(
            "the state changes that would show both ends connected were not seen (the client's end {}, the child \
             {child_now} at exit): tp_btf/inet_sock_set_state missed them",
            other_state.as_deref().unwrap_or("with no change seen")
        )
    } else {
        format!("the client's end ({}) is not in this run's evidence (the client is not traced)", ci.peer())
    };
    out.push(judged(
        ids::ACCEPT_ENDS,
        Some(c.seq),
        ends_ok,
        end.as_ref()
            .map(|e| format!("child sk {} {} ↔ {} is the peer of {e}", sk.addr, ci.local(), ci.peer()))
            .unwrap_or_default(),
        vec![
            cev.clone(),
            ev(
                "the other end",
                end.clone().unwrap_or_else(|| "not in this run".into()),
                "an earlier walk of the client's sock, tp_btf/inet_sock_set_state",
            ),
        ],
        &ends_why,
    ));
    if let Some(f) = life.failed_accept_before(lsk.addr, c) {
        let ends = out.iter().any(|k| k.id == ids::ACCEPT_ENDS.id && k.verdict == crate::claims::Verdict::Proved);
        // That very connection: the client's end was already connected when the failed call entered.
        let est_then =
            other.and_then(|o| life.state_at(o.sock, o.since_ns, f.enter_ns)).is_some_and(|s| s == "TCP_ESTABLISHED");
        out.push(kept_waiting(c, lsk, sk, f, end.as_deref(), ends && est_then));
    }
    let (changes, mut sev) = conn::states_of(life, c, lsk.addr);
    sev.push(lev);
    out.push(judged(
        ids::ACCEPT_LISTENER_LISTENS,
        Some(c.seq),
        Some(lsk.state.name.as_deref() == Some("TCP_LISTEN") && changes.is_empty()),
        format!(
            "{} at entry, {} state change(s) of it inside the call; sk_ack_backlog {} waiting at entry",
            lsk.state.show(),
            changes.len(),
            lsk.ack_backlog
        ),
        sev,
        "",
    ));
    out
}

/// accept.kept_waiting, at the listener's first successful accept4() entered after one failed with EMFILE while
/// connections waited (`f`); `ends`: accept.ends was proved for this call's child, and the client's end was
/// connected before the failed call entered.
fn kept_waiting(
    c: &Call,
    lsk: &crate::model::SockObj,
    sk: &crate::model::SockObj,
    f: conn::FailedAccept,
    end: Option<&str>,
    ends: bool,
) -> Claim {
    let (failed, waiting) = (f.call, f.waiting);
    let ok = if lsk.ack_backlog == 0 || lsk.ack_backlog < waiting {
        // The queue lost what the failed call left (nothing else on this listener was traced taking it).
        Some(false)
    } else if ends {
        Some(true)
    } else {
        None
    };
    judged(
        ids::ACCEPT_KEPT_WAITING,
        Some(c.seq),
        ok,
        format!(
            "call {failed} (accept4 → EMFILE) found {waiting} waiting; this call found {} at entry and took child sk {}{}",
            lsk.ack_backlog,
            sk.addr,
            end.map(|e| format!(", the other end of {e}")).unwrap_or_default()
        ),
        vec![
            ev(format!("listener sk {} sk_ack_backlog at call {failed}'s entry", lsk.addr), waiting.to_string(), "tp_btf/sys_enter walk"),
            ev(format!("listener sk {} sk_ack_backlog at this call's entry", lsk.addr), lsk.ack_backlog.to_string(), "tp_btf/sys_enter walk"),
            ev(format!("accept4() returned fd {}", c.ret.unwrap_or(-1)), format!("child sk {}", sk.addr), "tp_btf/sys_exit walk"),
            ev("the client's end", end.unwrap_or("not in this run").to_string(), "an earlier walk of the client's sock, tp_btf/inet_sock_set_state"),
        ],
        "the client's end is not in this run's evidence (the client is not traced), so whose connection this is cannot be shown",
    )
}

/// The function-level claims of an accept4() that failed with EMFILE (tiers A/B).
pub const FAILED_CHAIN_CLAIMS: &[crate::claims::ids::ClaimId] = &[ids::ACCEPT_NOTHING_ALLOCATED];

/// accept.nothing_allocated: get_unused_fd_flags failed first, and sock_alloc never ran.
pub fn judge_failed_chain(c: &Call, plan: &[crate::probes::chain::FnPlan]) -> Vec<Claim> {
    use super::chainproof::{frame, traced};
    let g = frame(c, "get_unused_fd_flags");
    let allocs: Vec<String> = c
        .chain
        .iter()
        .filter(|f| f.func == "sock_alloc")
        .map(|f| f.ret.map(|r| format!("{:#018x}", r as u64)).unwrap_or_else(|| "?".into()))
        .collect();
    let src = c.chain.first().map(|f| f.probe.clone()).unwrap_or_default();
    let errno = c.errno.as_ref().map(|e| e.show()).unwrap_or_default();
    let (ok, finding) = if !traced(plan, "get_unused_fd_flags") || !traced(plan, "sock_alloc") || c.chain.is_empty() {
        (None, String::new())
    } else {
        // get_unused_fd_flags returns an int: the register's upper half is not part of it.
        match g.and_then(|g| g.ret).map(|r| r as i32 as i64) {
            None => (None, String::new()),
            Some(r) => {
                let fd_failed = r == c.ret.unwrap_or(0) && r < 0;
                (
                    Some(fd_failed && allocs.is_empty()),
                    format!(
                        "get_unused_fd_flags returned {r}{}; sock_alloc {}",
                        if fd_failed { format!(" ({errno}), the error accept4() returned") } else { String::new() },
                        if allocs.is_empty() {
                            "never ran: nothing was allocated".to_string()
                        } else {
                            format!("returned {} in the call", allocs.join(", "))
                        }
                    ),
                )
            }
        }
    };
    vec![judged(
        ids::ACCEPT_NOTHING_ALLOCATED,
        Some(c.seq),
        ok,
        finding,
        vec![
            ev("get_unused_fd_flags returned", g.and_then(|g| g.ret).map(|r| (r as i32).to_string()).unwrap_or_else(|| "not captured".into()), src.clone()),
            ev("sock_alloc in this call", if allocs.is_empty() { "never ran".into() } else { allocs.join(", ") }, src),
            ev("accept4() returned", format!("{} {errno}", c.ret.unwrap_or(0)), "tp_btf/sys_exit"),
        ],
        "get_unused_fd_flags or sock_alloc is not traced here, or get_unused_fd_flags's return was not captured in this call",
    )]
}

/// The function-level claims (tiers A/B).
pub const CHAIN_CLAIMS: &[crate::claims::ids::ClaimId] =
    &[ids::ACCEPT_CHAIN, ids::ACCEPT_CHAIN_OBJECTS, ids::ACCEPT_FD_FIRST];

/// accept.emfile: the fd is reserved before a connection is taken, so without one nothing is taken. (The exit walk
/// of a failed accept4 reads no fd: the listener's queue after the call is seen by its next accept4's entry walk.)
fn emfile(c: &Call) -> Option<Claim> {
    let lb = c.before.sock.as_ref()?;
    let errno = c.errno.as_ref().map(|e| e.show()).unwrap_or_default();
    let (tb, ta) = (c.before.fdtable.as_ref(), c.after.fdtable.as_ref());
    let same_table = tb.zip(ta).map(|(b, a)| b.open == a.open);
    let open = |t: Option<&crate::model::FdTable>| {
        t.map(|t| format!("open {:?} · RLIMIT_NOFILE {}", t.open, t.rlimit_nofile_cur)).unwrap_or_else(|| "?".into())
    };
    Some(judged(
        ids::ACCEPT_EMFILE,
        Some(c.seq),
        // The fd is asked for before the queue is looked at: with nothing queued EMFILE is right too, but "took
        // nothing" cannot be shown then.
        same_table.filter(|_| lb.ack_backlog > 0).map(|s| s && c.after.fd.is_none()),
        format!(
            "{errno}: {} connection(s) waiting at entry; fd table {}",
            lb.ack_backlog,
            if same_table == Some(true) { "unchanged" } else { "changed" }
        ),
        vec![
            ev("accept4() returned", format!("{} {errno}", c.ret.unwrap_or(0)), "tp_btf/sys_exit"),
            ev(
                format!("listener sk {} sk_ack_backlog at entry", lb.addr),
                lb.ack_backlog.to_string(),
                "tp_btf/sys_enter walk",
            ),
            ev("fd table at entry", open(tb), "tp_btf/sys_enter walk"),
            ev("fd table after", open(ta), "tp_btf/sys_exit walk"),
        ],
        "nothing was waiting in the accept queue at entry (or the fd table was not walked at entry and exit)",
    ))
}

pub fn judge_chain(c: &Call, plan: &[crate::probes::chain::FnPlan]) -> Vec<Claim> {
    use super::chainproof::{arg, frame, order, ret, same, Group};
    let (s, k, f) = ("struct socket *", "struct sock *", "struct file *");
    let a = |x: Option<&crate::model::KAddr>| x.copied();
    let (lso, lsk) = (a(c.before.socket.as_ref().map(|s| &s.addr)), a(c.before.sock.as_ref().map(|s| &s.addr)));
    let (nso, nsk, nf) = (
        a(c.after.socket.as_ref().map(|s| &s.addr)),
        a(c.after.sock.as_ref().map(|s| &s.addr)),
        a(c.after.file.as_ref().map(|s| &s.addr)),
    );
    // inet_accept's signature on this kernel (from BTF): (sock, newsock, proto_accept_arg *) since 6.10.
    let sig = plan
        .iter()
        .find(|p| p.name == "inet_accept")
        .and_then(|p| p.params.as_ref())
        .map(|ps| ps.iter().map(|(n, t)| format!("{t} {n}")).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "not in BTF".into());
    let mut out = vec![
        order(ids::ACCEPT_CHAIN, c, ACCEPT_CHAIN, plan),
        same(
            ids::ACCEPT_CHAIN_OBJECTS,
            c,
            vec![
                Group::new("new socket")
                    .walk("the new fd's socket (walk at exit)", nso)
                    .func(plan, "sock_alloc", "sock_alloc() returned", ret(c, "sock_alloc"))
                    .func(plan, "sock_alloc_file", "sock_alloc_file(sock)", arg(c, "sock_alloc_file", s, 0))
                    .func(plan, "inet_accept", "inet_accept(newsock)", arg(c, "inet_accept", s, 1)),
                Group::new("child sock").walk("the new socket's ->sk (walk at exit)", nsk).func(
                    plan,
                    "inet_csk_accept",
                    "inet_csk_accept() returned",
                    ret(c, "inet_csk_accept"),
                ),
                Group::new("new file")
                    .walk("fdt->fd[ret] (walk at exit)", nf)
                    .func(plan, "sock_alloc_file", "sock_alloc_file() returned", ret(c, "sock_alloc_file"))
                    .func(plan, "fd_install", "fd_install(file)", arg(c, "fd_install", f, 0)),
                Group::new("listener socket").walk("the listener fd's socket (walk at entry)", lso).func(
                    plan,
                    "inet_accept",
                    "inet_accept(sock)",
                    arg(c, "inet_accept", s, 0),
                ),
                Group::new("listener sock").walk("the listener's sock (walk at entry)", lsk).func(
                    plan,
                    "inet_csk_accept",
                    "inet_csk_accept(sk)",
                    arg(c, "inet_csk_accept", k, 0),
                ),
            ],
            vec![ev("inet_accept's parameters on this kernel", sig, "BTF")],
        ),
    ];
    let (g, sa) = (frame(c, "get_unused_fd_flags"), frame(c, "sock_alloc"));
    let src = c.chain.first().map(|f| f.probe.clone()).unwrap_or_default();
    let ok = match (g, sa) {
        (Some(g), Some(sa)) => g.enter_ns.zip(sa.enter_ns).map(|(x, y)| x < y && g.ret == c.ret),
        _ => None,
    };
    out.push(crate::claims::judged(
        ids::ACCEPT_FD_FIRST,
        Some(c.seq),
        ok,
        match (g, sa) {
            (Some(g), Some(sa)) => format!(
                "get_unused_fd_flags entered at {} ns and returned {}; sock_alloc entered at {} ns — {} (socket() allocates first and reserves the fd after)",
                g.enter_ns.unwrap_or(0),
                g.ret.map(|r| r.to_string()).unwrap_or_else(|| "?".into()),
                sa.enter_ns.unwrap_or(0),
                if ok == Some(true) { "the fd first" } else { "not the fd first" }
            ),
            _ => String::new(),
        },
        vec![
            ev("get_unused_fd_flags entry, return", g.map(|g| format!("{} ns, {:?}", g.enter_ns.unwrap_or(0), g.ret)).unwrap_or_default(), src.clone()),
            ev("sock_alloc entry", sa.map(|s| format!("{} ns", s.enter_ns.unwrap_or(0))).unwrap_or_default(), src.clone()),
            ev("accept4() returned", c.ret.map(|r| r.to_string()).unwrap_or_default(), "tp_btf/sys_exit"),
        ],
        "get_unused_fd_flags or sock_alloc was not captured in this call",
    ));
    out
}

/// The lesson's accept4 chapter.
pub fn lesson_steps(cl: &[Claim]) -> Vec<crate::lesson::Step> {
    use crate::lesson::Step;
    vec![
        Step::new(
            "accept4",
            "take the connection off the accept queue: accept4(listener, SOCK_CLOEXEC)",
            "tp_btf/sys_enter walk of the listener; tp_btf/sys_exit walk of the new fd",
        )
        .introduces(&["child sock"])
        .judged_by(&[ids::ACCEPT_NEW_SOCKET, ids::ACCEPT_GRAFT], cl),
        Step::new(
            "accept4",
            "check the two socks are the two ends of one connection",
            "tp_btf/sys_exit walks of both ends; the sockaddr accept4 wrote back",
        )
        .judged_by(&[ids::ACCEPT_LOCAL, ids::ACCEPT_PEER_ADDR, ids::ACCEPT_ENDS, ids::ACCEPT_LISTENER_LISTENS], cl),
        Step::new(
            "accept4",
            "see which comes first: the fd or the socket",
            "fentry get_unused_fd_flags, fentry sock_alloc",
        )
        .judged_by(&[ids::ACCEPT_FD_FIRST], cl),
        Step::new(
            "accept4",
            "follow every object through accept4's function chain",
            "fentry/fexit (or kprobes) on the chain",
        )
        .judged_by(&[ids::ACCEPT_CHAIN, ids::ACCEPT_CHAIN_OBJECTS], cl),
    ]
}

/// `lesson --fail accept-emfile`: accept4() with a connection waiting and no fd free.
pub fn emfile_failure() -> crate::lesson::failure::Failure {
    crate::lesson::failure::Failure {
        title: "When accept4() finds no free fd",
        syscall: "accept4",
        question: "ask: what if accept4() finds no free fd while a connection waits in the accept queue?",
        wonder: "is the connection taken off the queue and lost, or does it wait for an accept4() with room?",
        site_of: "get_unused_fd_flags",
        predicts:
            "accept4() asks for the fd first; without one it returns before it takes a connection or allocates a socket",
        observations: vec![
            (
                "observe: the call failed with EMFILE and took nothing",
                "tp_btf/sys_enter + sys_exit walks of the listener and the fd table",
                &[ids::ACCEPT_EMFILE],
            ),
            (
                "observe: the fd was asked for first, and nothing was allocated",
                "fentry/fexit (or kprobes) on get_unused_fd_flags and sock_alloc",
                &[ids::ACCEPT_NOTHING_ALLOCATED],
            ),
            (
                "observe: the next accept4() takes that very connection",
                "tp_btf/sys_enter walk of the listener; tp_btf/sys_exit walk of the new fd; the client's walks",
                &[ids::ACCEPT_KEPT_WAITING],
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// accept4 → EMFILE with a connection waiting: the fd is asked for first, so nothing is taken.
    fn emfile_call(waiting: u32, table_after: &[u32]) -> Call {
        let mut c = crate::fixtures::socket_call();
        c.syscall = "accept4".into();
        c.ret = Some(-24);
        c.errno = Some(crate::fixtures::named(24, "EMFILE", "/usr/include/asm-generic/errno-base.h:28"));
        // The listener, walked at entry.
        c.before.sock = c.after.sock.clone();
        if let Some(k) = c.before.sock.as_mut() {
            k.ack_backlog = waiting;
        }
        c.before.fdtable.as_mut().expect("fixture table").open = vec![0, 1, 2, 3, 4];
        c.after.fd = None;
        c.after.fdtable.as_mut().expect("fixture table").open = table_after.to_vec();
        c
    }

    #[test]
    fn accept_emfile_is_proved_with_a_queued_connection_and_refuted_when_an_fd_appeared() {
        let v = |c: &Call| emfile(c).map(|c| c.verdict);
        assert_eq!(v(&emfile_call(1, &[0, 1, 2, 3, 4])), Some(crate::claims::Verdict::Proved));
        assert_eq!(
            v(&emfile_call(1, &[0, 1, 2, 3, 4, 5])),
            Some(crate::claims::Verdict::Refuted),
            "an fd appeared although the call failed"
        );
        assert_eq!(
            v(&emfile_call(0, &[0, 1, 2, 3, 4])),
            Some(crate::claims::Verdict::NotObservable),
            "nothing queued: EMFILE is right, but 'took nothing' cannot be shown"
        );
    }

    #[test]
    fn a_failed_accept4_that_reserved_no_fd_allocated_nothing_and_an_allocation_refutes_it() {
        use crate::claims::Verdict;
        let f = crate::fixtures::frame;
        let plan = crate::fixtures::plan_of(&["__sys_accept4", "get_unused_fd_flags", "sock_alloc"]);
        let mut c = emfile_call(1, &[0, 1, 2, 3, 4]);
        let mut g = f("get_unused_fd_flags", 1, Some(0), (2_000, 3_000), ("__sys_accept4", 0x40));
        g.ret = Some(0xffff_ffe8); // -24 as the int it is, zero-extended in the register
        c.chain = vec![f("__sys_accept4", 0, None, (1_000, 5_000), ("__x64_sys_accept4", 0x1a)), g];
        let v = |c: &Call| judge_failed_chain(c, &plan)[0].verdict;
        assert_eq!(v(&c), Verdict::Proved);
        let mut alloc = f("sock_alloc", 1, Some(0), (3_500, 4_000), ("__sys_accept4", 0x80));
        alloc.ret = Some(0xffff_8880_0000_1000u64 as i64);
        let mut bad = c.clone();
        bad.chain.push(alloc);
        assert_eq!(v(&bad), Verdict::Refuted, "a socket was allocated although the fd was refused");
        let cl = judge_failed_chain(&bad, &plan);
        assert!(cl[0].finding.as_deref().unwrap_or("").contains("0xffff888000001000"), "{:?}", cl[0].finding);
        let mut ok_fd = c.clone();
        ok_fd.chain[1].ret = Some(5);
        assert_eq!(v(&ok_fd), Verdict::Refuted, "the fd was not what failed");
        let mut lost = c.clone();
        lost.chain[1].ret = None;
        assert_eq!(v(&lost), Verdict::NotObservable);
        let untraced = crate::fixtures::plan_of(&["__sys_accept4", "get_unused_fd_flags"]);
        assert_eq!(judge_failed_chain(&c, &untraced)[0].verdict, Verdict::NotObservable);
    }

    #[test]
    fn the_connection_left_waiting_must_still_be_queued_for_the_next_accept4() {
        use crate::claims::Verdict;
        let c = crate::fixtures::socket_call();
        let (mut lsk, sk) = (c.after.sock.clone().expect("sock"), c.after.sock.clone().expect("sock"));
        lsk.ack_backlog = 1;
        let f = conn::FailedAccept { call: 7, waiting: 1, enter_ns: 10, exit_ns: 20 };
        let v =
            |l: &crate::model::SockObj, ends: bool| kept_waiting(&c, l, &sk, f, Some("sk 0x1 · pid 1"), ends).verdict;
        assert_eq!(v(&lsk, true), Verdict::Proved);
        assert_eq!(v(&lsk, false), Verdict::NotObservable, "whose connection it is is not shown");
        lsk.ack_backlog = 0;
        assert_eq!(v(&lsk, true), Verdict::Refuted, "the queue lost it");
    }
}
