//! setsockopt(fd, level, optname, optval, optlen): a socket option set (the server's SO_REUSEADDR). At the boundary:
//! arguments named from the installed headers, return value and the walk of the fd.
use super::{Def, Syscall};
use crate::model::{plain_arg, user_ptr, Call, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

pub struct SetSockOpt;

impl Syscall for SetSockOpt {
    fn def(&self) -> &'static Def {
        &DEF
    }
    fn record(&self, c: &Call, life: &mut super::conn::Life) {
        life.record_use(c, None);
    }
}

pub const DEF: Def = Def {
    name: "setsockopt",
    fallback_nr: 54,
    args: &["fd", "level", "optname", "optval", "optlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_NONE,
    name_arg,
    chain: &[],
};

/// level by its name in the headers (SOL_SOCKET, or the protocol), optname by its SO_* name for SOL_SOCKET (a
/// number for other levels), optval in hex.
fn name_arg(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    let v = raw as i64 as i32 as i64;
    match idx {
        1 => n.sockopt_level(v),
        // The option's name depends on its level: SO_* for SOL_SOCKET.
        2 if n.sockopt_level(all[1] as i64 as i32 as i64).name.as_deref() == Some("SOL_SOCKET") => n.so_option(v),
        3 => user_ptr(raw),
        _ => plain_arg(idx, raw, all, n),
    }
}
