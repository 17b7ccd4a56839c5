//! connect(fd, addr, addrlen): a client's connection. At the boundary only, for now: arguments, return value and the walk of the fd it names.
use super::Def;
use crate::model::plain_arg;
use crate::probes::boundary::Mode;

pub const DEF: Def = Def {
    name: "connect",
    fallback_nr: 42,
    args: &["fd", "addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    name_arg: plain_arg,
};
