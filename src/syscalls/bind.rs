//! bind(fd, addr, addrlen): a local address for a socket. At the boundary only, for now: arguments, return value and the walk of the fd it names.
use super::Def;
use crate::model::plain_arg;
use crate::probes::boundary::Mode;

pub const DEF: Def = Def {
    name: "bind",
    fallback_nr: 49,
    args: &["fd", "addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    name_arg: plain_arg,
};
