//! The course site's questions and its mistakes page, answered by claims. Each judgment the site shows is a claim
//! with its id and one statement in `claims::ids`: one judged here, from a report and the claims it holds (when the
//! site is built, so these claims are not in the report's `claims[]`), or the report's own claim for the call the
//! answers read. `render::site` only renders what this module returns.
//!
//! Every statement says what the kernel does. A mistake (a belief often heard) is judged by the claim that refutes
//! it: ✓ means this run showed the kernel doing what the statement says, so the belief is wrong here; ✗ that the
//! kernel did something other than the statement says (its finding says what); "not observable here" (with why)
//! that this evidence cannot tell — never ✓ from absence.
//!
//! Two questions no claim decides (the kprobes list, the kretprobe trampoline) are answered by what the evidence
//! shows, without a verdict (`By::Shown`).
use crate::claims::constants::SOCK_TYPE_MASK;
use crate::claims::ids::{self, ClaimId};
use crate::claims::{ev, judged, kcode, Claim, Evidence, Verdict};
use crate::model::{Call, KAddr};
use crate::probes::caps::Tier;
use crate::report::Report;

/// x86-64 physical addresses have at most 52 bits (the architecture's limit, MAXPHYADDR ≤ 52).
pub const PHYS_MAX: u64 = (1 << 52) - 1;
/// The kernel's name for a closed TCP sock's state (its BTF enum: the walk names skc_state by it).
const TCP_CLOSE: &str = "TCP_CLOSE";
const SOCK_ALLOC: &str = "sock_alloc";
const SK_ALLOC: &str = "sk_alloc";
const EXIT: &str = "tp_btf/sys_exit walk";

/// A claim of the report an answer rests on: its id and its call (None: a claim about the run, or a chain claim
/// that tier C makes once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cite {
    pub id: &'static str,
    pub call: Option<usize>,
}

/// What answers a question.
#[derive(Debug, Clone, PartialEq)]
pub enum By {
    /// A claim decides it. `cites`: the report's claims it rests on (the claim itself when it is the report's).
    Claim { claim: Claim, cites: Vec<Cite> },
    /// No claim decides it: what the evidence shows (`observable` false: not observable here, and `text` says why).
    Shown { observable: bool, text: String, proof: Vec<String> },
}

/// One question of the site, or one belief on its mistakes page, and what answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The question, or the belief as it is often said.
    pub asks: &'static str,
    pub by: By,
}

/// The site's questions, answered from the report `r`, its claims (`claims`: the report's and its lesson's) and the
/// socket() call the answers read (`call`: the course's, else the first that made a socket — the caller picks it).
pub fn questions(r: &Report, claims: &[&Claim], call: Option<&Call>) -> Vec<Answer> {
    vec![
        Answer {
            asks: "Is a kernel address a physical address?",
            by: By::Claim { claim: kaddr_virtual(call), cites: vec![] },
        },
        Answer { asks: "Is the address the kprobes list shows the one kallsyms shows?", by: kprobes_list(r, call) },
        Answer { asks: "Does sk_alloc run before sock_alloc?", by: sock_alloc_first(r, claims, call) },
        Answer { asks: "What did the kretprobe trampoline overwrite?", by: kretprobe(r, call) },
        Answer { asks: "Why is the fd 3?", by: reported(claims, ids::FD_LOWEST_FREE, call) },
    ]
}

/// The mistakes page: beliefs often heard about socket(), each judged by the claim that refutes it.
pub fn mistakes(r: &Report, claims: &[&Claim], call: Option<&Call>) -> Vec<Answer> {
    vec![
        Answer {
            asks: "“A new TCP socket starts in the LISTEN state (or is already ESTABLISHED).”",
            by: new_tcp_closed(claims, call),
        },
        Answer {
            asks: "“The kernel allocates the struct sock (sk_alloc) before the struct socket (sock_alloc).”",
            by: sock_alloc_first(r, claims, call),
        },
        Answer {
            asks:
                "“file->private_data points to the struct sock.” (It is tested by the claim that it holds the struct \
                   socket.)",
            by: reported(claims, ids::FILE_PRIVATE_DATA_IS_SOCKET, call),
        },
        Answer {
            asks: "“Protocol 0 stays 0 in the sock.” (Tested by the claim that socket(AF_INET, SOCK_STREAM, 0)'s sock \
                   has IPPROTO_TCP.)",
            by: protocol_zero_tcp(claims, call),
        },
        Answer {
            asks: "“sock_register addresses net_families RIP-relatively (a lea relative to the instruction pointer), \
                   as the course's seed shows.”",
            by: dispatch_absolute(claims),
        },
    ]
}

/// The report's claim `id` for `call`, else one of that id without a call (a run-wide claim, or a chain claim tier
/// C makes once).
fn find<'a>(claims: &[&'a Claim], id: ClaimId, call: Option<&Call>) -> Option<&'a Claim> {
    let seq = call.map(|c| c.seq);
    claims
        .iter()
        .copied()
        .find(|c| c.id == id.id && c.call.is_some() && c.call == seq)
        .or_else(|| claims.iter().copied().find(|c| c.id == id.id && c.call.is_none()))
}

fn cite(c: &Claim, id: ClaimId) -> Cite {
    Cite { id: id.id, call: c.call }
}

/// A cited claim as evidence of the claim that rests on it.
fn cited_ev(c: &Claim) -> Evidence {
    let what = match c.call {
        Some(n) => format!("claim {} (call {n})", c.id),
        None => format!("claim {}", c.id),
    };
    let said = match c.verdict {
        Verdict::NotObservable => format!("not observable: {}", c.reason.as_deref().unwrap_or_default()),
        v => format!("{} {}", v.symbol(), c.conclusion()),
    };
    ev(what, said, "the report's claims")
}

/// The report's own claim `id` for `call` answers it as it is; without one, it is not observable in this evidence.
fn reported(claims: &[&Claim], id: ClaimId, call: Option<&Call>) -> By {
    match find(claims, id, call) {
        Some(c) => By::Claim { claim: c.clone(), cites: vec![cite(c, id)] },
        None => By::Claim {
            claim: judged(
                id,
                call.map(|c| c.seq),
                None,
                String::new(),
                vec![],
                &match call {
                    Some(c) => format!("this evidence has no {} claim for call {}", id.id, c.seq),
                    None => format!("this evidence has no socket() call that made a socket, and no {} claim", id.id),
                },
            ),
            cites: vec![],
        },
    }
}

/// `kaddr.virtual`: every pointer the call's walk read at sys_exit is beyond what a physical address can be.
pub fn kaddr_virtual(call: Option<&Call>) -> Claim {
    let Some(c) = call else {
        return judged(
            ids::KADDR_VIRTUAL,
            None,
            None,
            String::new(),
            vec![],
            "no walk of a socket() call in this evidence",
        );
    };
    let a = &c.after;
    let mut addrs: Vec<(&str, KAddr)> = Vec::new();
    if let Some(f) = &a.file {
        addrs.push(("struct file (fdt->fd[fd])", f.addr));
    }
    if let Some(s) = &a.socket {
        addrs.push(("struct socket (file->private_data)", s.addr));
    }
    if let Some(k) = &a.sock {
        addrs.push(("struct sock (socket->sk)", k.addr));
        addrs.push(("struct proto (sk->sk_prot)", k.sk_prot.addr));
    }
    // A pointer not read (NULL) says nothing about the address space.
    addrs.retain(|(_, p)| !p.is_null());
    let evidence: Vec<Evidence> = addrs
        .iter()
        .map(|(w, p)| ev(*w, format!("{p} ({} bits)", 64 - p.0.leading_zeros()), format!("{EXIT} of call {}", c.seq)))
        .collect();
    let low: Vec<&str> = addrs.iter().filter(|(_, p)| p.0 <= PHYS_MAX).map(|(w, _)| *w).collect();
    let ok = (!addrs.is_empty()).then_some(low.is_empty());
    let finding = match ok {
        Some(true) => format!(
            "every pointer the walk of call {} read ({} of them) is above {PHYS_MAX:#x}, the largest physical address \
             x86-64 can have (52 bits): they are virtual addresses in the kernel's upper half",
            c.seq,
            addrs.len()
        ),
        Some(false) => format!("{} of call {} fits in 52 bits: see the evidence", low.join(", "), c.seq),
        None => String::new(),
    };
    judged(
        ids::KADDR_VIRTUAL,
        Some(c.seq),
        ok,
        finding,
        evidence,
        &format!("the walk of call {} at sys_exit read no pointer (no file, socket or sock reached)", c.seq),
    )
}

/// `chain.sock_alloc_first`: the call's chain has both functions, and their entry times order them.
pub fn sock_alloc_first_claim(r: &Report, call: Option<&Call>) -> Claim {
    let id = ids::CHAIN_SOCK_ALLOC_FIRST;
    let Some(c) = call else {
        return judged(id, None, None, String::new(), vec![], "no socket() call that made a socket in this evidence");
    };
    let frame = |f: &str| c.chain.iter().find(|x| x.func == f && x.enter_ns.is_some());
    let (Some(a), Some(b)) = (frame(SOCK_ALLOC), frame(SK_ALLOC)) else {
        let why = if c.chain.is_empty() {
            format!("the function-level chain is not in this evidence ({})", r.kernel.tier_reason)
        } else {
            let missing: Vec<&str> = [SOCK_ALLOC, SK_ALLOC].into_iter().filter(|f| frame(f).is_none()).collect();
            format!("{} entered in no traced frame of call {}'s chain", missing.join(" and "), c.seq)
        };
        return judged(id, Some(c.seq), None, String::new(), vec![], &why);
    };
    let (ta, tb) = (a.enter_ns.unwrap_or_default(), b.enter_ns.unwrap_or_default());
    let evidence = vec![
        ev(format!("{SOCK_ALLOC}'s entry"), format!("{ta} ns"), format!("{} of call {}", a.probe, c.seq)),
        ev(format!("{SK_ALLOC}'s entry"), format!("{tb} ns"), format!("{} of call {}", b.probe, c.seq)),
    ];
    let us = |d: u64| d as f64 / 1000.0;
    let (ok, finding) = match ta.cmp(&tb) {
        std::cmp::Ordering::Less => {
            (Some(true), format!("{SOCK_ALLOC} entered {:.1} µs before {SK_ALLOC}, in call {}", us(tb - ta), c.seq))
        }
        std::cmp::Ordering::Greater => {
            (Some(false), format!("{SK_ALLOC} entered {:.1} µs before {SOCK_ALLOC}, in call {}", us(ta - tb), c.seq))
        }
        std::cmp::Ordering::Equal => (None, String::new()),
    };
    judged(id, Some(c.seq), ok, finding, evidence, "both entered at the same nanosecond: the clock does not order them")
}

/// The order of the two allocations, with `chain.order` (which orders the whole chain) cited beside it.
fn sock_alloc_first(r: &Report, claims: &[&Claim], call: Option<&Call>) -> By {
    let mut claim = sock_alloc_first_claim(r, call);
    let order = find(claims, ids::CHAIN_ORDER, call);
    claim.evidence.extend(order.map(cited_ev));
    By::Claim { claim, cites: order.map(|o| cite(o, ids::CHAIN_ORDER)).into_iter().collect() }
}

/// The call's `socket.sk_is_sock` when it is refuted: then the sock the walk read is not shown to be the socket's,
/// and a claim about "the sock socket() made" cannot rest on it.
fn sk_not_the_sockets<'a>(claims: &[&'a Claim], c: &Call) -> Option<&'a Claim> {
    find(claims, ids::SOCKET_SK_IS_SOCK, Some(c)).filter(|k| k.verdict == Verdict::Refuted && k.call == Some(c.seq))
}

/// `sock.new_tcp_closed`: the state the walk at sys_exit read in the new TCP sock.
pub fn new_tcp_closed_claim(claims: &[&Claim], call: Option<&Call>) -> Claim {
    let id = ids::SOCK_NEW_TCP_CLOSED;
    let none =
        |seq: Option<usize>, evidence: Vec<Evidence>, why: &str| judged(id, seq, None, String::new(), evidence, why);
    let Some(c) = call else { return none(None, vec![], "no socket() call that made a socket in this evidence") };
    let Some(k) = c.after.sock.as_ref() else {
        return none(Some(c.seq), vec![], &format!("the walk of call {} at sys_exit did not reach a sock", c.seq));
    };
    let mut evidence = vec![
        ev("sk->sk_family, sk->sk_protocol", format!("{}, {}", k.family.show(), k.protocol.show()), EXIT),
        ev("socket->sk->__sk_common.skc_state", k.state.show(), format!("{EXIT} of call {}", c.seq)),
    ];
    let inet = matches!(k.family.raw as i32, libc::AF_INET | libc::AF_INET6);
    if !(inet && k.protocol.raw == libc::IPPROTO_TCP as i64) {
        return none(
            Some(c.seq),
            evidence,
            &format!("not applicable: this run's socket is not TCP ({} {})", k.family.show(), k.protocol.show()),
        );
    }
    if let Some(bad) = sk_not_the_sockets(claims, c) {
        evidence.push(cited_ev(bad));
        return none(
            Some(c.seq),
            evidence,
            &format!("{} is refuted for call {}: the sock read is not shown to be the new socket's", bad.id, c.seq),
        );
    }
    let (ok, finding) = match k.state.name.as_deref() {
        Some(TCP_CLOSE) => {
            (Some(true), format!("the new sock is {TCP_CLOSE} right after socket() returned (call {})", c.seq))
        }
        Some(_) => {
            (Some(false), format!("the new sock is {} right after socket() returned (call {})", k.state.show(), c.seq))
        }
        None => (None, String::new()),
    };
    judged(
        id,
        Some(c.seq),
        ok,
        finding,
        evidence,
        &format!("the kernel's BTF names no TCP state for skc_state = {}", k.state.raw),
    )
}

fn new_tcp_closed(claims: &[&Claim], call: Option<&Call>) -> By {
    let claim = new_tcp_closed_claim(claims, call);
    let cites = call
        .and_then(|c| find(claims, ids::SOCKET_SK_IS_SOCK, Some(c)))
        .map(|k| cite(k, ids::SOCKET_SK_IS_SOCK))
        .into_iter()
        .collect();
    By::Claim { claim, cites }
}

/// `sock.protocol_zero_tcp`: an inet SOCK_STREAM socket() with protocol 0, and the sk_protocol its sock holds.
pub fn protocol_zero_tcp_claim(claims: &[&Claim], call: Option<&Call>) -> Claim {
    let id = ids::SOCK_PROTOCOL_ZERO_TCP;
    let none =
        |seq: Option<usize>, evidence: Vec<Evidence>, why: &str| judged(id, seq, None, String::new(), evidence, why);
    let Some(c) = call else { return none(None, vec![], "no socket() call that made a socket in this evidence") };
    let arg = |i: usize| c.args.get(i).map(|a| a.value.raw);
    let shown = |i: usize| c.args.get(i).map(|a| a.value.show()).unwrap_or_else(|| "?".into());
    let mut evidence = vec![ev(
        "family, type, protocol arguments (rdi, rsi, rdx)",
        format!("{}, {}, {}", shown(0), shown(1), shown(2)),
        format!("tp_btf/sys_enter of call {}", c.seq),
    )];
    let inet = arg(0).is_some_and(|f| f == libc::AF_INET as i64 || f == libc::AF_INET6 as i64);
    let stream = arg(1).is_some_and(|t| t & SOCK_TYPE_MASK == libc::SOCK_STREAM as i64);
    if !(inet && stream && arg(2) == Some(0)) {
        return none(
            Some(c.seq),
            evidence,
            &format!(
                "call {} is socket({}, {}, {}), not AF_INET or AF_INET6, SOCK_STREAM with protocol 0",
                c.seq,
                shown(0),
                shown(1),
                shown(2)
            ),
        );
    }
    let Some(k) = c.after.sock.as_ref() else {
        return none(Some(c.seq), evidence, &format!("the walk of call {} at sys_exit did not reach a sock", c.seq));
    };
    evidence.push(ev("sk->sk_protocol", k.protocol.show(), format!("{EXIT} of call {}", c.seq)));
    evidence.push(ev("sk->sk_prot->name", k.prot_name.clone(), format!("{EXIT} of call {}", c.seq)));
    if let Some(bad) = sk_not_the_sockets(claims, c) {
        evidence.push(cited_ev(bad));
        return none(
            Some(c.seq),
            evidence,
            &format!("{} is refuted for call {}: the sock read is not shown to be the new socket's", bad.id, c.seq),
        );
    }
    if let Some(p) = find(claims, ids::SOCK_PROTOCOL_RESOLVED, Some(c)) {
        evidence.push(cited_ev(p));
    }
    let ok = k.protocol.raw == libc::IPPROTO_TCP as i64;
    let finding = if ok {
        format!("protocol 0 became {} in the sock of call {} (sk_prot \"{}\")", k.protocol.show(), c.seq, k.prot_name)
    } else {
        format!("the sock of call {} holds sk_protocol {}, not IPPROTO_TCP", c.seq, k.protocol.show())
    };
    judged(id, Some(c.seq), Some(ok), finding, evidence, "")
}

fn protocol_zero_tcp(claims: &[&Claim], call: Option<&Call>) -> By {
    let claim = protocol_zero_tcp_claim(claims, call);
    let cites = [ids::SOCK_PROTOCOL_RESOLVED, ids::SOCKET_SK_IS_SOCK]
        .into_iter()
        .filter_map(|id| call.and_then(|c| find(claims, id, Some(c))).map(|k| cite(k, id)))
        .collect();
    By::Claim { claim, cites }
}

/// `dispatch.absolute`: the forms `dispatch.code` lists, when it is proved (its vmlinux's net_families, moved by
/// the KASLR offset, is the live one: the code read is this kernel's).
pub fn dispatch_absolute_claim(claims: &[&Claim]) -> Claim {
    let id = ids::DISPATCH_ABSOLUTE;
    let none = |evidence: Vec<Evidence>, why: &str| judged(id, None, None, String::new(), evidence, why);
    let Some(d) = find(claims, ids::DISPATCH_CODE, None) else {
        return none(
            vec![],
            &format!("this evidence has no {} claim (the lesson's, with `lab run --dbg`)", ids::DISPATCH_CODE.id),
        );
    };
    let mut evidence: Vec<Evidence> = d.evidence.clone();
    evidence.push(cited_ev(d));
    match d.verdict {
        Verdict::Proved => {}
        Verdict::Refuted => {
            return none(
                evidence,
                &format!("{} is refuted: the code read is not shown to address this kernel's net_families", d.id),
            )
        }
        Verdict::NotObservable => {
            return none(evidence, &format!("{}: {}", d.id, d.reason.as_deref().unwrap_or_default()))
        }
    }
    let Some((n, forms)) = kcode::listed_forms(d) else {
        return none(evidence, &format!("{}'s evidence lists no instruction that addresses net_families", d.id));
    };
    let rip = forms.iter().filter(|f| **f == kcode::RIP_RELATIVE).count();
    let abs = forms.iter().filter(|f| **f == kcode::ABSOLUTE).count();
    let (ok, finding) = if rip > 0 {
        (
            Some(false),
            if abs > 0 {
                format!(
                    "of the {} instruction(s) listed, {rip} address net_families RIP-relatively, {abs} absolutely",
                    forms.len()
                )
            } else {
                format!("the {rip} instruction(s) listed address net_families RIP-relatively")
            },
        )
    } else if abs == n {
        (
            Some(true),
            format!(
                "all {n} instruction(s) of sock_register that address net_families use an absolute 32-bit \
                 displacement (patched by the KASLR relocation at boot), none RIP-relatively"
            ),
        )
    } else {
        (None, String::new())
    };
    judged(
        id,
        None,
        ok,
        finding,
        evidence,
        &format!("{} lists the form of {abs} of the {n} instructions that address net_families", d.id),
    )
}

fn dispatch_absolute(claims: &[&Claim]) -> By {
    let claim = dispatch_absolute_claim(claims);
    let cites = find(claims, ids::DISPATCH_CODE, None).map(|d| cite(d, ids::DISPATCH_CODE)).into_iter().collect();
    By::Claim { claim, cites }
}

/// The kprobes list: syswalk does not read it; what it shows instead is each caller as kallsyms names it.
fn kprobes_list(r: &Report, call: Option<&Call>) -> By {
    let callers: Vec<String> = call
        .map(|c| {
            c.chain.iter().filter_map(|f| f.caller.as_ref().map(|k| format!("{} ← {k}", f.func))).take(5).collect()
        })
        .unwrap_or_default();
    By::Shown {
        observable: false,
        text: format!(
            "not observable in this evidence: syswalk attaches its probes by function name and does not read \
             /sys/kernel/debug/kprobes/list (this run: tier {:?}).{}",
            r.kernel.tier,
            if callers.is_empty() {
                ""
            } else {
                " What it does show: each caller in the proof pane is a kallsyms symbol plus offset."
            }
        ),
        proof: callers,
    }
}

/// The kretprobe trampoline: shown, not proved (the overwrite itself is not read).
fn kretprobe(r: &Report, call: Option<&Call>) -> By {
    let tier = r.kernel.tier;
    let callers: Vec<String> = call
        .map(|c| {
            c.chain
                .iter()
                .filter_map(|f| f.caller.as_ref().map(|k| format!("{} was called from {k}", f.func)))
                .take(4)
                .collect()
        })
        .unwrap_or_default();
    let (observable, text) = match tier {
        Tier::B if !callers.is_empty() => (
            true,
            "The return address: the word on top of the stack at the function's entry, read here by the kprobe \
             before the kretprobe replaces it with its trampoline's address (the function then returns into the \
             trampoline, which runs the return probe and jumps to the saved word). Shown, not proved: the \
             overwrite itself is not read."
                .to_string(),
        ),
        Tier::A => (
            true,
            "Nothing in this run: tier A has no kretprobe. fentry/fexit go through a BPF trampoline called from \
             the function's first instruction; the return address stays in place, and is read as the caller."
                .to_string(),
        ),
        _ => (false, format!("not observable here: no function-level probes at tier {tier:?}")),
    };
    By::Shown { observable, text, proof: callers }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::global_claim;
    use crate::fixtures;
    use crate::model::Value;

    fn v(raw: i64, name: &str) -> Value {
        fixtures::named(raw, name, "test")
    }

    /// The claim that answers `a`, if one does.
    fn claim_of(a: &Answer) -> Option<&Claim> {
        match &a.by {
            By::Claim { claim, .. } => Some(claim),
            By::Shown { .. } => None,
        }
    }

    fn refs(claims: &[Claim]) -> Vec<&Claim> {
        claims.iter().collect()
    }

    fn verdict(c: &Claim) -> Verdict {
        c.verdict
    }

    // kaddr.virtual

    #[test]
    fn kernel_pointers_above_52_bits_prove_they_are_virtual() {
        let c = kaddr_virtual(Some(&fixtures::socket_call()));
        assert_eq!(verdict(&c), Verdict::Proved, "{c:#?}");
        assert_eq!(c.id, ids::KADDR_VIRTUAL.id);
        assert_eq!(c.evidence.len(), 4, "file, socket, sock, proto: {c:#?}");
    }

    #[test]
    fn a_walked_pointer_that_fits_in_52_bits_refutes_virtual_addresses() {
        let mut call = fixtures::socket_call();
        if let Some(k) = call.after.sock.as_mut() {
            k.addr = KAddr(0x0000_0001_031c_5c80);
        }
        let c = kaddr_virtual(Some(&call));
        assert_eq!(verdict(&c), Verdict::Refuted, "{c:#?}");
        assert!(c.conclusion().contains("struct sock (socket->sk)"), "{}", c.conclusion());
    }

    #[test]
    fn no_walked_pointer_is_not_observable_never_proved() {
        let mut call = fixtures::socket_call();
        call.after.file = None;
        call.after.socket = None;
        call.after.sock = None;
        assert_eq!(kaddr_virtual(Some(&call)).verdict, Verdict::NotObservable);
        assert_eq!(kaddr_virtual(None).verdict, Verdict::NotObservable);
    }

    // chain.sock_alloc_first

    #[test]
    fn sock_alloc_entering_first_proves_the_socket_is_allocated_first() {
        let r = fixtures::report();
        let c = sock_alloc_first_claim(&r, r.calls.first());
        assert_eq!(verdict(&c), Verdict::Proved, "{c:#?}");
        assert!(c.conclusion().contains("5.0 µs before sk_alloc"), "{}", c.conclusion());
    }

    #[test]
    fn sk_alloc_entering_first_refutes_the_order() {
        let mut r = fixtures::report();
        for f in r.calls[0].chain.iter_mut() {
            match f.func.as_str() {
                "sk_alloc" => f.enter_ns = Some(2_500),
                "sock_alloc" => f.enter_ns = Some(3_000),
                _ => {}
            }
        }
        let c = sock_alloc_first_claim(&r, r.calls.first());
        assert_eq!(verdict(&c), Verdict::Refuted, "{c:#?}");
        assert!(c.conclusion().starts_with("sk_alloc entered 0.5 µs before sock_alloc"), "{}", c.conclusion());
    }

    #[test]
    fn without_the_chain_or_one_function_the_order_is_not_observable() {
        let mut r = fixtures::report();
        r.kernel.tier_reason = "tp_btf only".into();
        let mut call = r.calls[0].clone();
        call.chain.retain(|f| f.func != "sk_alloc");
        let c = sock_alloc_first_claim(&r, Some(&call));
        assert_eq!(c.verdict, Verdict::NotObservable);
        assert!(c.reason.as_deref().unwrap_or_default().starts_with("sk_alloc entered in no traced frame"), "{c:?}");
        call.chain.clear();
        let c = sock_alloc_first_claim(&r, Some(&call));
        assert_eq!(c.verdict, Verdict::NotObservable);
        assert!(c.reason.as_deref().unwrap_or_default().contains("tp_btf only"), "{c:?}");
    }

    #[test]
    fn the_question_and_the_mistake_on_the_order_are_one_claim_citing_chain_order() {
        let r = fixtures::report();
        let claims = refs(&r.claims);
        let q = &questions(&r, &claims, r.calls.first())[2];
        let m = &mistakes(&r, &claims, r.calls.first())[1];
        assert_eq!(q.by, m.by, "the same judgment on both pages");
        let By::Claim { claim, cites } = &q.by else { panic!("{q:?}") };
        assert_eq!(claim.id, ids::CHAIN_SOCK_ALLOC_FIRST.id);
        assert_eq!(cites, &[Cite { id: ids::CHAIN_ORDER.id, call: Some(1) }]);
    }

    // sock.new_tcp_closed

    #[test]
    fn a_new_tcp_sock_in_tcp_close_proves_it() {
        let r = fixtures::report();
        let c = new_tcp_closed_claim(&refs(&r.claims), r.calls.first());
        assert_eq!(verdict(&c), Verdict::Proved, "{c:#?}");
    }

    #[test]
    fn a_new_tcp_sock_already_listening_refutes_it() {
        let mut call = fixtures::socket_call();
        if let Some(k) = call.after.sock.as_mut() {
            k.state = v(10, "TCP_LISTEN");
        }
        let c = new_tcp_closed_claim(&[], Some(&call));
        assert_eq!(verdict(&c), Verdict::Refuted, "{c:#?}");
        assert!(c.conclusion().contains("TCP_LISTEN"), "{}", c.conclusion());
    }

    #[test]
    fn a_sock_that_is_not_tcp_or_not_the_sockets_is_not_observable() {
        // Protocol 6 of another family (NETLINK_XFRM) is no TCP sock: only an inet sock's protocol 6 is.
        let mut call = fixtures::socket_call();
        if let Some(k) = call.after.sock.as_mut() {
            k.family = v(16, "AF_NETLINK");
            k.protocol = Value::plain(6);
            k.state = v(10, "TCP_LISTEN");
        }
        let c = new_tcp_closed_claim(&[], Some(&call));
        assert_eq!(c.verdict, Verdict::NotObservable, "{c:#?}");
        assert!(c.reason.as_deref().unwrap_or_default().starts_with("not applicable"), "{c:?}");
        // A refuted socket.sk_is_sock: the state read may be another sock's.
        let mut call = fixtures::socket_call();
        if let Some(k) = call.after.sock.as_mut() {
            k.state = v(10, "TCP_LISTEN");
        }
        let bad = judged(ids::SOCKET_SK_IS_SOCK, Some(call.seq), Some(false), String::new(), vec![], "");
        let c = new_tcp_closed_claim(&[&bad], Some(&call));
        assert_eq!(c.verdict, Verdict::NotObservable, "{c:#?}");
        // A state the kernel's BTF does not name.
        let mut call = fixtures::socket_call();
        if let Some(k) = call.after.sock.as_mut() {
            k.state = Value::plain(7);
        }
        assert_eq!(new_tcp_closed_claim(&[], Some(&call)).verdict, Verdict::NotObservable);
    }

    // sock.protocol_zero_tcp

    #[test]
    fn protocol_zero_becoming_ipproto_tcp_proves_it() {
        let r = fixtures::report();
        let c = protocol_zero_tcp_claim(&refs(&r.claims), r.calls.first());
        assert_eq!(verdict(&c), Verdict::Proved, "{c:#?}");
        assert!(c.evidence.iter().any(|e| e.what == "claim sock.protocol_resolved (call 1)"), "{c:#?}");
    }

    #[test]
    fn protocol_zero_kept_as_zero_refutes_it() {
        let mut call = fixtures::socket_call();
        if let Some(k) = call.after.sock.as_mut() {
            k.protocol = v(0, "IPPROTO_IP");
        }
        let c = protocol_zero_tcp_claim(&[], Some(&call));
        assert_eq!(verdict(&c), Verdict::Refuted, "{c:#?}");
    }

    #[test]
    fn a_call_that_did_not_pass_inet_stream_and_zero_is_not_observable() {
        // The old judgment took sock.protocol_resolved's ✓ as refuting "protocol 0 stays 0" whatever was passed:
        // a call that passed IPPROTO_TCP itself, or a unix socket (whose protocol 0 does stay 0), says nothing.
        let r = fixtures::report();
        let mut call = r.calls[0].clone();
        call.args[2].value = v(6, "IPPROTO_TCP");
        let c = protocol_zero_tcp_claim(&refs(&r.claims), Some(&call));
        assert_eq!(c.verdict, Verdict::NotObservable, "{c:#?}");
        let mut call = r.calls[0].clone();
        call.args[0].value = v(1, "AF_UNIX");
        if let Some(k) = call.after.sock.as_mut() {
            k.family = v(1, "AF_UNIX");
            k.protocol = Value::plain(0);
        }
        assert_eq!(protocol_zero_tcp_claim(&[], Some(&call)).verdict, Verdict::NotObservable);
    }

    // dispatch.absolute

    fn dispatch_code(verdict: Verdict, forms: &[&str]) -> Claim {
        let refs: Vec<kcode::Ref> = forms
            .iter()
            .enumerate()
            .map(|(i, f)| kcode::Ref {
                addr: 0xffff_ffff_81e7_0000 + i as u64 * 8,
                text: "mov rax,[rdx*8-0x7cdf5e40]".into(),
                form: f.to_string(),
                target: 0xffff_ffff_8320_a1c0,
            })
            .collect();
        let evidence = kcode::code_evidence("vmlinux", 0xffff_ffff_81e7_0000, 0xffff_ffff_8320_a1c0, &refs);
        let why = (verdict == Verdict::NotObservable).then(|| "the KASLR offset is unknown".to_string());
        global_claim(ids::DISPATCH_CODE, verdict, "", evidence, why)
    }

    #[test]
    fn absolute_displacements_only_prove_it() {
        let d = dispatch_code(Verdict::Proved, &[kcode::ABSOLUTE, kcode::ABSOLUTE]);
        let c = dispatch_absolute_claim(&[&d]);
        assert_eq!(verdict(&c), Verdict::Proved, "{c:#?}");
    }

    #[test]
    fn a_rip_relative_instruction_refutes_it() {
        let d = dispatch_code(Verdict::Proved, &[kcode::RIP_RELATIVE]);
        assert_eq!(dispatch_absolute_claim(&[&d]).verdict, Verdict::Refuted);
        let d = dispatch_code(Verdict::Proved, &[kcode::ABSOLUTE, kcode::RIP_RELATIVE]);
        let c = dispatch_absolute_claim(&[&d]);
        assert_eq!(c.verdict, Verdict::Refuted, "mixed forms: not every one is absolute");
        assert!(c.conclusion().contains("1 address net_families RIP-relatively, 1 absolutely"), "{}", c.conclusion());
    }

    #[test]
    fn an_unproved_dispatch_code_or_unlisted_forms_are_not_observable() {
        for v in [Verdict::Refuted, Verdict::NotObservable] {
            let d = dispatch_code(v, &[kcode::ABSOLUTE]);
            assert_eq!(dispatch_absolute_claim(&[&d]).verdict, Verdict::NotObservable, "{v:?}");
        }
        // Five instructions, three listed: the other two's forms are not in the evidence.
        let d = dispatch_code(Verdict::Proved, &[kcode::ABSOLUTE; 5]);
        assert_eq!(kcode::listed_forms(&d), Some((5, vec![kcode::ABSOLUTE; 3])));
        assert_eq!(dispatch_absolute_claim(&[&d]).verdict, Verdict::NotObservable);
        assert_eq!(dispatch_absolute_claim(&[]).verdict, Verdict::NotObservable);
    }

    // The report's own claims: fd.lowest_free, file.private_data_is_socket.

    #[test]
    fn the_report_claim_of_the_answer_call_answers_not_the_first_of_its_id() {
        let r = fixtures::report();
        let mine = find(&refs(&r.claims), ids::FD_LOWEST_FREE, r.calls.first()).cloned().expect("fixture's claim");
        assert_eq!(mine.verdict, Verdict::Proved);
        // An earlier call's claim of the same id, refuted: it is not the answer call's.
        let other = judged(ids::FD_LOWEST_FREE, Some(0), Some(false), "fd 7 was not".into(), vec![], "");
        let mut claims = vec![&other];
        claims.extend(r.claims.iter());
        let By::Claim { claim, cites } = reported(&claims, ids::FD_LOWEST_FREE, r.calls.first()) else { panic!() };
        assert_eq!(claim, mine);
        assert_eq!(cites, vec![Cite { id: ids::FD_LOWEST_FREE.id, call: Some(1) }]);
        // The answer call's own ✗ is the answer's ✗.
        let refuted = Claim { verdict: Verdict::Refuted, ..mine.clone() };
        let claims = vec![&refuted];
        let m = &mistakes(&r, &claims, r.calls.first());
        assert!(
            matches!(&questions(&r, &claims, r.calls.first())[4].by, By::Claim { claim, .. } if claim.verdict == Verdict::Refuted)
        );
        assert!(
            matches!(&m[2].by, By::Claim { claim, .. } if claim.verdict == Verdict::NotObservable && claim.id == ids::FILE_PRIVATE_DATA_IS_SOCKET.id)
        );
    }

    #[test]
    fn a_refuted_private_data_claim_is_the_mistakes_answer() {
        let r = fixtures::report();
        let mut claims: Vec<Claim> = r.claims.clone();
        for c in claims.iter_mut().filter(|c| c.id == ids::FILE_PRIVATE_DATA_IS_SOCKET.id) {
            c.verdict = Verdict::Refuted;
        }
        let m = mistakes(&r, &refs(&claims), r.calls.first());
        assert_eq!(
            claim_of(&m[2]).map(|c| (c.id.as_str(), c.verdict)),
            Some((ids::FILE_PRIVATE_DATA_IS_SOCKET.id, Verdict::Refuted))
        );
        let m = mistakes(&r, &refs(&r.claims), r.calls.first());
        assert_eq!(claim_of(&m[2]).map(|c| c.verdict), Some(Verdict::Proved));
    }

    #[test]
    fn the_fixture_answers_every_judgment_with_its_claim() {
        let r = fixtures::report();
        let claims = refs(&r.claims);
        let q = questions(&r, &claims, r.calls.first());
        let got: Vec<Option<(&str, Verdict)>> =
            q.iter().map(|a| claim_of(a).map(|c| (c.id.as_str(), c.verdict))).collect();
        assert_eq!(
            got,
            vec![
                Some((ids::KADDR_VIRTUAL.id, Verdict::Proved)),
                None,
                Some((ids::CHAIN_SOCK_ALLOC_FIRST.id, Verdict::Proved)),
                None,
                Some((ids::FD_LOWEST_FREE.id, Verdict::Proved)),
            ]
        );
        let m = mistakes(&r, &claims, r.calls.first());
        let got: Vec<(&str, Verdict)> =
            m.iter().filter_map(|a| claim_of(a).map(|c| (c.id.as_str(), c.verdict))).collect();
        assert_eq!(
            got,
            vec![
                (ids::SOCK_NEW_TCP_CLOSED.id, Verdict::Proved),
                (ids::CHAIN_SOCK_ALLOC_FIRST.id, Verdict::Proved),
                (ids::FILE_PRIVATE_DATA_IS_SOCKET.id, Verdict::Proved),
                (ids::SOCK_PROTOCOL_ZERO_TCP.id, Verdict::Proved),
                (ids::DISPATCH_ABSOLUTE.id, Verdict::NotObservable),
            ]
        );
        // The physical-address question cites no unrelated claim (issue 33: it cited kaslr.offset_constant).
        assert!(matches!(&q[0].by, By::Claim { cites, .. } if cites.is_empty()));
    }
}
