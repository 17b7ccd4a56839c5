//! The course after socket(): one chapter per call of a TCP connection's life, each from its call's module
//! (`Syscall::chapter` of `bind`, `listen`, `connect`, `accept4`, `rw`, `close`), in the server's order.
//! `socket::lesson` appends them.
use crate::claims::Claim;

/// The course's chapters after socket(), each judged by the claims of the first such call in the report (the
/// built-in life target makes each once; a server's first connection), in the server's order. Empty when the
/// report has no successful bind() (the course follows a server's life from its bind).
pub fn chapters(r: &crate::report::Report) -> (Vec<crate::lesson::Step>, Vec<Claim>) {
    if super::nth_ok(r, &super::bind::DEF, 0).is_none() {
        return (Vec::new(), Vec::new());
    }
    let mut chapters: Vec<super::Chapter> = super::ALL.iter().filter_map(|s| s.chapter(r)).collect();
    chapters.sort_by_key(|c| c.order);
    let mut steps = Vec::new();
    let mut used = Vec::new();
    for c in chapters {
        steps.extend(c.steps);
        used.extend(c.used);
    }
    (steps, used)
}
