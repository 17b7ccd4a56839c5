//! bind(fd, addr, addrlen): a local address for a socket. At the boundary: arguments, the sockaddr the program
//! passed (read at entry), return value and the walk of the fd at entry and exit (the sock's local address and its
//! bind bucket); its claims against the sock, the port range and the tracker; the chain at tiers A/B; the course's
//! bind chapter (with getsockname()).
use super::conn::{self, Life};
use super::{claims_of, nth_ok, on_tcp, Chapter, Def, Judging, Syscall};
use crate::claims::{ev, ids, judged, Claim};
use crate::model::{plain_arg, user_ptr, Call, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub struct Bind;

impl Syscall for Bind {
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
        life.record_use(c, None);
    }
    /// The course's bind chapter (with the getsockname() that reads the port back); the course starts here.
    fn chapter(&self, r: &crate::report::Report) -> Option<Chapter> {
        let bind = nth_ok(r, &DEF, 0)?;
        let gsn = nth_ok(r, &super::getsockname::DEF, 0);
        let (cl, gsn_claims) = (claims_of(r, Some(bind)), claims_of(r, gsn));
        let steps = lesson_steps(bind, &cl, gsn.map(|g| (g, &gsn_claims[..])));
        Some(Chapter { order: 10, steps, used: cl.into_iter().chain(gsn_claims).collect() })
    }
}

pub const DEF: Def = Def {
    name: "bind",
    fallback_nr: 49,
    args: &["fd", "addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_ENTRY,
    name_arg,
    chain: &["__sys_bind", "inet_bind", "inet_bind_sk", "__inet_bind", "inet_csk_get_port"],
};

/// fd as a number, the sockaddr pointer in hex, addrlen as a number (a pointer for accept: shown in hex).
fn name_arg(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    match idx {
        1 => user_ptr(raw),
        _ => plain_arg(idx, raw, all, n),
    }
}

/// bind.in_use: who holds the address, and the failed socket unchanged.
fn in_use(c: &Call, life: &Life) -> Option<Claim> {
    let sk = c.after.sock.as_ref()?;
    // An AF_INET sockaddr only (its address and port are decoded); another family's bind is not this claim's.
    let req = c.sockaddr.as_ref().filter(|r| r.addr.is_some() && r.port.is_some())?;
    let want = req.told();
    let errno = c.errno.as_ref().map(|e| e.show()).unwrap_or_default();
    // The holder: another sock of this run, still open, bound to that address.
    // The same address, or the wildcard 0.0.0.0 on the same port (it holds the port on every address).
    let port = format!(":{}", req.port.unwrap_or(0));
    let holds = |local: &str| {
        local == want || local == format!("0.0.0.0{port}") || want == format!("0.0.0.0{port}") && local.ends_with(&port)
    };
    let holder = life
        .socks
        .values()
        .find(|l| l.sock != sk.addr && l.closed_by.is_none() && l.local.as_deref().is_some_and(holds));
    let unbound = sk.inet.as_ref().is_some_and(|i| i.num == 0);
    let closed = sk.state.name.as_deref() == Some("TCP_CLOSE");
    let mut evidence = vec![
        ev("bind() returned", format!("{} {errno}", c.ret.unwrap_or(0)), "tp_btf/sys_exit"),
        ev("the sockaddr bind() was given", format!("{want} · bytes {}", req.bytes), "user memory at entry"),
        conn::inet_ev("after", sk, "tp_btf/sys_exit walk"),
    ];
    // The holder's bind bucket (its icsk_bind_hash, from its own walks): the bucket of the port, which it owns.
    let bucket = holder.and_then(|h| h.bind_bucket);
    let bucket_ok = bucket.is_none_or(|(_, p)| Some(p) == req.port);
    if let Some((tb, p)) = bucket {
        evidence.push(ev(
            "the holder's bind bucket (icsk_bind_hash) and its port",
            format!("{tb} · port {p}"),
            "the tp_btf/sys_exit walk of its bind()",
        ));
    }
    if let Some(h) = holder {
        evidence.push(ev(
            "the sock that holds it",
            format!(
                "sk {} · pid {}, fd {} · {} · local {}",
                h.sock,
                h.pid,
                h.fd.map(|f| f.to_string()).unwrap_or_else(|| "?".into()),
                h.role,
                h.local.as_deref().unwrap_or("?")
            ),
            "the walks of its own calls",
        ));
    }
    Some(judged(
        ids::BIND_IN_USE,
        Some(c.seq),
        holder.map(|_| unbound && closed && bucket_ok),
        format!(
            "{errno}: {want} is held by {}; the socket after: local port {}, {}",
            holder
                .map(|h| format!(
                    "sk {} ({}){}",
                    h.sock,
                    h.role,
                    bucket.map(|(tb, p)| format!(", owner of bind bucket {tb} (port {p})")).unwrap_or_default()
                ))
                .unwrap_or_else(|| "?".into()),
            sk.inet.as_ref().map(|i| i.num.to_string()).unwrap_or_else(|| "?".into()),
            sk.state.show()
        ),
        evidence,
        &format!("no open sock this run followed is bound to {want} (the holder is another process's, or was made before tracing began)"),
    ))
}

/// bind()'s claims, against what the run knows before it (`life`).
pub fn judge(c: &Call, life: &Life) -> Vec<Claim> {
    let mut out = vec![conn::same_socket(c, life, &c.before, "at entry")];
    if c.errno.as_ref().and_then(|e| e.name.as_deref()) == Some("EADDRINUSE") {
        out.extend(in_use(c, life));
        return out;
    }
    if c.ret != Some(0) {
        return out;
    }
    let (before, after) = (c.before.sock.as_ref(), c.after.sock.as_ref());
    let (Some(ask), Some(req)) = (after, c.sockaddr.as_ref()) else { return out };
    let Some(ai) = ask.inet.as_ref() else { return out };
    let req_ev = ev(
        "the sockaddr bind() was given",
        format!("{} · {} · bytes {}", req.family.show(), req.told(), req.bytes),
        "user memory at entry (bpf_probe_read_user)",
    );
    let after_ev = conn::inet_ev("after", ask, "tp_btf/sys_exit walk");
    // The port: the requested one, or for 0 one the kernel chose from the range.
    let same_order = ai.sport == ai.num;
    let (ok, finding, mut evidence) = match req.port {
        Some(0) => {
            let (inr, rev) = conn::in_range(&life.sys, ai.num);
            let f = format!(
                "port 0 asked; the kernel chose {} (inside {}) · {}",
                ai.num,
                life.sys.port_range_text,
                conn::port_bytes(ai)
            );
            (inr.map(|r| r && same_order), f, vec![req_ev.clone(), after_ev.clone(), rev])
        }
        Some(p) => (
            Some(ai.num == p && same_order),
            format!("asked {p}; inet_num {} · {}", ai.num, conn::port_bytes(ai)),
            vec![req_ev.clone(), after_ev.clone()],
        ),
        None => (None, String::new(), vec![req_ev.clone()]),
    };
    evidence.dedup();
    out.push(judged(ids::BIND_PORT, Some(c.seq), ok, finding, evidence, "the sockaddr is not AF_INET or AF_INET6"));
    out.push(judged(
        ids::BIND_ADDRESS,
        Some(c.seq),
        req.addr.as_ref().map(|a| *a == ai.rcv_saddr),
        format!("asked {}; skc_rcv_saddr {}", req.addr.as_deref().unwrap_or("?"), ai.rcv_saddr),
        vec![req_ev, after_ev.clone()],
        "the sockaddr is not AF_INET or AF_INET6",
    ));
    let tb_before = before.and_then(|s| s.inet.as_ref()).and_then(|i| i.tcp.as_ref()).map(|t| t.bind_bucket);
    let tb_after = ai.tcp.as_ref().map(|t| (t.bind_bucket, t.bind_bucket_port));
    out.push(judged(
        ids::BIND_BUCKET,
        Some(c.seq),
        tb_before.zip(tb_after).map(|(b, (a, port))| b.is_null() && !a.is_null() && port == ai.num),
        match (tb_before, tb_after) {
            (Some(b), Some((a, port))) => {
                format!("icsk_bind_hash {b} before → {a} after, the bucket's port {port}")
            }
            _ => String::new(),
        },
        vec![
            ev(
                "icsk_bind_hash at entry",
                tb_before.map(|b| b.to_string()).unwrap_or_else(|| "not read".into()),
                "tp_btf/sys_enter walk",
            ),
            ev(
                "icsk_bind_hash → inet_bind_bucket.port after",
                tb_after.map(|(a, p)| format!("{a} → port {p}")).unwrap_or_else(|| "not read".into()),
                "tp_btf/sys_exit walk",
            ),
        ],
        "the sock is not a TCP sock (no inet_connection_sock to read)",
    ));
    let (changes, mut sev) = conn::states_of(life, c, ask.addr);
    sev.push(after_ev);
    let closed = ask.state.name.as_deref() == Some("TCP_CLOSE");
    out.push(judged(
        ids::BIND_STILL_CLOSED,
        Some(c.seq),
        if life.states_missing.is_some() { (!closed).then_some(false) } else { Some(closed && changes.is_empty()) },
        format!("{} after; {} state change(s) inside the call", ask.state.show(), changes.len()),
        sev,
        life.states_missing.as_deref().unwrap_or(""),
    ));
    out
}

/// The function-level claims (tiers A/B).
pub const CHAIN_CLAIMS: &[crate::claims::ids::ClaimId] = &[ids::BIND_CHAIN, ids::BIND_CHAIN_OBJECTS];

pub fn judge_chain(c: &Call, plan: &[crate::probes::chain::FnPlan]) -> Vec<Claim> {
    use super::chainproof::{arg, order, same, Group};
    let (so, sk) = (c.before.socket.as_ref().map(|s| s.addr), c.before.sock.as_ref().map(|s| s.addr));
    let (s, k) = ("struct socket *", "struct sock *");
    vec![
        order(ids::BIND_CHAIN, c, DEF.chain, plan),
        same(
            ids::BIND_CHAIN_OBJECTS,
            c,
            vec![
                Group::new("socket").walk("the fd's socket (walk at entry)", so).func(
                    plan,
                    "inet_bind",
                    "inet_bind(sock)",
                    arg(c, "inet_bind", s, 0),
                ),
                Group::new("sock")
                    .walk("the fd's sock (walk at entry)", sk)
                    .func(plan, "inet_bind_sk", "inet_bind_sk(sk)", arg(c, "inet_bind_sk", k, 0))
                    .func(plan, "__inet_bind", "__inet_bind(sk)", arg(c, "__inet_bind", k, 0))
                    .func(plan, "inet_csk_get_port", "inet_csk_get_port(sk)", arg(c, "inet_csk_get_port", k, 0)),
            ],
            vec![],
        ),
    ]
}

/// The lesson's bind chapter (and getsockname's step after it), from this call's claims.
pub fn lesson_steps(c: &Call, cl: &[Claim], gsn: Option<(&Call, &[Claim])>) -> Vec<crate::lesson::Step> {
    use crate::lesson::Step;
    let mut v = vec![
        Step::new(
            "bind",
            "give the socket a local address: bind(fd, 127.0.0.1, port 0)",
            "tp_btf/sys_enter: the sockaddr in user memory; fd → file → private_data",
        )
        .introduces(&["sockaddr", "port"])
        .judged_by(&[ids::SAME_SOCKET], cl),
        Step::new(
            "bind",
            "read where the sock is now bound, in memory's byte order and in ours",
            "tp_btf/sys_exit walk: skc_rcv_saddr, inet_num, inet_sport; /proc/sys/net/ipv4/ip_local_port_range",
        )
        .introduces(&["network byte order", "inet_sock", "peer", "ephemeral port"])
        .judged_by(&[ids::BIND_PORT, ids::BIND_ADDRESS], cl),
        Step::new(
            "bind",
            "find the record that the port is taken",
            "tp_btf/sys_enter + sys_exit walk: icsk_bind_hash → port",
        )
        .introduces(&["bind bucket"])
        .judged_by(&[ids::BIND_BUCKET, ids::BIND_STILL_CLOSED], cl),
        Step::new("bind", "follow the sock through bind's function chain", "fentry/fexit (or kprobes) on the chain")
            .judged_by(&[ids::BIND_CHAIN, ids::BIND_CHAIN_OBJECTS], cl),
    ];
    if let Some((_, g)) = gsn {
        v.push(
            Step::new("bind", "ask the kernel back which port it chose", "getsockname(fd): the sockaddr at sys_exit")
                .judged_by(&[ids::GETSOCKNAME_AGREES], g),
        );
    }
    let _ = c;
    v
}

/// `lesson --fail addrinuse`: bind() to the address a listener holds.
pub fn in_use_failure() -> crate::lesson::failure::Failure {
    crate::lesson::failure::Failure {
        title: "When bind() finds its port taken",
        syscall: "bind",
        question: "ask: what if bind() names the address and port another sock already holds?",
        wonder: "does the second socket get the port anyway, or half of it, or nothing?",
        site_of: "inet_csk_get_port",
        predicts: "__inet_bind asks the protocol for the port; a port another sock holds makes that fail, and the socket is left unbound",
        observations: vec![(
            "observe: the call failed with EADDRINUSE, the holder is named, the socket is unchanged",
            "tp_btf/sys_enter + sys_exit walks of the sock; the holder's walks",
            &[ids::BIND_IN_USE],
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Verdict;
    use crate::model::KAddr;
    use crate::syscalls::conn::Sysctls;

    fn life_after_socket() -> Life {
        let mut l = Life::new(crate::fixtures::sysctls());
        l.record(&crate::fixtures::socket_call());
        l
    }

    fn verdict(cl: &[Claim], id: &str) -> Verdict {
        cl.iter().find(|c| c.id == id).map(|c| c.verdict).unwrap_or_else(|| panic!("no {id}"))
    }

    #[test]
    fn a_port_from_the_range_on_the_installed_socket_is_proved() {
        let cl = judge(&crate::fixtures::bind_call(40000), &life_after_socket());
        for id in ["fd.same_socket", "bind.port", "bind.address", "bind.bucket", "bind.still_closed"] {
            assert_eq!(verdict(&cl, id), Verdict::Proved, "{id}: {cl:#?}");
        }
    }

    #[test]
    fn a_port_outside_the_range_a_missing_bucket_or_another_socket_is_refuted() {
        let l = life_after_socket();
        assert_eq!(verdict(&judge(&crate::fixtures::bind_call(80), &l), "bind.port"), Verdict::Refuted);
        let mut c = crate::fixtures::bind_call(40000);
        if let Some(t) = c.after.sock.as_mut().and_then(|s| s.inet.as_mut()).and_then(|i| i.tcp.as_mut()) {
            t.bind_bucket = KAddr(0);
        }
        assert_eq!(verdict(&judge(&c, &l), "bind.bucket"), Verdict::Refuted, "no bucket after bind");
        let mut c = crate::fixtures::bind_call(40000);
        if let Some(s) = c.before.socket.as_mut() {
            s.addr = KAddr(0xffff_8882_0000_1000);
        }
        let cl = judge(&c, &l);
        assert_eq!(verdict(&cl, "fd.same_socket"), Verdict::Refuted, "fd 3 holds another socket: {cl:#?}");
        // Without the socket() that installed fd 3, the link cannot be checked.
        let fresh = Life::new(Sysctls {
            port_range: None,
            port_range_text: String::new(),
            somaxconn: None,
            somaxconn_text: String::new(),
        });
        let cl = judge(&crate::fixtures::bind_call(40000), &fresh);
        assert_eq!(verdict(&cl, "fd.same_socket"), Verdict::NotObservable);
        assert_eq!(verdict(&cl, "bind.port"), Verdict::NotObservable, "no port range: not observable, never ✓");
    }

    /// A second socket's bind to the address the first holds: EADDRINUSE.
    fn in_use_call(unchanged: bool) -> Call {
        let mut c = crate::fixtures::bind_call(0);
        c.seq = 4;
        c.ret = Some(-98);
        c.errno = Some(crate::fixtures::named(98, "EADDRINUSE", "/usr/include/asm-generic/errno.h:78"));
        c.enter_ns = Some(90_000);
        c.exit_ns = Some(95_000);
        if let Some(a) = c.sockaddr.as_mut() {
            a.port = Some(40000);
        }
        for w in [&mut c.before, &mut c.after] {
            if let Some(k) = w.sock.as_mut() {
                k.addr = KAddr(0xffff_8881_0777_0000);
            }
        }
        let after = c.before.sock.as_ref().and_then(|k| k.inet.clone());
        if let Some(k) = c.after.sock.as_mut() {
            k.inet = after;
            if !unchanged {
                // As if the failed bind had bound the socket after all.
                if let Some(i) = k.inet.as_mut() {
                    i.num = 40000;
                }
            }
        }
        c
    }

    #[test]
    fn a_bind_to_a_held_address_names_the_holder_and_a_changed_socket_is_refuted() {
        let mut l = life_after_socket();
        l.record(&crate::fixtures::bind_call(40000));
        let cl = judge(&in_use_call(true), &l);
        let c = cl.iter().find(|c| c.id == "bind.in_use").expect("bind.in_use");
        assert_eq!(c.verdict, Verdict::Proved, "{c:#?}");
        assert!(
            c.conclusion().contains("held by sk 0xffff8881031c5c80 (socket)"),
            "the holder named: {}",
            c.conclusion()
        );
        let cl = judge(&in_use_call(false), &l);
        assert_eq!(verdict(&cl, "bind.in_use"), Verdict::Refuted, "the failed socket was changed: {cl:#?}");
        // Nobody this run followed holds the port: not observable, never ✓.
        let cl = judge(&in_use_call(true), &life_after_socket());
        assert_eq!(verdict(&cl, "bind.in_use"), Verdict::NotObservable, "{cl:#?}");
    }

    #[test]
    fn the_holder_is_the_owner_of_the_port_s_bind_bucket_and_another_bucket_refutes_it() {
        let mut l = life_after_socket();
        l.record(&crate::fixtures::bind_call(40000));
        let cl = judge(&in_use_call(true), &l);
        let c = cl.iter().find(|c| c.id == "bind.in_use").expect("bind.in_use");
        assert!(
            c.conclusion().contains("owner of bind bucket") && c.conclusion().contains("(port 40000)"),
            "{}",
            c.conclusion()
        );
        // The holder's bucket is another port's: it does not hold this one.
        let mut other = crate::fixtures::bind_call(40000);
        if let Some(t) = other.after.sock.as_mut().and_then(|k| k.inet.as_mut()).and_then(|i| i.tcp.as_mut()) {
            t.bind_bucket_port = 40001;
        }
        let mut l = life_after_socket();
        l.record(&other);
        assert_eq!(verdict(&judge(&in_use_call(true), &l), "bind.in_use"), Verdict::Refuted);
    }
}
