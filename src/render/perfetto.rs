//! `--format perfetto`: the run as a Chrome trace-event JSON timeline (loads in ui.perfetto.dev and
//! chrome://tracing). One track per thread; each system call a slice with the kernel functions of its chain nested
//! inside (X events, µs timestamps with ns precision); arguments, return values and object snapshots as slice args;
//! and one flow per kernel object (each struct socket, struct sock, struct file): its steps are every slice that
//! received it as an argument, returned it, snapshotted it, or whose boundary walk found it, in time order.
//!
//! JSON rather than Perfetto's protobuf: no generated code or dependency, a test (or a person) can read it back,
//! and both UIs load it. Works on the report's JSON form (docs/json-schema.md), so a saved report — a lab run's —
//! renders on the host the same as a live one.
use serde_json::{json, Map, Value};

/// The object types a flow follows, as BTF spells the pointer types, with the name the walk uses.
const OBJECTS: [(&str, &str); 3] =
    [("struct socket *", "socket"), ("struct sock *", "sock"), ("struct file *", "file")];

fn hex(v: u64) -> String {
    format!("{v:#018x}")
}

/// A report value that is an address ("0x…" string, or an integer as the chain's returns are).
fn addr(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => u64::from_str_radix(s.strip_prefix("0x")?, 16).ok(),
        Value::Number(n) => n.as_i64().map(|i| i as u64).or_else(|| n.as_u64()),
        _ => None,
    }
    .filter(|a| *a != 0)
}

/// Functions whose return value is a new object: a new flow starts there even at an address seen before.
const ALLOCATORS: [&str; 4] = ["sock_alloc", "sk_alloc", "sock_alloc_file", "sk_clone_lock"];

/// The current generation of each (address, kind): a new object at an old address (born: an allocator's return,
/// or an installing call's exit walk) starts a new flow. A close() does not end one: after a dup or a fork the
/// object lives on.
#[derive(Default)]
struct Gens {
    gen: std::collections::HashMap<(u64, &'static str), u32>,
}

impl Gens {
    fn key<V>(
        &mut self,
        a: u64,
        k: &'static str,
        born: bool,
        flows: &std::collections::BTreeMap<(u64, &'static str, u32), V>,
    ) -> (u64, &'static str, u32) {
        let g = self.gen.entry((a, k)).or_default();
        if born && flows.contains_key(&(a, k, *g)) {
            *g += 1;
        }
        (a, k, *g)
    }
}

/// One place an object was seen: the thread, the time (inside the slice it binds to), and what it was there.
struct Point {
    pid: u64,
    tid: u64,
    ns: u64,
    slice: String,
    role: String,
}

/// The timeline of a report's JSON form (what `render_report` makes of the report: a test checks both agree).
#[cfg(test)]
pub fn render(r: &Value) -> String {
    let calls = r["calls"].as_array().map(Vec::as_slice).unwrap_or_default();
    let base = calls.iter().filter_map(|c| c["enter_ns"].as_u64()).min().unwrap_or(0);
    let mut rets = std::collections::HashMap::new();
    for p in r["chain_plan"].as_array().into_iter().flatten() {
        if let Some(n) = p["name"].as_str() {
            rets.entry(n.to_string()).or_insert_with(|| p["ret"].as_str().map(String::from));
        }
    }
    let head = Head {
        kernel: r["kernel"]["release"].clone(),
        tier: r["kernel"]["tier"].clone(),
        command: r["command"].clone(),
        target: r["target"]["description"].clone(),
    };
    let mut t = Timeline::new(base, rets, head);
    for c in calls {
        t.call(c);
    }
    t.finish()
}

/// The timeline of a report read back (or made live): each call as JSON one at a time, the events written as they
/// are made, so memory is the report's and the output's, not a JSON value of either.
pub fn render_report(r: &crate::report::Report) -> String {
    let base = r.calls.iter().filter_map(|c| c.enter_ns).min().unwrap_or(0);
    let mut rets = std::collections::HashMap::new();
    for p in &r.chain_plan {
        rets.entry(p.name.clone()).or_insert_with(|| p.ret.clone());
    }
    let head = Head {
        kernel: json!(r.kernel.release),
        tier: j(&r.kernel.tier),
        command: json!(r.command),
        target: json!(r.target.description),
    };
    let mut t = Timeline::new(base, rets, head);
    for c in &r.calls {
        t.call(&j(c));
    }
    t.finish()
}

/// A part of a report as JSON (plain data: it always serializes).
fn j<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// The report's fields `otherData` names.
struct Head {
    kernel: Value,
    tier: Value,
    command: Value,
    target: Value,
}

/// The trace being written: the document up to its last event, the flows of objects still open.
struct Timeline {
    base: u64,
    /// Each planned function's return type (the first plan entry of its name), by name.
    rets: std::collections::HashMap<String, Option<String>>,
    out: String,
    events: usize,
    head: Head,
    // Per object: its address, kind and generation (an address a freed object's successor takes is a new flow).
    flows: std::collections::BTreeMap<(u64, &'static str, u32), Vec<Point>>,
    gens: Gens,
    named: std::collections::BTreeSet<(u64, u64)>,
}

fn span(ns: u64) -> Value {
    json!(ns as f64 / 1000.0)
}

impl Timeline {
    fn new(base: u64, rets: std::collections::HashMap<String, Option<String>>, head: Head) -> Self {
        Timeline {
            base,
            rets,
            out: String::new(),
            events: 0,
            head,
            flows: Default::default(),
            gens: Gens::default(),
            named: Default::default(),
        }
    }

    /// Timestamps are µs from the first call's entry: an f64 of absolute µs loses the ns after ~100 days of uptime,
    /// and flow steps are placed 1 ns inside their slices.
    fn us(&self, ns: u64) -> Value {
        json!(ns.saturating_sub(self.base) as f64 / 1000.0)
    }

    /// One event, written at once as `serde_json::to_string_pretty` writes an element of `traceEvents`.
    fn push(&mut self, e: Value) {
        self.out.push_str(if self.events == 0 { "\n" } else { ",\n" });
        self.events += 1;
        let text = serde_json::to_string_pretty(&e).unwrap_or_default();
        for (i, l) in text.split('\n').enumerate() {
            if i > 0 {
                self.out.push('\n');
            }
            self.out.push_str("    ");
            self.out.push_str(l);
        }
    }

    fn call(&mut self, c: &Value) {
        let (pid, tid) = (c["pid"].as_u64().unwrap_or(0), c["tid"].as_u64().unwrap_or(0));
        if self.named.insert((pid, tid)) {
            let comm = c["comm"].as_str().unwrap_or("?");
            self.push(json!({"ph": "M", "name": "process_name", "pid": pid, "tid": pid, "args": {"name": comm}}));
            self.push(json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": format!("{comm} {tid}")}}));
        }
        let sys = c["syscall"].as_str().unwrap_or("?");
        // Objects an allocator returned in this call: the exit walk finds the same ones.
        let mut born_here: Vec<(u64, &'static str)> = Vec::new();
        let mut exit_walk: Option<(u64, String)> = None;
        let args: Vec<String> = c["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let v = &a["value"];
                v["name"].as_str().map(String::from).unwrap_or_else(|| v["raw"].to_string())
            })
            .collect();
        let ret = c["ret"].as_i64().map(|r| format!(" = {r}")).unwrap_or_default();
        let name = format!("{sys}({}){ret}", args.join(", "));
        if let (Some(t0), Some(t1)) = (c["enter_ns"].as_u64(), c["exit_ns"].as_u64()) {
            let mut a = Map::new();
            a.insert("seq".into(), c["seq"].clone());
            a.insert("args".into(), c["args"].clone());
            a.insert("ret".into(), c["ret"].clone());
            for w in ["before", "after"] {
                for (_, k) in OBJECTS {
                    if let Some(x) = c[w][k].get("addr").and_then(addr) {
                        a.insert(format!("{w}.{k}"), json!(hex(x)));
                    }
                }
            }
            self.push(json!({"ph": "X", "cat": "syscall", "name": name, "pid": pid, "tid": tid,
                       "ts": self.us(t0), "dur": span(t1.saturating_sub(t0)), "args": a}));
            // The boundary walks: what the fd held at entry (now) and what it holds at exit (after the chain's
            // frames, which ran in between: an object the call allocated is born there first).
            exit_walk = Some((t1.saturating_sub(1), name.clone()));
            for (w, at, role) in [("before", t0.saturating_add(1), "the fd's object at entry")] {
                for (_, k) in OBJECTS {
                    if let Some(x) = c[w][k].get("addr").and_then(addr) {
                        let key = self.gens.key(x, k, false, &self.flows);
                        self.flows.entry(key).or_default().push(Point {
                            pid,
                            tid,
                            ns: at,
                            slice: name.clone(),
                            role: format!("{role} (walk)"),
                        });
                    }
                }
            }
        }
        for f in c["chain"].as_array().into_iter().flatten() {
            let func = f["func"].as_str().unwrap_or("?");
            let ftid = f["tid"].as_u64().unwrap_or(tid);
            let Some(t0) = f["enter_ns"].as_u64() else { continue };
            let mut a = Map::new();
            for x in f["args"].as_array().into_iter().flatten() {
                a.insert(x["name"].as_str().unwrap_or("?").to_string(), x["value"].clone());
            }
            let rt = self.rets.get(func).cloned().flatten();
            let is_ptr = rt.as_deref().is_some_and(|t| t.ends_with('*'));
            if let Some(v) = f["ret"].as_i64() {
                a.insert("return".into(), if is_ptr { json!(hex(v as u64)) } else { json!(v) });
            }
            for k in ["caller", "probe"] {
                if !f[k].is_null() {
                    a.insert(k.into(), f[k].clone());
                }
            }
            for k in ["entry_objects", "exit_objects"] {
                if f[k].as_array().is_some_and(|v| !v.is_empty()) {
                    a.insert(k.into(), f[k].clone());
                }
            }
            match f["exit_ns"].as_u64() {
                Some(t1) => self.push(json!({"ph": "X", "cat": "kernel", "name": func, "pid": pid, "tid": ftid,
                                       "ts": self.us(t0), "dur": span(t1.saturating_sub(t0)), "args": a})),
                None => {
                    a.insert("exit".into(), json!("not recorded"));
                    self.push(json!({"ph": "i", "s": "t", "cat": "kernel", "name": func, "pid": pid, "tid": ftid, "ts": self.us(t0), "args": a}));
                }
            }
            let end = f["exit_ns"].as_u64().map(|t| t.saturating_sub(1)).unwrap_or(t0);
            // Arguments at the entry, the return value and exit snapshots at the exit.
            for x in f["args"].as_array().into_iter().flatten() {
                let ty = x["type"].as_str().unwrap_or("");
                if let (Some((_, k)), Some(v)) = (OBJECTS.iter().find(|(t, _)| *t == ty), addr(&x["value"])) {
                    let role = format!("{func}() {} argument", x["name"].as_str().unwrap_or("?"));
                    let key = self.gens.key(v, k, false, &self.flows);
                    self.flows.entry(key).or_default().push(Point { pid, tid: ftid, ns: t0, slice: func.into(), role });
                }
            }
            if let (Some((_, k)), Some(v)) = (
                OBJECTS.iter().find(|(t, _)| Some(*t) == rt.as_deref()),
                f["ret"].as_i64().map(|v| v as u64).filter(|v| *v != 0 && (*v as i64) < -4096),
            ) {
                let born = ALLOCATORS.contains(&func);
                let key = self.gens.key(v, k, born, &self.flows);
                if born {
                    born_here.push((v, k));
                }
                self.flows.entry(key).or_default().push(Point {
                    pid,
                    tid: ftid,
                    ns: end,
                    slice: func.into(),
                    role: format!("{func}() return"),
                });
            }
        }
        if let Some((at, slice)) = exit_walk {
            for (_, k) in OBJECTS {
                if let Some(x) = c["after"][k].get("addr").and_then(addr) {
                    // A call that installs a new fd (socket, accept4, accept) hands out new objects: a new flow,
                    // unless an allocator frame of this call began it already (tiers A/B).
                    let installs = crate::syscalls::by_name(sys).is_some_and(|s| s.returns_fd())
                        && c["ret"].as_i64().is_some_and(|r| r >= 0);
                    let key = self.gens.key(x, k, installs && !born_here.contains(&(x, k)), &self.flows);
                    let role = "the fd's object at exit (walk)".to_string();
                    self.flows.entry(key).or_default().push(Point { pid, tid, ns: at, slice: slice.clone(), role });
                }
            }
        }
    }

    fn finish(mut self) -> String {
        // One flow per object seen at two places or more: s, t…, f, each bound to the slice enclosing its time.
        let mut id = 0u64;
        for ((a, kind, _), mut pts) in std::mem::take(&mut self.flows) {
            pts.sort_by_key(|p| p.ns);
            pts.dedup_by(|x, y| x.ns == y.ns && x.tid == y.tid);
            if pts.len() < 2 {
                continue;
            }
            id += 1;
            let last = pts.len() - 1;
            for (i, p) in pts.iter().enumerate() {
                let ph = if i == 0 {
                    "s"
                } else if i == last {
                    "f"
                } else {
                    "t"
                };
                self.push(json!({"ph": ph, "id": id, "cat": "object", "name": format!("struct {kind} {}", hex(a)),
                       "pid": p.pid, "tid": p.tid, "ts": self.us(p.ns), "bp": "e",
                       "args": {"object": hex(a), "kind": kind, "slice": p.slice, "role": p.role}}));
            }
        }
        let doc = json!({
            "displayTimeUnit": "ns",
            "otherData": {
                "tool": "syswalk",
                "schema": "syswalk.perfetto/1",
                "ts_zero_ns": self.base,
                "kernel": self.head.kernel,
                "tier": self.head.tier,
                "command": self.head.command,
                "target": self.head.target,
            },
            "traceEvents": [],
        });
        // The document with its events put in its (last, keys being sorted) empty `traceEvents` array.
        let doc = serde_json::to_string_pretty(&doc).unwrap_or_default();
        let Some(open) = doc.rfind("[]") else { return doc + "\n" };
        if self.events == 0 {
            return doc + "\n";
        }
        let mut o = String::with_capacity(doc.len() + self.out.len() + 8);
        o.push_str(&doc[..open + 1]);
        o.push_str(&self.out);
        o.push_str("\n  ");
        o.push_str(&doc[open + 1..]);
        o.push('\n');
        o
    }
}

#[cfg(test)]
mod tests {
    /// The typed path (each call as JSON one at a time, events written as they are made) gives byte for byte the
    /// document of the report's JSON form, with the plan's return types found by index: the fixture, and the
    /// fixture with its calls repeated and a plan entry named twice (the first one counts, as a scan finds it).
    #[test]
    fn a_report_gives_the_same_timeline_as_its_json() {
        let base = serde_json::to_value(crate::fixtures::report()).expect("json");
        let mut more = base.clone();
        let calls = more["calls"].as_array().expect("calls").clone();
        for (i, mut c) in calls.into_iter().enumerate() {
            c["seq"] = (1000 + i).into();
            more["calls"].as_array_mut().expect("calls").push(c);
        }
        let mut dup = more["chain_plan"][0].clone();
        dup["ret"] = "struct socket *".into();
        more["chain_plan"].as_array_mut().expect("plan").push(dup);
        let mut empty = base.clone();
        empty["calls"] = serde_json::json!([]);
        for v in [base, more, empty] {
            let r: crate::report::Report = serde_json::from_value(v.clone()).expect("a report");
            let (typed, json) = (super::render_report(&r), super::render(&v));
            assert_eq!(typed, json);
            let doc: serde_json::Value = serde_json::from_str(&typed).expect("JSON");
            assert_eq!(
                typed,
                serde_json::to_string_pretty(&doc).expect("json") + "\n",
                "written as one pretty document"
            );
        }
    }
}
