//! accept4(fd, addr, addrlen, flags): accept with SOCK_NONBLOCK/SOCK_CLOEXEC flags. At the boundary: arguments, the sockaddr it names, return value and the walk of the fd.
use super::conn::{self, Life};
use super::Def;
use crate::claims::{ev, ids, judged, Claim};
use crate::model::{plain_arg, user_ptr, Call, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub const DEF: Def = Def {
    name: "accept4",
    fallback_nr: 288,
    args: &["fd", "addr", "addrlen", "flags"],
    mode: Mode::SW_MODE_WALK_ARG0_RET,
    uaddr: UaddrMode::SW_UA_EXIT,
    name_arg,
};

/// fd as a number, the sockaddr pointer in hex, addrlen as a number (a pointer for accept: shown in hex), flags decoded.
fn name_arg(idx: usize, raw: u64, n: &Namer) -> Value {
    match idx {
        1 => user_ptr(raw),
        2 => user_ptr(raw),
        3 => Value { name: crate::model::sock_flags(raw as i64), ..Value::plain(raw as i64) },
        _ => plain_arg(idx, raw, n),
    }
}

/// accept4()'s (and accept()'s) claims: entry walks the listener, exit the new fd.
pub fn judge(c: &Call, life: &Life) -> Vec<Claim> {
    let mut out = vec![conn::same_socket(c, life, &c.before, "at entry")];
    let (Some(ret), Some(lsk)) = (c.ret, c.before.sock.as_ref()) else { return out };
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
        vec![lev.clone(), cev.clone()],
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
    let any = li.rcv_saddr == "0.0.0.0";
    out.push(judged(
        ids::ACCEPT_LOCAL,
        Some(c.seq),
        Some(ci.num == li.num && (any || ci.rcv_saddr == li.rcv_saddr)),
        format!("child local {}; listener {}", ci.local(), li.local()),
        vec![lev.clone(), cev.clone()],
        "",
    ));
    if let Some(sa) = c.sockaddr.as_ref() {
        let told =
            format!("{}:{}", sa.addr.as_deref().unwrap_or("?"), sa.port.map(|p| p.to_string()).unwrap_or_default());
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
            "the sockaddr is not AF_INET",
        ));
    }
    let other = life.other_end(sk.addr, &ci.local(), &ci.peer());
    let est = |s: &str| s == "TCP_ESTABLISHED";
    // The other end's state when this call returned (its later changes are known by now too).
    let until = c.exit_ns.unwrap_or(u64::MAX);
    let other_state =
        other.and_then(|o| o.states.iter().rev().find(|s| s.ts_ns <= until)).and_then(|s| s.new.name.clone());
    out.push(judged(
        ids::ACCEPT_ENDS,
        Some(c.seq),
        other.map(|o| {
            est(sk.state.name.as_deref().unwrap_or(""))
                && other_state.as_deref().is_some_and(est)
                && o.peer.as_deref() == Some(&ci.local()[..])
        }),
        other
            .map(|o| {
                format!(
                    "child sk {} {} ↔ {} is the peer of sk {} (pid {}, fd {}, {}): {} ↔ {}, {}",
                    sk.addr,
                    ci.local(),
                    ci.peer(),
                    o.sock,
                    o.pid,
                    o.fd.map(|f| f.to_string()).unwrap_or_else(|| "?".into()),
                    o.role,
                    o.local.as_deref().unwrap_or("?"),
                    o.peer.as_deref().unwrap_or("?"),
                    other_state.as_deref().unwrap_or("state unknown")
                )
            })
            .unwrap_or_default(),
        vec![
            cev.clone(),
            ev(
                "the other end",
                other
                    .map(|o| {
                        format!(
                            "sk {} · local {} · peer {}",
                            o.sock,
                            o.local.as_deref().unwrap_or("?"),
                            o.peer.as_deref().unwrap_or("?")
                        )
                    })
                    .unwrap_or_else(|| "not in this run".into()),
                "an earlier walk of the client's sock, tp_btf/inet_sock_set_state",
            ),
        ],
        &format!("the client's end ({}) is not in this run's evidence (the client is not traced)", ci.peer()),
    ));
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
    out.push(judged(
        ids::ACCEPT_FD_FIRST,
        Some(c.seq),
        None,
        String::new(),
        vec![],
        "the order of get_unused_fd_flags and sock_alloc inside the call needs the function-level chain (tiers A/B: fentry or kprobes); this kernel offers only the syscall boundary",
    ));
    out
}
