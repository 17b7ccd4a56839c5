//! The function-level claims of a connection's calls (tiers A/B): each call's chain ran in the course's order, and
//! the pointers its functions received or returned are the objects the boundary walk found (one struct socket, one
//! struct sock, one struct file through the whole call). Each syscall's module says which; this is the machinery.
use crate::claims::{ev, ids::ClaimId, judged, Claim, Evidence};
use crate::model::frame::Frame;
use crate::model::{Call, KAddr};
use crate::probes::chain::FnPlan;

pub fn frame<'a>(c: &'a Call, func: &str) -> Option<&'a Frame> {
    c.chain.iter().find(|f| f.func == func)
}

/// Whether this run traces `func` (it exists here as a function with a symbol).
pub fn traced(plan: &[FnPlan], func: &str) -> bool {
    plan.iter().any(|p| p.name == func && p.traced)
}

/// The `nth` argument of type `ty` ("struct sock *") that `func` received.
pub fn arg(c: &Call, func: &str, ty: &str, nth: usize) -> Option<u64> {
    frame(c, func)?.args.iter().filter(|a| a.ty == ty).nth(nth).map(|a| a.raw)
}

/// The argument of `func` named `name`.
pub fn arg_named(c: &Call, func: &str, name: &str) -> Option<u64> {
    frame(c, func)?.args.iter().find(|a| a.name == name).map(|a| a.raw)
}

pub fn ret(c: &Call, func: &str) -> Option<u64> {
    frame(c, func)?.ret.map(|r| r as u64)
}

/// Values that must be one and the same: a label, the value if captured, and whether its function is traced.
pub struct Group {
    pub what: &'static str,
    pub items: Vec<(String, Option<u64>)>,
    /// A count or a number, shown in decimal (pointers are shown in hex).
    pub number: bool,
}

impl Group {
    pub fn new(what: &'static str) -> Self {
        Group { what, items: Vec::new(), number: false }
    }
    pub fn number(what: &'static str) -> Self {
        Group { what, items: Vec::new(), number: true }
    }
    /// The walk's value (always expected).
    pub fn walk(mut self, label: &str, v: Option<KAddr>) -> Self {
        self.items.push((label.to_string(), v.map(|a| a.0)));
        self
    }
    /// A function's value, only when this kernel has the function to trace.
    pub fn func(mut self, plan: &[FnPlan], func: &str, label: &str, v: Option<u64>) -> Self {
        if traced(plan, func) {
            self.items.push((label.to_string(), v));
        }
        self
    }
}

/// `id`: every group's values are equal. Not observable when one was not captured; refuted when two differ.
pub fn same(id: ClaimId, c: &Call, groups: Vec<Group>, extra: Vec<Evidence>) -> Claim {
    let src = c.chain.first().map(|f| f.probe.clone()).unwrap_or_else(|| "chain".into());
    let mut evidence = Vec::new();
    let mut missing = Vec::new();
    let mut differ = Vec::new();
    let mut summary = Vec::new();
    for g in &groups {
        let vals: Vec<u64> = g.items.iter().filter_map(|(_, v)| *v).collect();
        for (label, v) in &g.items {
            let show = |v: u64| if g.number { (v as i64).to_string() } else { format!("{v:#018x}") };
            let shown = v.map(show).unwrap_or_else(|| "not captured".into());
            evidence.push(ev(format!("{}: {label}", g.what), shown, src.clone()));
            if v.is_none() {
                missing.push(format!("{} ({label})", g.what));
            }
        }
        if vals.windows(2).any(|w| w[0] != w[1]) {
            differ.push(g.what);
        } else if let Some(v) = vals.first() {
            let v = if g.number { (*v as i64).to_string() } else { format!("{v:#018x}") };
            let places: Vec<&str> = g.items.iter().filter(|(_, x)| x.is_some()).map(|(l, _)| l.as_str()).collect();
            summary.push(format!("{} {v} ({})", g.what, places.join(" = ")));
        }
    }
    evidence.extend(extra);
    let ok = if !differ.is_empty() {
        Some(false)
    } else if missing.is_empty() && !groups.is_empty() {
        Some(true)
    } else {
        None
    };
    let finding = if differ.is_empty() {
        format!("one {}", summary.join("; one "))
    } else {
        format!("differ: {}", differ.join(", "))
    };
    judged(id, Some(c.seq), ok, finding, evidence, &format!("not captured in this call: {}", missing.join(", ")))
}

/// `id`: the functions of `expected` this kernel traces were entered in that order inside the call.
pub fn order(id: ClaimId, c: &Call, expected: &[&str], plan: &[FnPlan]) -> Claim {
    let src = c.chain.first().map(|f| f.probe.clone()).unwrap_or_else(|| "chain".into());
    let want: Vec<&str> = expected.iter().copied().filter(|f| traced(plan, f)).collect();
    let absent: Vec<&str> = expected.iter().copied().filter(|f| !traced(plan, f)).collect();
    let pos: Vec<Option<usize>> = want.iter().map(|f| c.chain.iter().position(|x| x.func == *f)).collect();
    let seen: Vec<usize> = pos.iter().flatten().copied().collect();
    let in_order = seen.windows(2).all(|w| w[0] < w[1]);
    let missing: Vec<&str> = want.iter().zip(&pos).filter(|(_, p)| p.is_none()).map(|(f, _)| *f).collect();
    let observed: Vec<String> = c
        .chain
        .iter()
        .map(|f| {
            format!(
                "{}{}{}",
                "  ".repeat(f.depth),
                f.func,
                f.ret
                    .map(|r| format!(
                        " = {}",
                        if r.unsigned_abs() > 1 << 32 { format!("{:#x}", r as u64) } else { r.to_string() }
                    ))
                    .unwrap_or_default()
            )
        })
        .collect();
    let ok = if c.chain.is_empty() || (in_order && !missing.is_empty()) { None } else { Some(in_order) };
    judged(
        id,
        Some(c.seq),
        ok,
        format!(
            "{}{}",
            want.join(" → "),
            match absent.len() {
                0 => String::new(),
                1 => format!(" ({}: not a function on this kernel)", absent[0]),
                _ => format!(" ({}: not functions on this kernel)", absent.join(", ")),
            }
        ),
        vec![
            ev("observed entries (indented by nesting) = return", observed.join(" | "), src.clone()),
            ev("expected, not observed", if missing.is_empty() { "none".into() } else { missing.join(", ") }, src),
        ],
        if c.chain.is_empty() {
            "no chain frame was captured inside this call"
        } else {
            "some of the chain's functions were not observed in this call (events lost, or not called)"
        },
    )
}

/// The claims of a call at a tier without the function-level chain: not observable, with why.
pub fn not_here(c: &Call, ids: &[ClaimId], why: &str) -> Vec<Claim> {
    ids.iter().map(|id| judged(*id, Some(c.seq), None, String::new(), vec![], why)).collect()
}

/// The allocators a call's chain may run: (function, the object its return value is).
pub const ALLOCATORS: &[(&str, &str)] =
    &[("sock_alloc", "struct socket"), ("sk_alloc", "struct sock"), ("sock_alloc_file", "struct file")];
/// The functions that release an object they are given (its pointer is one of their arguments of its type).
pub const RELEASERS: &[&str] = &["sock_release", "__sock_release", "inet_release", "tcp_close"];

/// Every object `c`'s chain allocated (a non-NULL, non-error return of an allocator), with the functions that
/// were given it to release after it was allocated, in the call. Frees come later (`Allocation::freed_by`).
pub fn allocations(c: &Call) -> Vec<crate::model::Allocation> {
    let mut out = Vec::new();
    for (i, f) in c.chain.iter().enumerate() {
        let Some(&(_, object)) = ALLOCATORS.iter().find(|(n, _)| *n == f.func) else { continue };
        let Some(r) = f.ret.map(|r| r as u64) else { continue };
        // NULL, or an ERR_PTR (sock_alloc_file returns one: the top 4095 values).
        if r == 0 || r >= (-4095i64) as u64 {
            continue;
        }
        let ty = format!("{object} *");
        let released_by = c.chain[i + 1..]
            .iter()
            .filter(|g| RELEASERS.contains(&g.func.as_str()))
            .filter(|g| g.args.iter().any(|a| a.ty == ty && a.raw == r))
            .map(|g| g.func.clone())
            .collect();
        out.push(crate::model::Allocation {
            object: object.to_string(),
            addr: KAddr(r),
            allocated_by: f.func.clone(),
            released_by,
            freed_by: None,
            freed_after_ns: None,
        });
    }
    out
}

#[cfg(test)]
mod allocation_tests {
    use crate::model::frame::FArg;

    fn arg(ty: &str, raw: u64) -> FArg {
        FArg { name: "x".into(), raw, ty: ty.into(), value: format!("{raw:#x}") }
    }

    #[test]
    fn each_allocator_s_return_is_followed_to_the_functions_given_it_after() {
        let mut c = crate::fixtures::socket_call();
        let f = crate::fixtures::frame;
        let mut a = f("sock_alloc", 2, Some(1), (3_000, 6_000), ("__sock_create", 0x7f));
        a.ret = Some(0xffff_8880_0000_1000u64 as i64);
        let mut k = f("sk_alloc", 3, Some(1), (7_000, 9_000), ("inet_create", 0x104));
        k.ret = Some(0xffff_8880_0000_2000u64 as i64);
        let mut file = f("sock_alloc_file", 2, Some(0), (9_500, 9_900), ("__sys_socket", 0x40));
        file.ret = Some(-24); // an ERR_PTR is not an object
        let mut rel = f("sock_release", 1, Some(0), (30_000, 40_000), ("__sys_socket", 0xd0));
        rel.args = vec![arg("struct socket *", 0xffff_8880_0000_1000)];
        let mut other = f("tcp_close", 3, Some(2), (32_000, 38_000), ("inet_release", 0x4c));
        other.args = vec![arg("struct sock *", 0xffff_8880_0000_3000)]; // not the sock sk_alloc returned
        c.chain = vec![f("__sys_socket", 0, None, (1_000, 41_000), ("x", 1)), a, k, file, rel, other];
        let got = super::allocations(&c);
        let view: Vec<(&str, u64, &str, Vec<String>)> =
            got.iter().map(|a| (a.object.as_str(), a.addr.0, a.allocated_by.as_str(), a.released_by.clone())).collect();
        assert_eq!(
            view,
            vec![
                ("struct socket", 0xffff_8880_0000_1000, "sock_alloc", vec!["sock_release".to_string()]),
                ("struct sock", 0xffff_8880_0000_2000, "sk_alloc", vec![]),
            ]
        );
    }
}
