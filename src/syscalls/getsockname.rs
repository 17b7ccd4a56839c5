//! getsockname(fd, addr, addrlen): the address a socket is bound to, as the program sees it. At the boundary: the
//! sockaddr the kernel wrote back (read at exit), return value and the walk of the fd.
use super::Def;
use crate::model::{plain_arg, user_ptr, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub const DEF: Def = Def {
    name: "getsockname",
    fallback_nr: 51,
    args: &["fd", "addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_EXIT,
    name_arg,
};

fn name_arg(idx: usize, raw: u64, n: &Namer) -> Value {
    match idx {
        1 | 2 => user_ptr(raw),
        _ => plain_arg(idx, raw, n),
    }
}
