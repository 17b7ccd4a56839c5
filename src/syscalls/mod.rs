//! One module per system call. Each owns what syswalk knows about its call: the arguments and how they are named,
//! what the boundary walk reads for it, and — where the course covers it — its function chain, its claims and its
//! lesson steps (see `socket`).
//!
//! To add a syscall: write `NAME.rs` with a `pub const DEF: Def` (copy `listen.rs`), add it to `ALL` below, and
//! give it claims and lesson steps as `socket` does. The boundary program needs no change: the mode tells it what
//! to walk.
use crate::machine::headers;
use crate::model::{Namer, Signature, Value};
use crate::probes::boundary::{Mode, TracedSyscall, UaddrMode};

mod accept;
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

/// Every syscall syswalk traces, in the order `--syscalls` lists them.
const ALL: &[&Def] = &[
    &socket::DEF,
    &connect::DEF,
    &accept::DEF,
    &bind::DEF,
    &listen::DEF,
    &accept4::DEF,
    &close::DEF,
    &setsockopt::DEF,
    &getsockname::DEF,
    &rw::READ,
    &rw::WRITE,
];

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
    ALL.iter().map(|d| d.name).collect()
}

pub fn spec(name: &str) -> Option<SyscallSpec> {
    let d = ALL.iter().find(|d| d.name == name)?;
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
        let mut nrs: Vec<i64> = super::ALL.iter().map(|d| d.fallback_nr).collect();
        nrs.sort();
        nrs.dedup();
        assert_eq!(nrs.len(), super::ALL.len());
        assert!(super::spec("socket").is_some() && super::spec("nope").is_none());
    }
}
