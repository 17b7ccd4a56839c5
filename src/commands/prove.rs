//! `syswalk prove`: the built-in target (or a program) making socket(), every claim judged.
use std::ffi::OsString;

use super::collect::load_chain;
use super::{btf_arg, family_arg, investigate, namer, specs_for, Ctx};
use crate::cli::{Fail, OutputArgs, TraceArgs};
use crate::error::Result;
use crate::probes::session::Target;
use crate::syscalls::{self, socket};

/// The built-in target's call, as the command line gave it.
pub struct Builtin<'a> {
    pub family: &'a str,
    pub ty: &'a str,
    pub protocol: &'a str,
    pub fail: Option<Fail>,
    pub life: bool,
}

pub fn run(
    ctx: &Ctx,
    Builtin { family, ty, protocol, fail, life }: Builtin,
    how: TraceArgs,
    out: OutputArgs,
    command: Vec<OsString>,
) -> Result<i32> {
    let names = namer();
    let target = if life {
        Target::Life
    } else if let Some(sc) = fail.and_then(scenario) {
        Target::Scenario(sc)
    } else if let Some(f) = fail {
        let (family, ty, protocol, nofile) = fail_call(f);
        Target::Builtin { family, ty, protocol, nofile }
    } else if command.is_empty() {
        Target::Builtin {
            family: family_arg(family)?,
            ty: btf_arg(&names, ty, "SOCK_", "socket type")?,
            protocol: btf_arg(&names, protocol, "IPPROTO_", "protocol")?,
            nofile: None,
        }
    } else {
        Target::Command(command)
    };
    // One socket() for the built-in socket targets; a connection's whole life for the life target and a program.
    let traced =
        if matches!(target, Target::Builtin { .. }) { vec![socket::DEF.name.into()] } else { syscalls::life() };
    let specs = specs_for(&traced)?;
    let chain = load_chain(how.chain.as_deref(), &names)?;
    investigate::run(
        ctx,
        investigate::Job { target, specs, duration: None, custom: chain, sockets_only: true },
        &out,
        names,
        &how,
    )
}

/// The failure targets that are a connection's call, not a socket() of their own.
pub fn scenario(f: Fail) -> Option<crate::probes::target::Scenario> {
    use crate::probes::target::Scenario;
    match f {
        Fail::Connrefused => Some(Scenario::ConnRefused),
        Fail::Addrinuse => Some(Scenario::AddrInUse),
        Fail::AcceptEmfile => Some(Scenario::AcceptEmfile),
        _ => None,
    }
}

/// (family, type, protocol, RLIMIT_NOFILE) of a socket() failure target.
pub fn fail_call(f: Fail) -> (i32, i32, i32, Option<u32>) {
    let (inet, stream) = (libc::AF_INET, libc::SOCK_STREAM);
    match f {
        // fds 0, 1, 2 are open: with a limit of 3, sock_alloc succeeds and then no fd is free.
        Fail::Emfile => (inet, stream, 0, Some(3)),
        // __sock_create rejects family >= NPROTO before anything is allocated.
        Fail::FamilyRange => (crate::probes::chain::NPROTO, stream, 0, None),
        // AF_WANPIPE (25): inside the table, and no kernel module registers it (its slot stays NULL).
        Fail::FamilyUnregistered => (25, stream, 0, None),
        Fail::Protocol => (inet, stream, libc::IPPROTO_UDP, None),
        // No such type: __sock_create rejects type >= SOCK_MAX before sock_alloc.
        Fail::Type => (inet, crate::probes::chain::SOCK_MAX, 0, None),
        // A connection's call: `scenario`.
        Fail::Connrefused | Fail::Addrinuse | Fail::AcceptEmfile => (inet, stream, 0, None),
    }
}
