//! `dispatch.unregistered`: a socket() that failed with EAFNOSUPPORT for a family inside net_families[] (below
//! NPROTO) found that family's slot NULL — read live, before the target ran and after it ended.
use crate::claims::{ev, ids, judged, Claim};
use crate::model::Call;
use crate::probes::chain::FamilyRow;

/// The reads of the table: `before` from the chain's planning (None when it did not read it: tier C, or an error),
/// `after` read once the target ended (its error says why it could not be read).
pub struct Reads<'a> {
    pub before: Option<&'a [FamilyRow]>,
    pub after: Result<Vec<FamilyRow>, String>,
    /// Where the table is: "net_families @ 0x… (kallsyms)", or "" when kallsyms does not have it.
    pub table: String,
}

/// The claim for the built-in target's socket() calls that failed with EAFNOSUPPORT and named a family below
/// NPROTO (one per call); none for other calls.
pub fn judge_unregistered(calls: &[Call], reads: &Reads) -> Vec<Claim> {
    candidates(calls).map(|(c, f)| judge_one(c, f, reads)).collect()
}

/// Whether any call is one this claim judges (the table is read again only then).
pub fn applies(calls: &[Call]) -> bool {
    candidates(calls).next().is_some()
}

fn candidates(calls: &[Call]) -> impl Iterator<Item = (&Call, usize)> {
    let nproto = crate::probes::chain::NPROTO as i64;
    calls
        .iter()
        .filter(|c| super::DEF.is(c))
        .filter(|c| c.errno.as_ref().and_then(|e| e.name.as_deref()) == Some("EAFNOSUPPORT"))
        .filter_map(|c| Some((c, c.args.first()?.value.raw)))
        .filter(move |(_, f)| (0..nproto).contains(f))
        .map(|(c, f)| (c, f as usize))
}

fn slot(rows: &[FamilyRow], f: usize) -> String {
    match rows.iter().find(|(i, _, _)| *i == f) {
        Some((_, p, _)) => format!("{p:#018x} (a registered family)"),
        None => "NULL".into(),
    }
}

fn judge_one(c: &Call, f: usize, reads: &Reads) -> Claim {
    let src = if reads.table.is_empty() { "net_families".to_string() } else { reads.table.clone() };
    let errno = c.errno.as_ref().map(|e| e.show()).unwrap_or_default();
    let mut evidence = vec![ev("socket() returned", format!("{} {errno}", c.ret.unwrap_or(0)), "tp_btf/sys_exit")];
    if let Some(b) = reads.before {
        evidence.push(ev(format!("net_families[{f}] before the target ran"), slot(b, f), src.clone()));
    }
    let after = match &reads.after {
        Ok(rows) => rows,
        Err(why) => return judged(ids::DISPATCH_UNREGISTERED, Some(c.seq), None, String::new(), evidence, why),
    };
    evidence.push(ev(format!("net_families[{f}] after the target ended"), slot(after, f), src));
    // A failed kernel read leaves a slot 0 too: a table without AF_INET (2) was not read, whatever it says.
    let sane = |rows: &[FamilyRow]| rows.iter().any(|(i, _, _)| *i == libc::AF_INET as usize);
    let unread = if !sane(after) {
        Some("the read after the target found no AF_INET slot: the table was not read, so a NULL slot proves nothing")
    } else if reads.before.is_none_or(|b| !sane(b)) {
        Some("the table was not read before the target ran (the chain's planning reads it, at tiers A/B): one read cannot show the slot stayed NULL")
    } else {
        None
    };
    if let Some(why) = unread {
        return judged(ids::DISPATCH_UNREGISTERED, Some(c.seq), None, String::new(), evidence, why);
    }
    let registered: Vec<usize> = after.iter().map(|(i, _, _)| *i).collect();
    evidence.push(ev(
        "the registered families (non-NULL slots) after",
        registered.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
        "the same read",
    ));
    let null = |rows: &[FamilyRow]| !rows.iter().any(|(i, _, _)| *i == f);
    let ok = null(after) && reads.before.is_some_and(null);
    judged(
        ids::DISPATCH_UNREGISTERED,
        Some(c.seq),
        Some(ok),
        if ok {
            format!("net_families[{f}] is NULL (read live): no family is registered for {f}, and socket() failed with {errno}")
        } else {
            format!("net_families[{f}] holds a family, yet socket() failed with {errno}: the failure is not the missing family")
        },
        evidence,
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Verdict;

    fn failed(family: i64, errno: &str) -> Call {
        let mut c = crate::fixtures::socket_call();
        c.args[0].value = crate::model::Value::plain(family);
        c.ret = Some(-97);
        c.errno = Some(crate::fixtures::named(97, errno, "/usr/include/asm-generic/errno.h:76"));
        c
    }

    #[test]
    fn an_unregistered_family_is_proved_from_its_null_slot_and_a_registered_one_refutes_it() {
        let rows: Vec<FamilyRow> =
            vec![(1, 0xffff_ffff_8200_0000, 0xffff_ffff_8100_0000), (2, 0xffff_ffff_8200_0100, 0)];
        let before = rows.clone();
        let reads =
            |after: Result<Vec<FamilyRow>, String>| Reads { before: Some(&before[..]), after, table: String::new() };
        let v = |c: &Call, r: &Reads| {
            judge_unregistered(std::slice::from_ref(c), r).iter().map(|k| k.verdict).collect::<Vec<_>>()
        };
        assert_eq!(v(&failed(25, "EAFNOSUPPORT"), &reads(Ok(rows.clone()))), vec![Verdict::Proved]);
        assert_eq!(
            v(&failed(2, "EAFNOSUPPORT"), &reads(Ok(rows.clone()))),
            vec![Verdict::Refuted],
            "slot 2 holds a family"
        );
        assert_eq!(
            v(&failed(25, "EAFNOSUPPORT"), &reads(Err("no CONFIG_KALLSYMS_ALL".into()))),
            vec![Verdict::NotObservable]
        );
        let mut reg = rows.clone();
        reg.push((25, 0xffff_ffff_8200_0200, 0));
        let was = Reads { before: Some(&reg), after: Ok(rows.clone()), table: String::new() };
        assert_eq!(v(&failed(25, "EAFNOSUPPORT"), &was), vec![Verdict::Refuted], "registered before the call");
        let once = Reads { before: None, after: Ok(rows.clone()), table: String::new() };
        assert_eq!(v(&failed(25, "EAFNOSUPPORT"), &once), vec![Verdict::NotObservable], "one read is not both");
        assert_eq!(
            v(&failed(25, "EAFNOSUPPORT"), &reads(Ok(vec![]))),
            vec![Verdict::NotObservable],
            "a failed read reads NULL too"
        );
        assert!(
            v(&failed(crate::probes::chain::NPROTO as i64, "EAFNOSUPPORT"), &reads(Ok(rows.clone()))).is_empty(),
            "past the table: not this claim"
        );
        assert!(v(&failed(25, "EINVAL"), &reads(Ok(rows))).is_empty());
    }
}
