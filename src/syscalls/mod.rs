//! One module per system call, and the registry (`ALL`) that is the only place a call's syscall name decides what
//! happens to it. Each module owns what syswalk knows about its call: the arguments and how they are named, what
//! the boundary walk reads for it, and — where the course covers it — its function chain, its claims, what it tells
//! the connection tracker and its lesson chapter, all behind the trait `Syscall`.
//!
//! To add a syscall: write `NAME.rs` with a `pub const DEF: Def` and a unit struct implementing `Syscall` (copy
//! `listen.rs`), and add it to `ALL` below — the one registration line. The boundary program needs no change: the
//! mode tells it what to walk. See ARCHITECTURE.md, "How to add … a syscall".
use crate::claims::ids::ClaimId;
use crate::claims::Claim;
use crate::machine::headers;
use crate::model::{Call, Namer, Signature, Value};
use crate::probes::boundary::{Mode, TracedSyscall, UaddrMode};
use crate::probes::chain::{FamilyRow, FnPlan};

pub mod accept4;
pub mod bind;
pub mod chainproof;
pub mod close;
pub mod conn;
pub mod connect;
pub mod course;
pub mod getsockname;
pub mod listen;
pub mod rw;
mod setsockopt;
pub mod shutdown;
pub mod socket;

/// What a syscall module declares about its call.
pub struct Def {
    pub name: &'static str,
    /// The x86_64 number, used only when the machine has no asm/unistd_64.h (the report names the origin).
    pub fallback_nr: i64,
    pub args: &'static [&'static str],
    /// What the boundary program walks for it (enum sw_mode in probes/include/events.h).
    pub mode: Mode,
    /// Which user sockaddr its events carry (enum sw_uaddr_mode).
    pub uaddr: UaddrMode,
    pub name_arg: fn(usize, u64, &[u64], &Namer) -> Value,
    /// Its function-level chain (tiers A/B), in the order the course expects; a function this kernel does not have
    /// (inlined, renamed, newer) is reported by the plan, not an error. socket()'s is `socket::DEFAULT_CHAIN`.
    pub chain: &'static [&'static str],
}

impl Def {
    /// Whether `c` is a call of this syscall (how code outside the registry finds, say, the report's socket() calls).
    pub fn is(&self, c: &Call) -> bool {
        c.syscall == self.name
    }
}

/// A chain judge: the call's function-level claims from its frames and the plan.
pub type ChainJudgeFn = fn(&Call, &[FnPlan]) -> Vec<Claim>;

/// What the function-level chain needs to be judged (tiers A/B).
pub struct ChainJudge<'a> {
    pub plan: &'a [FnPlan],
    pub probe: &'static str,
    pub families: &'a [FamilyRow],
    /// `--chain-calls N`: calls past the budget were counted, not streamed: they have no chain to judge.
    pub budget: bool,
}

/// Counts the run keeps for run-wide claims (`chain.counts_complete`).
#[derive(Debug, Default, Clone, Copy)]
pub struct ChainCounts {
    /// The chain root's outermost calls received in full.
    pub root_full: usize,
    /// socket() calls seen.
    pub socket_calls: usize,
}

/// What a syscall's judge may read (and, for the tracker's expectations, change) while the run is judged.
pub struct Judging<'a> {
    pub names: &'a Namer,
    /// The recent uses of each fd table (see `socket::claims::SharedTables`).
    pub tables: &'a socket::claims::SharedTables,
    pub life: &'a mut conn::Life,
    /// The function-level chain at tiers A/B; `None` at tier C.
    pub chain: Option<&'a ChainJudge<'a>>,
    /// Why there is no chain in this run (tier C), for "not observable here (why)".
    pub chain_why: Option<&'a str>,
    pub counts: &'a mut ChainCounts,
}

/// One chapter of the course after socket(): its steps and the claims they rest on.
pub struct Chapter {
    /// Where it goes in the server's order (bind 10, listen 20, connect 30, accept 40, bytes 50, close 60).
    pub order: u8,
    pub steps: Vec<crate::lesson::Step>,
    pub used: Vec<Claim>,
}

/// What a syscall contributes. Every method but `def` has a default that contributes nothing; `commands`, the
/// streaming judge (`pipeline`), the connection tracker and the course ask the registry, never a name.
pub trait Syscall: Sync {
    fn def(&self) -> &'static Def;
    /// Its claims at the boundary, judged against the tracker before this call is recorded in it.
    fn judge(&self, _c: &Call, _j: &mut Judging) -> Vec<Claim> {
        Vec::new()
    }
    /// The function-level claims this call gets (their ids, for "not observable here" at tier C, and the judge),
    /// if any.
    fn chain_claims(&self, _c: &Call) -> Option<(&'static [ClaimId], ChainJudgeFn)> {
        None
    }
    /// What a judged call tells the connection tracker (after its own claims were judged).
    fn record(&self, _c: &Call, _life: &mut conn::Life) {}
    /// What a call tells the tracker as soon as it completed, before the calls that completed with it are judged.
    fn completed(&self, _c: &Call, _life: &mut conn::Life) {}
    /// It returns a new fd (socket(), accept()): another thread's call that overlaps a socket() may take a lower fd.
    fn returns_fd(&self) -> bool {
        false
    }
    /// socket()'s claims are judged against the window of fd-table uses (`Judging::tables`): its open calls hold
    /// the window's pruning back.
    fn uses_fd_window(&self) -> bool {
        false
    }
    /// It works on any file (read, write, close): calls on files that are not sockets are counted apart when only
    /// sockets are shown.
    fn any_file(&self) -> bool {
        false
    }
    /// The object it releases goes after the call returned (close(): the deferred fput): the function whose frames
    /// come late (awaited before the call is judged).
    fn late_release(&self) -> Option<&'static str> {
        None
    }
    /// It is one of the calls of a TCP connection's life (traced by `prove` for a program).
    fn in_life(&self) -> bool {
        true
    }
    /// The lesson part whose steps tell it (a step's `part`): its name, or the part it shares with another call.
    fn lesson_part(&self) -> &'static str {
        self.def().name
    }
    /// Its chapter of the course, from the report's calls and claims.
    fn chapter(&self, _r: &crate::report::Report) -> Option<Chapter> {
        None
    }
}

/// Every syscall syswalk traces, in a server's order (the order `--syscalls` lists them and reports name them):
/// the one registration line per syscall.
pub const ALL: &[&dyn Syscall] = &[
    &socket::Socket,
    &setsockopt::SetSockOpt,
    &bind::Bind,
    &getsockname::Name::SOCK,
    &getsockname::Name::PEER,
    &listen::Listen,
    &connect::Connect,
    &accept4::Accept { def: &accept4::DEF, chapter: true },
    &accept4::Accept { def: &accept4::ACCEPT, chapter: false },
    &rw::Rw::READ,
    &rw::Rw::WRITE,
    &rw::Rw::RECVFROM,
    &rw::Rw::SENDTO,
    &rw::Rw::RECVMSG,
    &rw::Rw::SENDMSG,
    &rw::Rw::READV,
    &rw::Rw::WRITEV,
    &rw::Rw::SENDFILE,
    &shutdown::Shutdown,
    &close::Close,
];

/// The calls of a TCP connection's life that `prove` and `lesson --life` trace for the life target and for a
/// program: every registered syscall that is part of one.
pub fn life() -> Vec<String> {
    ALL.iter().filter(|s| s.in_life()).map(|s| s.def().name.to_string()).collect()
}

/// A call that succeeded on a TCP sock (the walk at entry reached one): the calls the chain claims are about.
pub fn on_tcp(c: &Call) -> bool {
    let ok = c.ret.is_some_and(|r| r >= 0);
    ok && c.before.sock.as_ref().and_then(|s| s.inet.as_ref()).is_some_and(|i| i.tcp.is_some())
}

/// The report's `nth` successful call of syscall `d` (the course judges each chapter by the first one).
pub fn nth_ok<'r>(r: &'r crate::report::Report, d: &Def, nth: usize) -> Option<&'r Call> {
    r.calls.iter().filter(|c| d.is(c) && c.ret.is_some_and(|v| v >= 0)).nth(nth)
}

/// The report's claims about call `c` (none for no call).
pub fn claims_of(r: &crate::report::Report, c: Option<&Call>) -> Vec<Claim> {
    c.map(|c| r.claims.iter().filter(|k| k.call == Some(c.seq)).cloned().collect()).unwrap_or_default()
}

/// The implementation for a call, by its syscall (`None` for a number no traced syscall has).
pub fn of(c: &Call) -> Option<&'static dyn Syscall> {
    by_name(&c.syscall)
}

/// The implementation of a syscall by name (for `--syscalls` and the pairer's signatures).
pub fn by_name(name: &str) -> Option<&'static dyn Syscall> {
    ALL.iter().copied().find(|s| s.def().name == name)
}

/// A syscall resolved on this machine: its module's definition and its number from the installed headers.
#[derive(Debug, Clone)]
pub struct SyscallSpec {
    pub name: &'static str,
    pub nr: i64,
    pub nr_origin: String,
    pub args: &'static [&'static str],
    pub mode: Mode,
    pub uaddr: UaddrMode,
    name_arg: fn(usize, u64, &[u64], &Namer) -> Value,
    pub chain: &'static [&'static str],
}

impl SyscallSpec {
    /// What the model needs to pair and name its events.
    pub fn signature(&self) -> Signature {
        Signature { name: self.name, nr: self.nr, args: self.args, name_arg: self.name_arg }
    }
    /// What the boundary program needs.
    pub fn traced(&self) -> TracedSyscall {
        TracedSyscall { name: self.name.into(), nr: self.nr, mode: self.mode, uaddr: self.uaddr }
    }
}

pub fn known() -> Vec<&'static str> {
    ALL.iter().map(|s| s.def().name).collect()
}

pub fn spec(name: &str) -> Option<SyscallSpec> {
    let d = by_name(name)?.def();
    let (nr, nr_origin) = match headers::syscall_nr(d.name) {
        Some(c) => (c.value, format!("{}:{}", c.file, c.line)),
        None => (d.fallback_nr, format!("syswalk's x86_64 table ({} absent)", headers::unistd_path())),
    };
    Some(SyscallSpec {
        name: d.name,
        nr,
        nr_origin,
        args: d.args,
        mode: d.mode,
        uaddr: d.uaddr,
        name_arg: d.name_arg,
        chain: d.chain,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_syscall_has_one_module_and_a_distinct_number() {
        let mut nrs: Vec<i64> = super::ALL.iter().map(|s| s.def().fallback_nr).collect();
        nrs.sort();
        nrs.dedup();
        assert_eq!(nrs.len(), super::ALL.len());
        assert!(super::spec("socket").is_some() && super::spec("nope").is_none());
    }
}
