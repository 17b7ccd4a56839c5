//! What differs between two runs' evidence (`syswalk diff`): the chain's functions (present, absent or inlined;
//! signatures from BTF), the claims whose verdict differs, and per function the ratio of median inclusive times.
//! Works on saved JSON reports (`prove`/`trace` `--format json`), so it compares runs made anywhere.
use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Kind, Result};
use crate::report::Report;

/// The largest report diff reads (a report keeps `--keep-calls` calls in full: megabytes at most).
const REPORT_MAX: u64 = 256 << 20;

/// One side of the diff: what it was and where it came from.
#[derive(Debug, Serialize)]
pub struct Side {
    pub file: String,
    pub kernel: String,
    pub tier: String,
    pub command: String,
}

/// A chain function on both sides: "traced", "present, not traced (…)" or the plan's note for an absent one.
#[derive(Debug, Serialize, PartialEq)]
pub struct FnRow {
    pub name: String,
    pub a: String,
    pub b: String,
    /// "only in a", "only in b", "signature", "not planned in a", "not planned in b" or "" (the same).
    pub change: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig_a: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig_b: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ClaimRow {
    /// The claim id, the syscall of its call ("run" for run-wide ones) and which of them (0: the first).
    pub id: String,
    pub call: String,
    pub nth: usize,
    pub a: Option<String>,
    pub b: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Latency {
    pub func: String,
    pub calls_a: usize,
    pub calls_b: usize,
    pub median_ns_a: u64,
    pub median_ns_b: u64,
    /// median b / median a.
    pub ratio: f64,
}

/// A member of a walked struct that differs: its place on each side ("+0x18 (8 bytes) struct sock *"), None
/// where that side's struct has no such member.
#[derive(Debug, Serialize, PartialEq)]
pub struct MemberRow {
    pub name: String,
    pub a: Option<String>,
    pub b: Option<String>,
}

/// A walked struct whose layout differs (size, or a member's offset, size or type), from each side's BTF.
#[derive(Debug, Serialize, PartialEq)]
pub struct StructRow {
    pub name: String,
    pub size_a: Option<u64>,
    pub size_b: Option<u64>,
    /// Members that differ, in the order of a (then those only b has).
    pub members: Vec<MemberRow>,
    /// Members the same on both sides.
    pub same: usize,
}

#[derive(Debug, Serialize)]
pub struct Diff {
    pub schema: &'static str,
    pub a: Side,
    pub b: Side,
    /// Every planned function, with the differing ones marked in `change`.
    pub functions: Vec<FnRow>,
    /// Claims whose verdict differs (or that only one side has), among those kept in full (the first
    /// `--keep-calls` calls of each syscall, and the run-wide ones): matched by id, the syscall of their call, and
    /// which one of that pair.
    pub claims: Vec<ClaimRow>,
    /// Refuted claims on each side (a refutation is news whatever the other side says).
    pub refuted_a: usize,
    pub refuted_b: usize,
    pub latency: Vec<Latency>,
    pub latency_note: &'static str,
    /// The walked structs whose layout differs.
    pub structs: Vec<StructRow>,
    /// How many walked structs both sides' layouts have.
    pub structs_compared: usize,
    /// Function, struct and claim rows that differ: 0 for a run against itself.
    pub differences: usize,
    /// What the diff could not compare, and why.
    pub not_compared: Vec<String>,
}

pub const LATENCY_NOTE: &str = "medians of each side's own calls; two runs (two boots, or host against a TCG guest) are not one clock: a ratio between them is a hint, not a measurement — benchmarks compare within one run";

/// A saved report read back into the typed model (`saved::Saved`: read once, no JSON value of it kept), checked
/// to be a whole report of this schema within the bounds a run writes (`Report::check_read_back`). `escape`: its
/// strings with their control characters shown (for the formats a person reads). `command` names the reader in
/// the hint.
pub fn load(p: &Path, escape: bool, command: &str) -> Result<Report> {
    let shown = p.display().to_string();
    let hint =
        format!("{command} reads reports written by this syswalk version (`prove --format json -o FILE`, or trace)");
    let saved = crate::saved::Saved::read(p, REPORT_MAX, "report", escape).map_err(|b| b.error(&shown, &hint))?;
    let why = match saved.schema.as_deref() {
        None => Some("it has no \"schema\" field".to_string()),
        Some(s) if s.starts_with("syswalk.report/") && s != crate::report::SCHEMA => {
            Some(format!("its schema is {s:?}; this syswalk reads {:?}", crate::report::SCHEMA))
        }
        Some(s) if s != crate::report::SCHEMA => Some(format!("its schema is {s:?}")),
        _ => None,
    };
    if let Some(why) = why {
        return Err(Error::new(Kind::Usage, format!("{shown} is not a report this syswalk reads: {why}")).hint(hint));
    }
    let rep: Report = saved.parse().map_err(|e| {
        Error::new(Kind::Usage, format!("{shown} does not hold a whole report of this schema: {e}")).hint(hint.clone())
    })?;
    rep.check_read_back().map_err(|why| {
        Error::new(Kind::Usage, format!("{shown} is not a report a run makes: {why}")).hint(format!(
            "{hint}; a file past these bounds was not written by a run (made or edited by something else): give the report as syswalk wrote it"
        ))
    })?;
    Ok(rep)
}

/// What `diff` reads of a report, as JSON: its sides, plan, claims' verdicts, chain frames' times and layouts
/// (not the calls' walks, arguments and evidence, the bulk of a report).
pub fn view(r: &Report) -> Value {
    serde_json::json!({
        "schema": r.schema,
        "kernel": {"release": r.kernel.release, "tier": j(&r.kernel.tier)},
        "command": r.command,
        "target": {"description": r.target.description},
        "summary": {"refuted": r.summary.refuted},
        "chain_plan": j(&r.chain_plan),
        "claims": r.claims.iter().map(|c| serde_json::json!({"id": c.id, "call": c.call, "verdict": j(&c.verdict)})).collect::<Vec<_>>(),
        "calls": r.calls.iter().map(|c| serde_json::json!({
            "seq": c.seq,
            "syscall": c.syscall,
            "chain": c.chain.iter().map(|f| serde_json::json!({"func": f.func, "inclusive_ns": f.inclusive_ns})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "layouts": j(&r.layouts),
    })
}

/// `serde_json::to_value` of a part of a report (every part serializes: its types are plain data).
fn j<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn s(v: &Value, path: &[&str]) -> String {
    let mut x = v;
    for k in path {
        x = &x[*k];
    }
    x.as_str().map(String::from).unwrap_or_default()
}

fn side(v: &Value, p: &Path) -> Side {
    Side {
        file: p.display().to_string(),
        kernel: s(v, &["kernel", "release"]),
        tier: s(v, &["kernel", "tier"]),
        command: s(v, &["command"]),
    }
}

/// A planned function's status and signature.
fn fn_status(p: &Value) -> (String, Option<String>) {
    let traced = p["traced"].as_bool().unwrap_or(false);
    let in_ks = p["in_kallsyms"].as_bool().unwrap_or(false);
    let note = p["note"].as_str().unwrap_or("");
    let status = if traced {
        "traced".to_string()
    } else if in_ks {
        format!("present, not traced ({note})")
    } else {
        format!("absent: {note}")
    };
    let sig = p["params"].as_array().map(|ps| {
        let args: Vec<String> = ps
            .iter()
            .map(|x| format!("{} {}", x[1].as_str().unwrap_or("?"), x[0].as_str().unwrap_or("?")).replace("* ", "*"))
            .collect();
        format!("{} {}({})", p["ret"].as_str().unwrap_or("void"), p["name"].as_str().unwrap_or("?"), args.join(", "))
    });
    (status, sig)
}

fn present(status: &str) -> bool {
    !status.starts_with("absent")
}

pub fn diff(ra: &Value, rb: &Value, pa: &Path, pb: &Path) -> Diff {
    let plan = |r: &Value| -> Vec<(String, String, Option<String>)> {
        r["chain_plan"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|p| {
                        let (st, sig) = fn_status(p);
                        (p["name"].as_str().unwrap_or("?").to_string(), st, sig)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (pla, plb) = (plan(ra), plan(rb));
    // Each name once, a's order then b's; each side's first entry of a name found by an index, not a scan.
    let (ia, ib) = (first_by_name(&pla), first_by_name(&plb));
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let names: Vec<String> =
        pla.iter().chain(plb.iter()).filter(|x| seen.insert(x.0.as_str())).map(|x| x.0.clone()).collect();
    let mut functions = Vec::new();
    for n in names {
        let a = ia.get(n.as_str()).copied();
        let b = ib.get(n.as_str()).copied();
        let (sa, sb) = (a.map(|x| x.1.clone()), b.map(|x| x.1.clone()));
        let (ga, gb) = (a.and_then(|x| x.2.clone()), b.and_then(|x| x.2.clone()));
        let change = match (&sa, &sb) {
            (None, _) => "not planned in a",
            (_, None) => "not planned in b",
            (Some(x), Some(y)) if present(x) && !present(y) => "only in a",
            (Some(x), Some(y)) if !present(x) && present(y) => "only in b",
            _ if ga.is_some() && gb.is_some() && ga != gb => "signature",
            _ => "",
        };
        functions.push(FnRow {
            name: n,
            a: sa.unwrap_or_else(|| "not in this run's plan".into()),
            b: sb.unwrap_or_else(|| "not in this run's plan".into()),
            change: change.into(),
            sig_a: ga,
            sig_b: gb,
        });
    }
    let (ca, cb) = (claims(ra), claims(rb));
    let mut keys: Vec<&(String, String, usize)> = ca.keys().collect();
    for k in cb.keys() {
        if !ca.contains_key(k) {
            keys.push(k);
        }
    }
    let claims: Vec<ClaimRow> = keys
        .into_iter()
        .filter(|k| ca.get(*k) != cb.get(*k))
        .map(|k| ClaimRow {
            id: k.0.clone(),
            call: k.1.clone(),
            nth: k.2,
            a: ca.get(k).cloned(),
            b: cb.get(k).cloned(),
        })
        .collect();
    // Over every call judged (the summary), not only the calls kept in full.
    let refuted = |r: &Value| r["summary"]["refuted"].as_u64().unwrap_or(0) as usize;
    let (la, lb) = (latencies(ra), latencies(rb));
    let latency = la
        .iter()
        .filter_map(|(f, xa)| {
            let xb = lb.get(f)?;
            let (ma, mb) = (median(xa), median(xb));
            (ma > 0).then(|| Latency {
                func: f.clone(),
                calls_a: xa.len(),
                calls_b: xb.len(),
                median_ns_a: ma,
                median_ns_b: mb,
                ratio: mb as f64 / ma as f64,
            })
        })
        .collect();
    let mut not_compared = Vec::new();
    let (structs, structs_compared) = match (layouts(ra), layouts(rb)) {
        (Some(a), Some(b)) => struct_rows(&a, &b),
        (a, b) => {
            let which = if a.is_none() && b.is_none() {
                "either"
            } else if a.is_none() {
                "a"
            } else {
                "b"
            };
            not_compared.push(format!(
                "struct layouts: {which} has none (a report without `layouts`: no BTF, or an older syswalk)"
            ));
            (Vec::new(), 0)
        }
    };
    let differences = functions.iter().filter(|f| !f.change.is_empty()).count() + claims.len() + structs.len();
    let (ta, tb) = (s(ra, &["target", "description"]), s(rb, &["target", "description"]));
    if ta != tb {
        not_compared.push(format!(
            "the runs traced different targets (a: {ta}; b: {tb}): claims are matched by id and syscall, so those of calls only one made show as differing"
        ));
    }
    for (n, p) in [("a", &pla), ("b", &plb)] {
        if p.is_empty() {
            not_compared.push(format!("functions: {n} has no function-level chain (tier C, or --attach none)"));
        }
    }
    Diff {
        schema: "syswalk.diff/1",
        a: side(ra, pa),
        b: side(rb, pb),
        functions,
        refuted_a: refuted(ra),
        refuted_b: refuted(rb),
        claims,
        latency,
        latency_note: LATENCY_NOTE,
        structs,
        structs_compared,
        differences,
        not_compared,
    }
}

/// A struct's layout from a report: its size and (name → "+0xOFF (N bytes) TYPE") in order.
type LayoutView = (Option<u64>, Vec<(String, String)>);

fn layouts(r: &Value) -> Option<BTreeMap<String, LayoutView>> {
    let structs = r["layouts"]["structs"].as_array()?;
    let mut out = BTreeMap::new();
    for st in structs {
        let Some(name) = st["name"].as_str() else { continue };
        let members = st["members"]
            .as_array()
            .map(|ms| {
                ms.iter()
                    .map(|m| {
                        let bits = match m["bits"].as_array() {
                            Some(b) if b.len() == 2 => {
                                format!(" bits {}:{}", b[0].as_u64().unwrap_or(0), b[1].as_u64().unwrap_or(0))
                            }
                            _ => String::new(),
                        };
                        (
                            s(m, &["name"]),
                            format!(
                                "+{:#x} ({} bytes{bits}) {}",
                                m["offset"].as_u64().unwrap_or(0),
                                m["size"].as_u64().unwrap_or(0),
                                s(m, &["type"])
                            ),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.insert(name.to_string(), (st["size"].as_u64(), members));
    }
    Some(out)
}

fn struct_rows(a: &BTreeMap<String, LayoutView>, b: &BTreeMap<String, LayoutView>) -> (Vec<StructRow>, usize) {
    let mut rows = Vec::new();
    let mut compared = 0;
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for name in names {
        let (sa, ma) = a.get(name).map(|(s, m)| (*s, m.as_slice())).unwrap_or((None, &[]));
        let (sb, mb) = b.get(name).map(|(s, m)| (*s, m.as_slice())).unwrap_or((None, &[]));
        if a.contains_key(name) && b.contains_key(name) {
            compared += 1;
        }
        // Each side's first member of a name, by an index (a struct of many members compares in linear time).
        let (fa, fb) = (first_by_name(ma), first_by_name(mb));
        let find = |ix: &std::collections::HashMap<&str, &(String, String)>, n: &str| ix.get(n).map(|x| x.1.clone());
        let mut members = Vec::new();
        let mut same = 0;
        for (n, va) in ma {
            match find(&fb, n) {
                Some(vb) if &vb == va => same += 1,
                vb => members.push(MemberRow { name: n.clone(), a: Some(va.clone()), b: vb }),
            }
        }
        for (n, vb) in mb {
            if !fa.contains_key(n.as_str()) {
                members.push(MemberRow { name: n.clone(), a: None, b: Some(vb.clone()) });
            }
        }
        if sa != sb || !members.is_empty() {
            rows.push(StructRow { name: name.clone(), size_a: sa, size_b: sb, members, same });
        }
    }
    (rows, compared)
}

/// Rows keyed by their first field: the first row of each key (as a scan from the start would find it).
fn first_by_name<T: Named>(rows: &[T]) -> std::collections::HashMap<&str, &T> {
    let mut m = std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        m.entry(r.name()).or_insert(r);
    }
    m
}

trait Named {
    fn name(&self) -> &str;
}
impl<A> Named for (String, A) {
    fn name(&self) -> &str {
        &self.0
    }
}
impl<A, B> Named for (String, A, B) {
    fn name(&self) -> &str {
        &self.0
    }
}

/// Verdicts by (id, the syscall of the claim's call or "run", which one of that pair).
fn claims(r: &Value) -> BTreeMap<(String, String, usize), String> {
    let sys: BTreeMap<u64, String> = r["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["seq"].as_u64()?, c["syscall"].as_str()?.to_string())))
        .collect();
    let mut n: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for c in r["claims"].as_array().into_iter().flatten() {
        let id = c["id"].as_str().unwrap_or("?").to_string();
        let call = c["call"].as_u64().and_then(|s| sys.get(&s).cloned()).unwrap_or_else(|| "run".into());
        let k = n.entry((id.clone(), call.clone())).or_default();
        out.insert((id, call, *k), c["verdict"].as_str().unwrap_or("?").to_string());
        *k += 1;
    }
    out
}

/// Inclusive times of every chain frame, per function.
fn latencies(r: &Value) -> BTreeMap<String, Vec<u64>> {
    let mut m: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for c in r["calls"].as_array().into_iter().flatten() {
        for f in c["chain"].as_array().into_iter().flatten() {
            if let (Some(n), Some(t)) = (f["func"].as_str(), f["inclusive_ns"].as_u64()) {
                m.entry(n.to_string()).or_default().push(t);
            }
        }
    }
    m
}

fn median(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(fns: Value, claims: Value) -> Value {
        let refuted = claims.as_array().map_or(0, |v| v.iter().filter(|c| c["verdict"] == "refuted").count());
        json!({"schema": "syswalk.report/2", "kernel": {"release": "k", "tier": "A"}, "command": "c",
               "summary": {"refuted": refuted},
               "chain_plan": fns, "claims": claims,
               "calls": [{"seq": 1, "syscall": "socket", "chain": [{"func": "f", "inclusive_ns": 100}]}]})
    }

    fn f(name: &str, traced: bool, params: Value) -> Value {
        json!({"name": name, "in_kallsyms": traced, "in_btf": traced, "traced": traced, "params": params, "ret": "int",
               "note": if traced { "traced" } else { "absent from kallsyms and BTF: inlined or renamed on this kernel" }})
    }

    #[test]
    fn a_report_against_itself_has_no_difference_and_changes_are_named() {
        let a = report(
            json!([
                f("f", true, json!([["a", "int"]])),
                f("g", false, Value::Null),
                f("h", true, json!([["x", "int"]]))
            ]),
            json!([{"id": "x.y", "call": 1, "verdict": "proved"}, {"id": "r", "verdict": "proved"}]),
        );
        let p = Path::new("a.json");
        let same = diff(&a, &a, p, p);
        assert_eq!(same.differences, 0);
        assert!(same.claims.is_empty());
        assert_eq!(same.latency[0].ratio, 1.0);
        let b = report(
            json!([f("f", false, Value::Null), f("g", true, json!([])), f("h", true, json!([["x", "long"]]))]),
            json!([{"id": "x.y", "call": 1, "verdict": "refuted"}, {"id": "r", "verdict": "proved"}]),
        );
        let d = diff(&a, &b, p, p);
        let ch: Vec<(&str, &str)> = d.functions.iter().map(|r| (r.name.as_str(), r.change.as_str())).collect();
        assert_eq!(ch, vec![("f", "only in a"), ("g", "only in b"), ("h", "signature")]);
        assert_eq!(
            d.claims,
            vec![ClaimRow {
                id: "x.y".into(),
                call: "socket".into(),
                nth: 0,
                a: Some("proved".into()),
                b: Some("refuted".into())
            }]
        );
        assert_eq!((d.refuted_a, d.refuted_b, d.differences), (0, 1, 4));
    }

    #[test]
    fn struct_layouts_that_moved_are_named_member_by_member() {
        let lay = |sk_off: u64, size: u64, extra: bool| {
            let mut ms = vec![
                json!({"name": "state", "type": "socket_state", "offset": 0, "size": 4}),
                json!({"name": "sk", "type": "struct sock *", "offset": sk_off, "size": 8}),
            ];
            if extra {
                ms.push(json!({"name": "wq", "type": "struct socket_wq", "offset": 64, "size": 64}));
            }
            json!({"source": "btf", "missing": [], "structs": [{"name": "socket", "size": size, "members": ms},
                                                               {"name": "fdtable", "size": 32, "members": []}]})
        };
        let mut a = report(json!([]), json!([]));
        let mut b = a.clone();
        a["layouts"] = lay(24, 128, false);
        b["layouts"] = lay(32, 128, true);
        let p = Path::new("a.json");
        let same = diff(&a, &a, p, p);
        assert!(same.structs.is_empty());
        assert_eq!((same.structs_compared, same.differences), (2, 0));
        let d = diff(&a, &b, p, p);
        assert_eq!(d.structs.len(), 1, "{:?}", d.structs);
        let st = &d.structs[0];
        assert_eq!((st.name.as_str(), st.same), ("socket", 1));
        let rows: Vec<(&str, Option<&str>, Option<&str>)> =
            st.members.iter().map(|m| (m.name.as_str(), m.a.as_deref(), m.b.as_deref())).collect();
        assert_eq!(
            rows,
            vec![
                ("sk", Some("+0x18 (8 bytes) struct sock *"), Some("+0x20 (8 bytes) struct sock *")),
                ("wq", None, Some("+0x40 (64 bytes) struct socket_wq")),
            ]
        );
        let mut c = b.clone();
        c.as_object_mut().expect("object").remove("layouts");
        let d = diff(&a, &c, p, p);
        assert!(d.not_compared.iter().any(|n| n.contains("struct layouts: b has none")), "{:?}", d.not_compared);
    }

    #[test]
    fn what_is_not_a_report_is_a_usage_error() {
        let t = tempfile::tempdir().expect("tmp");
        for (name, body) in [("x.json", "{\"schema\": \"other/1\"}"), ("y.json", "not json"), ("z.json", "[]")] {
            let p = t.path().join(name);
            std::fs::write(&p, body).expect("write");
            assert_eq!(load(&p, true, "diff").expect_err(name).kind, Kind::Usage);
        }
        assert_eq!(load(&t.path().join("absent.json"), true, "diff").expect_err("absent").kind, Kind::Usage);
    }
}
