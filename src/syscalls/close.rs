//! close(fd): an fd released, and with the last reference to a socket's file the socket itself. At the boundary:
//! arguments, return value and the walk of the fd at entry (the file, socket and sock it held) and of the fd table
//! at exit; the release (sock_close … tcp_close) runs after close() returns and comes as late frames; the frees
//! later still (`close.freed`, judged with the connection's life); the course's close chapter.
use super::conn::{self, Life};
use super::{claims_of, on_tcp, Chapter, Def, Judging, Syscall};
use crate::claims::{ev, ids, judged, Claim};
use crate::model::{plain_arg, Call};
use crate::probes::boundary::{Mode, UaddrMode};

pub struct Close;

impl Syscall for Close {
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
        life.record_close(c);
    }
    fn any_file(&self) -> bool {
        true
    }
    /// A socket's file is released by the deferred fput when the thread returns to user space: sock_close runs
    /// after close() returned.
    fn late_release(&self) -> Option<&'static str> {
        Some("sock_close")
    }
    /// The close of a connected sock (the first close that released a socket), with the TCP state chains.
    fn chapter(&self, r: &crate::report::Report) -> Option<Chapter> {
        let close = r.calls.iter().find(|c| DEF.is(c) && c.ret == Some(0) && c.before.socket.is_some());
        let states: Vec<Claim> = r.claims.iter().filter(|k| k.id == ids::TCP_STATES.id).cloned().collect();
        let cl = claims_of(r, close);
        let steps = lesson_steps(&cl, &states);
        Some(Chapter { order: 60, steps, used: cl.into_iter().chain(states).collect() })
    }
}

pub const DEF: Def = Def {
    name: "close",
    fallback_nr: 3,
    args: &["fd"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg: plain_arg,
    chain: &["sock_close", "__sock_release", "inet_release", "tcp_close"],
};

/// close()'s claims on a socket fd (other files have none).
pub fn judge(c: &Call, life: &Life) -> Vec<Claim> {
    if c.before.socket.is_none() {
        return vec![];
    }
    let mut out = vec![conn::same_socket(c, life, &c.before, "at entry")];
    let Some(0) = c.ret else { return out };
    let fd = c.args.first().map(|a| a.value.raw as i32).unwrap_or(-1);
    let open = c.after.fdtable.as_ref().and_then(|t| t.is_open(fd as u32));
    // Threads sharing the table may take the freed fd at once (socket() of another thread returned it).
    let shared = conn::shared_table(c);
    let ok = match open {
        Some(true) if shared.is_some() => None,
        o => o.map(|o| !o),
    };
    out.push(judged(
        ids::CLOSE_FD_FREE,
        Some(c.seq),
        ok,
        format!("fd {fd} {} after", if open == Some(false) { "free" } else { "still open" }),
        vec![ev(
            "fd table after",
            c.after.fdtable.as_ref().map(|t| format!("open {:?}", t.open)).unwrap_or_else(|| "not read".into()),
            "tp_btf/sys_exit walk",
        )],
        &shared.unwrap_or_else(|| "the fd is past the bitmap words syswalk reads".into()),
    ));
    out
}

/// The function-level claims (tiers A/B).
pub const CHAIN_CLAIMS: &[crate::claims::ids::ClaimId] = &[ids::CLOSE_CHAIN, ids::CLOSE_CHAIN_OBJECTS];

pub fn judge_chain(c: &Call, plan: &[crate::probes::chain::FnPlan]) -> Vec<Claim> {
    use super::chainproof::{arg, not_here, order, same, Group};
    let b = &c.before;
    // The release runs when the file's last reference goes: a close() of a file that other fds or processes still
    // hold (a forked child closing its copy of the listener) only drops one, and no release follows it.
    if let Some(f) = b.file.as_ref().filter(|f| f.f_count > 1) {
        let why = format!(
            "the file had {} references at entry (another fd or process holds it): this close() dropped one, and the \
             socket is released by whoever drops the last",
            f.f_count
        );
        return not_here(c, CHAIN_CLAIMS, &why);
    }
    let s = "struct socket *";
    vec![
        order(ids::CLOSE_CHAIN, c, DEF.chain, plan),
        same(
            ids::CLOSE_CHAIN_OBJECTS,
            c,
            vec![
                Group::new("file").walk("fdt->fd[fd] (walk at entry)", b.file.as_ref().map(|f| f.addr)).func(
                    plan,
                    "sock_close",
                    "sock_close(filp)",
                    arg(c, "sock_close", "struct file *", 0),
                ),
                Group::new("socket")
                    .walk("the fd's socket (walk at entry)", b.socket.as_ref().map(|s| s.addr))
                    .func(plan, "__sock_release", "__sock_release(sock)", arg(c, "__sock_release", s, 0))
                    .func(plan, "inet_release", "inet_release(sock)", arg(c, "inet_release", s, 0)),
                Group::new("sock").walk("the fd's sock (walk at entry)", b.sock.as_ref().map(|s| s.addr)).func(
                    plan,
                    "tcp_close",
                    "tcp_close(sk)",
                    arg(c, "tcp_close", "struct sock *", 0),
                ),
            ],
            vec![],
        ),
    ]
}

/// The lesson's close chapter: the first close, then every sock's states to the end.
pub fn lesson_steps(cl: &[Claim], states: &[Claim]) -> Vec<crate::lesson::Step> {
    use crate::lesson::Step;
    vec![
        Step::new("close", "close the client: its fd slot is free again", "tp_btf/sys_exit: open_fds")
            .judged_by(&[ids::SAME_SOCKET, ids::CLOSE_FD_FREE], cl),
        Step::new("close", "find where the socket is really released", "fentry sock_close … tcp_close, after sys_exit")
            .introduces(&["deferred release"])
            .judged_by(&[ids::CLOSE_CHAIN, ids::CLOSE_CHAIN_OBJECTS], cl),
        Step::new("close", "follow every sock's states to the end", "tp_btf/inet_sock_set_state")
            .judged_by(&[ids::TCP_STATES], states),
        Step::new(
            "close",
            "watch the kernel free the socket and the sock, later and in another context",
            "fentry sock_free_inode, __sk_destruct, tcp_time_wait",
        )
        .introduces(&["RCU grace period"])
        .judged_by(&[ids::CLOSE_FREED], cl),
    ]
}
