//! accept4(fd, addr, addrlen, flags): accept with SOCK_NONBLOCK/SOCK_CLOEXEC flags. At the boundary: arguments, the sockaddr it names, return value and the walk of the fd.
use super::Def;
use crate::model::{plain_arg, user_ptr, Namer, Value};
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
