//! accept(fd, addr, addrlen): a new connection's socket from a listener. At the boundary: arguments, the sockaddr it names, return value and the walk of the fd.
use super::Def;
use crate::model::{plain_arg, user_ptr, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub const DEF: Def = Def {
    name: "accept",
    fallback_nr: 43,
    args: &["fd", "addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0_RET,
    uaddr: UaddrMode::SW_UA_EXIT,
    name_arg,
    chain: super::accept4::ACCEPT_CHAIN,
};

/// fd as a number, the sockaddr pointer in hex, addrlen as a number (a pointer for accept: shown in hex).
fn name_arg(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    match idx {
        1 => user_ptr(raw),
        2 => user_ptr(raw),
        _ => plain_arg(idx, raw, all, n),
    }
}
