//! The course after socket(): one chapter per call of a TCP connection's life, each from its call's module
//! (`bind`, `listen`, `connect`, `accept4`, `rw`, `close`), in the server's order. `socket::lesson` appends them.
use crate::claims::{ids, Claim};
use crate::model::Call;

/// The course's chapters after socket(): one per call of the connection's life, each judged by the claims of the
/// first such call in the report (the built-in life target makes each once; a server's first connection). Empty
/// when the report has no bind().
pub fn chapters(r: &crate::report::Report) -> (Vec<crate::lesson::Step>, Vec<Claim>) {
    let first =
        |sys: &str, nth: usize| r.calls.iter().filter(|c| c.syscall == sys && c.ret.is_some_and(|v| v >= 0)).nth(nth);
    let of = |c: Option<&Call>| -> Vec<Claim> {
        c.map(|c| r.claims.iter().filter(|k| k.call == Some(c.seq)).cloned().collect()).unwrap_or_default()
    };
    let Some(bind) = first("bind", 0) else { return (Vec::new(), Vec::new()) };
    let gsn = first("getsockname", 0);
    let gsn_claims = of(gsn);
    // The close of a connected sock (the first close that released a TCP socket).
    let close = r.calls.iter().find(|c| c.syscall == "close" && c.ret == Some(0) && c.before.socket.is_some());
    let states: Vec<Claim> = r.claims.iter().filter(|k| k.id == ids::TCP_STATES.id).cloned().collect();
    let accept = first("accept4", 0).or(first("accept", 0));
    let tcp = |c: &&Call| c.before.sock.as_ref().and_then(|s| s.inet.as_ref()).is_some();
    let w = r.calls.iter().filter(tcp).find(|c| c.syscall == "write" && c.ret.is_some_and(|v| v > 0));
    let rd = r.calls.iter().filter(tcp).find(|c| c.syscall == "read" && c.ret.is_some_and(|v| v > 0));
    let used: Vec<Claim> = [Some(bind), gsn, first("listen", 0), first("connect", 0), accept, w, rd, close]
        .into_iter()
        .flat_map(of)
        .chain(states.iter().cloned())
        .collect();
    let mut v = super::bind::lesson_steps(bind, &of(Some(bind)), gsn.map(|g| (g, &gsn_claims[..])));
    v.extend(super::listen::lesson_steps(&of(first("listen", 0))));
    v.extend(super::connect::lesson_steps(&of(first("connect", 0))));
    v.extend(super::accept4::lesson_steps(&of(accept)));
    // The first write on a socket and the first read of the other end.
    v.extend(super::rw::lesson_steps(&of(w), &of(rd)));
    v.extend(super::close::lesson_steps(&of(close), &states));
    (v, used)
}
