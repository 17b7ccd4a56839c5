//! The streaming judge, the layer between the syscalls and the commands: the run judged as it arrives. Events are
//! paired into calls, a call gets its chain frames, is judged one poll round after it completed (so calls of other
//! threads that overlapped it are known) by its syscall's implementation in the registry (`syscalls::ALL`), and is
//! then counted; only a bounded number of calls keep their full evidence. Memory depends on how many threads run
//! at once and on `--keep-calls`, not on how long the run is; the work per call is constant. `commands::collect`
//! feeds it (it is the `Sink` of `probes::session::trace`) and renders what it kept.
use crate::claims::Claim;
use crate::machine::kallsyms::Sym;
use crate::model::frame::FrameQueue;
use crate::model::{Call, Namer, Pairer, Signature};
use crate::probes::boundary::RawEvent;
use crate::probes::chain::RawChainEvent;
use crate::probes::session::{Batch, Sink};
pub use crate::syscalls::ChainJudge;

mod keep;
mod threads;
use crate::syscalls::{self, conn, socket, ChainCounts, Judging};

/// How far behind the latest boundary event a frame may be and still find its call.
const FRAME_MARGIN_NS: u64 = 10_000_000;

/// An open call older than this (its exit lost, or blocked in the kernel) no longer holds back the pruning.
const STALE_NS: u64 = 10_000_000_000;

pub struct Pipeline<'a> {
    names: &'a Namer,
    /// `names` with the BPF trampolines that exist while tracing (return addresses inside them are named so).
    live: Option<Namer>,
    chain: Option<ChainJudge<'a>>,
    /// Why there is no function-level chain in this run (tier C), for the calls' chain claims.
    pub chain_why: Option<String>,
    pairer: Pairer,
    frames: FrameQueue,
    tables: socket::claims::SharedTables,
    /// Completed in the current round; their frames arrive by its end.
    done: Vec<Call>,
    /// Completed in the previous round: judged at the end of this one.
    waiting: Vec<Call>,
    /// close() calls of sockets waiting for their file's release frames (see `late_ready`): at most one per thread.
    deferred: Vec<Call>,
    threads: threads::Threads,
    /// What the run keeps and counts.
    pub out: keep::Kept,
    /// The chain root's outermost calls received in full, and socket() calls seen (for `chain.counts_complete`).
    pub counts: ChainCounts,
    /// What the calls of a connection's life share (fds → sockets, state changes, writes).
    pub life: conn::Life,
    /// The machine-wide socket counts before the target was let go, and with the counts after it ended.
    before: Option<socket::leaks::Before>,
    pub counts_before_after: Option<socket::leaks::Counts>,
}

impl<'a> Pipeline<'a> {
    /// `keep`: calls of each syscall that keep their full evidence (0: every one).
    pub fn new(names: &'a Namer, sigs: Vec<Signature>, chain: Option<ChainJudge<'a>>, keep: usize) -> Self {
        Pipeline {
            names,
            live: None,
            chain,
            chain_why: None,
            pairer: Pairer::new(sigs),
            frames: FrameQueue::default(),
            tables: Default::default(),
            done: Vec::new(),
            waiting: Vec::new(),
            deferred: Vec::new(),
            threads: Default::default(),
            out: keep::Kept::new(keep),
            counts: ChainCounts::default(),
            life: conn::Life::default(),
            before: None,
            counts_before_after: None,
        }
    }

    /// The calls that completed: their frames, and a place in the fd-table window.
    fn settle(&mut self) {
        for mut c in std::mem::take(&mut self.done) {
            if self.chain.is_some() {
                c.chain = self.frames.take_for(&c);
            }
            self.tables.add(&c);
            self.life.completed(&c);
            self.waiting.push(c);
        }
    }

    fn judge_waiting(&mut self) {
        for c in std::mem::take(&mut self.waiting) {
            self.judge(c);
        }
    }

    fn judge(&mut self, mut c: Call) {
        let imp = syscalls::of(&c);
        // A socket's file is released after close() returns (the deferred fput): its frames come late.
        let late = imp.and_then(|s| s.late_release());
        if let (Some(func), true) = (late, self.chain.is_some() && c.before.socket.is_some()) {
            if !c.chain.iter().any(|f| f.func == func) {
                if let (Some(f), Some(t)) = (c.before.file.as_ref(), c.exit_ns) {
                    let window = (t, self.threads.next_enter(c.tid, t));
                    let got = self.frames.take_late(c.tid, window, f.addr.0);
                    c.chain.extend(got);
                }
            }
        }
        c.allocations = syscalls::chainproof::allocations(&c);
        let mut claims = Vec::new();
        if let Some(s) = imp {
            let mut j = Judging {
                names: self.names,
                tables: &self.tables,
                life: &mut self.life,
                chain: self.chain.as_ref(),
                chain_why: self.chain_why.as_deref(),
                counts: &mut self.counts,
            };
            claims.extend(s.judge(&c, &mut j));
        }
        claims.extend(self.chain_claims(&c));
        // Never a ✗ from evidence that may be missing: a loss before this call's exit leaves holes in what it compares.
        let lost = c.lost_before.max(self.threads.lost_seen);
        let claims: Vec<Claim> = claims.into_iter().map(|k| k.unless_lost(lost)).collect();
        self.life.record(&c);
        // The state chains of lives that ended (their sock's address is a new sock's now): counted, and kept while
        // the budget for full evidence lasts.
        for k in self.life.take_finished() {
            self.out.finished(k.unless_lost(self.threads.lost_seen));
        }
        if self.out.call(c, claims, imp) {
            // After the push: the frees may be in already, for this very call.
            self.note_frees(false);
        }
    }

    /// The frees of failed calls' objects that came (all of them at the end): into the kept calls' allocation lists.
    fn note_frees(&mut self, all: bool) {
        for (call, addr, func, ts) in self.life.take_resolved(all) {
            let Some(c) = self.out.calls.iter_mut().rev().find(|c| c.seq == call) else { continue };
            let exit = c.exit_ns;
            if let Some(a) = c.allocations.iter_mut().find(|a| a.addr == addr && a.freed_by.is_none()) {
                a.freed_by = Some(func);
                a.freed_after_ns = exit.map(|e| ts as i64 - e as i64);
            }
        }
    }

    /// A socket's close() can be judged when its file's release frames are here, or when its thread has returned
    /// from another call since: the release runs before the return to user space, its record is sent when
    /// sock_close returns or at the latest at the thread's next sys_exit (the chain's stale-record closer), and the
    /// chain ring is read after the boundary ring. Every other call at once.
    fn late_ready(&self, c: &Call) -> bool {
        let (Some(f), Some(exit)) = (c.before.file.as_ref(), c.exit_ns) else { return true };
        let Some(func) = syscalls::of(c).and_then(|s| s.late_release()) else { return true };
        if self.chain.is_none() || c.ret != Some(0) || c.before.socket.is_none() {
            return true;
        }
        // A close whose file another task still holds is released later, or never in this thread: give up after 1 s.
        let expired = self.threads.last_ts.is_some_and(|t| t.saturating_sub(exit) > 1_000_000_000);
        expired
            || c.chain.iter().any(|x| x.func == func)
            || self.frames.has_late(c.tid, (exit, self.threads.next_enter(c.tid, exit)), f.addr.0)
            || self.threads.returned_since(c.tid, exit)
    }

    /// The function-level claims of a connection's calls (socket() has its own above): judged from the chain at
    /// tiers A/B, "not observable (why)" at tier C.
    fn chain_claims(&self, c: &Call) -> Vec<Claim> {
        let Some((ids, judge)) = syscalls::of(c).and_then(|s| s.chain_claims(c)) else { return Vec::new() };
        match (&self.chain, &self.chain_why) {
            // Past the evidence budget a call has no chain: counted, not judged.
            (Some(j), _) if j.budget && c.chain.is_empty() => Vec::new(),
            (Some(j), _) => judge(c, j.plan),
            (None, Some(why)) => syscalls::chainproof::not_here(c, ids, why),
            (None, None) => Vec::new(),
        }
    }

    /// After the last round: calls still open are judged as they are; the kept ones in call order.
    pub fn finish(&mut self) {
        self.settle();
        self.done = self.pairer.finish();
        self.settle();
        for c in std::mem::take(&mut self.deferred) {
            self.judge(c);
        }
        self.judge_waiting();
        let lost = self.threads.lost_seen;
        let states: Vec<Claim> = self.life.judge_states().into_iter().map(|k| k.unless_lost(lost)).collect();
        self.note_frees(true);
        self.out.close(states);
    }
}

impl Sink for Pipeline<'_> {
    fn attached(&mut self, bpf_syms: Vec<Sym>, states_missing: Option<String>) {
        self.life.states_missing = states_missing;
        if self.chain.is_some() {
            let mut ks = self.names.kallsyms.clone();
            ks.extend(bpf_syms);
            self.live = Some(Namer { kallsyms: ks, btf: self.names.btf.clone(), ..Default::default() });
        }
    }

    fn released(&mut self) {
        self.before = Some(socket::leaks::Before::read());
    }

    fn ended(&mut self) {
        self.counts_before_after = self.before.map(socket::leaks::Before::and_after);
    }

    fn events(&mut self, batch: Batch) {
        match batch {
            Batch::Boundary(events) => self.boundary(events),
            Batch::Chain(events) => self.chain(events),
            Batch::Ends { frees, attach } => {
                for f in &frees {
                    self.life.freed(crate::model::freed(f, attach, self.names));
                }
            }
        }
    }

    fn awaiting_frees(&self) -> usize {
        if self.life.frees_why.is_some() {
            return 0;
        }
        // Calls of the last round are judged at the next one (they may be closes). A deferred close waits for
        // release frames that may never come (another task holds the file): it does not hold the wait.
        self.life.awaiting_frees().max(usize::from(!self.waiting.is_empty()))
    }

    fn free_probes_missing(&mut self, why: Vec<String>) {
        self.life.frees_partial.extend(why);
    }

    fn round(&mut self) {
        self.round_done();
    }
}

impl Pipeline<'_> {
    fn boundary(&mut self, events: Vec<RawEvent>) {
        for e in &events {
            self.threads.saw(e);
            if e.kind == crate::probes::boundary::EvKind::SW_FORK.0 {
                self.life.forked(e.tgid, e.other, e.ts_ns);
            }
            if e.kind == crate::probes::boundary::EvKind::SW_STATE.0 {
                self.life.state(crate::model::state_change(e, self.names));
                continue;
            }
            self.pairer.push(e, self.names, &mut self.done);
        }
    }

    fn chain(&mut self, events: Vec<RawChainEvent>) {
        if let Some(j) = &self.chain {
            let n = self.live.as_ref().unwrap_or(self.names);
            self.frames.push(&events, j.plan, j.probe, n);
        }
    }

    /// The end of a poll round: the previous round's calls judged, the windows pruned.
    fn round_done(&mut self) {
        // The calls of the previous round are judged now, with every call that could have overlapped them known
        // (the other threads' calls that completed this round included); this round's get their frames.
        let previous = std::mem::take(&mut self.waiting);
        self.settle();
        let mut still = Vec::new();
        for c in std::mem::take(&mut self.deferred).into_iter().chain(previous) {
            if self.late_ready(&c) {
                self.judge(c);
            } else {
                still.push(c);
            }
        }
        self.deferred = still;
        // No call judged from now on began before the oldest call still waiting or open (or, with none of those,
        // before the last event seen): uses of the fd tables that ended earlier can go. Only socket() calls are
        // judged against the window; an open one older than STALE_NS (its exit lost, or blocked) does not hold it.
        let now = self.threads.last_ts.unwrap_or(0);
        let watermark = self
            .waiting
            .iter()
            .filter(|c| syscalls::of(c).is_some_and(|s| s.uses_fd_window()))
            .filter_map(|c| c.enter_ns)
            .chain(self.pairer.oldest_open_where(
                |name| syscalls::by_name(name).is_some_and(|s| s.uses_fd_window()),
                now,
                STALE_NS,
            ))
            .chain(self.threads.last_ts)
            .min();
        if let Some(w) = watermark {
            self.tables.prune(w);
        }
        // The connection tracker: every call not yet judged (waiting, deferred, open) entered after this.
        let oldest = self
            .waiting
            .iter()
            .chain(&self.deferred)
            .filter_map(|c| c.enter_ns)
            .chain(self.pairer.oldest_open(now, STALE_NS))
            .chain(self.threads.last_ts)
            .min();
        if let Some(w) = oldest {
            self.life.prune(w);
        }
        // A thread's frames older than its open call — or, with none open, than the events already seen (less a
        // margin for the small disorder between CPUs) — belong to no call that can still complete.
        self.threads.prune(now, STALE_NS);
        let (pairer, seen) = (&self.pairer, now.saturating_sub(FRAME_MARGIN_NS));
        self.frames.prune(|tid| Some(pairer.open_enter(tid).unwrap_or(seen)));
    }
}

/// Property tests of everything that decodes bytes from the kernel or text from the user: random and mutated
/// input never panics, never allocates without bound, and what does not decode is counted.
#[cfg(test)]
mod property {
    use super::*;
    use crate::probes::boundary::{self, EvKind};
    use crate::probes::chain::{decode_record, ChKind, FnPlan};

    /// xorshift64*: deterministic, so a failure reproduces.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next() as u8).collect()
        }
    }

    fn plan() -> Vec<FnPlan> {
        let mut p = crate::fixtures::plan_of(&["__sys_socket", "sock_alloc", "fd_install"]);
        for f in p.iter_mut() {
            f.params = Some(vec![("sock".into(), "struct socket *".into())]);
            f.ret = Some("int".into());
        }
        p
    }

    #[test]
    fn random_boundary_and_chain_events_never_panic_and_memory_stays_bounded() {
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let names = Namer::default();
        let plan = plan();
        let sigs = vec![crate::syscalls::spec("socket").expect("socket").signature()];
        let judge = ChainJudge { plan: &plan, probe: "fentry/fexit", families: &[], budget: false };
        let mut s = Pipeline::new(&names, sigs, Some(judge), 50);
        s.attached(vec![], None);
        let size = std::mem::size_of::<RawEvent>();
        let mut decoded = 0;
        for round in 0..400 {
            let mut evs = Vec::new();
            for _ in 0..20 {
                // Random bytes of every length around an event's size: short ones are refused, not misread.
                let n = size + (rng.next() % 16) as usize - 8;
                let b = rng.bytes(n);
                match boundary::decode(&b) {
                    Ok(mut e) => {
                        decoded += 1;
                        // Mostly plausible kinds and a few threads, so calls really pair.
                        e.kind = [EvKind::SW_ENTER.0, EvKind::SW_EXIT.0, e.kind][(rng.next() % 3) as usize];
                        e.tid = (rng.next() % 4) as u32;
                        e.nr = if rng.next() % 2 == 0 { 41 } else { e.nr };
                        e.ts_ns = round * 1000 + rng.next() % 1000;
                        evs.push(e);
                    }
                    Err(_) => assert!(n < size, "an event-sized record must decode"),
                }
            }
            s.boundary(evs);
            let mut cevs: Vec<RawChainEvent> = Vec::new();
            for _ in 0..10 {
                let b = rng.bytes(std::mem::size_of::<RawChainEvent>());
                let mut e = RawChainEvent::default();
                plain::copy_from_bytes(&mut e, &b).expect("sized");
                e.kind = if rng.next() % 2 == 0 { ChKind::SW_CH_ENTRY.0 } else { ChKind::SW_CH_EXIT.0 };
                e.slot = (rng.next() % 5) as u32;
                e.tid = (rng.next() % 4) as u32;
                e.ts_ns = round * 1000 + rng.next() % 1000;
                cevs.push(e);
            }
            s.chain(cevs);
            s.round();
        }
        s.finish();
        assert!(decoded > 1000, "the test fed real events: {decoded}");
        assert!(
            s.out.calls.len() <= 2 * 50 + keep::REFUTED_KEPT,
            "kept {} calls in full (socket + other)",
            s.out.calls.len()
        );
        assert!(s.out.totals.calls > 100, "calls were paired and counted: {}", s.out.totals.calls);
    }

    #[test]
    fn random_and_cut_chain_records_decode_or_are_counted_as_malformed() {
        let mut rng = Rng(0xdead_beef_0000_0042);
        let hdr = std::mem::offset_of!(crate::probes::intf::sw_chain_rec, arena);
        let mut malformed = 0;
        for i in 0..5000 {
            let len = hdr + (rng.next() % 4096) as usize;
            let mut b = rng.bytes(len);
            if i % 2 == 0 {
                // A header that claims a plausible size and item count, then random items.
                let used = (b.len() - hdr) as u32;
                b[8..12].copy_from_slice(&used.to_ne_bytes());
                b[12..16].copy_from_slice(&((rng.next() % 8) as u32).to_ne_bytes());
            }
            let cut = (rng.next() as usize) % (b.len() + 1);
            let d = decode_record(&b[..cut]);
            malformed += usize::from(d.malformed);
            assert!(d.events.len() <= 4096, "no more items than bytes could hold");
        }
        assert!(malformed > 1000, "random records are reported malformed, not misread: {malformed}");
    }

    #[test]
    fn random_chain_files_are_usage_errors_never_panics() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        let ks = crate::machine::kallsyms::Kallsyms::parse("ffffffff81000000 T __sys_socket\n", "fixture");
        let pieces = ["functions", "=", "[", "]", "{", "}", "\"", "name", "snapshot", "__sys_socket", ",", "\n", "x"];
        for _ in 0..3000 {
            let n = (rng.next() % 20) as usize;
            let text: String = (0..n)
                .map(|_| {
                    if rng.next() % 5 == 0 {
                        String::from_utf8_lossy(&rng.bytes(3)).into_owned()
                    } else {
                        pieces[(rng.next() as usize) % pieces.len()].to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            if let Err(e) = crate::probes::chain::spec::parse(&text, "random.toml", None, &ks) {
                assert_eq!(e.kind, crate::error::Kind::Usage, "{text:?}: {e}");
            }
        }
    }
}

/// How many calls per second the streaming judge handles, events fed from memory (a benchmark, not a test:
/// `cargo test --release --lib judge_throughput -- --ignored --nocapture`).
#[cfg(test)]
mod throughput {
    use super::*;
    use crate::probes::boundary::{EvKind, Walked};

    #[test]
    #[ignore]
    fn judge_throughput() {
        let names = crate::commands::namer();
        let sigs = vec![
            crate::syscalls::spec("socket").expect("socket").signature(),
            crate::syscalls::spec("close").expect("close").signature(),
        ];
        let mut s = Pipeline::new(&names, sigs, None, 200);
        let pairs = 200_000u64;
        let mut events = Vec::with_capacity(4 * pairs as usize);
        for i in 0..pairs {
            let t = i * 1000;
            let mut e = RawEvent { tgid: 7, tid: 7, nr: 41, walk_fd: -1, ..Default::default() };
            e.args[..3].copy_from_slice(&[2, 1, 0]);
            e.walked = Walked::SW_W_FDT.0;
            e.fdt.max_fds = 64;
            e.fdt.open_fds[0] = 0b111;
            e.fdt.files_users = 1;
            let enter = RawEvent { kind: EvKind::SW_ENTER.0, ts_ns: t, ..e };
            let mut exit = RawEvent { kind: EvKind::SW_EXIT.0, ts_ns: t + 300, ret: 3, walk_fd: 3, ..e };
            exit.fdt.open_fds[0] = 0b1111;
            let cl_in = RawEvent { kind: EvKind::SW_ENTER.0, nr: 3, ts_ns: t + 500, ..e };
            let cl_out = RawEvent { kind: EvKind::SW_EXIT.0, nr: 3, ts_ns: t + 600, ..e };
            events.extend([enter, exit, cl_in, cl_out]);
        }
        let t0 = std::time::Instant::now();
        for chunk in events.chunks(512) {
            s.boundary(chunk.to_vec());
            s.round();
        }
        s.finish();
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(s.out.totals.calls, 2 * pairs);
        println!("judged {} calls in {secs:.2} s: {:.0} calls/s", s.out.totals.calls, s.out.totals.calls as f64 / secs);
    }
}
