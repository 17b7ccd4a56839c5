//! read(fd, buf, count) and write(fd, buf, count): the bytes of a connection. At the boundary: arguments, the bytes
//! moved (the return value) and the walk of the fd at entry and exit (for a TCP sock: rcv_nxt and copied_seq, the
//! bytes not yet read).
use super::Def;
use crate::model::{plain_arg, user_ptr, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub const READ: Def = Def {
    name: "read",
    fallback_nr: 0,
    args: &["fd", "buf", "count"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
};

pub const WRITE: Def = Def {
    name: "write",
    fallback_nr: 1,
    args: &["fd", "buf", "count"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
};

fn name_arg(idx: usize, raw: u64, n: &Namer) -> Value {
    match idx {
        1 => user_ptr(raw),
        _ => plain_arg(idx, raw, n),
    }
}
