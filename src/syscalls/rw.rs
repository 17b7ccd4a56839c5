//! The calls that move a connection's bytes: read/write, and the ones real programs use instead — recv(from),
//! send(to), recvmsg/sendmsg, readv/writev, and sendfile (file → socket). At the boundary: arguments, the bytes moved
//! (the return value) and the walk of the fd at entry and exit (for a TCP sock: write_seq, rcv_nxt and copied_seq,
//! the bytes not yet read). One implementation, `Rw`, registered once per syscall with its direction.
use super::conn::{self, Life};
use super::{claims_of, on_tcp, Chapter, Def, Judging, Syscall};
use crate::claims::{ev, ids, judged, Claim};
use crate::model::{plain_arg, user_ptr, Call, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

/// Which way the bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Read,
    Write,
}

/// A call that moves bytes: its descriptor, its direction, which argument holds its MSG_* flags (recv/send
/// family) and whether it carries the bytes chapter (write()'s).
pub struct Rw {
    pub def: &'static Def,
    pub dir: Dir,
    pub flags_arg: Option<usize>,
    pub chapter: bool,
}

impl Rw {
    pub const READ: Rw = Rw { def: &READ, dir: Dir::Read, flags_arg: None, chapter: false };
    pub const WRITE: Rw = Rw { def: &WRITE, dir: Dir::Write, flags_arg: None, chapter: true };
    pub const RECVFROM: Rw = Rw { def: &RECVFROM, dir: Dir::Read, flags_arg: Some(3), chapter: false };
    pub const SENDTO: Rw = Rw { def: &SENDTO, dir: Dir::Write, flags_arg: Some(3), chapter: false };
    pub const RECVMSG: Rw = Rw { def: &RECVMSG, dir: Dir::Read, flags_arg: Some(2), chapter: false };
    pub const SENDMSG: Rw = Rw { def: &SENDMSG, dir: Dir::Write, flags_arg: Some(2), chapter: false };
    pub const READV: Rw = Rw { def: &READV, dir: Dir::Read, flags_arg: None, chapter: false };
    pub const WRITEV: Rw = Rw { def: &WRITEV, dir: Dir::Write, flags_arg: None, chapter: false };
    pub const SENDFILE: Rw = Rw { def: &SENDFILE, dir: Dir::Write, flags_arg: None, chapter: false };
}

impl Syscall for Rw {
    fn def(&self) -> &'static Def {
        self.def
    }
    fn judge(&self, c: &Call, j: &mut Judging) -> Vec<Claim> {
        let flags = self.flags_arg.and_then(|i| c.args.get(i)).map_or(0, |a| a.value.raw as u64);
        judge_flags(c, self.dir, flags, j.life)
    }
    /// tcp_sendmsg/tcp_recvmsg (sendfile's path differs between kernels — sendpage before 6.5, a spliced
    /// tcp_sendmsg after — so it has no chain claim).
    fn chain_claims(&self, c: &Call) -> Option<(&'static [ids::ClaimId], super::ChainJudgeFn)> {
        if self.def.chain.is_empty() {
            return None;
        }
        let judge: super::ChainJudgeFn = match self.dir {
            Dir::Read => |c, plan| judge_chain(c, Dir::Read, plan),
            Dir::Write => |c, plan| judge_chain(c, Dir::Write, plan),
        };
        on_tcp(c).then_some((chain_claims(self.dir), judge))
    }
    fn record(&self, c: &Call, life: &mut Life) {
        life.record_use(c, None);
    }
    fn completed(&self, c: &Call, life: &mut Life) {
        if self.dir == Dir::Write {
            life.record_write(c);
        }
    }
    fn any_file(&self) -> bool {
        true
    }
    fn lesson_part(&self) -> &'static str {
        "write and read"
    }
    /// The first write on a TCP socket and the first read on one (the other end's, in the course's life).
    fn chapter(&self, r: &crate::report::Report) -> Option<Chapter> {
        if !self.chapter {
            return None;
        }
        let tcp = |c: &&Call| c.before.sock.as_ref().and_then(|s| s.inet.as_ref()).is_some();
        let first = |d: &Def| r.calls.iter().filter(tcp).find(|c| d.is(c) && c.ret.is_some_and(|v| v > 0));
        let (w, rd) = (claims_of(r, first(&WRITE)), claims_of(r, first(&READ)));
        let steps = lesson_steps(&w, &rd);
        Some(Chapter { order: 50, steps, used: w.into_iter().chain(rd).collect() })
    }
}

pub const READ: Def = Def {
    name: "read",
    fallback_nr: 0,
    args: &["fd", "buf", "count"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
    chain: &["tcp_recvmsg"],
};

pub const WRITE: Def = Def {
    name: "write",
    fallback_nr: 1,
    args: &["fd", "buf", "count"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
    chain: &["tcp_sendmsg"],
};

pub const RECVFROM: Def = Def {
    name: "recvfrom",
    fallback_nr: 45,
    args: &["fd", "buf", "len", "flags", "src_addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg: name_ptrs_1_4_5,
    chain: &["tcp_recvmsg"],
};

pub const SENDTO: Def = Def {
    name: "sendto",
    fallback_nr: 44,
    args: &["fd", "buf", "len", "flags", "dest_addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg: name_ptrs_1_4_5,
    chain: &["tcp_sendmsg"],
};

pub const RECVMSG: Def = Def {
    name: "recvmsg",
    fallback_nr: 47,
    args: &["fd", "msg", "flags"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
    chain: &["tcp_recvmsg"],
};

pub const SENDMSG: Def = Def {
    name: "sendmsg",
    fallback_nr: 46,
    args: &["fd", "msg", "flags"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
    chain: &["tcp_sendmsg"],
};

pub const READV: Def = Def {
    name: "readv",
    fallback_nr: 19,
    args: &["fd", "iov", "iovcnt"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
    chain: &["tcp_recvmsg"],
};

pub const WRITEV: Def = Def {
    name: "writev",
    fallback_nr: 20,
    args: &["fd", "iov", "iovcnt"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
    chain: &["tcp_sendmsg"],
};

/// sendfile(out_fd, in_fd, offset, count): a file's bytes to a socket (out_fd is walked).
pub const SENDFILE: Def = Def {
    name: "sendfile",
    fallback_nr: 40,
    args: &["out_fd", "in_fd", "offset", "count"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg: name_ptr_2,
    chain: &[],
};

fn name_arg(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    match idx {
        1 => user_ptr(raw),
        _ => plain_arg(idx, raw, all, n),
    }
}

fn name_ptrs_1_4_5(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    match idx {
        1 | 4 | 5 => user_ptr(raw),
        _ => plain_arg(idx, raw, all, n),
    }
}

fn name_ptr_2(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    match idx {
        2 => user_ptr(raw),
        _ => plain_arg(idx, raw, all, n),
    }
}

/// MSG_PEEK and MSG_OOB (include/linux/socket.h): a peek leaves the bytes unread; an out-of-band read takes the
/// urgent byte outside the stream's sequence. Neither moves copied_seq by what it returned.
const MSG_OOB: u64 = 0x1;
const MSG_PEEK: u64 = 0x2;

/// The claims of a call that moves bytes on a TCP sock (calls on other files have none), given its MSG_* flags (0
/// for read/write/readv/writev/sendfile).
pub fn judge_flags(c: &Call, dir: Dir, flags: u64, life: &Life) -> Vec<Claim> {
    let (Some(ret), Some(b), Some(a)) = (c.ret, c.before.sock.as_ref(), c.after.sock.as_ref()) else { return vec![] };
    let (Some(bt), Some(at)) =
        (b.inet.as_ref().and_then(|i| i.tcp.as_ref()), a.inet.as_ref().and_then(|i| i.tcp.as_ref()))
    else {
        return vec![];
    };
    if ret < 0 {
        return vec![];
    }
    let mut out = vec![conn::same_socket(c, life, &c.before, "at entry")];
    let seq_ev = |w: &str, t: &crate::model::TcpObj, probe: &str| {
        ev(
            format!("sk {} {w}", a.addr),
            format!(
                "rcv_nxt {} · copied_seq {} (unread {}) · write_seq {} · snd_una {}",
                t.rcv_nxt, t.copied_seq, t.unread, t.write_seq, t.snd_una
            ),
            probe,
        )
    };
    let evs = vec![seq_ev("at entry", bt, "tp_btf/sys_enter walk"), seq_ev("after", at, "tp_btf/sys_exit walk")];
    if dir == Dir::Write {
        let adv = at.write_seq.wrapping_sub(bt.write_seq) as i64;
        // Another task on the same fd table may write to the socket meanwhile.
        let shared = conn::shared_table(c);
        out.push(judged(
            ids::WRITE_SEQ,
            Some(c.seq),
            if adv != ret && shared.is_some() { None } else { Some(adv == ret) },
            format!("write_seq {} → {} (+{adv}); {}() returned {ret}", bt.write_seq, at.write_seq, c.syscall),
            evs,
            shared.as_deref().unwrap_or(""),
        ));
        return out;
    }
    let took = bt.unread.wrapping_sub(at.unread) as i64;
    let copied = at.copied_seq.wrapping_sub(bt.copied_seq) as i64;
    // The peer's FIN, received before the call (the sock was past it at entry), sits in rcv_nxt as one sequence
    // number and no byte: a read that takes the last bytes takes it too (copied_seq passes it, nothing is left).
    // (TCP_CLOSE too: a half-closed client in FIN_WAIT2 that gets the FIN goes to TIME_WAIT, and its full sock is
    // left TCP_CLOSE with the data and the FIN still queued.)
    let fin_in =
        matches!(b.state.name.as_deref(), Some("TCP_CLOSE_WAIT" | "TCP_LAST_ACK" | "TCP_CLOSING" | "TCP_CLOSE"));
    let with_fin = fin_in && at.unread == 0 && took == ret + 1 && copied == ret + 1;
    out.push(judged(
        ids::READ_UNREAD,
        Some(c.seq),
        // Bytes that arrived while the read ran (rcv_nxt moved) were not unread at its entry: nothing to compare.
        // A peek or an out-of-band read does not take bytes from the stream.
        if ret == 0 || bt.unread == 0 || at.rcv_nxt != bt.rcv_nxt || flags & (MSG_PEEK | MSG_OOB) != 0 {
            None
        } else {
            Some((took == ret && copied == ret) || with_fin)
        },
        format!(
            "unread {} → {} (−{took}); {}() returned {ret}{}",
            bt.unread,
            at.unread,
            c.syscall,
            if with_fin { " (+1: the peer's FIN, received before the call and taken with the last bytes)" } else { "" }
        ),
        evs.clone(),
        if flags & MSG_PEEK != 0 {
            "MSG_PEEK: the call copies bytes and leaves them unread (copied_seq does not move)"
        } else if flags & MSG_OOB != 0 {
            "MSG_OOB: the call takes the urgent byte, which is outside the stream's unread bytes"
        } else if ret == 0 {
            "read() returned 0 (end of stream): the peer's FIN takes one sequence number and no byte"
        } else if at.rcv_nxt != bt.rcv_nxt {
            "bytes arrived while read() ran (rcv_nxt moved): what was unread at entry is not what it took"
        } else {
            "nothing was unread at entry: the bytes arrived while read() waited"
        },
    ));
    let Some(ai) = a.inet.as_ref() else { return out };
    let other = life.other_end(a.addr, &ai.local(), &ai.peer());
    let w = other.and_then(|o| life.last_write(o.sock, c.exit_ns.unwrap_or(u64::MAX)).map(|w| (o, w)));
    // The peer's FIN, when it came with the data, is read with it: copied_seq passes it (one sequence number, no
    // byte) and the sock is then CLOSE_WAIT.
    let fin_read = |ws: u32| at.copied_seq == ws.wrapping_add(1) && a.state.name.as_deref() == Some("TCP_CLOSE_WAIT");
    // Every byte the peer wrote has been read once the reader's copied_seq reaches the writer's write_seq (a
    // blocking read waits for them: what was unread at its entry says nothing).
    out.push(judged(
        ids::READ_BYTES_MATCH,
        Some(c.seq),
        // One write read by one read is checked; a write read in pieces, or several writes read at once, do not
        // pair: not observable then.
        w.and_then(|(_, (_, n, ws))| ws.filter(|ws| n == ret && (*ws == at.copied_seq || fin_read(*ws))).map(|_| true)),
        w.map(|(o, (wc, n, ws))| {
            format!(
                "the peer sk {} wrote {n} bytes (call {wc}), its write_seq then {}; this read() returned {ret} and left copied_seq at {}{}",
                o.sock,
                ws.map(|v| v.to_string()).unwrap_or_else(|| "?".into()),
                at.copied_seq,
                if ws.is_some_and(fin_read) { " (+1: the peer's FIN, read with the data; the sock is now CLOSE_WAIT)" } else { "" }
            )
        })
        .unwrap_or_default(),
        {
            let mut e = evs;
            if let Some((o, (wc, n, ws))) = w {
                e.push(ev(
                    format!("write() on the peer sk {}", o.sock),
                    format!("call {wc} returned {n}; write_seq after it {}", ws.map(|v| v.to_string()).unwrap_or_else(|| "not read".into())),
                    "tp_btf/sys_exit walk",
                ));
            }
            e
        },
        &if w.is_some() {
            "the peer's last send and this receive do not pair one to one (a write read in pieces, or writes read together)".to_string()
        } else {
            format!("no write() on the peer ({}) is in this run's evidence", ai.peer())
        },
    ));
    out
}

/// The function-level claims (tiers A/B) of read() or write() on a TCP socket.
pub fn chain_claims(dir: Dir) -> &'static [crate::claims::ids::ClaimId] {
    match dir {
        Dir::Write => &[ids::WRITE_CHAIN],
        Dir::Read => &[ids::READ_CHAIN],
    }
}

pub fn judge_chain(c: &Call, dir: Dir, plan: &[crate::probes::chain::FnPlan]) -> Vec<Claim> {
    use super::chainproof::{arg, ret, same, Group};
    let (id, func) = match dir {
        Dir::Write => (ids::WRITE_CHAIN, "tcp_sendmsg"),
        Dir::Read => (ids::READ_CHAIN, "tcp_recvmsg"),
    };
    let sk = c.before.sock.as_ref().map(|s| s.addr);
    vec![same(
        id,
        c,
        vec![
            Group::new("sock").walk("the fd's sock (walk at entry)", sk).func(
                plan,
                func,
                &format!("{func}(sk)"),
                arg(c, func, "struct sock *", 0),
            ),
            Group::number("bytes")
                .walk(&format!("{}() returned", c.syscall), c.ret.map(|r| crate::model::KAddr(r as u64)))
                .func(plan, func, &format!("{func}() returned"), ret(c, func).map(|r| r as i32 as i64 as u64)),
        ],
        vec![],
    )]
}

/// The lesson's bytes chapter: the first write and the read on the other end.
pub fn lesson_steps(w: &[Claim], r: &[Claim]) -> Vec<crate::lesson::Step> {
    use crate::lesson::Step;
    vec![
        Step::new("write and read", "write 4 bytes on the client", "tp_btf/sys_enter + sys_exit walks: write_seq")
            .introduces(&["sequence number"])
            .judged_by(&[ids::WRITE_SEQ], w),
        Step::new(
            "write and read",
            "read them on the server",
            "tp_btf/sys_enter + sys_exit walks: rcv_nxt, copied_seq",
        )
        .judged_by(&[ids::READ_UNREAD, ids::READ_BYTES_MATCH], r),
        Step::new(
            "write and read",
            "follow the sock into TCP's send and receive functions",
            "fexit tcp_sendmsg, tcp_recvmsg",
        )
        .judged_by(&[ids::WRITE_CHAIN, ids::READ_CHAIN], &[w, r].concat()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Verdict;
    use crate::fixtures::{bind_call, named};

    /// A read() of `ret` bytes on fd 3 whose sock held `unread` bytes (from copied_seq 1000) at entry in state
    /// `state`, and `left` after, copied_seq having moved by `copied`.
    fn read_call(state: &str, unread: u32, ret: i64, left: u32, copied: u32) -> Call {
        let mut c = bind_call(4242);
        c.syscall = "read".into();
        c.nr = 0;
        c.ret = Some(ret);
        let set = |w: &mut crate::model::Walk, copied_seq: u32, unread: u32| {
            let s = w.sock.as_mut().expect("sock");
            s.state = named(8, state, "BTF enum");
            let t = s.inet.as_mut().and_then(|i| i.tcp.as_mut()).expect("tcp");
            t.copied_seq = copied_seq;
            t.rcv_nxt = copied_seq.wrapping_add(unread);
            t.unread = unread;
        };
        set(&mut c.before, 1000, unread);
        c.after = c.before.clone();
        set(&mut c.after, 1000 + copied, left);
        c
    }

    fn took_unread(c: &Call) -> Verdict {
        judge_flags(c, Dir::Read, 0, &Life::default())
            .into_iter()
            .find(|k| k.id == ids::READ_UNREAD.id)
            .expect("claim")
            .verdict
    }

    #[test]
    fn a_read_that_takes_the_peer_s_fin_with_the_last_bytes_is_proved_and_a_byte_short_is_not() {
        // The FIN came before the read (CLOSE_WAIT at entry): 73 005 bytes + the FIN's sequence number.
        assert_eq!(took_unread(&read_call("TCP_CLOSE_WAIT", 73_006, 73_005, 0, 73_006)), Verdict::Proved);
        assert_eq!(took_unread(&read_call("TCP_ESTABLISHED", 100, 100, 0, 100)), Verdict::Proved);
        assert_eq!(took_unread(&read_call("TCP_ESTABLISHED", 100, 40, 60, 40)), Verdict::Proved);
        // A half-closed client (FIN_WAIT2) that got the FIN is TIME_WAIT, its full sock TCP_CLOSE: the FIN is queued.
        assert_eq!(took_unread(&read_call("TCP_CLOSE", 11, 10, 0, 11)), Verdict::Proved);
        // No FIN received at entry: one sequence number unaccounted for refutes it.
        assert_eq!(took_unread(&read_call("TCP_ESTABLISHED", 73_006, 73_005, 0, 73_006)), Verdict::Refuted);
        // A FIN, but the read stopped short of it: nothing can explain the missing byte.
        assert_eq!(took_unread(&read_call("TCP_CLOSE_WAIT", 100, 40, 59, 41)), Verdict::Refuted);
    }

    /// A write of `ret` bytes on fd 3 whose sock's write_seq moved by `adv`.
    fn send_call(syscall: &str, ret: i64, adv: u32) -> Call {
        let mut c = read_call("TCP_ESTABLISHED", 0, ret, 0, 0);
        c.syscall = syscall.into();
        for (w, seq) in [(&mut c.before, 5000u32), (&mut c.after, 5000u32.wrapping_add(adv))] {
            if let Some(tcp) = w.sock.as_mut().and_then(|s| s.inet.as_mut()).and_then(|i| i.tcp.as_mut()) {
                tcp.write_seq = seq;
            }
        }
        c
    }

    #[test]
    fn a_peek_or_an_out_of_band_receive_is_not_observable_and_a_plain_one_that_takes_nothing_is_refuted() {
        let peek = read_call("TCP_ESTABLISHED", 100, 4, 100, 0);
        let v = |flags: u64| {
            let k = judge_flags(&peek, Dir::Read, flags, &Life::default());
            k.into_iter().find(|k| k.id == ids::READ_UNREAD.id).expect("claim")
        };
        let k = v(MSG_PEEK);
        assert_eq!(k.verdict, Verdict::NotObservable, "{k:?}");
        assert!(k.reason.as_deref().unwrap_or("").contains("MSG_PEEK"), "{k:?}");
        assert_eq!(v(MSG_OOB).verdict, Verdict::NotObservable);
        // The same evidence without the flag: 4 bytes returned, none taken.
        assert_eq!(v(0).verdict, Verdict::Refuted);
    }

    #[test]
    fn every_send_call_is_judged_by_write_seq_and_a_wrong_advance_refutes_it() {
        for sys in ["write", "sendto", "sendmsg", "writev", "sendfile"] {
            let w = |adv: u32| {
                let c = send_call(sys, 7, adv);
                let imp = crate::syscalls::of(&c).expect("registered");
                let mut life = Life::default();
                let tables = crate::syscalls::socket::claims::SharedTables::default();
                let names = Namer::default();
                let mut counts = crate::syscalls::ChainCounts::default();
                let mut j = crate::syscalls::Judging {
                    names: &names,
                    tables: &tables,
                    life: &mut life,
                    chain: None,
                    chain_why: None,
                    counts: &mut counts,
                };
                let k = imp.judge(&c, &mut j);
                k.into_iter().find(|k| k.id == ids::WRITE_SEQ.id).unwrap_or_else(|| panic!("{sys}: no write.seq"))
            };
            assert_eq!(w(7).verdict, Verdict::Proved, "{sys}");
            assert_eq!(w(6).verdict, Verdict::Refuted, "{sys}");
        }
    }
}
