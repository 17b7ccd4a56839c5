//! What the calls of a TCP connection's life share: which socket and sock each fd holds (from the socket() or
//! accept4() that installed it), every sock's state changes (tp_btf/inet_sock_set_state), the last bytes written on
//! each sock, and the machine's port range and somaxconn. Each syscall's module judges its own claims with it
//! (`bind`, `listen`, `connect`, `accept4`, `rw`, `close`, `getsockname`); the state chains are judged at the end.
//!
//! Memory is bounded: an fd's entry goes with its close(), and at most `MAX_SOCKS` socks are followed (the rest
//! are counted in `unfollowed`).
use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::claims::{ev, ids, judged, Claim, Evidence};
use crate::model::{Call, Freed, InetObj, KAddr, SockObj, SocketObj, StateChange, Walk};
pub use crate::report::{Connection, Connections, SockLife};

/// Socks whose states and ends are followed in one run.
pub const MAX_SOCKS: usize = 256;
/// State changes kept per sock (a sock's life has about eight).
const MAX_STATES: usize = 8192;
/// Sock addresses whose state changes (and writes) are kept.
const TIMELINES: usize = 4096;
/// State changes kept in all (one round of a fast connection loop reuses one address hundreds of times, and its
/// calls are judged a round later: changes go by time, see `prune`, this only bounds a burst).
const MAX_CHANGES: usize = 1 << 16;
/// Writes kept per address.
const MAX_WRITES: usize = 1024;
/// Ends (frees, TIME_WAIT hand-overs) kept per object address.
const MAX_FREES: usize = 8;

/// A failed call's objects, for `release.freed`: its sockets (address, when sock_alloc returned it) and socks
/// (address, when sk_alloc returned it).
#[derive(Debug, Clone)]
pub struct Pending {
    pub call: usize,
    pub sockets: Vec<(KAddr, u64)>,
    pub socks: Vec<(KAddr, u64)>,
}

impl Pending {
    /// Each object with the kind of end that frees it ("socket": sock_free_inode, "sock": __sk_destruct).
    fn objects(&self) -> impl Iterator<Item = (&'static str, KAddr, u64)> + '_ {
        self.sockets.iter().map(|(a, t)| ("socket", *a, *t)).chain(self.socks.iter().map(|(a, t)| ("sock", *a, *t)))
    }
}

/// An accept4() that failed with EMFILE while connections waited.
#[derive(Debug, Clone, Copy)]
pub struct FailedAccept {
    pub call: usize,
    pub waiting: u32,
    pub enter_ns: u64,
    pub exit_ns: u64,
}

/// A failed call's object whose free came: (the call, the object, the freeing function, when).
pub type Resolved = (usize, KAddr, String, u64);

/// One write(): its call, when it returned, the bytes, the sock's write_seq after it.
type Write = (usize, u64, i64, Option<u32>);

/// Whether a call's sock at `l`'s address is another object than the one `l` follows: `l` was closed already, or
/// it holds another struct socket than the call's (`socket`).
fn other_object(l: &SockLife, socket: Option<KAddr>) -> bool {
    l.closed_by.is_some() || matches!((l.socket, socket), (Some(a), Some(b)) if a != b)
}

/// How a socket came to be installed at an fd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// socket() made it.
    BySocket,
    /// accept()/accept4() took it from a listener's queue.
    Accepted,
}

/// What an fd held when a call installed it.
#[derive(Debug, Clone)]
pub struct Installed {
    pub call: usize,
    /// When the installing call returned.
    pub at: u64,
    pub syscall: String,
    pub socket: KAddr,
    pub sock: KAddr,
}

/// The machine's numbers the claims compare with, each with the file it came from.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Sysctls {
    pub port_range: Option<(u16, u16)>,
    pub port_range_text: String,
    pub somaxconn: Option<u32>,
    pub somaxconn_text: String,
}

pub const PORT_RANGE_FILE: &str = "/proc/sys/net/ipv4/ip_local_port_range";
pub const SOMAXCONN_FILE: &str = "/proc/sys/net/core/somaxconn";

impl Sysctls {
    pub fn read() -> Sysctls {
        let pr = std::fs::read_to_string(PORT_RANGE_FILE).unwrap_or_default();
        let mut it = pr.split_whitespace().filter_map(|v| v.parse::<u16>().ok());
        let port_range = match (it.next(), it.next()) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
        let sm = std::fs::read_to_string(SOMAXCONN_FILE).unwrap_or_default();
        Sysctls {
            port_range,
            port_range_text: pr.split_whitespace().collect::<Vec<_>>().join(" "),
            somaxconn: sm.trim().parse().ok(),
            somaxconn_text: sm.trim().to_string(),
        }
    }
}

#[derive(Debug)]
pub struct Life {
    /// Per (pid, fd): the last few installations, oldest first (threads sharing the table reuse an fd at once).
    fds: HashMap<(u32, i32), Vec<Installed>>,
    /// Per child process: its parent and when it forked (the child's fd table starts as a copy of the parent's).
    /// At most MAX_SOCKS.
    forks: HashMap<u32, (u32, u64)>,
    /// Per (pid, fd) of a forked process: when it last closed that fd (its inherited copy is gone). At most MAX_SOCKS.
    closes: HashMap<(u32, i32), u64>,
    pub socks: BTreeMap<KAddr, SockLife>,
    /// Every state change per sock address, in time order (at most MAX_STATES per address, TIMELINES addresses): a
    /// freed sock's address is soon a new sock's, so a life's changes are those of its time window, never "all of
    /// this address's". A child is made by the kernel, and changes state, before accept4 returns it.
    timeline: HashMap<KAddr, std::collections::VecDeque<StateChange>>,
    /// Changes in `timeline`.
    changes: usize,
    /// tcp.states of lives that ended (their address was given to a new sock), waiting to be taken.
    finished: Vec<Claim>,
    /// Per sock address: its last writes, (call, when it returned, bytes, write_seq after it), oldest first.
    writes: HashMap<KAddr, std::collections::VecDeque<Write>>,
    pub unfollowed: u64,
    pub sys: Sysctls,
    /// Why state changes are not recorded here (the tracepoint did not attach); None when they are.
    pub states_missing: Option<String>,
    pub states_seen: u64,
    /// Per object address (struct socket or struct sock): the ends the kernel side saw, oldest first.
    frees: HashMap<KAddr, std::collections::VecDeque<Freed>>,
    /// Closed lives whose address a new sock took before all their frees came (at most MAX_SOCKS).
    retired: Vec<SockLife>,
    /// Failed socket() calls' allocations waiting for their frees (`release.freed`; at most MAX_SOCKS).
    pending: Vec<Pending>,
    /// The frees of judged `pending` objects, for their calls' allocation lists (taken by `take_resolved`).
    resolved: Vec<Resolved>,
    /// Per listener sock: the last accept4() on it that failed with EMFILE while a connection waited (its call,
    /// sk_ack_backlog at its entry, when it entered and returned), until the listener's next accept4() succeeds or
    /// its address goes to a new sock (`accept.kept_waiting`). At most MAX_SOCKS (the oldest goes first).
    accept_failed: HashMap<KAddr, FailedAccept>,
    /// Why no object's end is watched in this run (tier C, or no end function on this kernel); None when they are.
    pub frees_why: Option<String>,
    /// End functions this kernel lacks (the others are watched).
    pub frees_partial: Vec<String>,
}

impl Default for Life {
    fn default() -> Self {
        Life::new(Sysctls::read())
    }
}

impl Life {
    pub fn new(sys: Sysctls) -> Self {
        Life {
            fds: HashMap::new(),
            forks: HashMap::new(),
            closes: HashMap::new(),
            socks: BTreeMap::new(),
            timeline: HashMap::new(),
            changes: 0,
            finished: Vec::new(),
            writes: HashMap::new(),
            unfollowed: 0,
            sys,
            states_missing: None,
            states_seen: 0,
            frees: HashMap::new(),
            retired: Vec::new(),
            pending: Vec::new(),
            resolved: Vec::new(),
            accept_failed: HashMap::new(),
            frees_why: None,
            frees_partial: Vec::new(),
        }
    }

    /// An object's end as it arrives (from any context, any time after the close).
    pub fn freed(&mut self, f: Freed) {
        if self.frees.len() >= TIMELINES && !self.frees.contains_key(&f.addr) {
            let oldest = self.frees.iter().min_by_key(|(_, v)| v.back().map(|x| x.ts_ns)).map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.frees.remove(&k);
                self.unfollowed += 1;
            }
        }
        let v = self.frees.entry(f.addr).or_default();
        if v.len() >= MAX_FREES {
            v.pop_front();
        }
        v.push_back(f);
    }

    /// The first end of `what` kind of object `addr` at or after `since`.
    fn end_of(&self, addr: KAddr, what: &str, since: u64) -> Option<&Freed> {
        self.frees.get(&addr)?.iter().find(|f| f.what == what && f.ts_ns >= since)
    }

    /// Closed lives whose watched objects' frees have not all arrived (the session waits a little for them: the
    /// kernel frees after an RCU grace period, or when the peer's last packet is processed).
    pub fn awaiting_frees(&self) -> usize {
        self.socks.values().chain(&self.retired).filter(|l| self.awaits(l)).count()
            + self.pending.iter().filter(|p| !self.pending_done(p)).count()
    }

    /// A failed call released these sockets: `release.freed` is judged when their frees are in (or at the end).
    pub fn expect_freed(&mut self, p: Pending) {
        if p.sockets.is_empty() && p.socks.is_empty() {
            return;
        }
        if self.frees_why.is_some() || self.unwatched("socket").is_some() {
            let k = self.judge_release_freed(&p);
            self.finished.push(k);
            return;
        }
        if self.pending.len() >= MAX_SOCKS {
            let oldest = self.pending.remove(0);
            self.resolve(&oldest);
            let k = self.judge_release_freed(&oldest);
            self.finished.push(k);
        }
        self.pending.push(p);
    }

    /// Whether every object of `p` whose kind of free is watched here has had its free.
    fn pending_done(&self, p: &Pending) -> bool {
        p.objects().all(|(what, a, t)| self.unwatched(what).is_some() || self.end_of(a, what, t).is_some())
    }

    /// Notes the frees of `p`'s objects that came, for the call's allocation list.
    fn resolve(&mut self, p: &Pending) {
        let got: Vec<Resolved> = p
            .objects()
            .filter_map(|(what, a, t)| self.end_of(a, what, t).map(|f| (p.call, a, f.func.clone(), f.ts_ns)))
            .collect();
        self.resolved.extend(got);
    }

    /// The frees of failed calls' objects noted since the last time (those still pending included when `all`: at
    /// the end).
    pub fn take_resolved(&mut self, all: bool) -> Vec<Resolved> {
        if all {
            for p in std::mem::take(&mut self.pending) {
                self.resolve(&p);
                self.pending.push(p);
            }
        }
        std::mem::take(&mut self.resolved)
    }

    fn judge_release_freed(&self, p: &Pending) -> Claim {
        let why = self.frees_why.clone().or_else(|| self.unwatched("socket").cloned());
        if let Some(why) = why {
            return judged(ids::RELEASE_FREED, Some(p.call), None, String::new(), vec![], &why);
        }
        let mut evidence = Vec::new();
        let (mut seen, mut total) = ([0usize; 2], [0usize; 2]);
        for (what, a, t) in p.objects() {
            let (i, by, func) = if what == "socket" {
                (0, "sock_alloc returned it", "sock_free_inode")
            } else {
                (1, "sk_alloc returned it", "__sk_destruct")
            };
            total[i] += 1;
            match self.end_of(a, what, t) {
                Some(f) => {
                    seen[i] += 1;
                    evidence.push(free_evidence(f, t, by));
                }
                None => evidence.push(ev(format!("{what} {a}"), "no free seen", format!("fentry or kprobe {func}"))),
            }
        }
        // A sock's free that cannot be watched here leaves the claim (about both) unsettled, never ✓.
        let sock_unwatched = (total[1] > 0).then(|| self.unwatched("sock")).flatten();
        let all = seen == total && sock_unwatched.is_none();
        let missing = seen != total;
        let why = match sock_unwatched {
            Some(w) if !missing => format!("the socket's free was seen, but the sock's is not watched here: {w}"),
            _ => "a free was not seen before tracing stopped (the kernel frees after an RCU grace period; syswalk waits up to 3 s after the target ends)".into(),
        };
        judged(
            ids::RELEASE_FREED,
            Some(p.call),
            all.then_some(true),
            format!(
                "{} of {} allocated socket(s) freed by sock_free_inode; {} of {} sock(s) by __sk_destruct",
                seen[0], total[0], seen[1], total[1]
            ),
            evidence,
            &why,
        )
    }

    /// From when a life's objects exist (a free at their address before that was an earlier object's).
    fn lower(l: &SockLife) -> u64 {
        l.installed_at.unwrap_or(l.since_ns)
    }

    /// Why `what` ("socket", "sock") frees are not watched on this kernel (its function absent or not attached).
    fn unwatched(&self, what: &str) -> Option<&String> {
        let f = if what == "socket" { "sock_free_inode" } else { "__sk_destruct" };
        self.frees_partial.iter().find(|w| w.contains(f))
    }

    /// A closed life one of whose watched, watchable objects has no free yet.
    fn awaits(&self, l: &SockLife) -> bool {
        if self.frees_why.is_some() || l.closed_by.is_none() {
            return false;
        }
        let lo = Self::lower(l);
        let socket = l.watched.0
            && self.unwatched("socket").is_none()
            && l.socket.is_some_and(|s| self.end_of(s, "socket", lo).is_none());
        let sock = l.watched.1 && self.unwatched("sock").is_none() && self.end_of(l.sock, "sock", lo).is_none();
        socket || sock
    }

    /// A state change as it arrives (before the calls it happened in are judged).
    pub fn state(&mut self, s: StateChange) {
        self.states_seen += 1;
        if self.timeline.len() >= TIMELINES && !self.timeline.contains_key(&s.sock) {
            // The address quiet longest gives its place.
            let oldest = self.timeline.iter().min_by_key(|(_, v)| v.back().map(|x| x.ts_ns)).map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.timeline.remove(&k);
                self.unfollowed += 1;
            }
        }
        if self.changes >= MAX_CHANGES {
            self.unfollowed += 1;
            return;
        }
        let v = self.timeline.entry(s.sock).or_default();
        if v.len() >= MAX_STATES {
            v.pop_front();
            self.changes -= 1;
            self.unfollowed += 1;
        }
        v.push_back(s);
        self.changes += 1;
    }

    /// Forgets what no call still to be judged can ask for: state changes and writes older than `before` (the
    /// oldest call not yet judged entered then), except those of a followed life not yet judged.
    pub fn prune(&mut self, before: u64) {
        let keep_from: HashMap<KAddr, u64> = self.socks.values().map(|l| (l.sock, l.since_ns)).collect();
        let mut dropped = 0;
        self.timeline.retain(|a, v| {
            let from = keep_from.get(a).map_or(before, |s| (*s).min(before));
            while v.front().is_some_and(|s| s.ts_ns < from) {
                v.pop_front();
                dropped += 1;
            }
            !v.is_empty()
        });
        self.changes -= dropped;
        // Ends are kept for the lives still followed (by their socket's address too), the rest go by time.
        let mut keep_ends: HashMap<KAddr, u64> = keep_from.clone();
        for p in &self.pending {
            for (_, a, t) in p.objects() {
                keep_ends.insert(a, t);
            }
        }
        for l in self.socks.values().chain(&self.retired) {
            keep_ends.insert(l.sock, l.since_ns);
            if let Some(s) = l.socket {
                keep_ends.insert(s, l.since_ns);
            }
        }
        self.frees.retain(|a, v| {
            let from = keep_ends.get(a).map_or(before, |s| (*s).min(before));
            while v.front().is_some_and(|f| f.ts_ns < from) {
                v.pop_front();
            }
            !v.is_empty()
        });
        self.writes.retain(|_, v| {
            // The latest write before `before` may still be the peer's last one: keep it.
            while v.len() > 1 && v.get(1).is_some_and(|w| w.1 < before) {
                v.pop_front();
            }
            !v.is_empty()
        });
    }

    /// The state changes of one life: from its start, up to and with the first one into TCP_CLOSE.
    pub fn life_states(&self, l: &SockLife) -> Vec<StateChange> {
        let mut out = Vec::new();
        for s in self.timeline.get(&l.sock).into_iter().flatten().filter(|s| s.ts_ns >= l.since_ns) {
            out.push(s.clone());
            if s.new.name.as_deref() == Some("TCP_CLOSE") {
                break;
            }
        }
        out
    }

    /// The closed life at `addr` ends (a new sock took the address): its states are judged now (the address's
    /// timeline is the new sock's from here), its frees when they are all in (the socket inode goes after an RCU
    /// grace period, maybe after this).
    /// The EMFILE accept4() on listener `lsk` whose connection `c` (a later accept4 on it) should have taken.
    pub fn failed_accept_before(&self, lsk: KAddr, c: &Call) -> Option<FailedAccept> {
        self.accept_failed.get(&lsk).filter(|f| c.enter_ns.is_some_and(|t| t > f.exit_ns)).copied()
    }

    fn retire(&mut self, addr: KAddr) {
        // A new sock at this address: an old listener's failed accept is not the new one's.
        self.accept_failed.remove(&addr);
        let Some(old) = self.socks.remove(&addr) else { return };
        self.finished.extend(self.judge_states_of(&old));
        if self.awaits(&old) {
            if self.retired.len() >= MAX_SOCKS {
                let oldest = self.retired.remove(0);
                self.finished.extend(self.judge_freed(&oldest));
            }
            self.retired.push(old);
        } else {
            self.finished.extend(self.judge_freed(&old));
        }
    }

    /// tcp.states of lives that ended since the last call (their address was reused), and close.freed of those
    /// whose frees are all in.
    pub fn take_finished(&mut self) -> Vec<Claim> {
        let (done, still): (Vec<SockLife>, Vec<SockLife>) =
            std::mem::take(&mut self.retired).into_iter().partition(|l| !self.awaits(l));
        self.retired = still;
        for l in &done {
            let k = self.judge_freed(l);
            self.finished.extend(k);
        }
        let (done, still): (Vec<Pending>, Vec<Pending>) =
            std::mem::take(&mut self.pending).into_iter().partition(|p| self.pending_done(p));
        self.pending = still;
        for p in &done {
            self.resolve(p);
            let k = self.judge_release_freed(p);
            self.finished.push(k);
        }
        std::mem::take(&mut self.finished)
    }

    fn follow(&mut self, sock: KAddr, pid: u32, role: &str, since: u64) -> Option<&mut SockLife> {
        if sock.is_null() {
            return None;
        }
        if !self.socks.contains_key(&sock) {
            if self.socks.len() >= MAX_SOCKS {
                self.unfollowed += 1;
                return None;
            }
            self.socks.insert(
                sock,
                SockLife {
                    sock,
                    socket: None,
                    pid,
                    fd: None,
                    made_by: None,
                    role: role.into(),
                    local: None,
                    peer: None,
                    bind_bucket: None,
                    states: Vec::new(),
                    closed_by: None,
                    since_ns: since,
                    freed: Vec::new(),
                    closed_at: None,
                    installed_at: None,
                    watched: (false, false),
                },
            );
        }
        self.socks.get_mut(&sock)
    }

    /// What a judged call tells the tracker (after its own claims were judged against the state before it): its
    /// syscall's `Syscall::record`.
    pub fn record(&mut self, c: &Call) {
        if let Some(s) = super::of(c) {
            s.record(c, self);
        }
    }

    /// A call as soon as it completed (before the calls that completed with it are judged): its syscall's
    /// `Syscall::completed`.
    pub fn completed(&mut self, c: &Call) {
        if let Some(s) = super::of(c) {
            s.completed(c, self);
        }
    }

    /// An accept's outcome on its listener (recorded before what it installed): a failure for want of an fd
    /// (EMFILE) while connections wait is remembered, and the next success after it clears it.
    pub fn record_accept(&mut self, c: &Call) {
        let ok = c.ret.is_some_and(|r| r >= 0);
        if let Some(lsk) = c.before.sock.as_ref() {
            let emfile = c.errno.as_ref().and_then(|e| e.name.as_deref()) == Some("EMFILE");
            // A success that entered after the failed call returned takes its turn (one blocked before it
            // does not).
            let after_failed = |f: &FailedAccept| c.enter_ns.is_some_and(|t| t > f.exit_ns);
            if ok && self.accept_failed.get(&lsk.addr).is_some_and(after_failed) {
                self.accept_failed.remove(&lsk.addr);
            } else if emfile && lsk.ack_backlog > 0 {
                if self.accept_failed.len() >= MAX_SOCKS {
                    if let Some(old) = self.accept_failed.iter().min_by_key(|(_, f)| f.call).map(|(a, _)| *a) {
                        self.accept_failed.remove(&old);
                    }
                }
                let f = FailedAccept {
                    call: c.seq,
                    waiting: lsk.ack_backlog,
                    enter_ns: c.enter_ns.unwrap_or(0),
                    exit_ns: c.exit_ns.unwrap_or(u64::MAX),
                };
                self.accept_failed.insert(lsk.addr, f);
            }
        }
    }

    /// A new socket installed at the fd the call returned: made by socket() (`Made::BySocket`) or a connection
    /// accepted from a listener (`Made::Accepted`, the listener being the fd the call named).
    pub fn record_install(&mut self, c: &Call, made: Made) {
        if c.ret.is_none_or(|r| r < 0) {
            return;
        }
        let fd = c.ret.unwrap_or(-1) as i32;
        let (Some(so), Some(sk)) = (c.after.socket.as_ref(), c.after.sock.as_ref()) else { return };
        let v = self.fds.entry((c.pid, fd)).or_default();
        if v.len() >= 4 {
            v.remove(0);
        }
        v.push(Installed {
            call: c.seq,
            at: c.exit_ns.unwrap_or(0),
            syscall: c.syscall.clone(),
            socket: so.addr,
            sock: sk.addr,
        });
        let role = match made {
            Made::BySocket => "socket",
            Made::Accepted => "accepted",
        };
        // An address given to a new sock: a new life (its old states and writes are not its). The kernel
        // reusing the address proves the old sock was freed, whether or not a traced close() was seen (a
        // forked child that exits without close(), or a close() of a file another process still held).
        if self.socks.get(&sk.addr).is_some_and(|l| l.made_by != Some(c.seq)) {
            // (Its writes stay: they are found by time, and later ones may already be known.)
            self.retire(sk.addr);
        }
        // A new sock's life starts at its socket() call; a child's at the change that made it (LISTEN →
        // SYN_RECV, made by the kernel before accept4 returned it).
        let enter = c.enter_ns.unwrap_or(0);
        let since = if made == Made::BySocket {
            enter
        } else {
            let exit = c.exit_ns.unwrap_or(u64::MAX);
            self.timeline
                .get(&sk.addr)
                .and_then(|v| v.iter().rev().find(|s| s.ts_ns <= exit && s.old.name.as_deref() == Some("TCP_LISTEN")))
                .map(|s| s.ts_ns)
                .unwrap_or(enter)
        };
        if let Some(l) = self.follow(sk.addr, c.pid, role, since) {
            l.installed_at = c.exit_ns;
            l.socket = Some(so.addr);
            l.fd = Some(fd);
            l.made_by = Some(c.seq);
            l.local = sk.inet.as_ref().map(InetObj::local);
            l.peer = sk.inet.as_ref().filter(|i| i.dport != 0).map(InetObj::peer);
        }
        if made == Made::Accepted {
            if let Some(lsk) = c.before.sock.as_ref() {
                if let Some(l) = self.follow(lsk.addr, c.pid, "listener", c.enter_ns.unwrap_or(0)) {
                    l.role = "listener".into();
                }
            }
        }
    }

    /// A call on a socket's fd (bind, listen, connect, getsockname, read, write, setsockopt): the sock it reached,
    /// its addresses and bind bucket; `role` when the call gave the sock one (a listener, a client) and succeeded.
    pub fn record_use(&mut self, c: &Call, role: Option<&'static str>) {
        let ok = c.ret.is_some_and(|r| r >= 0);
        let role = role.filter(|_| ok);
        let Some(sk) = c.after.sock.as_ref().or(c.before.sock.as_ref()) else { return };
        // A closed life, or one holding another struct socket, at this address is an earlier object's (see
        // `record_close`): this call's sock is a new one no traced call made.
        let socket = c.after.socket.as_ref().or(c.before.socket.as_ref()).map(|s| s.addr);
        if self.socks.get(&sk.addr).is_some_and(|l| other_object(l, socket)) {
            self.retire(sk.addr);
            if let Some(l) = self.follow(sk.addr, c.pid, "socket", c.enter_ns.unwrap_or(0)) {
                l.socket = socket;
            }
        }
        if let Some(l) = self.follow(sk.addr, c.pid, role.unwrap_or("socket"), c.enter_ns.unwrap_or(0)) {
            if let Some(r) = role {
                l.role = r.into();
            }
            if let Some(i) = sk.inet.as_ref() {
                l.local = Some(i.local());
                l.peer = (i.dport != 0).then(|| i.peer());
                if let Some(t) = i.tcp.as_ref().filter(|t| !t.bind_bucket.is_null()) {
                    l.bind_bucket = Some((t.bind_bucket, t.bind_bucket_port));
                }
            }
        }
    }

    /// A successful close(): the fd's installations end; a socket's life is closed unless its file is still held.
    pub fn record_close(&mut self, c: &Call) {
        if c.ret.is_none_or(|r| r < 0) {
            return;
        }
        let fd0 = c.args.first().map(|a| a.value.raw as i32);
        if let Some(fd) = fd0 {
            // What this close released: the installations before it entered (a later one is another
            // thread's, made after the fd was freed).
            let t = c.enter_ns.unwrap_or(u64::MAX);
            let room = self.closes.len() < MAX_SOCKS || self.closes.contains_key(&(c.pid, fd));
            if self.forks.contains_key(&c.pid) && room {
                self.closes.insert((c.pid, fd), t);
            }
            if let Some(v) = self.fds.get_mut(&(c.pid, fd)) {
                v.retain(|i| i.at > t);
                if v.is_empty() {
                    self.fds.remove(&(c.pid, fd));
                }
            }
        }
        if let Some(sk) = c.before.sock.as_ref() {
            let snapped =
                |a: KAddr| c.chain.iter().any(|f| f.entry_objects.iter().chain(&f.exit_objects).any(|o| o.addr == a));
            let socket = c.before.socket.as_ref().map(|s| s.addr);
            let watched = (socket.is_some_and(snapped), snapped(sk.addr));
            // A file other fds or processes still hold (a forked child closing the listener it inherited)
            // only loses one reference: its socket lives on.
            let shared_file = c.before.file.as_ref().is_some_and(|f| f.f_count > 1);
            // The life at this address is another object's when it was closed already or holds another struct
            // socket: the kernel freed that one and gave its address to a sock no traced call made (a
            // socketpair's, say). That life ends here; this close begins and ends one of its own.
            if !shared_file && self.socks.get(&sk.addr).is_some_and(|l| other_object(l, socket)) {
                self.retire(sk.addr);
                if let Some(l) = self.follow(sk.addr, c.pid, "socket", c.enter_ns.unwrap_or(0)) {
                    l.socket = socket;
                }
            }
            if let Some(l) = self.socks.get_mut(&sk.addr).filter(|_| !shared_file) {
                l.closed_by = Some(c.seq);
                l.closed_at = c.enter_ns;
                l.watched = watched;
                l.fd = None;
            }
        }
    }

    /// A write() as soon as it completed (before the calls that completed with it are judged): it is known to the
    /// peer's read() that returned while the write was still returning (another thread or process).
    pub fn record_write(&mut self, c: &Call) {
        if c.ret.is_none_or(|r| r < 0) {
            return;
        }
        let Some(sk) = c.after.sock.as_ref() else { return };
        let seq = sk.inet.as_ref().and_then(|i| i.tcp.as_ref()).map(|t| t.write_seq);
        if self.writes.len() < TIMELINES || self.writes.contains_key(&sk.addr) {
            let v = self.writes.entry(sk.addr).or_default();
            if v.len() >= MAX_WRITES {
                v.pop_front();
            }
            v.push_back((c.seq, c.exit_ns.unwrap_or(0), c.ret.unwrap_or(0), seq));
        }
    }

    /// What socket() or accept4() last installed at (pid, fd) before `before` (a call's entry), if this run saw it.
    pub fn installed(&self, pid: u32, fd: i32, before: Option<u64>) -> Option<&Installed> {
        let mut t = before.unwrap_or(u64::MAX);
        let mut pid = pid;
        // A forked child's fds were its parent's at the fork: follow the ancestry (bounded) to who installed it.
        for _ in 0..8 {
            if let Some(i) = self.fds.get(&(pid, fd)).and_then(|v| v.iter().rev().find(|i| i.at <= t)) {
                return Some(i);
            }
            // This process closed the fd (before `t`) after it inherited it: the parent's is not its any more.
            if self.closes.get(&(pid, fd)).is_some_and(|&at| at <= t) {
                return None;
            }
            let &(parent, at) = self.forks.get(&pid)?;
            (pid, t) = (parent, t.min(at));
        }
        None
    }

    /// Process `child` was forked by `parent` at `at` (its fd table a copy of the parent's then).
    pub fn forked(&mut self, parent: u32, child: u32, at: u64) {
        if self.forks.len() >= MAX_SOCKS && !self.forks.contains_key(&child) {
            if let Some(k) = self.forks.iter().min_by_key(|(_, v)| v.1).map(|(k, _)| *k) {
                self.forks.remove(&k);
            }
        }
        self.forks.insert(child, (parent, at));
    }

    /// State changes of `sock` between two times (a call's entry and exit).
    pub fn states_in(&self, sock: KAddr, from: Option<u64>, to: Option<u64>) -> Vec<&StateChange> {
        let lo = from.unwrap_or(0);
        let hi = to.unwrap_or(u64::MAX);
        self.timeline
            .get(&sock)
            .map(|v| v.iter().filter(|s| s.ts_ns >= lo && s.ts_ns <= hi).collect())
            .unwrap_or_default()
    }

    /// The followed sock whose local address:port is `peer` and whose peer is `local`: the other end.
    /// Found by the addresses its calls' walks left, or else by those its own state changes carried: a client whose
    /// connect() has not been judged yet (it returned after the server's accept4(), or in a later batch of events)
    /// is still the other end — the order calls are judged in must not decide what is observable.
    pub fn other_end(&self, me: KAddr, local: &str, peer: &str) -> Option<&SockLife> {
        let by_walk = self
            .socks
            .values()
            .find(|l| l.sock != me && l.local.as_deref() == Some(peer) && l.peer.as_deref() == Some(local));
        by_walk.or_else(|| {
            // Only a life still open, whose own addresses (if walked) are these: a closed one's address may be a
            // new, untraced sock's now, and its state changes would be that sock's.
            self.socks.values().find(|l| {
                l.sock != me
                    && l.closed_by.is_none()
                    && l.peer.as_deref().is_none_or(|p| p == local)
                    // (an unbound sock's walk reads 0.0.0.0:0: its port is not chosen yet, nothing to compare)
                    && l.local.as_deref().is_none_or(|a| a.ends_with(":0") || a == peer)
                    && self
                        .timeline
                        .get(&l.sock)
                        .is_some_and(|v| v.iter().any(|s| s.ts_ns >= l.since_ns && s.local == peer && s.peer == local))
            })
        })
    }

    /// The followed listener bound to `addr`.
    /// A listener bound to the wildcard listens at every address of its family and port: 0.0.0.0 at IPv4 ones,
    /// [::] at IPv6 ones (IPv4 too unless IPV6_V6ONLY, which is not read: such a match is not claimed).
    pub fn listener_at(&self, addr: &str) -> Option<&SockLife> {
        let port = |a: &str| a.rsplit_once(':').map(|(h, p)| (h.to_string(), p.to_string()));
        let want = port(addr)?;
        let listens = |l: &SockLife| {
            let Some((h, p)) = l.local.as_deref().and_then(port) else { return false };
            let v6 = want.0.starts_with('[');
            // Only a connection to this host can reach a wildcard listener of it (a remote peer's port is its own).
            let local = want.0.starts_with("127.") || want.0 == "[::1]" || want.0.starts_with("[::ffff:127.");
            p == want.1 && (h == want.0 || (local && ((h == "0.0.0.0" && !v6) || (h == "[::]" && v6))))
        };
        let open = |l: &&SockLife| l.role == "listener" && l.closed_by.is_none();
        // The exact address first, then a wildcard one.
        self.socks
            .values()
            .filter(open)
            .find(|l| l.local.as_deref() == Some(addr))
            .or_else(|| self.socks.values().filter(open).find(|l| listens(l)))
    }

    /// The last write() on `sock` that returned before `before`: (call, bytes, the sock's write_seq after it).
    pub fn last_write(&self, sock: KAddr, before: u64) -> Option<(usize, i64, Option<u32>)> {
        let since = self.socks.get(&sock).map_or(0, |l| l.since_ns);
        self.writes.get(&sock)?.iter().rev().find(|w| w.1 <= before && w.1 >= since).map(|w| (w.0, w.2, w.3))
    }

    /// Whether `sock` entered `state` at or before `t`, in the life that began at `since`: None when no state
    /// change of it in that span was seen at all (nothing to decide from).
    pub fn reached(&self, sock: KAddr, since: u64, t: u64, state: &str) -> Option<bool> {
        let mut seen = self.timeline.get(&sock)?.iter().filter(|s| s.ts_ns <= t && s.ts_ns >= since).peekable();
        seen.peek()?;
        Some(seen.any(|s| s.new.name.as_deref() == Some(state)))
    }

    /// The last state `sock` reached at or before `t`, in the life that began at `since`.
    pub fn state_at(&self, sock: KAddr, since: u64, t: u64) -> Option<String> {
        self.timeline
            .get(&sock)?
            .iter()
            .rev()
            .find(|s| s.ts_ns <= t && s.ts_ns >= since)
            .and_then(|s| s.new.name.clone())
    }

    /// What the report shows of the run's socks: each followed one, and the pairs that are two ends of one
    /// connection.
    pub fn view(&self) -> Option<Connections> {
        if self.socks.is_empty() {
            return None;
        }
        let mut socks: Vec<SockLife> = self
            .socks
            .values()
            .map(|l| SockLife { states: self.life_states(l), freed: self.ends(l), ..l.clone() })
            .collect();
        socks.sort_by_key(|s| (s.made_by.unwrap_or(usize::MAX), s.sock));
        Some(Connections {
            socks,
            pairs: self.pairs(),
            state_changes: self.states_seen,
            unfollowed: self.unfollowed,
            states_missing: self.states_missing.clone(),
        })
    }

    /// The pairs of followed socks that are two ends of one connection.
    pub fn pairs(&self) -> Vec<Connection> {
        let mut out = Vec::new();
        for a in self.socks.values() {
            let (Some(al), Some(ap)) = (a.local.as_deref(), a.peer.as_deref()) else { continue };
            if let Some(b) = self.other_end(a.sock, al, ap) {
                if a.sock < b.sock {
                    out.push(Connection { a: a.sock, b: b.sock, a_local: al.into(), b_local: ap.into() });
                }
            }
        }
        out
    }

    /// `tcp.states` for every followed TCP sock that changed state (lives that ended earlier were judged then: see
    /// `take_finished`): the changes form one chain (each starts where the last ended) that ends in TCP_CLOSE.
    pub fn judge_states(&self) -> Vec<Claim> {
        let mut v: Vec<Claim> = self.socks.values().flat_map(|l| self.judge_life(l)).collect();
        v.extend(self.retired.iter().filter_map(|l| self.judge_freed(l)));
        v.extend(self.pending.iter().map(|p| self.judge_release_freed(p)));
        v
    }

    /// The ends of a life's socket and sock seen since it began, in time order.
    fn ends(&self, l: &SockLife) -> Vec<Freed> {
        let mut v: Vec<Freed> = [Some(l.sock), l.socket]
            .into_iter()
            .flatten()
            .filter_map(|a| self.frees.get(&a))
            .flatten()
            .filter(|f| f.ts_ns >= l.since_ns)
            .cloned()
            .collect();
        v.sort_by_key(|f| f.ts_ns);
        v
    }

    /// Every claim of a life that ended or was still followed at the end: its states, and (closed) its frees.
    fn judge_life(&self, l: &SockLife) -> Vec<Claim> {
        let mut out: Vec<Claim> = self.judge_states_of(l).into_iter().collect();
        out.extend(self.judge_freed(l));
        out
    }

    /// `close.freed`: after the close, sock_free_inode got the closed socket and __sk_destruct its sock.
    fn judge_freed(&self, l: &SockLife) -> Option<Claim> {
        let closed = l.closed_by?;
        if let Some(why) = &self.frees_why {
            return Some(judged(ids::CLOSE_FREED, Some(closed), None, String::new(), vec![], why));
        }
        let at = l.closed_at.unwrap_or(l.since_ns);
        let lo = Self::lower(l);
        let socket = l.socket.and_then(|s| self.end_of(s, "socket", lo));
        let sock = self.end_of(l.sock, "sock", lo);
        let tw = self.end_of(l.sock, "time_wait", lo);
        if socket.is_none() && sock.is_none() && !(l.watched.0 && l.watched.1) {
            return Some(judged(
                ids::CLOSE_FREED,
                Some(closed),
                None,
                String::new(),
                vec![],
                "its close() released nothing the chain saw (no __sock_release/tcp_close frames: another reference kept the file — dup, fork, SCM_RIGHTS — or the call was past the evidence budget), so its objects were not watched",
            ));
        }
        if let Some(why) = [("socket", socket.is_none()), ("sock", sock.is_none())]
            .iter()
            .find_map(|(w, missing)| missing.then(|| self.unwatched(w)).flatten())
        {
            return Some(judged(ids::CLOSE_FREED, Some(closed), None, String::new(), vec![], why));
        }
        let after = |f: &Freed| (f.ts_ns as f64 - at as f64) / 1e6;
        let evidence: Vec<Evidence> =
            [tw, socket, sock].into_iter().flatten().map(|f| free_evidence(f, at, "close() entered")).collect();
        let early = [socket, sock].into_iter().flatten().any(|f| f.ts_ns < at);
        // A life syswalk did not see made (no traced socket()/accept: a socketpair, a socket from before tracing)
        // is known only by its address from its first traced use: a free before the close may be that of an
        // earlier object the kernel freed at the same address, unseen by the calls. Only a life whose installation
        // was traced is one object from that moment on.
        let ok = if early && l.installed_at.is_none() {
            None
        } else if early {
            Some(false)
        } else if socket.is_some() && sock.is_some() {
            Some(true)
        } else {
            None
        };
        let finding = format!(
            "socket {} {}; sock {} {}{}",
            l.socket.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
            socket
                .map(|f| format!("freed by {} {:.3} ms after close()", f.func, after(f)))
                .unwrap_or_else(|| "free not seen".into()),
            l.sock,
            sock.map(|f| format!("freed by {} {:.3} ms after close()", f.func, after(f)))
                .unwrap_or_else(|| "free not seen".into()),
            tw.map(|f| format!(" (first handed to TIME_WAIT by {})", f.func)).unwrap_or_default()
        );
        let why = if early {
            "a free came before this close(), but the sock was not seen made by a traced call (socketpair, or made before tracing): the address may have held an earlier object the kernel freed, so which object was freed is not known"
        } else {
            "a free was not seen before tracing stopped (the kernel frees after an RCU grace period, or when the peer's last packet is processed; syswalk waits up to 3 s after the target ends; a free is also missed when its ring buffer was full — counted in stats.lost — or when more than 8192 watched objects pushed it out of the watch map)"
        };
        Some(judged(ids::CLOSE_FREED, Some(closed), ok, finding, evidence, why))
    }

    fn judge_states_of(&self, l: &SockLife) -> Option<Claim> {
        let states = self.life_states(l);
        if states.is_empty() {
            return self
                .states_missing
                .as_ref()
                .map(|why| judged(ids::TCP_STATES, l.made_by, None, String::new(), vec![], why));
        }
        let chain: Vec<String> = std::iter::once(states[0].old.name.clone().unwrap_or_default())
            .chain(states.iter().map(|s| s.new.name.clone().unwrap_or_default()))
            .collect();
        let linked = states.windows(2).all(|w| w[0].new.raw == w[1].old.raw);
        // From its beginning: a new sock leaves TCP_CLOSE; a child is cloned from its listener (LISTEN → SYN_RECV).
        let from_birth = states[0].old.name.as_deref() == Some("TCP_CLOSE")
            || (states[0].old.name.as_deref() == Some("TCP_LISTEN")
                && states[0].new.name.as_deref() == Some("TCP_SYN_RECV"));
        let ends_closed = states.last().is_some_and(|s| s.new.name.as_deref() == Some("TCP_CLOSE"));
        let evidence: Vec<Evidence> = states
            .iter()
            .map(|s| {
                ev(
                    format!("{} → {}", s.old.show(), s.new.show()),
                    format!(
                        "sk {} · {} ↔ {} · pid {} tid {} \"{}\" · t={} ns",
                        s.sock, s.local, s.peer, s.pid, s.tid, s.comm, s.ts_ns
                    ),
                    "tp_btf/inet_sock_set_state",
                )
            })
            .collect();
        let finding = format!(
            "sk {} ({}, {}): {}{}",
            l.sock,
            l.role,
            l.local.as_deref().unwrap_or("?"),
            chain.join(" → "),
            if ends_closed { "" } else { " — not closed when the run ended" }
        );
        // A sock still open at the end (a server that runs on) is not a refutation: it has not ended yet.
        let ok = if !linked {
            Some(false)
        } else if ends_closed && from_birth {
            Some(true)
        } else {
            None
        };
        Some(judged(
            ids::TCP_STATES,
            l.made_by,
            ok,
            finding,
            evidence,
            if from_birth {
                "the sock had not reached TCP_CLOSE when tracing stopped"
            } else {
                "the sock's first state changes were not seen (it began before tracing, or they were not recorded)"
            },
        ))
    }
}

/// One end of an object as evidence: the function and its argument, the object derived from it (with the BTF
/// offset), how long after `since` (what `since_what` names), and the context it ran in.
fn free_evidence(f: &Freed, since: u64, since_what: &str) -> Evidence {
    let ms = (f.ts_ns as f64 - since as f64) / 1e6;
    let ctx = if f.pid == 0 {
        format!("cpu {} idle/softirq", f.cpu)
    } else {
        format!("cpu {} in pid {} tid {} \"{}\"", f.cpu, f.pid, f.tid, f.comm)
    };
    let off = f.arg.0.wrapping_sub(f.addr.0);
    let (what, value) = match f.what.as_ref() {
        "socket" => (
            format!("sock_free_inode(inode {})", f.arg),
            format!("socket {} = inode − {off:#x} (offsetof(struct socket_alloc, vfs_inode), BTF)", f.addr),
        ),
        "sock" => (
            format!("__sk_destruct(rcu_head {})", f.arg),
            format!("sock {} = head − {off:#x} (offsetof(struct sock, sk_rcu), BTF)", f.addr),
        ),
        _ => (
            format!("tcp_time_wait(sk {}, {})", f.arg, f.state.as_ref().map(|s| s.show()).unwrap_or_default()),
            "the connection handed to a TIME_WAIT sock".to_string(),
        ),
    };
    ev(what, format!("{value} · {ms:.3} ms after {since_what}, {ctx}"), f.probe.clone())
}

/// The socket and sock a walk found.
pub fn objs(w: &Walk) -> (Option<&SocketObj>, Option<&SockObj>) {
    (w.socket.as_ref(), w.sock.as_ref())
}

/// A port inside the range, with the range's evidence.
pub fn in_range(sys: &Sysctls, port: u16) -> (Option<bool>, Evidence) {
    (
        sys.port_range.map(|(a, b)| (a..=b).contains(&port)),
        ev("net.ipv4.ip_local_port_range", sys.port_range_text.clone(), PORT_RANGE_FILE),
    )
}

/// How a port is held in memory and read: "inet_sport 0x6583 as read → ntohs → 33637".
pub fn port_bytes(i: &InetObj) -> String {
    format!(
        "inet_num {} · inet_sport {} as this CPU reads it (network byte order) → ntohs → {}",
        i.num, i.sport_raw, i.sport
    )
}

/// The evidence of a walked sock's inet fields.
pub fn inet_ev(when: &str, sk: &SockObj, probe: &str) -> Evidence {
    let i = sk.inet.as_ref();
    ev(
        format!("sk {} {when}", sk.addr),
        match i {
            Some(i) => format!("{} · local {} · peer {} · {}", sk.state.show(), i.local(), i.peer(), port_bytes(i)),
            None => format!("{} · not an inet sock ({})", sk.state.show(), sk.family.show()),
        },
        probe,
    )
}

/// `fd.same_socket`: the socket and sock the walk found behind fd arg0 (`w`) are those the installing call left there.
pub fn same_socket(c: &Call, life: &Life, w: &Walk, when: &str) -> Claim {
    let fd = c.args.first().map(|a| a.value.raw as i32).unwrap_or(-1);
    let inst = life.installed(c.pid, fd, c.enter_ns);
    let mut evidence = Vec::new();
    if let Some(i) = inst {
        evidence.push(ev(
            format!("fd {fd} as {} (call {}) installed it", i.syscall, i.call),
            format!("socket {} · sk {}", i.socket, i.sock),
            format!("tp_btf/sys_exit walk of call {}", i.call),
        ));
    }
    let probe = if when == "at entry" { "tp_btf/sys_enter walk" } else { "tp_btf/sys_exit walk" };
    let file = w.file.as_ref();
    if let Some(f) = file {
        evidence.push(ev(
            format!("fdt->fd[{fd}] {when}"),
            format!("file {} · {} · private_data {}", f.addr, f.ty, f.private_data),
            probe,
        ));
    }
    let (so, sk) = objs(w);
    if let (Some(so), Some(sk)) = (so, sk) {
        evidence.push(ev(format!("struct socket {when}"), format!("{} · ->sk {}", so.addr, so.sk), probe));
        evidence.push(ev(format!("struct sock {when}"), format!("{} · ->sk_socket {}", sk.addr, sk.sk_socket), probe));
    }
    let shared = shared_table(c);
    let ok = match (inst, so, sk) {
        (None, ..) => None,
        (Some(i), Some(so), Some(sk)) => Some(
            i.socket == so.addr
                && i.sock == sk.addr
                && so.sk == sk.addr
                && file.is_some_and(|f| f.private_data == so.addr),
        ),
        // The fd held a socket when it was installed and holds something else now.
        (Some(_), _, _) => Some(false),
    };
    // Another task on the same fd table may have closed and reused the fd: a difference proves nothing then.
    let ok = if ok == Some(false) && shared.is_some() { None } else { ok };
    let finding = match (inst, so) {
        (Some(i), Some(so)) if ok == Some(true) => {
            format!(
                "fd {fd} still holds socket {} / sk {} that {} (call {}) installed",
                so.addr, i.sock, i.syscall, i.call
            )
        }
        (Some(i), _) if ok == Some(false) => format!(
            "fd {fd} was installed by {} (call {}) with socket {}, and {when} it holds {}",
            i.syscall,
            i.call,
            i.socket,
            so.map(|s| s.addr.to_string())
                .unwrap_or_else(|| file.map(|f| f.ty.clone()).unwrap_or_else(|| "nothing".into()))
        ),
        _ => String::new(),
    };
    judged(
        ids::SAME_SOCKET,
        Some(c.seq),
        ok,
        finding,
        evidence,
        &shared.unwrap_or_else(|| {
            if c.args.is_empty() {
                // Its entry was not seen (it began before syswalk attached): no fd argument to follow.
                "the call entered before syswalk attached: its fd argument was not seen".to_string()
            } else {
                format!(
                    "the call that installed fd {fd} (socket() or accept4() of pid {}) was not traced in this run (it \
                     ran before syswalk attached, or in a process not followed)",
                    c.pid
                )
            }
        }),
    )
}

/// Why the fd table may change under the call: other tasks share it (files->count > 1 at entry). None if not.
pub fn shared_table(c: &Call) -> Option<String> {
    let t = c.before.fdtable.as_ref()?;
    (t.files_users > 1).then(|| {
        format!(
            "{} tasks share this fd table (files {}, files->count = {} at entry): another one may close or reuse the fd while this call runs",
            t.files_users, t.files, t.files_users
        )
    })
}

/// The state changes of `sock` inside call `c`, as evidence, and their names in order.
pub fn states_of(life: &Life, c: &Call, sock: KAddr) -> (Vec<String>, Vec<Evidence>) {
    let list = life.states_in(sock, c.enter_ns, c.exit_ns);
    let names = list.iter().map(|s| s.new.name.clone().unwrap_or_else(|| s.new.raw.to_string())).collect();
    let evidence = list
        .iter()
        .map(|s| {
            ev(
                format!("sk {} {} → {}", s.sock, s.old.show(), s.new.show()),
                format!(
                    "{} ↔ {} · t={} ns (call {}..{} ns)",
                    s.local,
                    s.peer,
                    s.ts_ns,
                    c.enter_ns.unwrap_or(0),
                    c.exit_ns.unwrap_or(0)
                ),
                "tp_btf/inet_sock_set_state",
            )
        })
        .collect();
    (names, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;

    fn st(sock: u64, ts: u64, old: (i64, &str), new: (i64, &str)) -> StateChange {
        StateChange {
            ts_ns: ts,
            pid: 1,
            tid: 1,
            comm: "t".into(),
            sock: KAddr(sock),
            old: Value { raw: old.0, name: Some(old.1.into()), origin: None },
            new: Value { raw: new.0, name: Some(new.1.into()), origin: None },
            local: "127.0.0.1:1".into(),
            peer: "0.0.0.0:0".into(),
        }
    }

    fn life() -> Life {
        Life::new(Sysctls {
            port_range: Some((32768, 60999)),
            port_range_text: "32768 60999".into(),
            somaxconn: Some(4096),
            somaxconn_text: "4096".into(),
        })
    }

    #[test]
    fn a_wildcard_listener_listens_only_at_this_host_s_addresses_of_its_family() {
        let mut l = life();
        for (a, local) in [(0x10, "0.0.0.0:80"), (0x20, "[::]:8080")] {
            l.socks.insert(
                KAddr(a),
                SockLife {
                    sock: KAddr(a),
                    socket: None,
                    pid: 1,
                    fd: Some(3),
                    made_by: Some(1),
                    role: "listener".into(),
                    local: Some(local.into()),
                    peer: None,
                    bind_bucket: None,
                    states: vec![],
                    closed_by: None,
                    since_ns: 0,
                    freed: vec![],
                    closed_at: None,
                    installed_at: None,
                    watched: (false, false),
                },
            );
        }
        let at = |a: &str| l.listener_at(a).map(|x| x.sock.0);
        assert_eq!(at("127.0.0.1:80"), Some(0x10));
        assert_eq!(at("93.184.216.34:80"), None, "a remote server's port 80 is not our listener's");
        assert_eq!(at("[::1]:80"), None, "0.0.0.0 does not listen at IPv6 addresses");
        assert_eq!(at("[::1]:8080"), Some(0x20));
        assert_eq!(at("127.0.0.1:8080"), None, "[::] may be IPV6_V6ONLY: not claimed for an IPv4 peer");
    }

    #[test]
    fn a_broken_state_chain_is_refuted_and_an_open_one_is_not_observable() {
        let mut l = life();
        l.follow(KAddr(0x10), 1, "listener", 0);
        l.state(st(0x10, 1, (7, "TCP_CLOSE"), (10, "TCP_LISTEN")));
        l.state(st(0x10, 2, (10, "TCP_LISTEN"), (7, "TCP_CLOSE")));
        l.follow(KAddr(0x20), 1, "client", 0);
        l.state(st(0x20, 3, (7, "TCP_CLOSE"), (2, "TCP_SYN_SENT")));
        // A missing step: SYN_SENT → ESTABLISHED was not seen.
        l.state(st(0x20, 5, (1, "TCP_ESTABLISHED"), (4, "TCP_FIN_WAIT1")));
        l.follow(KAddr(0x30), 1, "client", 0);
        l.state(st(0x30, 6, (7, "TCP_CLOSE"), (2, "TCP_SYN_SENT")));
        let v: Vec<_> = l.judge_states().into_iter().map(|c| c.verdict).collect();
        use crate::claims::Verdict::*;
        assert_eq!(v, vec![Proved, Refuted, NotObservable]);
    }

    fn fr(what: &'static str, addr: u64, arg: u64, ts: u64) -> Freed {
        Freed {
            what: what.into(),
            addr: KAddr(addr),
            arg: KAddr(arg),
            func: "f".into(),
            probe: "fentry/f".into(),
            ts_ns: ts,
            pid: 0,
            tid: 0,
            cpu: 1,
            comm: "swapper/1".into(),
            state: None,
        }
    }

    #[test]
    fn a_closed_sock_is_proved_freed_only_with_both_frees_after_its_close() {
        use crate::claims::Verdict::*;
        let mut l = life();
        let close = |l: &mut Life, sock: u64, socket: u64, at: u64, watched: (bool, bool)| {
            let x = l.follow(KAddr(sock), 1, "client", 1).expect("followed");
            x.socket = Some(KAddr(socket));
            x.closed_by = Some(9);
            x.closed_at = Some(at);
            x.watched = watched;
        };
        let freed = |l: &Life, sock: u64| l.judge_freed(&l.socks[&KAddr(sock)]).map(|c| c.verdict);
        close(&mut l, 0x100, 0x900, 50, (true, true));
        assert_eq!(l.awaiting_frees(), 1);
        assert_eq!(freed(&l, 0x100), Some(NotObservable), "nothing freed yet");
        l.freed(fr("sock", 0x100, 0x3e8, 60));
        assert_eq!(l.awaiting_frees(), 1, "the socket's free is still to come");
        l.freed(fr("socket", 0x900, 0x980, 70));
        assert_eq!(l.awaiting_frees(), 0);
        assert_eq!(freed(&l, 0x100), Some(Proved));
        // Another object's free proves nothing; a free before the close refutes.
        close(&mut l, 0x200, 0xa00, 50, (true, true));
        l.freed(fr("sock", 0x201, 0x3e9, 60));
        l.freed(fr("socket", 0xa00, 0xa80, 60));
        assert_eq!(freed(&l, 0x200), Some(NotObservable));
        close(&mut l, 0x300, 0xb00, 50, (true, true));
        if let Some(x) = l.socks.get_mut(&KAddr(0x300)) {
            x.installed_at = Some(30); // made by a traced socket()/accept4() at 30: one object since
        }
        l.freed(fr("sock", 0x300, 0x3e8, 40));
        l.freed(fr("socket", 0xb00, 0xb80, 60));
        assert_eq!(freed(&l, 0x300), Some(Refuted));
        // The same evidence for a sock not seen made (a socketpair's, known from its first read): the free at 40
        // may be an earlier object's at that address — not observable, never refuted.
        close(&mut l, 0x500, 0xd00, 50, (true, true));
        l.freed(fr("sock", 0x500, 0x3e8, 40));
        l.freed(fr("socket", 0xd00, 0xd80, 60));
        let k = l.judge_freed(&l.socks[&KAddr(0x500)]).expect("claim");
        assert_eq!(k.verdict, NotObservable, "{k:?}");
        assert!(k.reason.as_deref().unwrap_or("").contains("not seen made"), "{k:?}");
        // Not watched (no close chain snapshots): not observable, never awaited.
        close(&mut l, 0x400, 0xc00, 50, (false, true));
        l.freed(fr("sock", 0x400, 0x3e8, 60));
        assert_eq!(freed(&l, 0x400), Some(NotObservable));
        assert_eq!(l.awaiting_frees(), 1, "only 0x200 (its sock's free not seen) is still awaited: {:?}", l.frees);
        // A tier with no free probes: nothing awaited.
        l.frees_why = Some("tier C".into());
        assert_eq!(l.awaiting_frees(), 0);
    }

    /// A close of a sock at an address whose life was closed already (or holds another struct socket) is of a new
    /// object no traced call made (a socketpair's): it gets a life of its own, and the old life keeps its close.
    #[test]
    fn a_close_of_another_object_at_a_closed_life_s_address_is_a_life_of_its_own() {
        let mut l = life();
        let made = crate::fixtures::socket_call();
        l.record(&made);
        let sk = made.after.sock.as_ref().map(|k| k.addr).expect("sock");
        let mut close = crate::fixtures::bind_call(4242);
        close.syscall = "close".into();
        close.seq = 50;
        close.ret = Some(0);
        close.before = made.after.clone();
        close.enter_ns = Some(1_000_000);
        close.exit_ns = Some(1_000_100);
        l.record(&close);
        assert_eq!(l.socks[&sk].closed_by, Some(50));
        // The same sock address, another struct socket: a new object's close.
        let mut again = close.clone();
        again.seq = 90;
        again.enter_ns = Some(2_000_000);
        if let Some(so) = again.before.socket.as_mut() {
            so.addr = KAddr(so.addr.0 + 0x1000);
        }
        l.record(&again);
        let now = &l.socks[&sk];
        assert_eq!((now.closed_by, now.installed_at, now.since_ns), (Some(90), None, 2_000_000), "{now:?}");
        // The first life ended with its own close: judged (close.freed names call 50), not re-closed by call 90.
        let k = l.take_finished();
        assert!(k.iter().any(|c| c.id == ids::CLOSE_FREED.id && c.call == Some(50)), "{k:?}");
        assert!(!k.iter().any(|c| c.call == Some(90)), "{k:?}");
    }

    #[test]
    fn a_reused_address_waits_for_the_old_socket_s_free_and_an_older_free_is_not_its() {
        use crate::claims::Verdict::*;
        let mut l = life();
        let x = l.follow(KAddr(0x100), 1, "accepted", 10).expect("followed");
        // A child: its sock born at the handshake (10), installed by accept4 at 30, closed at 50.
        (x.socket, x.installed_at, x.closed_by, x.closed_at, x.watched) =
            (Some(KAddr(0x900)), Some(30), Some(9), Some(50), (true, true));
        // The previous socket at 0x900 was freed at 20, after the handshake but before this one existed.
        l.freed(fr("socket", 0x900, 0x980, 20));
        l.freed(fr("sock", 0x100, 0x3e8, 60));
        assert_eq!(l.awaiting_frees(), 1, "the free at 20 was another socket's");
        // A new sock takes the address before the socket's RCU free: the life waits, judged when it comes.
        l.retire(KAddr(0x100));
        assert!(l.take_finished().iter().all(|c| c.id != ids::CLOSE_FREED.id));
        assert_eq!(l.awaiting_frees(), 1);
        l.prune(1000);
        l.freed(fr("socket", 0x900, 0x980, 70));
        let k = l.take_finished();
        let v: Vec<_> = k.iter().filter(|c| c.id == ids::CLOSE_FREED.id).map(|c| c.verdict).collect();
        assert_eq!(v, vec![Proved], "{k:?}");
        assert_eq!(l.awaiting_frees(), 0);
    }

    #[test]
    fn a_failed_call_s_socket_is_proved_freed_only_by_a_free_after_its_allocation() {
        use crate::claims::Verdict::*;
        let mut l = life();
        l.freed(fr("socket", 0x700, 0x780, 5)); // an earlier socket at that address
        l.expect_freed(Pending { call: 3, sockets: vec![(KAddr(0x700), 10)], socks: vec![] });
        assert_eq!(l.awaiting_frees(), 1);
        assert!(l.take_finished().is_empty(), "the free at 5 was not this socket's");
        l.freed(fr("socket", 0x700, 0x780, 30));
        let k = l.take_finished();
        let got: Vec<(&str, crate::claims::Verdict)> = k.iter().map(|c| (c.id.as_str(), c.verdict)).collect();
        assert_eq!(got, vec![(ids::RELEASE_FREED.id, Proved)]);
        assert_eq!(l.awaiting_frees(), 0);
        // Never freed before the end: not observable, never ✓.
        l.expect_freed(Pending { call: 4, sockets: vec![(KAddr(0x800), 10)], socks: vec![] });
        let v: Vec<_> =
            l.judge_states().into_iter().filter(|c| c.id == ids::RELEASE_FREED.id).map(|c| c.verdict).collect();
        assert_eq!(v, vec![NotObservable]);
    }

    /// An accept4 on the fixture's sock as listener: failed with EMFILE (`waiting` queued) or succeeded, in [t0, t1].
    fn accept(seq: usize, failed: bool, waiting: u32, (t0, t1): (u64, u64)) -> Call {
        let mut c = crate::fixtures::socket_call();
        c.seq = seq;
        c.syscall = "accept4".into();
        c.before.sock = c.after.sock.clone();
        if let Some(k) = c.before.sock.as_mut() {
            k.ack_backlog = waiting;
        }
        (c.enter_ns, c.exit_ns) = (Some(t0), Some(t1));
        if failed {
            c.ret = Some(-24);
            c.errno = Some(crate::fixtures::named(24, "EMFILE", "errno-base.h"));
            c.after = Walk::default();
        }
        c
    }

    #[test]
    fn only_a_failed_accept_that_left_a_connection_waiting_is_followed_and_only_by_a_later_accept() {
        let mut l = life();
        let lsk = accept(1, true, 0, (10, 20)).before.sock.expect("sock").addr;
        l.record(&accept(1, true, 0, (10, 20)));
        assert!(l.failed_accept_before(lsk, &accept(2, false, 1, (30, 40))).is_none(), "nothing was waiting");
        l.record(&accept(3, true, 1, (50, 60)));
        // One that entered before the failed call returned (a blocked accept4 of another thread) is not "the next".
        let early = accept(4, false, 0, (55, 70));
        assert!(l.failed_accept_before(lsk, &early).is_none());
        l.record(&early);
        let next = accept(5, false, 1, (80, 90));
        assert_eq!(l.failed_accept_before(lsk, &next).map(|f| (f.call, f.waiting)), Some((3, 1)));
        l.record(&next);
        assert!(l.failed_accept_before(lsk, &accept(6, false, 1, (95, 99))).is_none(), "taken once");
        // A new sock at the listener's address starts afresh.
        l.record(&accept(7, true, 2, (100, 110)));
        l.retire(lsk);
        assert!(l.failed_accept_before(lsk, &accept(8, false, 2, (120, 130))).is_none());
    }

    #[test]
    fn a_failed_call_s_sock_must_be_freed_too_and_each_free_reaches_the_call_s_list() {
        use crate::claims::Verdict::*;
        let mut l = life();
        l.expect_freed(Pending { call: 5, sockets: vec![(KAddr(0x700), 10)], socks: vec![(KAddr(0x900), 12)] });
        l.freed(fr("socket", 0x700, 0x780, 30));
        assert!(l.take_finished().is_empty(), "the sock's free has not come");
        assert_eq!(l.take_resolved(false), vec![], "nothing judged yet");
        l.freed(fr("sock", 0x900, 0x9a0, 40));
        let k = l.take_finished();
        assert_eq!(
            k.iter().map(|c| (c.id.as_str(), c.verdict)).collect::<Vec<_>>(),
            vec![(ids::RELEASE_FREED.id, Proved)]
        );
        assert!(k[0].finding.as_deref().unwrap_or("").contains("1 of 1 sock(s)"), "{:?}", k[0].finding);
        let r = l.take_resolved(false);
        assert_eq!(
            r.iter().map(|(c, a, _, t)| (*c, a.0, *t)).collect::<Vec<_>>(),
            vec![(5, 0x700, 30), (5, 0x900, 40)]
        );
        // The sock never freed: not observable at the end, and only the socket's free is in the list.
        l.expect_freed(Pending { call: 6, sockets: vec![(KAddr(0x700), 50)], socks: vec![(KAddr(0x900), 52)] });
        l.freed(fr("socket", 0x700, 0x780, 60));
        let v: Vec<_> =
            l.judge_states().into_iter().filter(|c| c.id == ids::RELEASE_FREED.id).map(|c| c.verdict).collect();
        assert_eq!(v, vec![NotObservable]);
        assert_eq!(l.take_resolved(true).iter().map(|(c, a, _, _)| (*c, a.0)).collect::<Vec<_>>(), vec![(6, 0x700)]);
    }

    #[test]
    fn a_recycled_address_starts_a_new_life_and_memory_is_bounded() {
        let mut l = life();
        // One address, two lives: the first ends in TCP_CLOSE, the second begins after its socket() entered.
        l.state(st(0x40, 1, (7, "TCP_CLOSE"), (2, "TCP_SYN_SENT")));
        l.state(st(0x40, 2, (2, "TCP_SYN_SENT"), (7, "TCP_CLOSE")));
        l.state(st(0x40, 10, (7, "TCP_CLOSE"), (10, "TCP_LISTEN")));
        l.follow(KAddr(0x40), 1, "listener", 5);
        let life_states = l.life_states(&l.socks[&KAddr(0x40)]);
        assert_eq!(life_states.len(), 1, "only the second life's change: {life_states:?}");
        assert_eq!(l.states_in(KAddr(0x40), Some(0), Some(3)).len(), 2, "a call's window finds its own changes");
        for i in 0..(TIMELINES as u64 + 10) {
            l.state(st(0x1000 + i, i, (7, "TCP_CLOSE"), (2, "TCP_SYN_SENT")));
        }
        assert!(l.timeline.len() <= TIMELINES);
        assert!(l.unfollowed >= 10);
    }

    #[test]
    fn a_write_is_found_only_if_it_returned_before_the_read() {
        let mut l = life();
        let mut w = crate::fixtures::bind_call(40000);
        w.syscall = "write".into();
        w.ret = Some(4);
        w.exit_ns = Some(100);
        l.completed(&w);
        let sk = w.after.sock.as_ref().map(|s| s.addr).unwrap_or_default();
        assert!(l.last_write(sk, 50).is_none(), "a later write (a recycled address) is not this read's");
        assert_eq!(l.last_write(sk, 150).map(|x| x.1), Some(4));
    }
}
