//! accept(fd, addr, addrlen): a new connection's socket from a listener. At the boundary only, for now: arguments, return value and the walk of the fd it names.
use super::Def;
use crate::model::plain_arg;
use crate::probes::boundary::Mode;

pub const DEF: Def = Def {
    name: "accept",
    fallback_nr: 43,
    args: &["fd", "addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_RET,
    name_arg: plain_arg,
};
