//! An independent reader of syswalk's `--format perfetto` output (Chrome trace-event JSON): it checks the structure
//! a trace viewer relies on, and returns each flow's steps for the tests to compare with the report's claims.
#![allow(dead_code)]
use std::collections::BTreeMap;

use serde_json::Value;

/// One step of a flow: the slice it binds to (the deepest X slice enclosing its time on its thread) and its role.
#[derive(Debug, Clone)]
pub struct Step {
    pub slice: String,
    pub role: String,
    pub ns: i64,
}

/// A slice: start and end (ns) and name.
type Span = (i64, i64, String);

fn ns(v: &Value) -> Option<i64> {
    v.as_f64().map(|x| (x * 1000.0).round() as i64)
}

/// Checks: every event has a pid and a tid; the X slices of each thread nest strictly (two slices are disjoint or
/// one contains the other); every flow step lies inside a slice of its thread and the deepest one there is the slice
/// it names; every flow starts with `s`, ends with `f`, has only `t` between, in time order. Returns the flows in id
/// order, each with its name ("struct socket 0x…"; an address a new object took again is a new flow of that name).
pub fn check(trace: &Value) -> Result<Vec<(String, Vec<Step>)>, String> {
    let ev = trace["traceEvents"].as_array().ok_or("no traceEvents")?;
    let mut slices: BTreeMap<(u64, u64), Vec<Span>> = BTreeMap::new();
    for e in ev {
        let (Some(pid), Some(tid)) = (e["pid"].as_u64(), e["tid"].as_u64()) else {
            return Err(format!("an event without pid/tid: {e}"));
        };
        if e["ph"] == "X" {
            let (Some(t), Some(d)) = (ns(&e["ts"]), ns(&e["dur"])) else {
                return Err(format!("X without ts/dur: {e}"));
            };
            if d < 0 {
                return Err(format!("negative duration: {e}"));
            }
            slices.entry((pid, tid)).or_default().push((t, t + d, e["name"].as_str().unwrap_or("").to_string()));
        }
    }
    for (k, v) in slices.iter_mut() {
        v.sort_by_key(|(a, b, _)| (*a, -*b));
        let mut stack: Vec<Span> = Vec::new();
        for s in v.iter() {
            while stack.last().is_some_and(|top| top.1 <= s.0) {
                stack.pop();
            }
            if let Some(top) = stack.last() {
                if s.1 > top.1 {
                    return Err(format!("thread {k:?}: {:?} overlaps {:?} without nesting", s, top));
                }
            }
            stack.push(s.clone());
        }
    }
    let mut flows: BTreeMap<u64, (String, Vec<(String, Step)>)> = BTreeMap::new();
    for e in ev.iter().filter(|e| matches!(e["ph"].as_str(), Some("s" | "t" | "f"))) {
        let (pid, tid) = (e["pid"].as_u64().unwrap_or(0), e["tid"].as_u64().unwrap_or(0));
        let t = ns(&e["ts"]).ok_or("flow step without ts")?;
        let deepest = slices
            .get(&(pid, tid))
            .into_iter()
            .flatten()
            .filter(|(a, b, _)| *a <= t && t < *b)
            .min_by_key(|(a, b, _)| b - a)
            .map(|s| s.2.clone())
            .ok_or_else(|| format!("flow step outside every slice of its thread: {e}"))?;
        let named = e["args"]["slice"].as_str().unwrap_or("");
        if deepest != named {
            return Err(format!("flow step binds to {deepest:?}, not to the {named:?} it names: {e}"));
        }
        let id = e["id"].as_u64().ok_or("flow step without id")?;
        let f = flows.entry(id).or_insert_with(|| (e["name"].as_str().unwrap_or("").to_string(), Vec::new()));
        f.1.push((
            e["ph"].as_str().unwrap_or("").to_string(),
            Step { slice: deepest, role: e["args"]["role"].as_str().unwrap_or("").to_string(), ns: t },
        ));
    }
    let mut out = Vec::new();
    for (id, (name, steps)) in flows {
        let phs: Vec<&str> = steps.iter().map(|(p, _)| p.as_str()).collect();
        let ok = phs.len() >= 2
            && phs[0] == "s"
            && phs[phs.len() - 1] == "f"
            && phs[1..phs.len() - 1].iter().all(|p| *p == "t");
        if !ok {
            return Err(format!("flow {id} ({name}): phases {phs:?}"));
        }
        if steps.windows(2).any(|w| w[0].1.ns > w[1].1.ns) {
            return Err(format!("flow {id} ({name}): steps out of time order"));
        }
        out.push((name, steps.into_iter().map(|(_, s)| s).collect()));
    }
    Ok(out)
}
