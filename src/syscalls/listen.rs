//! listen(fd, backlog): a socket that accepts connections. At the boundary only, for now: arguments, return value and the walk of the fd it names.
use super::Def;
use crate::model::plain_arg;
use crate::probes::boundary::Mode;

pub const DEF: Def = Def {
    name: "listen",
    fallback_nr: 50,
    args: &["fd", "backlog"],
    mode: Mode::SW_MODE_WALK_ARG0,
    name_arg: plain_arg,
};
