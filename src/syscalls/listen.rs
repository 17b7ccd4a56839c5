//! listen(fd, backlog): a socket that accepts connections. At the boundary: arguments, the sockaddr it names, return value and the walk of the fd.
use super::Def;
use crate::model::plain_arg;
use crate::probes::boundary::{Mode, UaddrMode};

pub const DEF: Def = Def {
    name: "listen",
    fallback_nr: 50,
    args: &["fd", "backlog"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg: plain_arg,
};
