//! The claims about one socket() call: the syscall boundary and the struct walk (tier C), judged from the evidence
//! captured for it.
use crate::claims::{ev, ids, judged, Claim, Evidence, Verdict};
use crate::model::{Call, Namer};

const EXIT: &str = "tp_btf/sys_exit walk";
const ENTER: &str = "tp_btf/sys_enter walk";

struct Judge<'a> {
    call: &'a Call,
    out: Vec<Claim>,
}

impl Judge<'_> {
    fn put(&mut self, id: ids::ClaimId, ok: Option<bool>, finding: String, evidence: Vec<Evidence>, missing: &str) {
        self.out.push(judged(id, Some(self.call.seq), ok, finding, evidence, missing));
    }
}

fn arg(call: &Call, i: usize) -> Option<i64> {
    call.args.get(i).map(|a| a.value.raw)
}

/// The claims about one socket() call, judged on its own.
#[cfg(test)]
pub fn judge_socket(call: &Call, names: &Namer) -> Vec<Claim> {
    judge_socket_among(call, &[], names)
}

/// What the judgement of another call needs to know of a call on an fd table: who made it, when, what it returned.
#[derive(Debug, Clone)]
pub struct TableUse {
    pub seq: usize,
    pub tid: u32,
    pub enter_ns: Option<u64>,
    pub exit_ns: Option<u64>,
    pub syscall: String,
    /// Its syscall returns a new fd (`Syscall::returns_fd`).
    pub returns_fd: bool,
    pub ret: Option<i64>,
}

/// Calls per fd table (the `files` pointer at entry), kept as a window over the run: a call is judged against the
/// other threads' calls that overlapped it, and once no call still to be judged can overlap a use, it is dropped
/// (`prune`). A table keeps at most `MAX_PER_TABLE` uses (a thread blocked for an hour in accept() must not make
/// the window grow with everything the others did meanwhile): past that the oldest go first, and a gap they would
/// have explained is "not observable", never a refutation.
#[derive(Default)]
pub struct SharedTables(std::collections::HashMap<crate::model::KAddr, Table>);

/// One fd table's recent uses, in the order the calls completed, and every thread seen using it.
#[derive(Default)]
struct Table {
    uses: std::collections::VecDeque<TableUse>,
    tids: std::collections::BTreeSet<u32>,
}

const MAX_PER_TABLE: usize = 4096;
/// How far past a call's own exit the scan for overlapping calls goes: a call of another thread that was running
/// when ours returned completes soon after (one per thread); past this many later completions it is not looked
/// for (the gap it would have explained is then "not observable" — the table is shared — never a refutation).
const SCAN_PAST_EXIT: usize = 256;

impl SharedTables {
    /// Every call of a finished run at once.
    #[cfg(test)]
    pub fn new(all: &[Call]) -> Self {
        let mut t = SharedTables::default();
        let mut sorted: Vec<&Call> = all.iter().collect();
        sorted.sort_by_key(|c| c.exit_ns);
        for c in sorted {
            t.add(c);
        }
        t
    }

    /// A completed call (calls are added in the order they completed).
    pub fn add(&mut self, c: &Call) {
        let Some(t) = c.before.fdtable.as_ref() else { return };
        let table = self.0.entry(t.files).or_default();
        if table.uses.len() >= MAX_PER_TABLE {
            table.uses.pop_front();
        }
        table.tids.insert(c.tid);
        // Kept sorted by exit time (`of` binary-searches it): a call completes about when it is added, so the
        // place is found from the back in a step or two; a call without an exit goes to the end.
        let x = c.exit_ns.unwrap_or(u64::MAX);
        let at = table.uses.len() - table.uses.iter().rev().take_while(|u| u.exit_ns.unwrap_or(u64::MAX) > x).count();
        table.uses.insert(
            at,
            TableUse {
                seq: c.seq,
                tid: c.tid,
                enter_ns: c.enter_ns,
                exit_ns: c.exit_ns,
                syscall: c.syscall.clone(),
                returns_fd: crate::syscalls::of(c).is_some_and(|s| s.returns_fd()),
                ret: c.ret,
            },
        );
    }

    /// Drops the uses that ended before `ns` (no call judged from now on began earlier).
    pub fn prune(&mut self, ns: u64) {
        self.0.retain(|_, t| {
            while t.uses.front().is_some_and(|u| u.exit_ns.is_none_or(|x| x < ns)) {
                t.uses.pop_front();
            }
            !t.uses.is_empty()
        });
    }

    /// The other threads seen on `call`'s fd table, and their calls that overlapped `call` in time (a thread that
    /// shares the table can change it while `call` runs). A binary search to the calls that ended after `call`
    /// began, then a bounded scan: constant work per call, whatever the run's length.
    fn of(&self, call: &Call) -> (Vec<u32>, Vec<&TableUse>) {
        let Some(t) = call.before.fdtable.as_ref().and_then(|t| self.0.get(&t.files)) else {
            return (vec![], vec![]);
        };
        let others: Vec<u32> = t.tids.iter().copied().filter(|&x| x != call.tid).collect();
        if others.is_empty() {
            return (others, vec![]);
        }
        let (start, end) = (call.enter_ns.unwrap_or(0), call.exit_ns.unwrap_or(u64::MAX));
        let from = t.uses.partition_point(|u| u.exit_ns.unwrap_or(u64::MAX) <= start);
        let mut past = 0;
        let mut overlapping = Vec::new();
        for u in t.uses.range(from..) {
            if u.exit_ns.unwrap_or(u64::MAX) > end {
                past += 1;
                if past > SCAN_PAST_EXIT {
                    break;
                }
            }
            if u.tid != call.tid && u.enter_ns.unwrap_or(0) < end && u.exit_ns.unwrap_or(u64::MAX) > start {
                overlapping.push(u);
            }
        }
        (others, overlapping)
    }
}

/// Open fds as a set, "{0,1,2}"; "not read" when the walk did not get the table.
fn fd_set(open: Option<&[u32]>) -> String {
    match open {
        Some(v) => format!("{{{}}}", v.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(",")),
        None => "not read".into(),
    }
}

/// The claims about one socket() call, among all the calls of the session (other threads sharing its fd table).
#[cfg(test)]
pub fn judge_socket_among(call: &Call, all: &[Call], names: &Namer) -> Vec<Claim> {
    judge_socket_in(call, &SharedTables::new(all), names)
}

/// As `judge_socket_among`, with the session's shared fd tables indexed once (see `SharedTables`).
pub fn judge_socket_in(call: &Call, tables: &SharedTables, names: &Namer) -> Vec<Claim> {
    let mut j = Judge { call, out: Vec::new() };
    let (other_tids, overlapping) = tables.of(call);
    let users = call.before.fdtable.as_ref().map(|t| t.files_users).unwrap_or(0);
    // Shared: other threads' calls on it were seen, or the kernel counts more than one user of the table.
    let shared = !other_tids.is_empty() || users > 1;
    let shared_why = || {
        format!(
            "{} share this fd table (files {}, files->count = {users} at entry) and may change it while this call runs, with calls syswalk does not trace",
            if other_tids.is_empty() {
                "other tasks".to_string()
            } else {
                format!("threads {}", other_tids.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "))
            },
            call.before.fdtable.as_ref().map(|t| t.files.to_string()).unwrap_or_else(|| "?".into())
        )
    };
    let Some(ret) = call.ret else {
        j.put(
            ids::CALL_RETURNED,
            None,
            "the call returned".into(),
            vec![],
            "no sys_exit event for this call (the target ended inside it, or events were lost)",
        );
        return j.out;
    };
    let (family, ty, proto) = (arg(call, 0), arg(call, 1), arg(call, 2));
    if ret < 0 {
        let before = call.before.fdtable.as_ref().map(|f| f.open.clone());
        let after = call.after.fdtable.as_ref().map(|f| f.open.clone());
        let errno = call.errno.as_ref().map(|e| e.show()).unwrap_or_else(|| (-ret).to_string());
        let same = before.as_ref().zip(after.as_ref()).map(|(b, a)| a == b);
        // Another thread on the same table may have opened or closed fds meanwhile: a difference proves nothing then.
        let missing = if same == Some(false) && shared {
            shared_why()
        } else {
            "the fd table was not read at entry and exit".to_string()
        };
        j.put(
            ids::FD_UNCHANGED_ON_FAILURE,
            if same == Some(false) && shared { None } else { same },
            format!("socket() failed with {errno} and left the fd table as it found it (no fd leaked)"),
            vec![
                ev("return value", format!("{ret} ({errno})"), "tp_btf/sys_exit"),
                ev("open fds before", fd_set(before.as_deref()), ENTER),
                ev("open fds after", fd_set(after.as_deref()), EXIT),
            ],
            &missing,
        );
        return j.out;
    }
    let fd = ret as u32;
    let a = &call.after;
    let fdt_before = call.before.fdtable.as_ref();

    // fd.lowest_free: free at entry, and every lower slot open at entry — or taken meanwhile by another thread's
    // traced call on the same table (its returned fd). Otherwise, with threads sharing the table, not observable.
    let taken: Vec<(u32, &TableUse)> = overlapping
        .iter()
        .filter(|o| o.returns_fd)
        .filter_map(|o| o.ret.filter(|r| *r >= 0).map(|r| (r as u32, *o)))
        .filter(|(f, _)| *f < fd)
        .collect();
    let judge_lowest = |with_taken: bool| {
        fdt_before.and_then(|t| {
            let free_now = !t.is_open(fd)?;
            let lower_all_used =
                (0..fd).all(|i| t.is_open(i) == Some(true) || (with_taken && taken.iter().any(|(f, _)| *f == i)));
            Some(free_now && lower_all_used)
        })
    };
    let mut evidence = vec![
        ev("returned fd", fd.to_string(), "tp_btf/sys_exit"),
        ev("open fds before the call", fd_set(fdt_before.map(|t| t.open.as_slice())), ENTER),
        ev(
            "fdt->max_fds, files->next_fd",
            fdt_before.map(|t| format!("{}, {}", t.max_fds, t.next_fd)).unwrap_or_default(),
            ENTER,
        ),
    ];
    let mut missing =
        "the fd bitmap before the call was not captured, or the fd is beyond the captured words".to_string();
    let lowest = match judge_lowest(false) {
        Some(false) if shared => {
            if judge_lowest(true) == Some(true) {
                for (f, o) in &taken {
                    evidence.push(ev(
                        "taken meanwhile by another thread",
                        format!("fd {f}: call {} {}() tid {}", o.seq, o.syscall, o.tid),
                        "tp_btf/sys_enter + sys_exit of that call (same files table, overlapping in time)",
                    ));
                }
                Some(true)
            } else {
                missing = shared_why();
                None
            }
        }
        v => v,
    };
    j.put(
        ids::FD_LOWEST_FREE,
        lowest,
        format!("the returned fd {fd} was the lowest free slot of the fd table"),
        evidence,
        &missing,
    );

    let file = a.file.as_ref();
    let sock = a.socket.as_ref();
    let sk = a.sock.as_ref();
    let fop_name = file.and_then(|f| f.f_op_read_iter.symbol.clone());

    // file.private_data_is_socket
    j.put(
        ids::FILE_PRIVATE_DATA_IS_SOCKET,
        match (file, sock) {
            // The inode says the file is something else: its private_data is no socket (and was not read as one).
            (Some(f), _) if !f.is_socket() && !f.ty.starts_with("unknown") => Some(false),
            (Some(f), Some(s)) => Some(
                f.private_data == s.addr
                    && s.file == f.addr
                    && fop_name.as_deref().is_none_or(|n| n == "sock_read_iter"),
            ),
            _ => None,
        },
        format!("file->private_data of fd {fd} holds a struct socket (one whose ->file points back to this file)"),
        vec![
            ev(format!("fdt->fd[{fd}]"), file.map(|f| f.addr.to_string()).unwrap_or_default(), EXIT),
            ev("file->private_data", file.map(|f| f.private_data.to_string()).unwrap_or_default(), EXIT),
            ev("file->f_inode->i_mode", file.map(|f| format!("{} ({})", f.i_mode, f.ty)).unwrap_or_default(), EXIT),
            ev("socket->file (read at private_data)", sock.map(|s| s.file.to_string()).unwrap_or_default(), EXIT),
            ev("file->f_op", file.map(|f| f.f_op.show()).unwrap_or_default(), EXIT),
            ev(
                "file->f_op->read_iter",
                file.map(|f| f.f_op_read_iter.show()).unwrap_or_default(),
                &names.kallsyms.source,
            ),
        ],
        "the walk did not reach file and socket",
    );

    // socket.file_is_file
    j.put(
        ids::SOCKET_FILE_IS_FILE,
        file.zip(sock).map(|(f, s)| s.file == f.addr),
        format!("socket->file is the struct file installed at fd {fd}"),
        vec![
            ev(format!("fdt->fd[{fd}]"), file.map(|f| f.addr.to_string()).unwrap_or_default(), EXIT),
            ev("socket->file", sock.map(|s| s.file.to_string()).unwrap_or_default(), EXIT),
        ],
        "the walk did not reach file and socket",
    );

    // socket.sk_is_sock
    j.put(
        ids::SOCKET_SK_IS_SOCK,
        sock.zip(sk).map(|(s, k)| s.sk == k.addr && !s.sk.is_null() && k.family.raw == s.ops_family.raw),
        "socket->sk points to a struct sock of the socket's family".into(),
        vec![
            ev("socket->sk", sock.map(|s| s.sk.to_string()).unwrap_or_default(), EXIT),
            ev("sk->sk_family", sk.map(|k| k.family.show()).unwrap_or_default(), EXIT),
            ev("socket->ops->family", sock.map(|s| s.ops_family.show()).unwrap_or_default(), EXIT),
            ev("sk->sk_prot->name", sk.map(|k| k.prot_name.clone()).unwrap_or_default(), EXIT),
        ],
        "socket->sk was NULL or the walk did not reach the sock",
    );

    // sock.sk_socket_backlink
    j.put(
        ids::SOCK_SK_SOCKET_BACKLINK,
        sock.zip(sk).map(|(s, k)| k.sk_socket == s.addr),
        "sk->sk_socket points back to the struct socket (socket ⇄ sock)".into(),
        vec![
            ev("socket", sock.map(|s| s.addr.to_string()).unwrap_or_default(), EXIT),
            ev("sk->sk_socket", sk.map(|k| k.sk_socket.to_string()).unwrap_or_default(), EXIT),
        ],
        "the walk did not reach the sock",
    );

    // sock.family_matches_arg
    j.put(
        ids::SOCK_FAMILY_MATCHES_ARG,
        sk.zip(family).map(|(k, f)| k.family.raw == f),
        format!(
            "sk->sk_family equals the family argument {}",
            call.args.first().map(|a| a.value.show()).unwrap_or_default()
        ),
        vec![
            ev(
                "family argument (rdi)",
                call.args.first().map(|a| a.value.show()).unwrap_or_default(),
                "tp_btf/sys_enter",
            ),
            ev("sk->sk_family", sk.map(|k| k.family.show()).unwrap_or_default(), EXIT),
        ],
        "no sys_enter arguments or no sock",
    );

    // sock.protocol_resolved
    let proto_judgement = sk.zip(proto).map(|(k, p)| {
        if p != 0 {
            return (k.protocol.raw == p, format!("protocol argument {p} kept as given"));
        }
        let base = k.prot_name.trim_end_matches("v6").to_ascii_uppercase();
        let by_name = names.btf.as_ref().and_then(|b| b.enumerator(&format!("IPPROTO_{base}")));
        match by_name {
            Some(v) => (k.protocol.raw == v && v != 0, format!("protocol 0 resolved to the family default: {} — sk_prot is \"{}\" and BTF has IPPROTO_{base} = {v}", k.protocol.show(), k.prot_name)),
            None => (k.protocol.raw == 0, format!("protocol 0 kept: sk_prot \"{}\" has no IPPROTO_ number in BTF, sk_protocol = {}", k.prot_name, k.protocol.raw)),
        }
    });
    j.put(
        ids::SOCK_PROTOCOL_RESOLVED,
        proto_judgement.as_ref().map(|p| p.0),
        proto_judgement
            .as_ref()
            .map(|p| p.1.clone())
            .unwrap_or_else(|| "the protocol argument resolved to the sock's protocol".into()),
        vec![
            ev(
                "protocol argument (rdx)",
                call.args.get(2).map(|a| a.value.show()).unwrap_or_default(),
                "tp_btf/sys_enter",
            ),
            ev("sk->sk_protocol", sk.map(|k| k.protocol.show()).unwrap_or_default(), EXIT),
            ev("sk->sk_prot->name", sk.map(|k| k.prot_name.clone()).unwrap_or_default(), EXIT),
        ],
        "no sys_enter arguments or no sock",
    );

    // socket.type_matches_arg
    j.put(
        ids::SOCKET_TYPE_MATCHES_ARG,
        sock.zip(ty).map(|(s, t)| s.ty.raw == t & 0xf && sk.is_none_or(|k| k.ty.raw == t & 0xf)),
        "socket->type (and sk->sk_type) equal the type argument without its SOCK_NONBLOCK/SOCK_CLOEXEC flag bits"
            .into(),
        vec![
            ev("type argument (rsi)", call.args.get(1).map(|a| a.value.show()).unwrap_or_default(), "tp_btf/sys_enter"),
            ev("socket->type", sock.map(|s| s.ty.show()).unwrap_or_default(), EXIT),
            ev("sk->sk_type", sk.map(|k| k.ty.show()).unwrap_or_default(), EXIT),
        ],
        "no sys_enter arguments or no socket",
    );

    // socket.ops_is_family_ops
    j.put(
        ids::SOCKET_OPS_IS_FAMILY_OPS,
        sock.zip(family).map(|(s, f)| s.ops_family.raw == f),
        "socket->ops is the family's proto_ops table (its ->family is the requested family)".into(),
        vec![
            ev("socket->ops", sock.map(|s| s.ops.show()).unwrap_or_default(), EXIT),
            ev("socket->ops->family", sock.map(|s| s.ops_family.show()).unwrap_or_default(), EXIT),
            ev("socket->ops->release", sock.map(|s| s.ops_release.show()).unwrap_or_default(), &names.kallsyms.source),
            ev("socket->ops->connect", sock.map(|s| s.ops_connect.show()).unwrap_or_default(), &names.kallsyms.source),
        ],
        "the walk did not reach socket->ops",
    );
    j.out
}

/// Claims that need the function-level chain, reported as not observable with `why` (from the capability probe).
/// The same claims `chain::judge` makes (same ids, same statements), here not observable for `why`.
pub fn chain_not_observable(why: &str) -> Vec<Claim> {
    super::chain::CLAIMS
        .iter()
        .map(|id| Claim::new(*id, None, Verdict::NotObservable, String::new(), vec![], Some(why.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    /// A made-up kernel address per name, so fixtures read as letters.
    fn a(name: &str) -> KAddr {
        KAddr(
            0xffff_8880_0000_0000
                | name.bytes().fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(b as u64)) & 0xffff_ffff,
        )
    }

    fn good_call() -> Call {
        let p = |x: &str| Ptr { addr: a(x), symbol: None };
        Call {
            seq: 1,
            pid: 10,
            tid: 10,
            comm: "t".into(),
            syscall: "socket".into(),
            nr: 41,
            args: vec![
                Arg { name: "family".into(), value: Value::plain(2) },
                Arg { name: "type".into(), value: Value::plain(1) },
                Arg { name: "protocol".into(), value: Value::plain(0) },
            ],
            regs: vec![],
            user: None,
            enter_ns: Some(1),
            exit_ns: Some(2),
            latency_ns: Some(1),
            ret: Some(3),
            errno: None,
            before: Walk {
                fd: None,
                fdtable: Some(FdTable {
                    files: a("f"),
                    fdt: a("t"),
                    open: vec![0, 1, 2],
                    bitmap_bits: 64,
                    max_fds: 64,
                    next_fd: 3,
                    rlimit_nofile_cur: 1024,
                    rlimit_nofile_max: 4096,
                    files_users: 1,
                }),
                ..Default::default()
            },
            after: Walk {
                fd: Some(3),
                fdtable: None,
                file: Some(FileObj {
                    addr: a("F"),
                    f_op: p("O"),
                    f_op_read_iter: Ptr { addr: a("R"), symbol: Some("sock_read_iter".into()) },
                    f_op_release: p("x"),
                    private_data: a("S"),
                    f_mode: "0".into(),
                    f_flags: "0".into(),
                    f_count: 1,
                    f_count_raw: 0,
                    f_count_field: "f".into(),
                    inode: KAddr(0xffff_8881_0a0b_0c00),
                    i_mode: "0o140777".into(),
                    ty: "socket".into(),
                }),
                socket: Some(SocketObj {
                    addr: a("S"),
                    state: Value::plain(1),
                    ty: Value::plain(1),
                    flags: "0".into(),
                    ops: p("OPS"),
                    ops_family: Value::plain(2),
                    ops_release: p("r"),
                    ops_bind: p("b"),
                    ops_connect: p("c"),
                    file: a("F"),
                    sk: a("K"),
                }),
                sock: Some(SockObj {
                    addr: a("K"),
                    family: Value::plain(2),
                    protocol: Value::plain(6),
                    ty: Value::plain(1),
                    state: Value::plain(7),
                    rcvbuf: 1,
                    sndbuf: 1,
                    refcnt: 1,
                    sk_prot: p("P"),
                    prot_name: "TCP".into(),
                    prot_close: p("c"),
                    sk_socket: a("S"),
                    max_ack_backlog: 0,
                    ack_backlog: 0,
                    rcvq_len: 0,
                    inet: None,
                }),
            },
            sockaddr: None,
            probes: vec![],
            chain: vec![],
            allocations: vec![],
            lost_before: 0,
        }
    }

    fn namer_with_tcp() -> Namer {
        let btf = crate::machine::btf::Btf::parse(&crate::machine::btf::tests::fixture(), "fixture").expect("fixture");
        Namer { btf: Some(std::sync::Arc::new(btf)), ..Default::default() }
    }

    fn verdict(cs: &[Claim], id: &str) -> Verdict {
        cs.iter().find(|c| c.id == id).map(|c| c.verdict).unwrap_or_else(|| panic!("no claim {id}"))
    }

    #[test]
    fn all_proved_on_consistent_evidence() {
        let cs = judge_socket(&good_call(), &namer_with_tcp());
        assert_eq!(cs.len(), 9);
        for c in &cs {
            assert_eq!(c.verdict, Verdict::Proved, "{}: {}", c.id, c.statement);
            assert!(!c.evidence.is_empty());
        }
    }

    #[test]
    fn broken_links_are_refuted() {
        let mut c = good_call();
        if let Some(k) = c.after.sock.as_mut() {
            k.sk_socket = a("OTHER");
        }
        if let Some(t) = c.before.fdtable.as_mut() {
            t.open = vec![0, 2];
        }
        if let Some(k) = c.after.sock.as_mut() {
            k.protocol = Value::plain(17);
        }
        let cs = judge_socket(&c, &namer_with_tcp());
        assert_eq!(verdict(&cs, "sock.sk_socket_backlink"), Verdict::Refuted);
        assert_eq!(verdict(&cs, "fd.lowest_free"), Verdict::Refuted);
        assert_eq!(verdict(&cs, "sock.protocol_resolved"), Verdict::Refuted);
        assert_eq!(verdict(&cs, "socket.file_is_file"), Verdict::Proved);
    }

    #[test]
    fn missing_walk_is_not_observable() {
        let mut c = good_call();
        c.after = Walk::default();
        c.before = Walk::default();
        let cs = judge_socket(&c, &Namer::default());
        assert!(cs.iter().all(|c| c.verdict == Verdict::NotObservable), "{cs:#?}");
        assert!(cs.iter().all(|c| c.reason.is_some()));
    }

    #[test]
    fn wrong_fop_refutes_private_data_claim() {
        let mut c = good_call();
        if let Some(f) = c.after.file.as_mut() {
            f.f_op_read_iter.symbol = Some("ext4_file_read_iter".into());
        }
        let cs = judge_socket(&c, &namer_with_tcp());
        assert_eq!(verdict(&cs, "file.private_data_is_socket"), Verdict::Refuted);
    }

    #[test]
    fn failure_checks_fd_table() {
        let mut c = good_call();
        c.ret = Some(-97);
        c.after = c.before.clone();
        let cs = judge_socket(&c, &Namer::default());
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].id, "fd.unchanged_on_failure");
        assert_eq!(cs[0].verdict, Verdict::Proved);
        if let Some(t) = c.after.fdtable.as_mut() {
            t.open.push(3);
        }
        assert_eq!(judge_socket(&c, &Namer::default())[0].verdict, Verdict::Refuted);
    }

    /// Two threads of one process (same files table), calls overlapping in time: ours found {0,1,2} open and got
    /// fd 4, because the other thread's socket() took 3 meanwhile.
    fn two_threads(other_ret: i64, our_ret: i64) -> (Call, Call) {
        let mut other = good_call();
        (other.seq, other.tid, other.enter_ns, other.exit_ns, other.ret) = (1, 11, Some(5), Some(15), Some(other_ret));
        let mut ours = good_call();
        (ours.seq, ours.tid, ours.enter_ns, ours.exit_ns, ours.ret) = (2, 12, Some(10), Some(20), Some(our_ret));
        ours.after.fd = Some(our_ret as i32);
        (other, ours)
    }

    #[test]
    fn an_fd_taken_meanwhile_by_another_thread_is_evidence_not_a_refutation() {
        let (other, ours) = two_threads(3, 4);
        let cs = judge_socket_among(&ours, &[other.clone(), ours.clone()], &Namer::default());
        let c = cs.iter().find(|c| c.id == "fd.lowest_free").expect("claim");
        assert_eq!(c.verdict, Verdict::Proved, "{c:?}");
        assert!(c.evidence.iter().any(|e| e.value.contains("fd 3: call 1 socket() tid 11")), "{:?}", c.evidence);
        // On its own the same call is a refutation: nothing explains fd 4.
        assert_eq!(verdict(&judge_socket(&ours, &Namer::default()), "fd.lowest_free"), Verdict::Refuted);
    }

    #[test]
    fn a_gap_no_traced_call_explains_is_not_observable_when_threads_share_the_table() {
        // The other thread took 3 but ours got 5: 4 went to something syswalk did not trace (or was never free).
        let (other, ours) = two_threads(3, 5);
        let cs = judge_socket_among(&ours, &[other.clone(), ours.clone()], &Namer::default());
        let c = cs.iter().find(|c| c.id == "fd.lowest_free").expect("claim");
        assert_eq!(c.verdict, Verdict::NotObservable, "{c:?}");
        assert!(c.reason.as_deref().unwrap_or("").contains("threads 11 share this fd table"), "{c:?}");
        // Another process (its own files table) explains nothing: refuted.
        let mut stranger = other.clone();
        if let Some(t) = stranger.before.fdtable.as_mut() {
            t.files = a("g");
        }
        let (_, ours) = two_threads(3, 4);
        assert_eq!(
            verdict(&judge_socket_among(&ours, &[stranger, ours.clone()], &Namer::default()), "fd.lowest_free"),
            Verdict::Refuted
        );
        // The same thread's earlier call does not count as sharing either.
        let (mut same, ours) = two_threads(3, 4);
        same.tid = ours.tid;
        assert_eq!(
            verdict(&judge_socket_among(&ours, &[same, ours.clone()], &Namer::default()), "fd.lowest_free"),
            Verdict::Refuted
        );
    }

    #[test]
    fn a_table_the_kernel_counts_as_shared_makes_an_unexplained_gap_not_observable() {
        // No other thread's call was traced, but files->count says another task uses the table.
        let (_, mut ours) = two_threads(3, 4);
        if let Some(t) = ours.before.fdtable.as_mut() {
            t.files_users = 2;
        }
        let cs = judge_socket(&ours, &Namer::default());
        let c = cs.iter().find(|c| c.id == "fd.lowest_free").expect("claim");
        assert_eq!(c.verdict, Verdict::NotObservable, "{c:?}");
        assert!(c.reason.as_deref().unwrap_or("").contains("files->count = 2"), "{c:?}");
    }

    #[test]
    fn a_failed_call_on_a_shared_table_that_changed_is_not_observable() {
        let (other, mut ours) = two_threads(3, -97);
        ours.after.fdtable = Some(FdTable { open: vec![0, 1, 2, 3], ..ours.before.fdtable.clone().expect("fdt") });
        let cs = judge_socket_among(&ours, &[other, ours.clone()], &Namer::default());
        assert_eq!(verdict(&cs, "fd.unchanged_on_failure"), Verdict::NotObservable);
        assert_eq!(verdict(&judge_socket(&ours, &Namer::default()), "fd.unchanged_on_failure"), Verdict::Refuted);
    }
}
