//! accept4(fd, addr, addrlen, flags): accept with SOCK_NONBLOCK/SOCK_CLOEXEC flags. At the boundary only, for now: arguments, return value and the walk of the fd it names.
use super::Def;
use crate::model::plain_arg;
use crate::probes::boundary::Mode;

pub const DEF: Def = Def {
    name: "accept4",
    fallback_nr: 288,
    args: &["fd", "addr", "addrlen", "flags"],
    mode: Mode::SW_MODE_WALK_RET,
    name_arg: plain_arg,
};
