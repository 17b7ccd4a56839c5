//! close(fd): the last reference to a file released. At the boundary only, for now: arguments, return value and the walk of the fd it names.
use super::Def;
use crate::model::plain_arg;
use crate::probes::boundary::Mode;

pub const DEF: Def =
    Def { name: "close", fallback_nr: 3, args: &["fd"], mode: Mode::SW_MODE_WALK_ARG0, name_arg: plain_arg };
