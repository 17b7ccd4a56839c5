//! connect(fd, addr, addrlen): a client's connection. At the boundary: arguments, the sockaddr it names, return value and the walk of the fd.
use super::Def;
use crate::model::{plain_arg, user_ptr, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub const DEF: Def =
    Def { name: "connect", fallback_nr: 42, args: &["fd", "addr", "addrlen"], mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_ENTRY, name_arg };

/// fd as a number, the sockaddr pointer in hex, addrlen as a number (a pointer for accept: shown in hex).
fn name_arg(idx: usize, raw: u64, n: &Namer) -> Value {
    match idx {
        1 => user_ptr(raw),
        _ => plain_arg(idx, raw, n),
    }
}
