//! One tracing session: preflight, load + attach, start or join the target, collect, detach.
use std::ffi::OsString;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Kind, Result};
use crate::probes::boundary::{EvKind, RawEvent, TracedSyscall, Tracer};
use crate::probes::target::{self, Ending, Gated, Pid};

pub enum Target {
    /// socket(family, type, protocol) from syswalk's own clean child.
    Builtin {
        family: i32,
        ty: i32,
        protocol: i32,
        /// RLIMIT_NOFILE for the call (the EMFILE failure target: as many as the fds it has open).
        nofile: Option<u32>,
    },
    /// The built-in life target: a loopback TCP server and client from one thread (`target::life_main`).
    Life,
    /// A built-in failure of a connection's call (`target::scenario_main`).
    Scenario(target::Scenario),
    Command(Vec<OsString>),
    Pid(u32),
}

impl Target {
    pub fn describe(&self) -> String {
        match self {
            Target::Builtin { family, ty, protocol, nofile } => format!(
                "built-in: socket({family}, {ty}, {protocol}) from a process with only fds 0, 1, 2 open{}",
                nofile.map(|n| format!(" and RLIMIT_NOFILE {n}")).unwrap_or_default()
            ),
            Target::Command(c) => {
                format!("command: {}", c.iter().map(|s| s.to_string_lossy()).collect::<Vec<_>>().join(" "))
            }
            Target::Scenario(sc) => sc.describe().into(),
            Target::Life => "built-in: a TCP server and client on 127.0.0.1 from one thread (socket, setsockopt, bind, getsockname, listen; socket, connect; accept4; write, read, write, read; close ×3)".into(),
            Target::Pid(_) => "a running process (-p)".into(),
        }
    }
}

pub struct Options {
    pub follow_forks: bool,
    pub duration: Option<Duration>,
    /// No progress lines on stderr.
    pub quiet: bool,
    /// The report goes to stdout, so the target's stdout is sent to stderr to keep the report clean.
    pub report_on_stdout: bool,
    /// Evidence budget for the chain (see ChainSetup::root_calls).
    pub chain_calls: u32,
    /// Turn on the kernel's BPF run-time statistics for the session and report what each program cost.
    pub bpf_stats: bool,
    /// Keep latency histograms of the chain's functions in the kernel (`--format hist`).
    pub hist: bool,
    /// When syswalk started: launch → attached is measured from it.
    pub launch: Instant,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Stats {
    /// From the start of loading to the last program attached.
    pub attach_ms: f64,
    /// From syswalk's launch (its main) to the last program attached: capability probe, BTF and kallsyms reading,
    /// chain planning, loading and attaching. None when syswalk is used as a library.
    pub launch_to_attached_ms: Option<f64>,
    pub events: usize,
    /// Events the kernel side could not put in the ring buffer. Never dropped silently: reported here.
    pub lost: u64,
    pub undecodable: u64,
    pub traced_ms: f64,
    /// Whether the kernel's BPF run-time statistics were on (--bpf-stats): then `programs` has run counts and times.
    pub bpf_stats: bool,
    /// syswalk's own programs, as the kernel counted them (recursion misses always; runs and time with bpf_stats).
    pub programs: Vec<crate::probes::selfcost::ProgCost>,
    /// The kernel's count of sockets in use (`/proc/net/sockstat`, "sockets: used") right before the target was
    /// let go and after it ended; None where it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets_used: Option<[u64; 2]>,
    /// The same two moments: TCP's count of socks in its hash tables (`/proc/net/protocols`, the TCP row's
    /// "sockets"; a sock never hashed — bound only, or back in TCP_CLOSE — is not in it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_sockets: Option<[u64; 2]>,
}

pub use crate::probes::chain::ChainSetup;

/// Where a session's events go as they arrive: nothing is kept here, so memory does not grow with the run.
/// Per poll: the chain records read (after the boundary ring was read: a call's chain record is written before its
/// sys_exit event, so every call whose exit is delivered has had its chain delivered), then the boundary events in
/// chunks, each followed by `round`.
pub trait Sink {
    /// Once, when everything is attached: the kallsyms lines of BPF code ([bpf]: programs and trampolines) that
    /// exist now, so a return address inside a trampoline is named as one.
    /// `states_missing`: why TCP state changes are not recorded (None when they are).
    fn attached(&mut self, bpf_syms: Vec<crate::machine::kallsyms::Sym>, states_missing: Option<String>);
    /// Right before a held target is let go (a running process: once attached) — machine-wide counts read now are
    /// the "before" of the run.
    fn released(&mut self) {}
    /// A batch of one ring's events, typed by what sent them.
    fn events(&mut self, batch: Batch);
    /// How many closed objects' ends have not arrived yet: the session waits a little for them after the target.
    fn awaiting_frees(&self) -> usize;
    /// Free probes that could not be attached (each reason names its function): those frees are not watched.
    fn free_probes_missing(&mut self, why: Vec<String>);
    fn round(&mut self);
    /// Once, after the last event and the wait for frees, before detaching — counts read now are the "after".
    fn ended(&mut self) {}
}

/// What the session hands a sink: one ring's events, typed by the program (or feature) that sent them. A new kind
/// of kernel evidence is a new variant, not a new `Sink` method.
pub enum Batch {
    /// The boundary program's events (sys_enter/sys_exit, forks, TCP state changes), in ring order.
    Boundary(Vec<RawEvent>),
    /// The function-level chain's items of the calls whose exits were just read.
    Chain(Vec<crate::probes::chain::RawChainEvent>),
    /// Ends of watched objects (frees, TIME_WAIT hand-overs), seen by `attach` probes ("fentry" or "kprobe").
    Ends { frees: Vec<crate::probes::chain::RawFree>, attach: &'static str },
}

/// How long the session waits, after the target ended, for the frees of the objects it closed.
pub const FREE_WAIT: Duration = Duration::from_secs(3);

/// Per traced function its log2 buckets, and the exits the kernel side had no entry time for.
pub type ChainHist = (Vec<(String, Vec<u64>)>, u64);

pub struct Session {
    /// The attach type the chain really used, and why (fallbacks included).
    pub chain_attach: Option<(crate::probes::chain::Attach, String)>,
    pub stats: Stats,
    pub root_pid: u32,
    /// The root's PID in the initial namespace, when syswalk runs in another one (a container) and it differs.
    pub root_host_pid: Option<u32>,
    pub ending: Ending,
    pub forks: Vec<(u32, u32)>,
    /// Evidence budget: per traced function, (name, entries counted, exits counted) in the kernel, not streamed.
    pub chain_counted: Vec<(String, u64, u64)>,
    /// `Options::hist`: per traced function, its log2 buckets (SW_HIST_BUCKETS), and the exits with no entry time.
    pub chain_hist: Option<ChainHist>,
}

/// Boundary events handed to the sink per round (see `deliver` in `trace`).
const DELIVER_CHUNK: usize = 512;

/// Checks that apply before anything is loaded: privileges and BTF.
pub fn preflight() -> Result<()> {
    if !crate::probes::caps::has_bpf_caps() {
        return Err(Error::new(
            Kind::Permission,
            "syswalk needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) to load its tracing programs",
        )
        .hint("run it as root: sudo syswalk …"));
    }
    let btf = crate::machine::btf::vmlinux_path();
    if !std::path::Path::new(&btf).exists() {
        return Err(Error::new(Kind::NoBtf, format!("this kernel has no BTF ({btf} is missing)"))
            .hint("syswalk's CO-RE programs need CONFIG_DEBUG_INFO_BTF=y; use a stock distro kernel or `syswalk lab run --kernel 6.1 -- syswalk prove`"));
    }
    Ok(())
}

pub fn trace(
    target: &Target,
    syscalls: &[TracedSyscall],
    opts: &Options,
    chain: Option<&ChainSetup>,
    sink: &mut dyn Sink,
) -> Result<Session> {
    // From here on SIGINT, SIGTERM and SIGHUP stop the session at a safe point (a second one ends syswalk at once).
    crate::signals::install();
    preflight()?;
    // Resolve the command before loading anything, so a typo costs nothing.
    let mut gated = spawn(target, opts)?;
    let live = match target {
        Target::Pid(p) => Some(Pid::open(*p)?),
        _ => None,
    };
    let root_pid = gated.as_ref().map(|g| g.pid()).or(live.as_ref().map(|l| l.pid)).unwrap_or(0);

    // On before anything attaches, off (fd closed) when this function returns.
    let _run_time_stats = if opts.bpf_stats { Some(crate::probes::selfcost::enable_run_time_stats()?) } else { None };
    let t_attach = Instant::now();
    let mut obj = MaybeUninit::uninit();
    // On an error, dropping `gated` kills the held child: it never runs untraced.
    let tracer = Tracer::start(&mut obj, syscalls, opts.follow_forks)?;
    tracer.add_tgid(root_pid)?;
    let (mut cobj, mut cobj2) = (MaybeUninit::uninit(), MaybeUninit::uninit());
    let (ctracer, chain_attach) = match chain {
        None => (None, None),
        Some(cs) => {
            let (t, how) = attach_chain(&mut cobj, &mut cobj2, cs, &tracer, opts.quiet)?;
            (Some(t), Some(how))
        }
    };
    let attach_ms = t_attach.elapsed().as_secs_f64() * 1e3;
    let launch_to_attached_ms = Some(opts.launch.elapsed().as_secs_f64() * 1e3);
    if !opts.quiet {
        // The description holds the user's argv: escaped, so it cannot drive the terminal.
        eprintln!("syswalk: attached in {attach_ms:.1} ms; tracing {}", crate::escape::text(&target.describe()));
    }
    let t0 = Instant::now();
    if let Some(sig) = crate::signals::received() {
        // Stopped while loading: the held target never runs (dropping it kills it).
        return Err(Error::new(
            Kind::NoCall,
            format!("stopped on {} while attaching: the target was never started", crate::signals::name(sig)),
        ));
    }
    sink.released();
    if let Some(g) = gated.as_mut() {
        g.release()?;
    }
    if let Some(c) = &ctracer {
        if !c.free_errors.is_empty() {
            sink.free_probes_missing(c.free_errors.clone());
        }
    }
    sink.attached(
        if ctracer.is_some() {
            crate::machine::kallsyms::Kallsyms::load_module("bpf").unwrap_or_default()
        } else {
            Vec::new()
        },
        tracer.state_missing.clone(),
    );
    let free_attach = match &chain_attach {
        Some((crate::probes::chain::Attach::Kprobe, _)) => "kprobe",
        _ => "fentry",
    };
    let mut out = Delivery { events: 0, forks: Vec::new(), root_pid, root_host_pid: None };
    let rings = Rings { tracer: &tracer, chain: ctracer.as_ref(), free_attach };
    let ending = rings.poll_until_end(&mut gated, live.as_ref(), opts, t0, &mut out, sink)?;
    let last = rings.drain_last(&mut out, sink)?;
    // The kernel frees a closed socket after an RCU grace period, and a sock when its last packet is processed:
    // stay attached (the free probes only) until every watched object's end arrived, or FREE_WAIT.
    rings.wait_for_frees(sink, opts.quiet)?;
    // Frees lost to a full ring buffer, counted after the wait (when most of them come).
    let frees_lost = ctracer.as_ref().map_or(0, |c| c.frees_lost());
    let chain_counted = chain.map(|cs| counted_per_function(cs, &last.counted)).unwrap_or_default();
    let chain_hist = match (&ctracer, chain) {
        (Some(c), Some(cs)) if opts.hist => Some(histograms(c, cs)),
        _ => None,
    };
    drop(ctracer);
    sink.ended();
    let stats = Stats {
        attach_ms,
        launch_to_attached_ms,
        events: out.events,
        lost: tracer.lost() + last.boundary_misses + last.chain_lost + frees_lost,
        undecodable: *tracer.decode_errors.borrow(),
        traced_ms: t0.elapsed().as_secs_f64() * 1e3,
        bpf_stats: opts.bpf_stats,
        programs: last.programs,
        sockets_used: None,
        tcp_sockets: None,
    };
    drop(tracer);
    // After the chain's losses are added: a run that lost only chain items warns too.
    if let Some(w) = lost_warning(stats.lost, last.chain_lost) {
        if !opts.quiet {
            eprintln!("{w}");
        }
    }
    let root_host_pid = out.root_host_pid.filter(|h| *h != root_pid);
    Ok(Session { chain_attach, stats, root_pid, root_host_pid, ending, forks: out.forks, chain_counted, chain_hist })
}

/// The held child for a target syswalk starts (None for a running process, `Target::Pid`).
fn spawn(target: &Target, opts: &Options) -> Result<Option<Gated>> {
    Ok(match target {
        Target::Builtin { family, ty, protocol, nofile } => {
            Some(Gated::spawn(target::builtin_spec(*family, *ty, *protocol, *nofile)?)?)
        }
        Target::Life => Some(Gated::spawn(target::life_spec()?)?),
        Target::Scenario(sc) => Some(Gated::spawn(target::scenario_spec(*sc)?)?),
        Target::Command(argv) => {
            let Some(prog) = argv.first() else {
                return Err(Error::new(Kind::Usage, "no command given after --"));
            };
            let path = target::resolve(prog)?;
            Some(Gated::spawn(target::Spec {
                path,
                argv: argv.clone(),
                null_stdout: false,
                null_stdin: false,
                stdout_to_stderr: opts.report_on_stdout,
            })?)
        }
        Target::Pid(_) => None,
    })
}

/// Loads and attaches the function-level chain as planned; fentry that fails falls back to kprobes when allowed
/// (in a fresh object: the first one was consumed by the failed load). Returns the tracer and the attach type it
/// really used, with why.
fn attach_chain<'o>(
    cobj: &'o mut MaybeUninit<libbpf_rs::OpenObject>,
    cobj2: &'o mut MaybeUninit<libbpf_rs::OpenObject>,
    cs: &ChainSetup,
    tracer: &Tracer,
    quiet: bool,
) -> Result<(crate::probes::chain::ChainTracer<'o>, (crate::probes::chain::Attach, String))> {
    use crate::probes::chain::{Attach, ChainTracer};
    match ChainTracer::start(cobj, cs, &cs.plan, cs.attach, tracer.tgids()) {
        Ok(t) => Ok((t, (cs.attach, format!("{:?} loaded and attached", cs.attach).to_lowercase()))),
        Err(e) if cs.fallback && cs.attach == Attach::Fentry => {
            let why = format!("fentry failed ({}); fell back to kprobe", e.message);
            if !quiet {
                eprintln!("syswalk: {why}");
            }
            let mut kplan = cs.plan.clone();
            for p in kplan.iter_mut() {
                p.note = format!("{} (kprobe)", p.note);
            }
            let t = ChainTracer::start(cobj2, cs, &kplan, Attach::Kprobe, tracer.tgids())?;
            Ok((t, (Attach::Kprobe, why)))
        }
        Err(e) => Err(e),
    }
}

/// What the session learns from the events it hands on: their count, the forks, the root's initial-namespace PID.
struct Delivery {
    events: usize,
    forks: Vec<(u32, u32)>,
    root_pid: u32,
    root_host_pid: Option<u32>,
}

impl Delivery {
    /// The chain records first (they precede the sys_exit events read with them), then the boundary events in
    /// chunks, a round each: a full ring holds thousands of calls, and a round's calls are held whole until judged.
    fn deliver(&mut self, sink: &mut dyn Sink, b: Vec<RawEvent>, c: Vec<crate::probes::chain::RawChainEvent>) {
        self.events += b.len() + c.len();
        self.forks.extend(b.iter().filter(|e| e.kind == EvKind::SW_FORK.0).map(|e| (e.tgid, e.other)));
        if self.root_host_pid.is_none() {
            let root = self.root_pid;
            self.root_host_pid = b.iter().find(|e| e.tgid == root && e.host_tgid != 0).map(|e| e.host_tgid);
        }
        if !c.is_empty() {
            sink.events(Batch::Chain(c));
        }
        if b.is_empty() {
            sink.round();
        }
        for chunk in b.chunks(DELIVER_CHUNK) {
            sink.events(Batch::Boundary(chunk.to_vec()));
            sink.round();
        }
    }
}

/// What the last drain found besides events.
struct Last {
    /// syswalk's programs as the kernel counted them.
    programs: Vec<crate::probes::selfcost::ProgCost>,
    /// Boundary entries or exits that never reached the ring (recursion misses): lost.
    boundary_misses: u64,
    /// Chain items lost (full ring, or recursion misses).
    chain_lost: u64,
    /// Per slot, the entries and exits the evidence budget counted in the kernel.
    counted: Vec<(u64, u64)>,
}

/// The session's ring buffers: the boundary's, and the chain's and its frees' when the chain is attached.
struct Rings<'a, 'o> {
    tracer: &'a Tracer<'o>,
    chain: Option<&'a crate::probes::chain::ChainTracer<'o>>,
    free_attach: &'static str,
}

impl Rings<'_, '_> {
    fn frees(&self, sink: &mut dyn Sink) {
        if let Some(c) = self.chain {
            sink.events(Batch::Ends { frees: c.take_frees(), attach: self.free_attach });
        }
    }

    /// Polls until the target ends, the process joined exits, a signal or `--duration` stops the run.
    fn poll_until_end(
        &self,
        gated: &mut Option<Gated>,
        live: Option<&Pid>,
        opts: &Options,
        t0: Instant,
        out: &mut Delivery,
        sink: &mut dyn Sink,
    ) -> Result<Ending> {
        let ending = loop {
            // Wait for the boundary ring (woken early only when it fills up), then read everything both rings
            // hold: the boundary ring first, then the chain ring, whose records precede the sys_exit events just
            // read (a poll only reads a ring epoll reports ready, and the programs mostly submit without waking: a
            // quiet ring would otherwise keep its records past the round that needs them).
            self.tracer.poll(Duration::from_millis(50))?;
            self.tracer.drain()?;
            if let Some(c) = self.chain {
                c.drain()?;
            }
            self.frees(sink);
            out.deliver(sink, self.tracer.take_events(), self.chain.map(|c| c.take_events()).unwrap_or_default());
            if let Some(g) = gated.as_mut() {
                if let Some(end) = g.try_wait()? {
                    break end;
                }
            }
            if live.is_some_and(|l| l.exited()) {
                break Ending::Ended;
            }
            let stop = match (crate::signals::received(), opts.duration) {
                (Some(sig), _) => Some(format!("on {}", crate::signals::name(sig))),
                (None, Some(d)) if t0.elapsed() >= d => Some(format!("after --duration {} s", d.as_secs_f64())),
                _ => None,
            };
            if let Some(why) = stop {
                if !opts.quiet {
                    eprintln!("syswalk: stopping {why}; detaching");
                }
                break match gated.as_mut() {
                    Some(g) => {
                        g.kill();
                        let _ = g.wait();
                        Ending::StoppedBySyswalk(why)
                    }
                    None => Ending::Detached(why),
                };
            }
        };
        Ok(match (ending, crate::signals::received()) {
            (Ending::Signaled(s), Some(r)) if s == r => Ending::StoppedBySyswalk(format!(
                "on {} (the terminal sent it to the target too)",
                crate::signals::name(r)
            )),
            (e, _) => e,
        })
    }

    /// The last events, the calls still open (read back from the chain's per-thread records, not lost), and the
    /// programs' costs.
    fn drain_last(&self, out: &mut Delivery, sink: &mut dyn Sink) -> Result<Last> {
        self.tracer.drain()?;
        let last = self.tracer.take_events();
        let mut programs = self.tracer.costs();
        let boundary_misses = crate::probes::selfcost::totals(&programs).2;
        let (chain_events, chain_lost, counted) = match self.chain {
            Some(c) => {
                c.drain()?;
                let mut evs = c.take_events();
                evs.extend(c.open_records());
                let costs = c.costs();
                // A recursion miss is an entry or exit that never reached the record: lost, like a full ring.
                let misses = crate::probes::selfcost::totals(&costs).2;
                programs.extend(costs);
                (evs, c.lost() + misses, c.counted())
            }
            None => (Vec::new(), 0, Vec::new()),
        };
        self.frees(sink);
        out.deliver(sink, last, chain_events);
        Ok(Last { programs, boundary_misses, chain_lost, counted })
    }

    /// Stays attached (the free probes only) until every watched object's end arrived, or FREE_WAIT.
    fn wait_for_frees(&self, sink: &mut dyn Sink, quiet: bool) -> Result<()> {
        let Some(c) = self.chain else { return Ok(()) };
        let t = Instant::now();
        let mut said = false;
        while sink.awaiting_frees() > 0 && t.elapsed() < FREE_WAIT && crate::signals::received().is_none() {
            if !said && !quiet && t.elapsed() > Duration::from_millis(500) {
                eprintln!(
                    "syswalk: waiting up to {} s for the kernel to free {} closed socket(s) (RCU)…",
                    FREE_WAIT.as_secs(),
                    sink.awaiting_frees()
                );
                said = true;
            }
            std::thread::sleep(Duration::from_millis(20));
            c.drain()?;
            self.frees(sink);
            sink.round();
        }
        Ok(())
    }
}

/// The evidence budget's counts per planned function: (name, entries, exits) counted in the kernel.
fn counted_per_function(cs: &ChainSetup, counted: &[(u64, u64)]) -> Vec<(String, u64, u64)> {
    if cs.root_calls == 0 {
        return Vec::new();
    }
    cs.plan.iter().filter_map(|p| p.slot.and_then(|s| counted.get(s)).map(|(e, x)| (p.name.clone(), *e, *x))).collect()
}

/// `--hist`: per planned function its log2 buckets, and the exits with no entry time.
fn histograms(c: &crate::probes::chain::ChainTracer, cs: &ChainSetup) -> ChainHist {
    let h = c.histograms();
    let rows =
        cs.plan.iter().filter_map(|p| p.slot.and_then(|s| h.get(s)).map(|b| (p.name.clone(), b.clone()))).collect();
    (rows, c.hist_missed())
}

/// The stderr warning for a session that lost events (boundary and chain together), None when nothing was lost.
pub fn lost_warning(lost: u64, of_which_chain: u64) -> Option<String> {
    (lost > 0).then(|| {
        format!(
            "syswalk: WARNING: {lost} events were lost ({of_which_chain} of them chain items; ring buffer full, or program runs the kernel skipped); the report says which calls may be incomplete"
        )
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn chain_only_losses_warn() {
        assert!(super::lost_warning(0, 0).is_none());
        let w = super::lost_warning(3, 3).expect("chain-only losses are losses");
        assert!(w.contains("3 events were lost (3 of them chain items"), "{w}");
    }
}
