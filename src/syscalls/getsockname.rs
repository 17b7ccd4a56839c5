//! getsockname(fd, addr, addrlen) and getpeername(fd, addr, addrlen): a socket's own address and its peer's, as the
//! program sees them. At the boundary: the sockaddr the kernel wrote back (read at exit), return value and the walk
//! of the fd; the claim that what the program was told is what the sock holds.
use super::{Def, Judging, Syscall};
use crate::claims::{ev, ids, judged, Claim};
use crate::model::{plain_arg, user_ptr, Call, Namer, Value};
use crate::probes::boundary::{Mode, UaddrMode};

/// getsockname() (`peer` false) or getpeername() (`peer` true).
pub struct Name {
    pub def: &'static Def,
    pub peer: bool,
}

impl Name {
    pub const SOCK: Name = Name { def: &DEF, peer: false };
    pub const PEER: Name = Name { def: &PEER, peer: true };
}

impl Syscall for Name {
    fn def(&self) -> &'static Def {
        self.def
    }
    fn judge(&self, c: &Call, _j: &mut Judging) -> Vec<Claim> {
        if self.peer {
            judge_peer(c)
        } else {
            judge(c)
        }
    }
    fn record(&self, c: &Call, life: &mut super::conn::Life) {
        life.record_use(c, None);
    }
}

pub const DEF: Def = Def {
    name: "getsockname",
    fallback_nr: 51,
    args: &["fd", "addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_EXIT,
    name_arg,
    chain: &[],
};

pub const PEER: Def = Def {
    name: "getpeername",
    fallback_nr: 52,
    args: &["fd", "addr", "addrlen"],
    mode: Mode::SW_MODE_WALK_ARG0,
    uaddr: UaddrMode::SW_UA_EXIT,
    name_arg,
    chain: &[],
};

fn name_arg(idx: usize, raw: u64, all: &[u64], n: &Namer) -> Value {
    match idx {
        1 | 2 => user_ptr(raw),
        _ => plain_arg(idx, raw, all, n),
    }
}

/// `getsockname.agrees`: what the program was told is what the sock holds.
pub fn judge(c: &Call) -> Vec<Claim> {
    agrees(c, false)
}

/// `getpeername.agrees`: the peer the program was told is the sock's peer.
pub fn judge_peer(c: &Call) -> Vec<Claim> {
    agrees(c, true)
}

/// The sockaddr written back against the sock's own address (`peer` false) or its peer's (`peer` true).
fn agrees(c: &Call, peer: bool) -> Vec<Claim> {
    let (Some(0), Some(sa), Some(sk)) = (c.ret, c.sockaddr.as_ref(), c.after.sock.as_ref()) else { return vec![] };
    let Some(i) = sk.inet.as_ref() else { return vec![] };
    let told = sa.told();
    let (id, holds, what, fields) = if peer {
        (
            ids::GETPEERNAME_AGREES,
            i.peer(),
            "the sock's peer is",
            format!("skc_daddr {} · skc_dport {}", i.daddr, i.dport),
        )
    } else {
        (
            ids::GETSOCKNAME_AGREES,
            i.local(),
            "the sock holds",
            format!("skc_rcv_saddr {} · inet_num {}", i.rcv_saddr, i.num),
        )
    };
    vec![judged(
        id,
        Some(c.seq),
        sa.addr.is_some().then(|| told == holds),
        format!("told {told}; {what} {holds}"),
        vec![
            ev(
                "the sockaddr written back",
                format!("{told} · bytes {}", sa.bytes),
                "user memory at exit (bpf_probe_read_user)",
            ),
            ev(format!("sk {} after", sk.addr), fields, "tp_btf/sys_exit walk"),
        ],
        "the sockaddr is not AF_INET or AF_INET6",
    )]
}
