//! The report: everything one run observed and concluded, in the versioned JSON schema (docs/json-schema.md).
use serde::Serialize;

use crate::claims::{Claim, Verdict};
use crate::model::{Call, KAddr, ObjKind};
use crate::probes::caps::Caps;
use crate::probes::caps::Tier;
use crate::probes::session::Stats;
use crate::probes::target::Ending;

pub const SCHEMA: &str = "syswalk.report/2";

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct KernelInfo {
    pub release: String,
    pub machine: String,
    /// The tier this run used.
    pub tier: Tier,
    /// The best tier the kernel offers (from the capability probe).
    pub tier_available: Option<Tier>,
    pub tier_reason: String,
    pub kallsyms: String,
    /// /proc/version: the build's own version line (a distribution kernel names its upstream version there, e.g.
    /// "Debian 6.1.158-1"), what the course site's source links are made for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TargetInfo {
    pub description: String,
    pub pid: u32,
    /// In a PID namespace (a container): the root's PID in the initial namespace, when it differs from `pid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_pid: Option<u32>,
    pub ending: Ending,
    /// (parent tgid, child tgid) of processes followed through fork.
    pub forks: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SyscallInfo {
    pub name: String,
    pub nr: i64,
    pub nr_origin: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ObjectRef {
    pub kind: ObjKind,
    pub addr: KAddr,
    /// (call seq, "entry" | "exit") where this object was seen.
    pub seen: Vec<(usize, String)>,
}

/// Every call and claim of the run, counted as they were judged: `calls` and `claims` hold the full evidence of a
/// bounded number of them only (`--keep-calls`), so memory does not grow with the run; these counts are complete.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
pub struct Totals {
    pub calls: u64,
    /// Calls in `calls`, with their full evidence.
    pub calls_in_full: u64,
    pub by_syscall: std::collections::BTreeMap<String, u64>,
    /// Per claim id: proved, refuted, not observable — over every call.
    pub claims: std::collections::BTreeMap<String, [u64; 3]>,
    /// Of `calls`: read/write/close calls on files that are not sockets, counted but not shown (prove).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_files: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// `map[key] += 1`, allocating the key only the first time (this runs for every call of the run).
pub fn bump(map: &mut std::collections::BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(v) => *v += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

impl Totals {
    pub fn count_call(&mut self, c: &Call) {
        self.calls += 1;
        bump(&mut self.by_syscall, &c.syscall);
    }
    pub fn count_claim(&mut self, c: &Claim) {
        let i = match c.verdict {
            Verdict::Proved => 0,
            Verdict::Refuted => 1,
            Verdict::NotObservable => 2,
        };
        match self.claims.get_mut(&c.id) {
            Some(v) => v[i] += 1,
            None => {
                let mut v = [0; 3];
                v[i] = 1;
                self.claims.insert(c.id.clone(), v);
            }
        }
    }
    pub fn summary(&self) -> Summary {
        let sum = |i: usize| self.claims.values().map(|v| v[i] as usize).sum();
        Summary { proved: sum(0), refuted: sum(1), not_observable: sum(2) }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
pub struct Summary {
    pub proved: usize,
    pub refuted: usize,
    pub not_observable: usize,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Report {
    pub schema: String,
    pub tool: String,
    pub command: String,
    pub kernel: KernelInfo,
    pub target: TargetInfo,
    pub syscalls: Vec<SyscallInfo>,
    pub stats: Stats,
    pub calls: Vec<Call>,
    pub objects: Vec<ObjectRef>,
    pub claims: Vec<Claim>,
    /// Claims over every call (`claims` has the full evidence of those of `calls` only).
    pub summary: Summary,
    pub totals: Totals,
    /// Tiers A/B: the functions of the chain, and for each whether it was traced here and why not.
    pub chain_plan: Vec<crate::probes::chain::FnPlan>,
    /// The live family dispatch table net_families[] (tiers A/B, where kallsyms has its address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch: Option<Dispatch>,
    /// `--chain-calls N`: how many calls were streamed in full and what the kernel counted for the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_budget: Option<crate::claims::budget::Budget>,
    /// The run's socks followed across calls (socket/accept4 → bind, listen, connect, read/write → close): their
    /// addresses, ports and TCP state changes, and which two are the ends of one connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Connections>,
    /// `--format hist`: per chain function, a log2 histogram of the inclusive time of every call (kept in the
    /// kernel: calls past the evidence budget included); or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histograms: Option<Histograms>,
    /// The layouts (size, member offsets and sizes) of the structs syswalk's walks read, from this kernel's BTF:
    /// what `syswalk diff` compares between kernels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layouts: Option<Layouts>,
}

/// The structs the kernel-side walks read (walk.h, chain.bpf.c, boundary.bpf.c): the fd table, the file, the socket
/// and its sock, and the dispatch tables.
pub const WALKED_STRUCTS: &[&str] = &[
    "files_struct",
    "fdtable",
    "file",
    "socket",
    "socket_alloc",
    "sock",
    "sock_common",
    "proto_ops",
    "proto",
    "net_proto_family",
    "inet_protosw",
    "inet_bind_bucket",
];

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Layouts {
    /// Where the layouts were read (the kernel's BTF).
    pub source: String,
    pub structs: Vec<crate::machine::btf::Layout>,
    /// Walked structs this kernel's BTF does not have.
    pub missing: Vec<String>,
}

/// The layouts of [`WALKED_STRUCTS`] from `btf` (None without BTF).
pub fn layouts(btf: Option<&crate::machine::btf::Btf>) -> Option<Layouts> {
    let btf = btf?;
    let mut structs = Vec::new();
    let mut missing = Vec::new();
    for name in WALKED_STRUCTS {
        match btf.struct_layout(name) {
            Some(l) => structs.push(l),
            None => missing.push((*name).to_string()),
        }
    }
    Some(Layouts { source: crate::machine::btf::vmlinux_path(), structs, missing })
}

/// Latency histograms of the chain's functions.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Histograms {
    pub funcs: Vec<Histogram>,
    /// Exits whose entry time the kernel side did not have (not counted in any bucket).
    pub missed: u64,
    /// Why there are no histograms (tier C: no function-level chain); None when there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_observable: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Histogram {
    pub func: String,
    /// Calls counted (the sum of the buckets).
    pub calls: u64,
    /// Non-empty buckets: [lo_ns, count], the bucket holding lo_ns ≤ t < 2·lo_ns (the first one: 0 ≤ t < 2).
    pub buckets: Vec<(u64, u64)>,
}

/// One followed sock: where it came from, where it is bound and connected, its state changes.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SockLife {
    pub sock: KAddr,
    pub socket: Option<KAddr>,
    pub pid: u32,
    /// The fd that holds it (None once closed, or for a listener's child not yet accepted).
    pub fd: Option<i32>,
    /// The call that installed it (socket or accept4).
    pub made_by: Option<usize>,
    /// "socket", "listener", "client" or "accepted", from the calls made on it.
    pub role: String,
    pub local: Option<String>,
    pub peer: Option<String>,
    /// Its bind bucket (icsk_bind_hash) and the port the bucket holds, from the last walk that found one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_bucket: Option<(KAddr, u16)>,
    pub states: Vec<crate::model::StateChange>,
    /// The close() of its fd (call number).
    pub closed_by: Option<usize>,
    /// When this life began (its socket() call's entry, or the state change that made a child): a freed sock's
    /// address is soon another sock's, so `states` are this address's changes from then on, up to TCP_CLOSE.
    pub since_ns: u64,
    /// The ends of its struct socket and struct sock the kernel was seen making after the close (tiers A/B; see
    /// `close.freed`), in time order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freed: Vec<crate::model::Freed>,
    /// When its close() entered.
    #[serde(skip)]
    pub closed_at: Option<u64>,
    /// When the call that installed it at its fd returned: its socket and sock exist from then on, so an earlier
    /// free at their addresses was another object's (an address is soon reused).
    #[serde(skip)]
    pub installed_at: Option<u64>,
    /// Its close()'s chain snapshotted (so the kernel side watches) its socket, and its sock.
    #[serde(skip)]
    pub watched: (bool, bool),
}

/// Two ends of one connection: each one's local address:port is the other's peer.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Connection {
    pub a: KAddr,
    pub b: KAddr,
    pub a_local: String,
    pub b_local: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Connections {
    pub socks: Vec<SockLife>,
    pub pairs: Vec<Connection>,
    /// TCP state changes recorded (tp_btf/inet_sock_set_state).
    pub state_changes: u64,
    /// Calls and state changes of socks past the followed limit (256): judged, but their socks not followed.
    pub unfollowed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states_missing: Option<String>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DispatchSlot {
    pub family: crate::model::Value,
    pub net_proto_family: crate::model::Ptr,
    pub create: crate::model::Ptr,
}

/// inetsw[type]'s first entry: what inet_create picks for (type, protocol 0).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct InetswSlot {
    #[serde(rename = "type")]
    pub ty: crate::model::Value,
    pub protocol: crate::model::Value,
    pub prot: crate::model::Ptr,
    pub ops: crate::model::Ptr,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Dispatch {
    pub source: String,
    pub slots: Vec<DispatchSlot>,
    /// inetsw[] (AF_INET's type switch), read by the same program when kallsyms has `inetsw`.
    pub inetsw: Vec<InetswSlot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub fn dispatch(
    f: &[(usize, u64, u64)],
    sw: &[crate::probes::chain::InetswRow],
    error: Option<String>,
    n: &crate::model::Namer,
) -> Option<Dispatch> {
    if f.is_empty() && error.is_none() {
        return None;
    }
    let addr = n.kallsyms.by_name("net_families").map(|s| KAddr(s.addr).to_string()).unwrap_or_default();
    Some(Dispatch {
        source: format!("net_families @ {addr} (kallsyms), read by a tp_btf program when syswalk called getpid()"),
        slots: f
            .iter()
            .map(|(i, p, c)| DispatchSlot {
                family: n.family(*i as i64),
                net_proto_family: n.ptr(*p),
                create: n.text(*c),
            })
            .collect(),
        inetsw: sw
            .iter()
            .map(|(t, pr, p, o)| InetswSlot {
                ty: n.sock_type(*t as i64),
                protocol: n.protocol(*pr as i64),
                prot: n.ptr(*p),
                ops: n.ptr(*o),
            })
            .collect(),
        error,
    })
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        command: String,
        caps: &Caps,
        kallsyms: String,
        target: TargetInfo,
        syscalls: Vec<SyscallInfo>,
        stats: Stats,
        calls: Vec<Call>,
        claims: Vec<Claim>,
    ) -> Self {
        let mut objects: Vec<ObjectRef> = Vec::new();
        // Each object once, in order of first sight: an index by (kind, address), not a scan per sighting.
        let mut at_index: std::collections::HashMap<(ObjKind, KAddr), usize> = std::collections::HashMap::new();
        for c in &calls {
            for (at, w) in [("entry", &c.before), ("exit", &c.after)] {
                let found = [
                    (ObjKind::File, w.file.as_ref().map(|f| f.addr)),
                    (ObjKind::Socket, w.socket.as_ref().map(|s| s.addr)),
                    (ObjKind::Sock, w.sock.as_ref().map(|s| s.addr)),
                ];
                for (kind, addr) in found {
                    let Some(addr) = addr else { continue };
                    let i = *at_index.entry((kind, addr)).or_insert_with(|| {
                        objects.push(ObjectRef { kind, addr, seen: Vec::new() });
                        objects.len() - 1
                    });
                    objects[i].seen.push((c.seq, at.into()));
                }
            }
        }
        let summary = Self::summarize(&claims);
        let mut totals = Totals { calls_in_full: calls.len() as u64, ..Default::default() };
        for c in &calls {
            totals.count_call(c);
        }
        for c in &claims {
            totals.count_claim(c);
        }
        Report {
            schema: SCHEMA.into(),
            tool: format!("syswalk {}", env!("CARGO_PKG_VERSION")),
            command,
            kernel: KernelInfo {
                release: caps.kernel_release.clone(),
                machine: caps.machine.clone(),
                tier: Tier::C,
                tier_available: caps.tier,
                tier_reason: caps.tier_reason.clone(),
                kallsyms,
                version: String::new(),
            },
            target,
            syscalls,
            stats,
            calls,
            objects,
            claims,
            summary,
            totals,
            chain_plan: Vec::new(),
            dispatch: None,
            chain_budget: None,
            connections: None,
            histograms: None,
            layouts: None,
        }
    }

    pub fn summarize(claims: &[Claim]) -> Summary {
        let mut summary = Summary::default();
        for c in claims {
            match c.verdict {
                Verdict::Proved => summary.proved += 1,
                Verdict::Refuted => summary.refuted += 1,
                Verdict::NotObservable => summary.not_observable += 1,
            }
        }
        summary
    }
}

/// The deepest a chain frame of a saved report may nest. A live frame's depth is the number of chain functions open
/// on its thread (a dozen or so); text, Markdown and the site indent by it.
pub const FRAME_DEPTH_MAX: usize = 256;
/// The most socks a saved report may follow: the tracker's own bound (`syscalls::conn::MAX_SOCKS`, checked equal by
/// a test); the connection view draws a column per sock.
pub const FOLLOWED_SOCKS_MAX: usize = 256;

/// What a saved report may hold: well above what a live run writes (the figures beside each), so a report syswalk
/// wrote always reads back, and a hostile one is refused before a renderer spends time or memory on it.
/// Calls kept in full: `--keep-calls N` keeps N per syscall (default 200) and 0 keeps all; a million is a long
/// `--keep-calls 0` run (and about 180 MB of JSON, near the 256 MB a report file may be).
pub const CALLS_MAX: usize = 1 << 20;
/// Claims kept in full: a dozen or so per kept call.
pub const CLAIMS_MAX: usize = 1 << 24;
/// Objects (files, sockets, socks) the kept calls' walks found: at most 6 per call.
pub const OBJECTS_MAX: usize = 1 << 23;
/// Chain frames of one call: a chain record holds `SW_ARENA` (16 KiB) of items, a few dozen frames, plus at most
/// 64 late release frames.
pub const FRAMES_PER_CALL_MAX: usize = 4096;
/// Functions of the chain plan: the course's chain and `--chain` functions (`SW_SLOTS` = 64 of them traced).
pub const PLAN_MAX: usize = 4096;
/// Latency histograms: one per traced chain function (`SW_SLOTS` = 64); each a log2 bucket per power of two
/// (`SW_HIST_BUCKETS` = 64).
pub const HIST_FUNCS_MAX: usize = 256;
pub const HIST_BUCKETS_MAX: usize = 128;
/// Distinct syscall names (in `syscalls`, the calls and `totals`): the boundary covers 512 numbers (`SW_NR_MAX`).
pub const SYSCALLS_MAX: usize = 512;
/// Distinct claim ids counted in `totals` (src/claims/ids.rs has about a hundred).
pub const CLAIM_IDS_MAX: usize = 4096;
/// A name (syscall, kernel function, claim id, struct, member): the kernel's KSYM_NAME_LEN is 512.
pub const NAME_MAX: usize = 512;
/// Walked structs and their members: `WALKED_STRUCTS` has 12, the largest (struct sock) ~100 members.
pub const STRUCTS_MAX: usize = 256;
pub const MEMBERS_MAX: usize = 4096;
/// TCP state changes of one followed sock (`syscalls::conn` keeps at most 8192).
pub const STATES_PER_SOCK_MAX: usize = 8192;
/// Any string of a saved report or lesson, in bytes as written in the file (the longest a run writes is the
/// target's command line, at most the kernel's 128 KiB per argument).
pub const STRING_MAX: usize = 1 << 20;

impl Report {
    /// Checks a report read back from a file: the sizes the renderers lay out by (a frame's depth is an indentation,
    /// each followed sock a column) within what a live run can produce, so a hostile file is refused with its
    /// reason instead of allocating without bound; and how much it holds (calls, claims, frames per call, plan,
    /// histograms, names) within the bounds above, so every renderer's time and memory stay linear in its size.
    /// Err says what is out of bounds and where.
    pub fn check_read_back(&self) -> Result<(), String> {
        let many = |what: &str, n: usize, max: usize, why: &str| -> Result<(), String> {
            if n > max {
                return Err(format!("it holds {n} {what}; a report holds at most {max} ({why})"));
            }
            Ok(())
        };
        let name = |what: &str, s: &str| -> Result<(), String> {
            if s.len() > NAME_MAX {
                return Err(format!(
                    "{what} \"{}…\" is {} bytes long; a name is at most {NAME_MAX} bytes",
                    crate::escape::text(&s.chars().take(40).collect::<String>()),
                    s.len()
                ));
            }
            Ok(())
        };
        many("calls", self.calls.len(), CALLS_MAX, "a run keeps --keep-calls N of each syscall")?;
        many("claims", self.claims.len(), CLAIMS_MAX, "those of the calls kept in full")?;
        many("objects", self.objects.len(), OBJECTS_MAX, "those the kept calls' walks found")?;
        many("chain plan functions", self.chain_plan.len(), PLAN_MAX, "the chain and --chain functions")?;
        many("syscalls", self.syscalls.len(), SYSCALLS_MAX, "one per syscall number traced")?;
        many("claim ids in totals", self.totals.claims.len(), CLAIM_IDS_MAX, "one per claim syswalk judges")?;
        let mut names: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for s in self.syscalls.iter().map(|s| s.name.as_str()).chain(self.totals.by_syscall.keys().map(String::as_str))
        {
            name("the syscall name", s)?;
            names.insert(s);
        }
        for c in &self.calls {
            if names.insert(c.syscall.as_str()) {
                name("the syscall name", &c.syscall)?;
                many("distinct syscall names", names.len(), SYSCALLS_MAX, "one per syscall number traced")?;
            }
            if c.chain.len() > FRAMES_PER_CALL_MAX {
                return Err(format!(
                    "call {} has {} chain frames; a call has at most {FRAMES_PER_CALL_MAX}",
                    c.seq,
                    c.chain.len()
                ));
            }
            for (i, f) in c.chain.iter().enumerate() {
                if f.depth > FRAME_DEPTH_MAX {
                    return Err(format!(
                        "call {}'s chain frame {} has depth {}; a chain nests at most {FRAME_DEPTH_MAX} deep",
                        c.seq, i, f.depth
                    ));
                }
                name("the chain function", &f.func)?;
            }
        }
        many("distinct syscall names", names.len(), SYSCALLS_MAX, "one per syscall number traced")?;
        for c in &self.claims {
            name("the claim id", &c.id)?;
        }
        for id in self.totals.claims.keys() {
            name("the claim id", id)?;
        }
        for p in &self.chain_plan {
            name("the chain function", &p.name)?;
        }
        if let Some(cv) = &self.connections {
            if cv.socks.len() > FOLLOWED_SOCKS_MAX || cv.pairs.len() > FOLLOWED_SOCKS_MAX {
                return Err(format!(
                    "its connections hold {} socks and {} pairs; a run follows at most {FOLLOWED_SOCKS_MAX} socks",
                    cv.socks.len(),
                    cv.pairs.len()
                ));
            }
            for s in &cv.socks {
                many("TCP state changes of one sock", s.states.len(), STATES_PER_SOCK_MAX, "a run keeps that many")?;
            }
        }
        if let Some(h) = &self.histograms {
            many("histograms", h.funcs.len(), HIST_FUNCS_MAX, "one per traced chain function")?;
            for f in &h.funcs {
                name("the histogram's function", &f.func)?;
                many("buckets in one histogram", f.buckets.len(), HIST_BUCKETS_MAX, "one per power of two")?;
            }
        }
        if let Some(l) = &self.layouts {
            many("struct layouts", l.structs.len(), STRUCTS_MAX, "those syswalk's walks read")?;
            for st in &l.structs {
                name("the struct", &st.name)?;
                many("members in one struct layout", st.members.len(), MEMBERS_MAX, "as the kernel's BTF has")?;
                for m in &st.members {
                    name("the struct member", &m.name)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each bound is checked: one past it is refused with a reason naming what and the bound; at it, accepted.
    #[test]
    fn a_report_past_each_bound_is_refused_naming_the_bound() {
        let base = crate::fixtures::report();
        assert_eq!(base.check_read_back(), Ok(()));
        type Edit = Box<dyn Fn(&mut Report, usize)>;
        let frame = base.calls.iter().find_map(|c| c.chain.first().cloned()).expect("a frame");
        let plan = base.chain_plan[0].clone();
        let hist = |func: String| Histogram { func, calls: 1, buckets: vec![(1, 1)] };
        let cases: Vec<(&str, usize, Edit)> = vec![
            ("chain frames", FRAMES_PER_CALL_MAX, Box::new(move |r, n| r.calls[0].chain = vec![frame.clone(); n])),
            ("chain plan functions", PLAN_MAX, Box::new(move |r, n| r.chain_plan = vec![plan.clone(); n])),
            (
                "histograms",
                HIST_FUNCS_MAX,
                Box::new(move |r, n| {
                    r.histograms = Some(Histograms {
                        funcs: (0..n).map(|i| hist(format!("f{i}"))).collect(),
                        missed: 0,
                        not_observable: None,
                    })
                }),
            ),
            (
                "buckets in one histogram",
                HIST_BUCKETS_MAX,
                Box::new(|r, n| {
                    let buckets = (0..n as u64).map(|i| (1u64 << (i % 63), i)).collect();
                    let funcs = vec![Histogram { func: "f".into(), calls: 1, buckets }];
                    r.histograms = Some(Histograms { funcs, missed: 0, not_observable: None })
                }),
            ),
            (
                "syscall names",
                SYSCALLS_MAX,
                Box::new(|r, n| {
                    r.totals.by_syscall = (0..n).map(|i| (format!("s{i}"), 1)).collect();
                    r.syscalls.clear();
                    for c in &mut r.calls {
                        c.syscall = "s0".into();
                    }
                }),
            ),
            (
                "claim ids in totals",
                CLAIM_IDS_MAX,
                Box::new(|r, n| r.totals.claims = (0..n).map(|i| (format!("c{i}"), [1, 0, 0])).collect()),
            ),
            ("a name is at most", NAME_MAX, Box::new(|r, n| r.claims[0].id = "x".repeat(n))),
            ("a name is at most", NAME_MAX, Box::new(|r, n| r.calls[0].syscall = "x".repeat(n))),
            (
                "members in one struct layout",
                MEMBERS_MAX,
                Box::new(|r, n| {
                    let m = crate::machine::btf::Member {
                        name: "m".into(),
                        ty: "int".into(),
                        offset: 0,
                        size: 4,
                        bits: None,
                    };
                    let st = crate::machine::btf::Layout { name: "sock".into(), size: 4, members: vec![m; n] };
                    r.layouts = Some(Layouts { source: "btf".into(), structs: vec![st], missing: vec![] })
                }),
            ),
        ];
        for (what, max, edit) in cases {
            let mut r = base.clone();
            edit(&mut r, max);
            assert_eq!(r.check_read_back(), Ok(()), "{what} at {max}");
            let mut r = base.clone();
            edit(&mut r, max + 1);
            let why = r.check_read_back().expect_err(what);
            assert!(why.contains(what) && why.contains(&max.to_string()), "{what}: {why}");
        }
    }
}
