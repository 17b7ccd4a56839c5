//! The function-level claims about one socket() call (tiers A/B): order, parentage, provenance of each object.
use crate::claims::ids;
use crate::claims::{ev, judged, Claim};
use crate::model::frame::{Frame, ObjSnap};
use crate::model::{Call, KAddr, ObjKind};
use crate::probes::chain::FnPlan;

/// An address as evidence: "" when it was not captured (never a made-up 0).
fn show(a: Option<KAddr>) -> String {
    a.map(|a| a.to_string()).unwrap_or_default()
}

/// The claims `judge` makes, in its order (also reported as not observable where there is no chain).
pub const CLAIMS: &[ids::ClaimId] = &[
    ids::CHAIN_ORDER,
    ids::CHAIN_PARENTAGE,
    ids::PROVENANCE_SOCKET,
    ids::SOCKET_FILLED_BY_CREATE,
    ids::PROVENANCE_SOCK,
    ids::PROVENANCE_FILE,
    ids::FD_INSTALL_FD_IS_RETURN,
    ids::LATENCY_PER_FUNCTION,
];

/// The order the course teaches (seeds); `{create}` is the family's create function.
pub const COURSE_ORDER: &[&str] = &[
    "__sys_socket",
    "__sock_create",
    "security_socket_create",
    "sock_alloc",
    "{create}",
    "sk_alloc",
    "security_socket_post_create",
    "sock_alloc_file",
    "fd_install",
];

fn first<'a>(c: &'a Call, func: &str) -> Option<&'a Frame> {
    c.chain.iter().find(|f| f.func == func)
}

fn obj<'a>(objs: &'a [ObjSnap], from: &str) -> Option<&'a ObjSnap> {
    objs.iter().find(|o| o.from == from)
}

/// The chain claims for one socket() call that has frames: one function per claim.
pub fn judge(c: &Call, create: Option<&str>, plan: &[FnPlan]) -> Vec<Claim> {
    let probe = c.chain.first().map(|f| f.probe.clone()).unwrap_or_default();
    let src = probe.as_str();
    let create = create.unwrap_or("{create}");
    vec![
        order(c, create, plan, src),
        parentage(c, plan, src),
        provenance_socket(c, create, src),
        filled_by_create(c, create, src),
        provenance_sock(c, src),
        provenance_file(c, src),
        fd_is_return(c, src),
        latency(c, src),
    ]
}

/// `chain.order`: the functions ran in the course's order.
fn order(c: &Call, create: &str, plan: &[FnPlan], src: &str) -> Claim {
    let observed: Vec<String> = c.chain.iter().map(|f| format!("{}{}", "  ".repeat(f.depth), f.func)).collect();
    let expected: Vec<&str> = COURSE_ORDER
        .iter()
        .map(|s| if *s == "{create}" { create } else { s })
        .filter(|f| plan.iter().any(|p| p.name == *f && p.traced))
        .collect();
    let positions: Vec<Option<usize>> = expected.iter().map(|f| c.chain.iter().position(|x| x.func == *f)).collect();
    let seen: Vec<usize> = positions.iter().flatten().copied().collect();
    let in_order = seen.windows(2).all(|w| w[0] < w[1]);
    let missing: Vec<&str> = expected.iter().zip(&positions).filter(|(_, p)| p.is_none()).map(|(f, _)| *f).collect();
    // Out of order among what was seen refutes; something not seen (lost, or not called) only makes it unobservable.
    let order_verdict = if c.chain.is_empty() || (in_order && !missing.is_empty()) { None } else { Some(in_order) };
    judged(
        ids::CHAIN_ORDER,
        Some(c.seq),
        order_verdict,
        format!("the traced functions ran in the course's order: {}", expected.join(" → ")),
        vec![
            ev("observed entries (indented by nesting)", observed.join(" | "), src),
            ev(
                "course functions not observed",
                if missing.is_empty() { "none".into() } else { missing.join(", ") },
                src,
            ),
        ],
        "some of the course's functions were not observed in this call (events lost, or not called)",
    )
}

/// `chain.parentage`: each function was called by its parent in the tree.
fn parentage(c: &Call, plan: &[FnPlan], src: &str) -> Claim {
    let mut bad = Vec::new();
    let mut lines = Vec::new();
    let mut without = Vec::new();
    let mut unseen: Vec<String> = Vec::new();
    for f in &c.chain {
        let Some(cl) = &f.caller else {
            without.push(f.func.as_str());
            continue;
        };
        let cfn = cl.symbol.as_str();
        let parent = f.parent.map(|p| c.chain[p].func.as_str());
        let traced = plan.iter().any(|p| p.traced && p.name == cfn);
        let parent_caller = f.parent.and_then(|p| c.chain[p].caller.as_ref());
        let verdict = match parent {
            Some(p) if p == cfn => "= parent".to_string(),
            // A tail call (jmp) from the parent leaves the parent's own return address on the stack.
            Some(p) if parent_caller == Some(cl) => {
                format!("tail call from {p}: the return address is {p}'s own")
            }
            Some(p) if !traced => format!("via {cfn} (not traced: inlined or intermediate) under {p}"),
            // Called by a traced function this call shows no frame of: that function's entry was lost (the kernel
            // skipped the program), so the tree is uncertain rather than wrong.
            Some(p) if !c.chain.iter().any(|g| g.func == cfn) => {
                unseen.push(cfn.to_string());
                format!("{cfn}'s entry not seen, under {p}")
            }
            // The first frame seen names a traced function as its caller that has no frame: the real root's
            // entry was lost, and this frame only looks like the root.
            None if traced && !c.chain.iter().any(|g| g.func == cfn) => {
                unseen.push(cfn.to_string());
                format!("{cfn}'s entry not seen")
            }
            None => "root".into(),
            Some(p) => {
                bad.push(f.func.clone());
                format!("≠ parent {p}")
            }
        };
        lines.push(format!("{} ← {cl} ({verdict})", f.func));
    }
    // "Each function" means each: one caller missing and the claim cannot be checked, even if the others hold
    // (a wrong caller among the others still refutes it). A frame whose exit was never seen (the kernel skipped
    // the program: a lost event) leaves the tree's later parents uncertain — its siblings would hang under it — so
    // then nothing is refuted or proved.
    let mut unclosed: Vec<&str> = c.chain.iter().filter(|f| f.exit_ns.is_none()).map(|f| f.func.as_str()).collect();
    unclosed.extend(unseen.iter().map(String::as_str));
    let known = c.chain.len() - without.len();
    let mut evidence = vec![ev(
        "callers (return address at entry)",
        format!("{known} of {} functions: {}", c.chain.len(), lines.join(" | ")),
        src,
    )];
    if !without.is_empty() {
        evidence.push(ev("no caller captured for", without.join(", "), src));
    }
    if !unclosed.is_empty() {
        evidence.push(ev("no exit seen for", unclosed.join(", "), src));
    }
    judged(
        ids::CHAIN_PARENTAGE,
        Some(c.seq),
        if !unclosed.is_empty() {
            None
        } else if !bad.is_empty() {
            Some(false)
        } else {
            (!c.chain.is_empty() && without.is_empty()).then_some(true)
        },
        "each function was called by its parent in the tree, or by a named function between them that is not traced"
            .into(),
        evidence,
        &if !unclosed.is_empty() {
            format!(
                "an entry or exit of {} was not seen (an event lost: see stats.lost), so which function is whose parent is uncertain",
                unclosed.join(", ")
            )
        } else if without.is_empty() {
            "no function of the chain was observed".to_string()
        } else {
            format!(
                "no caller address captured for {} (the return address at entry was not recognised)",
                without.join(", ")
            )
        },
    )
}

/// `provenance.socket`: one struct socket from sock_alloc to file->private_data and sk->sk_socket.
fn provenance_socket(c: &Call, create: &str, src: &str) -> Claim {
    let sa = first(c, "sock_alloc").and_then(|f| obj(&f.exit_objects, "return")).map(|o| o.addr);
    let cr = first(c, create).and_then(|f| f.entry_objects.iter().find(|o| o.kind == ObjKind::Socket)).map(|o| o.addr);
    let pd = c.after.file.as_ref().map(|f| f.private_data);
    let bl = c.after.sock.as_ref().map(|k| k.sk_socket);
    let vals: Vec<KAddr> = [sa, cr, pd, bl].into_iter().flatten().collect();
    judged(
        ids::PROVENANCE_SOCKET,
        Some(c.seq),
        (sa.is_some() && cr.is_some()).then(|| vals.windows(2).all(|w| w[0] == w[1])),
        format!("the struct socket sock_alloc returned is the one {create} received, file->private_data holds and sk->sk_socket points to"),
        vec![
            ev("sock_alloc() return", show(sa), src),
            ev(format!("{create}() socket argument"), show(cr), src),
            ev("file->private_data", show(pd), "tp_btf/sys_exit walk"),
            ev("sk->sk_socket", show(bl), "tp_btf/sys_exit walk"),
        ],
        "sock_alloc or the family create was not traced",
    )
}

/// `socket.filled_by_create`: the family create filled the socket's sk and ops.
fn filled_by_create(c: &Call, create: &str, src: &str) -> Claim {
    let before = first(c, create)
        .and_then(|f| f.entry_objects.iter().find(|o| o.kind == ObjKind::Socket))
        .and_then(|o| o.socket.clone());
    let after = first(c, create)
        .and_then(|f| f.exit_objects.iter().find(|o| o.kind == ObjKind::Socket))
        .and_then(|o| o.socket.clone());
    judged(
        ids::SOCKET_FILLED_BY_CREATE,
        Some(c.seq),
        before
            .as_ref()
            .zip(after.as_ref())
            .map(|(b, a)| b.sk.is_null() && b.ops.addr.is_null() && !a.sk.is_null() && !a.ops.addr.is_null()),
        format!("{create} found the socket with sk and ops NULL and left both set"),
        vec![
            ev(
                format!("socket at {create} entry"),
                before
                    .as_ref()
                    .map(|s| format!("sk {} ops {} state {}", s.sk, s.ops.show(), s.state.show()))
                    .unwrap_or_default(),
                src,
            ),
            ev(
                format!("socket at {create} exit"),
                after
                    .as_ref()
                    .map(|s| format!("sk {} ops {} state {}", s.sk, s.ops.show(), s.state.show()))
                    .unwrap_or_default(),
                src,
            ),
        ],
        "the family create was not traced",
    )
}

/// `provenance.sock`: sk_alloc's sock is the socket's sk.
fn provenance_sock(c: &Call, src: &str) -> Claim {
    let ska = first(c, "sk_alloc").and_then(|f| obj(&f.exit_objects, "return")).map(|o| o.addr);
    let ssk = c.after.socket.as_ref().map(|s| s.sk);
    judged(
        ids::PROVENANCE_SOCK,
        Some(c.seq),
        ska.as_ref().zip(ssk.as_ref()).map(|(a, b)| a == b),
        "sk_alloc's return value is the socket's ->sk".into(),
        vec![ev("sk_alloc() return", show(ska), src), ev("socket->sk", show(ssk), "tp_btf/sys_exit walk")],
        "sk_alloc was not traced",
    )
}

/// `provenance.file`: sock_alloc_file's file is the one installed.
fn provenance_file(c: &Call, src: &str) -> Claim {
    let saf = first(c, "sock_alloc_file").and_then(|f| obj(&f.exit_objects, "return")).map(|o| o.addr);
    let fdi =
        first(c, "fd_install").and_then(|f| f.entry_objects.iter().find(|o| o.kind == ObjKind::File)).map(|o| o.addr);
    let slot = c.after.file.as_ref().map(|f| f.addr);
    judged(
        ids::PROVENANCE_FILE,
        Some(c.seq),
        saf.as_ref().zip(fdi.as_ref()).map(|(a, b)| a == b && slot.as_ref().is_none_or(|s| s == a)),
        "sock_alloc_file's return value is what fd_install installed, and what fdt->fd[ret] holds".into(),
        vec![
            ev("sock_alloc_file() return", show(saf), src),
            ev("fd_install() file argument", show(fdi), src),
            ev("fdt->fd[ret]", show(slot), "tp_btf/sys_exit walk"),
        ],
        "sock_alloc_file or fd_install was not traced",
    )
}

/// `fd_install.fd_is_return`: fd_install filled the fd socket() returned.
fn fd_is_return(c: &Call, src: &str) -> Claim {
    let fd = first(c, "fd_install").and_then(|f| f.args.first());
    judged(
        ids::FD_INSTALL_FD_IS_RETURN,
        Some(c.seq),
        fd.zip(c.ret).map(|(f, r)| f.raw as i64 as i32 as i64 == r),
        "the fd that fd_install filled is the one socket() returned".into(),
        vec![
            ev("fd_install() fd argument", fd.map(|f| f.value.clone()).unwrap_or_default(), src),
            ev("socket() return", c.ret.map(|r| r.to_string()).unwrap_or_default(), "tp_btf/sys_exit"),
        ],
        "fd_install was not traced",
    )
}

/// `latency.per_function`: every function timed.
fn latency(c: &Call, src: &str) -> Claim {
    let complete = !c.chain.is_empty() && c.chain.iter().all(|f| f.inclusive_ns.is_some());
    let lat: Vec<String> = c
        .chain
        .iter()
        .map(|f| {
            format!(
                "{} incl {} ns excl {} ns",
                f.func,
                f.inclusive_ns.map(|v| v.to_string()).unwrap_or("?".into()),
                f.exclusive_ns.map(|v| v.to_string()).unwrap_or("?".into())
            )
        })
        .collect();
    judged(
        ids::LATENCY_PER_FUNCTION,
        Some(c.seq),
        complete.then_some(true),
        "every traced function's inclusive and exclusive time was measured (entry and exit both seen)".into(),
        vec![ev("per function", lat.join(" | "), src)],
        "an entry or exit was not seen (events lost, or no chain frames in this call)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Verdict;
    use crate::fixtures::{chain_event as ev, plan_of};
    use crate::model::frame::frames;
    use crate::model::Namer;
    use crate::probes::chain::ChKind;

    #[test]
    fn order_claim_refutes_a_swap() {
        let p = plan_of(&["__sys_socket", "sock_alloc", "sk_alloc"]);
        let mk = |order: &[u32]| {
            let mut e = Vec::new();
            for (i, s) in order.iter().enumerate() {
                e.push(ev(ChKind::SW_CH_ENTRY, *s, 1, i as u64 * 10 + 1, 0));
                e.push(ev(ChKind::SW_CH_EXIT, *s, 1, i as u64 * 10 + 2, 0));
            }
            let fr = frames(&e, &p, "fentry", &Namer::default());
            let mut c = crate::model::tests_support::empty_call();
            c.chain = fr;
            judge(&c, None, &p).into_iter().find(|k| k.id == "chain.order").map(|k| k.verdict)
        };
        assert_eq!(mk(&[0, 1, 2]), Some(Verdict::Proved));
        assert_eq!(mk(&[0, 2, 1]), Some(Verdict::Refuted));
    }

    #[test]
    fn parentage_needs_every_caller_and_refutes_a_wrong_one() {
        let names =
            ["__sys_socket", "__sock_create", "sock_alloc", "inet_create", "sk_alloc", "sock_alloc_file", "fd_install"];
        let p = plan_of(&names);
        let verdict = |c: &Call| {
            let cl = judge(c, Some("inet_create"), &p).into_iter().find(|k| k.id == "chain.parentage").expect("claim");
            (cl.verdict, cl.reason.clone().unwrap_or_default())
        };
        let good = crate::fixtures::socket_call();
        assert_eq!(verdict(&good).0, Verdict::Proved);
        // One caller missing (a frame layout not recognised): the others alone do not prove "each".
        let mut one_missing = good.clone();
        one_missing.chain[4].caller = None;
        let (v, why) = verdict(&one_missing);
        assert_eq!(v, Verdict::NotObservable);
        assert!(why.contains("sk_alloc"), "{why}");
        // A wrong caller refutes, even with another missing.
        let mut wrong = one_missing.clone();
        if let Some(c) = wrong.chain[2].caller.as_mut() {
            c.symbol = "fd_install".into();
        }
        assert_eq!(verdict(&wrong).0, Verdict::Refuted);
        // A lost exit makes the tree itself uncertain: not a refutation.
        let mut lost_exit = wrong.clone();
        lost_exit.chain[4].caller = good.chain[4].caller.clone();
        lost_exit.chain[1].exit_ns = None;
        let (v, why) = verdict(&lost_exit);
        assert_eq!(v, Verdict::NotObservable);
        assert!(why.contains("__sock_create was not seen"), "{why}");
        // A lost entry: sk_alloc's frame is gone, sock_alloc_file claims inet_create... no: a child names a traced
        // function with no frame in this call.
        let mut lost_entry = good.clone();
        lost_entry.chain.remove(3); // inet_create's entry lost: sk_alloc (its child) now hangs under __sock_create
        lost_entry.chain[3].parent = Some(1);
        for f in lost_entry.chain.iter_mut().skip(4) {
            f.parent = Some(0);
        }
        let (v, why) = verdict(&lost_entry);
        assert_eq!(v, Verdict::NotObservable, "{why}");
        assert!(why.contains("inet_create"), "{why}");
    }
}

/// `release.same_socket` for a socket() call that failed: each struct socket sock_alloc returned went to
/// sock_release in the same call (the course's puzzle: a failure after sock_alloc leaks nothing). A call rejected
/// before sock_alloc ran allocated nothing: that is proved too, and said.
/// The non-NULL pointers `func` returned in the call's chain (what an allocator handed out).
fn returned(c: &Call, func: &str) -> Vec<u64> {
    c.chain.iter().filter(|f| f.func == func).filter_map(|f| f.ret).map(|r| r as u64).filter(|r| *r != 0).collect()
}

/// `release.same_sock` for a socket() call that failed: each struct sock sk_alloc returned went to TCP's close
/// (tcp_close) in the same call. Followed for TCP socks only (another protocol closes its sock elsewhere).
pub fn judge_release_sock(c: &Call, plan: &[FnPlan]) -> Claim {
    let src = c.chain.first().map(|f| f.probe.clone()).unwrap_or_default();
    let traced = |f: &str| plan.iter().any(|p| p.name == f && p.traced);
    let errno = c.errno.as_ref().map(|e| e.show()).unwrap_or_default();
    let show = |v: &[u64]| v.iter().map(|a| format!("{a:#018x}")).collect::<Vec<_>>().join(", ");
    let arg = |i: usize| c.args.get(i).map(|a| a.value.raw);
    let tcp = matches!(arg(0), Some(2) | Some(10))
        && arg(1).map(|t| t & 0xf) == Some(libc::SOCK_STREAM as i64)
        && matches!(arg(2), Some(0) | Some(6));
    let allocs = returned(c, "sk_alloc");
    let closes: Vec<&crate::model::frame::Frame> = c.chain.iter().filter(|f| f.func == "tcp_close").collect();
    let got: Vec<Option<u64>> =
        closes.iter().map(|f| f.args.iter().find(|a| a.ty == "struct sock *").map(|a| a.raw)).collect();
    let evidence = vec![
        ev(
            "sk_alloc() returned",
            if allocs.is_empty() { "never ran (or returned NULL)".into() } else { show(&allocs) },
            src.as_str(),
        ),
        ev(
            "tcp_close (sk) got",
            if closes.is_empty() {
                "never called".into()
            } else {
                got.iter()
                    .map(|g| g.map(|a| format!("{a:#018x}")).unwrap_or_else(|| "(argument not read)".into()))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            src.as_str(),
        ),
        ev("socket() returned", format!("{} {errno}", c.ret.unwrap_or(0)), "tp_btf/sys_exit"),
    ];
    let released: Vec<u64> = got.iter().flatten().copied().collect();
    let missing: Vec<u64> = allocs.iter().copied().filter(|a| !released.contains(a)).collect();
    let (ok, finding, why) = if !traced("sk_alloc") || c.chain.is_empty() {
        (None, String::new(), "sk_alloc is not traced here (or no chain was captured for this call)")
    } else if allocs.is_empty() {
        (Some(true), format!("sk_alloc never ran: the call failed ({errno}) before a sock was allocated"), "")
    } else if !traced("tcp_close") {
        (None, String::new(), "tcp_close is not traced here: where the sock went is not seen")
    } else if !tcp {
        (None, String::new(), "the sock side is followed for TCP socks only (tcp_close); this call's is not TCP")
    } else if missing.is_empty() {
        (
            Some(true),
            format!(
                "sk_alloc returned {}, and tcp_close got the same sock before the call failed ({errno})",
                show(&allocs)
            ),
            "",
        )
    } else if got.iter().any(|g| g.is_none()) {
        (None, String::new(), "tcp_close ran, but its sk argument was not read")
    } else {
        (
            Some(false),
            format!("the sock sk_alloc returned ({}) never reached tcp_close: it was left allocated", show(&missing)),
            "",
        )
    };
    judged(ids::RELEASE_SAME_SOCK, Some(c.seq), ok, finding, evidence, why)
}

pub fn judge_release(c: &Call, plan: &[FnPlan]) -> Claim {
    let src = c.chain.first().map(|f| f.probe.clone()).unwrap_or_default();
    let traced = |f: &str| plan.iter().any(|p| p.name == f && p.traced);
    let errno = c.errno.as_ref().map(|e| e.show()).unwrap_or_default();
    let allocs = returned(c, "sock_alloc");
    // sock_release is a one-line wrapper of __sock_release; a caller in net/socket.c may have it inlined (Debian
    // 6.12's sock_map_fd does): either one releasing the socket is the release.
    let rel_frames: Vec<&crate::model::frame::Frame> =
        c.chain.iter().filter(|f| f.func == "sock_release" || f.func == "__sock_release").collect();
    let releases: Vec<u64> =
        rel_frames.iter().filter_map(|f| f.args.iter().find(|a| a.ty == "struct socket *").map(|a| a.raw)).collect();
    let by: Vec<&str> = rel_frames.iter().map(|f| f.func.as_str()).collect();
    let show = |v: &[u64]| v.iter().map(|a| format!("{a:#018x}")).collect::<Vec<_>>().join(", ");
    let evidence = vec![
        ev(
            "sock_alloc() returned",
            if allocs.is_empty() { "never ran (or returned NULL)".into() } else { show(&allocs) },
            src.as_str(),
        ),
        ev(
            "sock_release / __sock_release (sock) got",
            if releases.is_empty() {
                "never called".into()
            } else {
                format!("{} ({})", show(&releases), by.join(", "))
            },
            src.as_str(),
        ),
        ev("socket() returned", format!("{} {errno}", c.ret.unwrap_or(0)), "tp_btf/sys_exit"),
    ];
    let missing: Vec<u64> = allocs.iter().copied().filter(|a| !releases.contains(a)).collect();
    let (ok, finding) = if !traced("sock_alloc")
        || !(traced("sock_release") || traced("__sock_release"))
        || c.chain.is_empty()
    {
        (None, String::new())
    } else if allocs.is_empty() {
        (Some(true), format!("sock_alloc never ran: the call failed ({errno}) before anything was allocated"))
    } else if missing.is_empty() {
        (
            Some(true),
            format!(
                "sock_alloc returned {}; {} got the same socket before the call failed ({errno})",
                show(&allocs),
                by.join(" and ")
            ),
        )
    } else {
        (
            Some(false),
            format!(
                "neither sock_release nor __sock_release was called on {}: the socket sock_alloc returned was left allocated",
                show(&missing)
            ),
        )
    };
    judged(
        ids::RELEASE_SAME_SOCKET,
        Some(c.seq),
        ok,
        finding,
        evidence,
        "sock_alloc, or both sock_release and __sock_release, are not traced here (or no chain was captured for this call)",
    )
}

#[cfg(test)]
mod release_tests {
    use super::*;
    use crate::claims::Verdict;
    use crate::model::frame::FArg;

    /// A socket() that failed with EMFILE after sock_alloc returned `sock`; `released`: sock_release got it.
    fn emfile(sock: u64, released: Option<u64>) -> (Call, Vec<FnPlan>) {
        let mut c = crate::fixtures::socket_call();
        c.ret = Some(-24);
        c.errno = Some(crate::model::Value { raw: 24, name: Some("EMFILE".into()), origin: None });
        let mut alloc = crate::fixtures::frame("sock_alloc", 2, Some(1), (3_000, 6_000), ("__sock_create", 0x7f));
        alloc.ret = Some(sock as i64);
        let mut chain =
            vec![crate::fixtures::frame("__sys_socket", 0, None, (1_000, 41_000), ("__x64_sys_socket", 0x1a)), alloc];
        if let Some(r) = released {
            let mut rel = crate::fixtures::frame("sock_release", 1, Some(0), (30_000, 40_000), ("__sys_socket", 0xd0));
            rel.args =
                vec![FArg { name: "sock".into(), raw: r, ty: "struct socket *".into(), value: format!("{r:#x}") }];
            chain.push(rel);
        }
        c.chain = chain;
        (c, crate::fixtures::plan_of(&["__sys_socket", "sock_alloc", "sock_release"]))
    }

    #[test]
    fn the_socket_sock_alloc_made_must_reach_sock_release() {
        let s = 0xffff_8881_0000_1000;
        let (c, p) = emfile(s, Some(s));
        assert_eq!(judge_release(&c, &p).verdict, Verdict::Proved);
        let (c, p) = emfile(s, None);
        let k = judge_release(&c, &p);
        assert_eq!(k.verdict, Verdict::Refuted, "the release is missing");
        assert!(k.conclusion().contains("nor __sock_release was called on 0xffff888100001000"), "{k:?}");
        let (c, p) = emfile(s, Some(s + 0x40));
        assert_eq!(judge_release(&c, &p).verdict, Verdict::Refuted, "another socket released");
        // The sock side: sk_alloc's sock must reach tcp_close.
        let sk = 0xffff_8881_0200_0000u64;
        let with_sock = |closed: Option<u64>| {
            let (mut c, _) = emfile(s, Some(s));
            let mut a = crate::fixtures::frame("sk_alloc", 3, Some(1), (7_000, 9_000), ("inet_create", 0x104));
            a.ret = Some(sk as i64);
            c.chain.insert(2, a);
            if let Some(x) = closed {
                let mut t = crate::fixtures::frame("tcp_close", 3, Some(2), (32_000, 38_000), ("inet_release", 0x4c));
                t.args = vec![FArg { name: "sk".into(), raw: x, ty: "struct sock *".into(), value: format!("{x:#x}") }];
                c.chain.push(t);
            }
            c
        };
        let plan = crate::fixtures::plan_of(&["__sys_socket", "sock_alloc", "sk_alloc", "sock_release", "tcp_close"]);
        let k = judge_release_sock(&with_sock(Some(sk)), &plan);
        assert_eq!(k.verdict, Verdict::Proved, "{k:?}");
        assert!(k.conclusion().contains("tcp_close got the same sock"), "{k:?}");
        assert_eq!(judge_release(&with_sock(None), &plan).verdict, Verdict::Proved, "the socket side holds alone");
        let k = judge_release_sock(&with_sock(None), &plan);
        assert_eq!(k.verdict, Verdict::Refuted, "the sock was never closed: {k:?}");
        assert!(k.conclusion().contains("never reached tcp_close"), "{k:?}");
        assert_eq!(
            judge_release_sock(&with_sock(Some(sk + 8)), &plan).verdict,
            Verdict::Refuted,
            "another sock closed"
        );
        // Rejected before sock_alloc ran: nothing allocated.
        let (mut c, p) = emfile(s, None);
        c.chain.retain(|f| f.func != "sock_alloc");
        let k = judge_release(&c, &p);
        assert_eq!(k.verdict, Verdict::Proved);
        assert!(k.conclusion().contains("never ran"), "{k:?}");
        // Not traced here: never ✓.
        let (c, _) = emfile(s, Some(s));
        assert_eq!(judge_release(&c, &crate::fixtures::plan_of(&["__sys_socket"])).verdict, Verdict::NotObservable);
    }
}
