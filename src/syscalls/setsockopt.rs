//! setsockopt(fd, level, optname, optval, optlen): a socket option set (the server's SO_REUSEADDR). At the boundary:
//! arguments named from the installed headers, return value and the walk of the fd.
use super::Def;
use crate::model::{plain_arg, user_ptr, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub const DEF: Def = Def {
    name: "setsockopt",
    fallback_nr: 54,
    args: &["fd", "level", "optname", "optval", "optlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
    chain: &[],
};

/// level by its name in the headers (SOL_SOCKET, or the protocol), optval in hex; optname as a number (its name
/// depends on the level: the claims name it).
fn name_arg(idx: usize, raw: u64, n: &Namer) -> Value {
    let v = raw as i64 as i32 as i64;
    match idx {
        1 => n.sockopt_level(v),
        3 => user_ptr(raw),
        _ => plain_arg(idx, raw, n),
    }
}
