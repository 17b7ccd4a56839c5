//! A connection's failure as a chapter (`lesson --fail connrefused|addrinuse|accept-emfile`), in the puzzle's
//! style: the terms the course derived taken as given (computed), the question, the prediction from the source
//! (a call site in the failed call's chain, mapped by DWARF), the observations, the verdict. Each syscall's module
//! says what its failure is about (`Failure`); this is the scaffolding.
use super::{Lesson, Status, Step};
use crate::claims::ids::{self, ClaimId};
use crate::claims::Claim;
use crate::model::Call;
use crate::report::Report;

/// The chapter's part (its steps' heading; the site names the document by it).
pub const PART: &str = "a connection's failure";

/// What a syscall's module says about one of its failures.
pub struct Failure {
    pub title: &'static str,
    /// The syscall that fails.
    pub syscall: &'static str,
    /// The question (the step's action) and what it wonders (its result).
    pub question: &'static str,
    pub wonder: &'static str,
    /// The function whose call site in the failed call the source prediction rests on, and what that line says.
    pub site_of: &'static str,
    pub predicts: &'static str,
    /// The observations: (action, probes, the claims it rests on).
    pub observations: Vec<(&'static str, &'static str, &'static [ClaimId])>,
}

/// The failed call of the chapter: the first `syscall` that returned an error.
pub fn failed<'a>(r: &'a Report, syscall: &str) -> Option<&'a Call> {
    r.calls.iter().find(|c| c.syscall == syscall && c.ret.is_some_and(|v| v < 0))
}

pub fn chapter(r: &Report, sources: &[Claim], f: Failure) -> Lesson {
    let part = PART;
    let call = failed(r, f.syscall);
    // The claims of the whole run: a failure's observations span calls (the next accept4, the holder's bind).
    let mut claims: Vec<Claim> = sources.to_vec();
    claims.extend(r.claims.iter().cloned());
    let c = &claims;
    let errno = call.and_then(|c| c.errno.as_ref()).map(|e| e.show()).unwrap_or_else(|| "no error".into());
    let shown = call
        .map(|c| {
            format!(
                "{}({}) = {} {errno}",
                c.syscall,
                c.args.iter().map(|a| a.value.show()).collect::<Vec<_>>().join(", "),
                c.ret.unwrap_or(0)
            )
        })
        .unwrap_or_else(|| format!("no failed {}() in this run", f.syscall));
    let mut steps = vec![
        Step::new(part, "take as given what the course derived", "syswalk lesson --life")
            .axiom("the course derives these terms from live evidence; this chapter uses them"),
        Step::new(part, f.question, "").evidence(format!("the call: {shown} (tp_btf/sys_exit)")).result(f.wonder),
        predict(part, call, &f, c),
    ];
    let mut verdict_ids: Vec<ClaimId> = Vec::new();
    for (action, code, on) in &f.observations {
        steps.push(Step::new(part, *action, *code).judged_by(on, c));
        verdict_ids.extend(on.iter().copied());
    }
    verdict_ids.push(ids::SOCKETS_NONE_LEFT);
    steps.push(
        Step::new(
            part,
            "observe: the kernel's socket counts are as they were",
            "/proc/net/sockstat, /proc/net/protocols",
        )
        .judged_by(&[ids::SOCKETS_NONE_LEFT], c),
    );
    let v = Step::new(part, "the verdict: did the failed call leave anything behind?", "the observations above")
        .judged_by(&verdict_ids, c);
    // "As predicted" only when the prediction itself was made from the source line.
    let predicted = steps.get(2).is_some_and(|s| s.status == Status::Proved);
    let v = if v.status == Status::Proved {
        let res = v.result.clone();
        if predicted {
            v.result(format!("as predicted ({errno}), nothing left behind: {res}"))
        } else {
            v.result(format!("nothing left behind ({errno}; the prediction is not observable here): {res}"))
        }
    } else {
        v
    };
    steps.push(v);
    // The chapter's own names (its errno, the functions of its prediction) and the functions its run went through,
    // each derived where a step first names it.
    super::place_at_first_use(&mut steps);
    super::derive_at_first_use(&mut steps, &super::chain_functions(r));
    super::derive_at_first_use(&mut steps, &super::source_functions(c));
    settle(&mut steps, r);
    Lesson::new(
        f.title.into(),
        format!("{} {}", r.kernel.release, r.kernel.machine),
        r.kernel.tier,
        r.command.clone(),
        steps,
        claims,
    )
}

/// What a failure chapter (this one, socket()'s puzzle) does last: at tier C a claim the chain would make says why
/// it was not made; the first step (an axiom) takes as given every term the others use — computed, never listed by
/// hand.
pub fn settle(steps: &mut [Step], r: &Report) {
    if r.kernel.tier == crate::probes::caps::Tier::C {
        for s in steps.iter_mut() {
            if let Some(w) = s.why_not.as_mut() {
                *w = w
                    .replace(": not produced by this run", &format!(": not made at tier C ({})", r.kernel.tier_reason));
            }
        }
    }
    let mut given: Vec<&'static str> = Vec::new();
    let derived_here = |t: &str| steps.iter().any(|s| s.introduces.iter().any(|i| i.eq_ignore_ascii_case(t)));
    for s in steps.iter().skip(1) {
        for (t, _) in super::glossary::uses(&s.text()) {
            if !given.contains(&t) && !derived_here(t) {
                given.push(t);
            }
        }
    }
    if let Some(first) = steps.first_mut() {
        *first = first.clone().introduces(&given);
    }
}

/// The prediction: where `site_of` is called from in the failed call, and that line (DWARF, `lab run --dbg`).
/// Never ✓ without the line.
fn predict(part: &str, call: Option<&Call>, f: &Failure, c: &[Claim]) -> Step {
    let s = Step::new(
        part,
        format!("predict from the source: where {}() goes wrong", f.syscall),
        format!("the caller of {} in the chain, mapped by DWARF (lab run --dbg)", f.site_of),
    );
    let site = call
        .and_then(|k| k.chain.iter().find(|x| x.func == f.site_of))
        .and_then(|x| x.caller.as_ref())
        .map(|k| k.to_string());
    let line = site.as_ref().and_then(|st| {
        c.iter()
            .filter(|k| k.id == ids::SOURCE_LINES.id)
            .flat_map(|k| k.evidence.iter())
            .find(|e| &e.what == st)
            .map(|e| e.value.clone())
    });
    match (&site, &line) {
        (Some(site), Some(line)) => s
            .evidence(format!("{} called from {site} (the return address at its entry)", f.site_of))
            .evidence(format!("{site} = {line} (DWARF)"))
            .judged_by(&[ids::SOURCE_LINES], c)
            .result(format!("{line}: {}", f.predicts)),
        _ => {
            let mut s = s.judged_by(&[ids::SOURCE_LINES], c);
            if s.status != Status::NotObservable {
                s.status = Status::NotObservable;
            }
            s.why_not = Some(match (&site, s.why_not.take()) {
                (Some(site), _) => format!("DWARF gave no line for {site}"),
                (None, Some(w)) => format!("{}'s call site is not in this run's chain ({w})", f.site_of),
                (None, None) => format!("{}'s call site is not in this run's chain", f.site_of),
            });
            s
        }
    }
}
