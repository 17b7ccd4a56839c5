//! Chain events → per-thread call trees (nesting, missing exits, exclusive time) → frames attached to the
//! boundary call they happened in.
use serde::Serialize;

use crate::model::{self, hex, Call, Caller, FileObj, KAddr, Namer, ObjKind, SockObj, SocketObj};
use crate::probes::chain::{ChKind, FnPlan, ObjKind as RawKind, RawChainEvent};

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct FArg {
    pub name: String,
    /// The register's value as captured (the typed view is `value`).
    #[serde(skip)]
    pub raw: u64,
    #[serde(rename = "type")]
    pub ty: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ObjSnap {
    /// "return" or the argument's name.
    pub from: String,
    pub kind: ObjKind,
    pub addr: KAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<SocketObj>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sock: Option<SockObj>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileObj>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Frame {
    pub func: String,
    pub depth: usize,
    /// Index of the parent frame in the same chain list.
    pub parent: Option<usize>,
    pub tid: u32,
    pub enter_ns: Option<u64>,
    pub exit_ns: Option<u64>,
    pub inclusive_ns: Option<u64>,
    pub exclusive_ns: Option<u64>,
    pub args: Vec<FArg>,
    pub ret: Option<i64>,
    /// The return address the function was called from (captured at entry: the return address), as symbol+offset.
    pub caller: Option<Caller>,
    pub entry_objects: Vec<ObjSnap>,
    pub exit_objects: Vec<ObjSnap>,
    pub probe: String,
}

fn snaps(e: &RawChainEvent, f: Option<&FnPlan>, n: &Namer) -> Vec<ObjSnap> {
    let w = |b: u32, bit: crate::probes::boundary::Walked| b & bit.0 != 0;
    e.objs
        .iter()
        .take(e.nobjs as usize)
        .map(|o| {
            let from = if o.from < 0 {
                "return".to_string()
            } else {
                f.and_then(|f| f.params.as_ref())
                    .and_then(|p| p.get(o.from as usize))
                    .map(|p| p.0.clone())
                    .unwrap_or_else(|| format!("arg{}", o.from))
            };
            let kind = RawKind(o.kind);
            let valid = o.addr != 0;
            ObjSnap {
                from,
                kind: match kind {
                    RawKind::SW_OBJ_SOCKET => ObjKind::Socket,
                    RawKind::SW_OBJ_SOCK => ObjKind::Sock,
                    RawKind::SW_OBJ_FILE => ObjKind::File,
                    _ => ObjKind::Unknown,
                },
                addr: KAddr(o.addr),
                socket: (valid && kind == RawKind::SW_OBJ_SOCKET)
                    .then(|| model::socket_obj(&o.socket, w(o.bits, crate::probes::boundary::Walked::SW_W_OPS), n)),
                sock: (valid && kind == RawKind::SW_OBJ_SOCK).then(|| {
                    model::sock_obj(
                        &o.sock,
                        w(o.bits, crate::probes::boundary::Walked::SW_W_INET),
                        w(o.bits, crate::probes::boundary::Walked::SW_W_TCP),
                        n,
                    )
                }),
                file: (valid && kind == RawKind::SW_OBJ_FILE).then(|| {
                    model::file_obj(
                        &o.file,
                        w(o.bits, crate::probes::boundary::Walked::SW_W_FREF),
                        w(o.bits, crate::probes::boundary::Walked::SW_W_INODE),
                        n,
                    )
                }),
            }
        })
        .collect()
}

/// The caller from the return addresses captured at entry (see `stack` in chain.h). At tier A the first word must
/// lie inside the traced function itself (its fentry call); otherwise the trampoline frame was not laid out as
/// expected and the caller is unknown rather than guessed.
///
/// `stack[0]` at tier A: the function's own return address (6.x layout: inside the function), or — 7.x, where the
/// trampoline can be reached by `jmp` — the target of the `call` just before the caller's return address (the
/// function itself, or a retpoline/ITS thunk for an indirect call), or 1 for an indirect call whose target is not
/// in the code. Anything else is a layout not recognised. 0 at tier B.
fn caller_of(stack: &[u64], func: &str, n: &Namer) -> Option<Caller> {
    let (own, ret) = (stack.first().copied().unwrap_or(0), stack.get(1).copied().unwrap_or(0));
    if own > 1 {
        let sym = n.kallsyms.text_location(own).map(|(s, _)| s.name.as_str());
        if sym != Some(func) && !sym.is_some_and(|s| s.contains("thunk")) {
            return None;
        }
    }
    // A trampoline put there by a probe (kretprobe/rethook, BPF) is not a caller: unknown, never "the same as".
    let (s, offset) = n.kallsyms.text_location(ret)?;
    let b = s.name.as_str();
    // The function's own fentry return address is not its caller.
    if b == func && offset <= crate::probes::chain::FENTRY_RA_MAX {
        return None;
    }
    if b.contains("rethook") || b.contains("kretprobe") || b.contains("trampoline") || b.starts_with("bpf_") {
        return None;
    }
    Some(Caller { addr: KAddr(ret), symbol: s.name.clone(), offset })
}

/// Rebuilds per-thread call trees from entry/exit events (time order). A missing exit (lost, or the thread ended
/// inside) leaves the frame open; an exit without an entry is ignored.
pub fn frames(events: &[RawChainEvent], plan: &[FnPlan], probe: &str, n: &Namer) -> Vec<Frame> {
    let mut evs: Vec<&RawChainEvent> = events.iter().collect();
    evs.sort_by_key(|e| e.ts_ns);
    let mut out: Vec<Frame> = Vec::new();
    let mut stacks: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
    for e in evs {
        let f = plan.iter().find(|p| p.slot == Some(e.slot as usize));
        let func = f.map(|f| f.name.clone()).unwrap_or_else(|| format!("slot{}", e.slot));
        let st = stacks.entry(e.tid).or_default();
        if e.kind == ChKind::SW_CH_ENTRY.0 {
            let names: Vec<(String, String)> = f.and_then(|f| f.params.clone()).unwrap_or_default();
            let count = if e.nargs >= 0 { (e.nargs as usize).min(6) } else { names.len().min(6) };
            let args = (0..count)
                .map(|j| {
                    let (name, ty) = names.get(j).cloned().unwrap_or_else(|| (format!("arg{j}"), "?".into()));
                    let v = e.args[j];
                    let value = if ty.contains('*') { hex(v) } else { (v as i64 as i32).to_string() };
                    FArg { name, raw: v, ty, value }
                })
                .collect();
            out.push(Frame {
                func: func.clone(),
                depth: st.len(),
                parent: st.last().copied(),
                tid: e.tid,
                enter_ns: Some(e.ts_ns),
                exit_ns: None,
                inclusive_ns: None,
                exclusive_ns: None,
                args,
                ret: None,
                caller: caller_of(&e.stack, &func, n),
                entry_objects: snaps(e, f, n),
                exit_objects: Vec::new(),
                probe: probe.to_string(),
            });
            st.push(out.len() - 1);
        } else if let Some(pos) = st.iter().rposition(|&i| out[i].func == func && out[i].exit_ns.is_none()) {
            let idx = st[pos];
            st.truncate(pos);
            let fr = &mut out[idx];
            fr.exit_ns = Some(e.ts_ns);
            fr.inclusive_ns = fr.enter_ns.map(|t| e.ts_ns.saturating_sub(t));
            fr.ret = match f.and_then(|f| f.ret.as_deref()) {
                Some("void") => None,
                // A 32-bit int comes back in eax: the register's upper half is not part of it (-24 is -24).
                Some("int" | "s32" | "__s32") => Some(e.ret as i32 as i64),
                _ => Some(e.ret),
            };
            fr.exit_objects = snaps(e, f, n);
        }
    }
    // Exclusive = inclusive − the children's inclusive; one pass over the children (a scan of every frame per
    // frame took 10 s for 2000 calls under TCG).
    let mut kids = vec![0u64; out.len()];
    for c in &out {
        if let (Some(p), Some(inc)) = (c.parent, c.inclusive_ns) {
            kids[p] += inc;
        }
    }
    for (f, k) in out.iter_mut().zip(kids) {
        f.exclusive_ns = f.inclusive_ns.map(|inc| inc.saturating_sub(k));
    }
    out
}

/// Frames as records arrive, per thread, until the boundary call they ran in has completed: each record is one
/// outermost traced call, so a record's frames never refer to another record's.
#[derive(Default)]
pub struct FrameQueue {
    by_tid: Queues,
    next: u64,
    /// Frames that ran outside every traced boundary call of their thread (dropped, counted).
    pub outside: u64,
    /// Per thread, frames of the file-release path that ran after a close() returned (the last fput() of a file
    /// is deferred to the return to user space, after sys_exit): kept for the close() they belong to, matched by
    /// the file pointer (`take_late`). At most LATE_FRAMES per thread, LATE_TIDS threads.
    late: Queues,
}

/// Frames waiting for their call, in arrival order: (global id, the parent's global id, the frame).
type Queue = std::collections::VecDeque<(u64, Option<u64>, Frame)>;
type Queues = std::collections::HashMap<u32, Queue>;

/// The functions that run from the deferred fput of a socket's file (task work at the return to user space).
pub const LATE_FUNCS: &[&str] = &["sock_close", "__sock_release", "inet_release", "tcp_close", "sock_release"];
const LATE_FRAMES: usize = 64;
const LATE_TIDS: usize = 64;

fn keep_late(late: &mut Queues, tid: u32, item: (u64, Option<u64>, Frame)) -> bool {
    if !LATE_FUNCS.contains(&item.2.func.as_str()) || (!late.contains_key(&tid) && late.len() >= LATE_TIDS) {
        return false;
    }
    let q = late.entry(tid).or_default();
    if q.len() >= LATE_FRAMES {
        q.pop_front();
    }
    q.push_back(item);
    true
}

/// Takes out of `q` the sock_close() record of `file` that began after `after`, with its descendants.
/// Where in `q` the sock_close() record of `file` that began inside `(after, before)` is.
fn release_at(q: &Queue, w: (u64, u64), file: u64) -> Option<usize> {
    q.iter().position(|(_, p, f)| {
        f.func == "sock_close"
            && p.is_none()
            && f.enter_ns.is_some_and(|t| t > w.0 && t < w.1)
            && f.args.iter().any(|a| a.raw == file && a.ty.contains("file"))
    })
}

fn take_release(q: &mut Queue, w: (u64, u64), file: u64) -> Vec<Frame> {
    let root = release_at(q, w, file);
    let Some(r) = root else { return Vec::new() };
    let root_gid = q[r].0;
    // Its descendants: the frames after it whose parent is it or one of them.
    let mut gids = vec![root_gid];
    let mut mine = Vec::new();
    let mut i = r;
    while i < q.len() {
        let take = q[i].0 == root_gid || q[i].1.is_some_and(|p| gids.contains(&p));
        if take {
            let Some(item) = q.remove(i) else { break };
            gids.push(item.0);
            mine.push(item);
        } else {
            i += 1;
        }
    }
    let ids: Vec<u64> = mine.iter().map(|(g, _, _)| *g).collect();
    let base = mine.iter().map(|(_, _, f)| f.depth).min().unwrap_or(0);
    mine.into_iter()
        .map(|(_, p, mut f)| {
            f.parent = p.and_then(|p| ids.binary_search(&p).ok());
            f.depth -= base;
            f
        })
        .collect()
}

impl FrameQueue {
    /// After the calls that completed have taken their frames: a frame of a thread that entered before the call
    /// the thread has open (or with none open, any frame) ran outside every call that can still complete — a
    /// chain function called by an untraced syscall — and is dropped, so the queue does not grow with the run.
    pub fn prune(&mut self, open_enter: impl Fn(u32) -> Option<u64>) {
        let mut dropped = 0;
        let late = &mut self.late;
        self.by_tid.retain(|tid, q| {
            let keep_from = open_enter(*tid).unwrap_or(u64::MAX);
            while q.front().is_some_and(|(_, _, f)| f.enter_ns.is_none_or(|t| t < keep_from)) {
                if let Some(item) = q.pop_front() {
                    dropped += u64::from(!keep_late(late, *tid, item));
                }
            }
            !q.is_empty()
        });
        self.outside += dropped;
    }

    /// The frames of one batch of chain events (whole records).
    pub fn push(&mut self, events: &[RawChainEvent], plan: &[FnPlan], probe: &str, n: &Namer) {
        let base = self.next;
        let fs = frames(events, plan, probe, n);
        self.next += fs.len() as u64;
        for (i, f) in fs.into_iter().enumerate() {
            let parent = f.parent.map(|p| base + p as u64);
            self.by_tid.entry(f.tid).or_default().push_back((base + i as u64, parent, f));
        }
    }

    /// The frames that ran inside `c` (same thread, entered between its entry and exit), taken out of the queue,
    /// parents as indexes into the returned list and depths from 0. Frames of the thread that entered before `c`
    /// belong to no traced call: they are dropped.
    /// The file-release frames (see `late`) of thread `tid` that ran in `window` under a sock_close() of `file`:
    /// the close() that dropped the file's last reference.
    /// Whether `take_late` would find the record now.
    pub fn has_late(&self, tid: u32, window: (u64, u64), file: u64) -> bool {
        [self.late.get(&tid), self.by_tid.get(&tid)]
            .into_iter()
            .flatten()
            .any(|q| release_at(q, window, file).is_some())
    }

    /// `window`: after the close() returned, before the thread's next call entered (the release runs in between:
    /// a file at the same address released later is another file).
    pub fn take_late(&mut self, tid: u32, window: (u64, u64), file: u64) -> Vec<Frame> {
        // Already set aside, or still queued (no later call of the thread has passed them yet).
        let mut got = self.late.get_mut(&tid).map(|q| take_release(q, window, file)).unwrap_or_default();
        if got.is_empty() {
            got = self.by_tid.get_mut(&tid).map(|q| take_release(q, window, file)).unwrap_or_default();
        }
        got
    }

    pub fn take_for(&mut self, c: &Call) -> Vec<Frame> {
        let (Some(a), Some(b)) = (c.enter_ns, c.exit_ns) else { return Vec::new() };
        let Some(q) = self.by_tid.get_mut(&c.tid) else { return Vec::new() };
        let mut mine: Vec<(u64, Option<u64>, Frame)> = Vec::new();
        while let Some((_, _, f)) = q.front() {
            match f.enter_ns {
                Some(t) if t > b => break,
                Some(t) if t >= a => mine.extend(q.pop_front()),
                _ => {
                    if let Some(item) = q.pop_front() {
                        self.outside += u64::from(!keep_late(&mut self.late, c.tid, item));
                    }
                }
            }
        }
        if q.is_empty() {
            self.by_tid.remove(&c.tid);
        }
        mine.sort_by_key(|(g, _, _)| *g);
        let base = mine.iter().map(|(_, _, f)| f.depth).min().unwrap_or(0);
        let gids: Vec<u64> = mine.iter().map(|(g, _, _)| *g).collect();
        mine.into_iter()
            .map(|(_, p, mut f)| {
                f.parent = p.and_then(|p| gids.binary_search(&p).ok());
                f.depth -= base;
                f
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{chain_event as ev, plan_of};
    use crate::machine::kallsyms::Kallsyms;

    #[test]
    fn an_int_return_is_sign_extended_and_a_long_one_kept() {
        let mut p = plan_of(&["get_unused_fd_flags", "sock_alloc_file"]);
        p[0].ret = Some("int".into());
        p[1].ret = Some("struct file *".into());
        let e = vec![
            ev(ChKind::SW_CH_ENTRY, 0, 1, 10, 0),
            ev(ChKind::SW_CH_EXIT, 0, 1, 11, 0xffff_ffe8),
            ev(ChKind::SW_CH_ENTRY, 1, 1, 12, 0),
            ev(ChKind::SW_CH_EXIT, 1, 1, 13, 0xffff_ffe8),
        ];
        let f = frames(&e, &p, "fentry", &Namer::default());
        assert_eq!(f.iter().map(|x| x.ret).collect::<Vec<_>>(), vec![Some(-24), Some(0xffff_ffe8)]);
    }

    #[test]
    fn frames_go_to_the_call_that_contains_them_on_their_thread() {
        let p = plan_of(&["a", "b"]);
        // Thread 1: two calls of a (each with b inside); thread 2: one call of a overlapping the first in time.
        let e = vec![
            ev(ChKind::SW_CH_ENTRY, 0, 1, 10, 0),
            ev(ChKind::SW_CH_ENTRY, 0, 2, 12, 0),
            ev(ChKind::SW_CH_ENTRY, 1, 1, 15, 0),
            ev(ChKind::SW_CH_EXIT, 1, 1, 16, 0),
            ev(ChKind::SW_CH_EXIT, 0, 2, 18, 0),
            ev(ChKind::SW_CH_EXIT, 0, 1, 20, 0),
            ev(ChKind::SW_CH_ENTRY, 0, 1, 30, 0),
            ev(ChKind::SW_CH_ENTRY, 1, 1, 31, 0),
            ev(ChKind::SW_CH_EXIT, 1, 1, 32, 0),
            ev(ChKind::SW_CH_EXIT, 0, 1, 40, 0),
        ];
        let mut q = FrameQueue::default();
        q.push(&e[..6], &p, "fentry", &Namer::default());
        // A later poll round's records (thread 1's second call) go to the same thread's queue.
        q.push(&e[6..], &p, "fentry", &Namer::default());
        let call = |tid: u32, a: u64, b: u64| Call {
            tid,
            enter_ns: Some(a),
            exit_ns: Some(b),
            ..crate::model::tests_support::empty_call()
        };
        let mut calls = [call(1, 9, 21), call(2, 11, 19), call(1, 29, 41), call(1, 50, 60)];
        for c in calls.iter_mut() {
            c.chain = q.take_for(c);
        }
        assert_eq!(calls.iter().map(|c| c.chain.len()).sum::<usize>(), 5);
        let shape = |c: &Call| c.chain.iter().map(|x| (x.func.clone(), x.depth, x.parent)).collect::<Vec<_>>();
        assert_eq!(shape(&calls[0]), vec![("a".into(), 0, None), ("b".into(), 1, Some(0))]);
        assert_eq!(shape(&calls[1]), vec![("a".into(), 0, None)], "the other thread's frames stay out");
        assert_eq!(shape(&calls[2]), vec![("a".into(), 0, None), ("b".into(), 1, Some(0))]);
        assert!(calls[3].chain.is_empty());
    }

    #[test]
    fn callers_are_checked_not_guessed() {
        let ks = Kallsyms::parse(
            "ffffffff81000000 T __sock_create\nffffffff81000400 T sock_alloc\nffffffff81000800 T arch_rethook_trampoline\nffffffff81000900 T other\n",
            "fixture",
        );
        let n = Namer { kallsyms: ks, ..Default::default() };
        // Tier A: the first word is inside the traced function (its fentry call), the second names the caller.
        assert_eq!(
            caller_of(&[0xffffffff81000405, 0xffffffff8100007f], "sock_alloc", &n).map(|c| c.to_string()).as_deref(),
            Some("__sock_create+0x7f")
        );
        // A trampoline frame not laid out as expected: the first word is elsewhere, so no caller at all.
        assert_eq!(caller_of(&[0xffffffff81000905, 0xffffffff8100007f], "sock_alloc", &n), None);
        // Tier B: no first word; a kretprobe trampoline in place of the return address is not a caller.
        assert_eq!(
            caller_of(&[0, 0xffffffff8100007f], "sock_alloc", &n).map(|c| (c.symbol, c.offset, c.addr)),
            Some(("__sock_create".to_string(), 0x7f, KAddr(0xffffffff8100007f)))
        );
        assert_eq!(caller_of(&[0, 0xffffffff81000810], "sock_alloc", &n), None);
        assert_eq!(caller_of(&[0, 0], "sock_alloc", &n), None);
        // 7.x (jmp to the trampoline): the call before the return address targets the function itself, or a
        // thunk, or is indirect (1); a call to some other function means the word is not this call's return.
        let ks = Kallsyms::parse(
            "ffffffff81000000 T __sock_create
ffffffff81000400 T sock_alloc
ffffffff81000900 T other
ffffffff81000a00 T __x86_indirect_thunk_rax
",
            "fixture",
        );
        let n = Namer { kallsyms: ks, ..Default::default() };
        let named = |st: [u64; 2]| caller_of(&st, "sock_alloc", &n).map(|c| c.to_string());
        assert_eq!(named([0xffffffff81000400, 0xffffffff8100007f]).as_deref(), Some("__sock_create+0x7f"));
        assert_eq!(named([0xffffffff81000a00, 0xffffffff8100007f]).as_deref(), Some("__sock_create+0x7f"));
        assert_eq!(named([1, 0xffffffff8100007f]).as_deref(), Some("__sock_create+0x7f"));
        assert_eq!(named([0xffffffff81000900, 0xffffffff8100007f]), None);
        // The function's own fentry return is never its caller.
        assert_eq!(named([1, 0xffffffff81000409]), None);
    }

    #[test]
    fn nesting_and_exclusive_time() {
        let p = plan_of(&["a", "b", "c"]);
        let e = vec![
            ev(ChKind::SW_CH_ENTRY, 0, 1, 10, 0),
            ev(ChKind::SW_CH_ENTRY, 1, 1, 20, 0),
            ev(ChKind::SW_CH_EXIT, 1, 1, 30, 5),
            ev(ChKind::SW_CH_ENTRY, 2, 1, 40, 0),
            ev(ChKind::SW_CH_EXIT, 2, 1, 45, 0),
            ev(ChKind::SW_CH_EXIT, 0, 1, 100, 3),
        ];
        let f = frames(&e, &p, "fentry", &Namer::default());
        assert_eq!(
            f.iter().map(|x| (x.func.as_str(), x.depth, x.parent)).collect::<Vec<_>>(),
            vec![("a", 0, None), ("b", 1, Some(0)), ("c", 1, Some(0))]
        );
        assert_eq!(f[0].inclusive_ns, Some(90));
        assert_eq!(f[0].exclusive_ns, Some(75));
        assert_eq!(f[1].ret, Some(5));
    }

    #[test]
    fn recursion_interleaved_threads_and_missing_exit() {
        let p = plan_of(&["r", "x"]);
        let e = vec![
            ev(ChKind::SW_CH_ENTRY, 0, 1, 1, 0),
            ev(ChKind::SW_CH_ENTRY, 0, 2, 2, 0),
            ev(ChKind::SW_CH_ENTRY, 0, 1, 3, 0), // recursion on thread 1
            ev(ChKind::SW_CH_EXIT, 0, 2, 4, 0),
            ev(ChKind::SW_CH_ENTRY, 1, 1, 5, 0), // x never exits
            ev(ChKind::SW_CH_EXIT, 0, 1, 6, 0),  // closes inner r, abandoning x
            ev(ChKind::SW_CH_EXIT, 0, 1, 7, 0),  // closes outer r
            ev(ChKind::SW_CH_EXIT, 1, 3, 8, 0),  // exit without entry: ignored
        ];
        let f = frames(&e, &p, "fentry", &Namer::default());
        assert_eq!(f.len(), 4);
        let t1: Vec<_> = f.iter().filter(|x| x.tid == 1).map(|x| (x.func.as_str(), x.depth, x.exit_ns)).collect();
        assert_eq!(t1, vec![("r", 0, Some(7)), ("r", 1, Some(6)), ("x", 2, None)]);
        let t2: Vec<_> = f.iter().filter(|x| x.tid == 2).map(|x| (x.depth, x.exit_ns)).collect();
        assert_eq!(t2, vec![(0, Some(4))]);
    }
}
