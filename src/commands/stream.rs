//! The run judged as it arrives: events are paired into calls, a call gets its chain frames, is judged one poll
//! round after it completed (so calls of other threads that overlapped it are known) and is then counted; only a
//! bounded number of calls keep their full evidence. Memory depends on how many threads run at once and on
//! `--keep-calls`, not on how long the run is; the work per call is constant.
use crate::claims::{Claim, Verdict};
use crate::machine::kallsyms::Sym;
use crate::model::frame::FrameQueue;
use crate::model::{Call, Namer, Pairer, Signature};
use crate::probes::boundary::RawEvent;
use crate::probes::chain::{FamilyRow, FnPlan, RawChainEvent};
use crate::probes::session::Sink;
use crate::report::Totals;
use crate::syscalls::socket;

/// Calls with a refuted claim keep their full evidence even past `--keep-calls`, up to this many.
const REFUTED_KEPT: usize = 100;

/// What the function-level chain needs to be judged.
pub struct ChainJudge<'a> {
    pub plan: &'a [FnPlan],
    pub probe: &'static str,
    pub families: &'a [FamilyRow],
    /// `--chain-calls N`: calls past the budget were counted, not streamed: they have no chain to judge.
    pub budget: bool,
}

pub struct Stream<'a> {
    names: &'a Namer,
    /// `names` with the BPF trampolines that exist while tracing (return addresses inside them are named so).
    live: Option<Namer>,
    chain: Option<ChainJudge<'a>>,
    pairer: Pairer,
    frames: FrameQueue,
    tables: socket::claims::SharedTables,
    /// Completed in the current round; their frames arrive by its end.
    done: Vec<Call>,
    /// Completed in the previous round: judged at the end of this one.
    waiting: Vec<Call>,
    keep: usize,
    refuted_kept: usize,
    /// The latest event time seen.
    last_ts: Option<u64>,
    pub kept: Vec<Call>,
    pub claims: Vec<Claim>,
    pub totals: Totals,
    /// The chain root's outermost calls received in full, and socket() calls seen (for `chain.counts_complete`).
    pub root_full: usize,
    pub socket_calls: usize,
}

impl<'a> Stream<'a> {
    /// `keep`: calls that keep their full evidence (0: every one).
    pub fn new(names: &'a Namer, sigs: Vec<Signature>, chain: Option<ChainJudge<'a>>, keep: usize) -> Self {
        Stream {
            names,
            live: None,
            chain,
            pairer: Pairer::new(sigs),
            frames: FrameQueue::default(),
            tables: Default::default(),
            done: Vec::new(),
            waiting: Vec::new(),
            keep: if keep == 0 { usize::MAX } else { keep },
            refuted_kept: 0,
            last_ts: None,
            kept: Vec::new(),
            claims: Vec::new(),
            totals: Totals::default(),
            root_full: 0,
            socket_calls: 0,
        }
    }

    /// The calls that completed: their frames, and a place in the fd-table window.
    fn settle(&mut self) {
        for mut c in std::mem::take(&mut self.done) {
            if self.chain.is_some() {
                c.chain = self.frames.take_for(&c);
            }
            self.tables.add(&c);
            self.waiting.push(c);
        }
    }

    fn judge_waiting(&mut self) {
        for c in std::mem::take(&mut self.waiting) {
            self.judge(c);
        }
    }

    fn judge(&mut self, c: Call) {
        let mut claims = Vec::new();
        if c.syscall == "socket" {
            self.socket_calls += 1;
            claims.extend(socket::claims::judge_socket_in(&c, &self.tables, self.names));
            if let Some(j) = &self.chain {
                self.root_full += crate::claims::budget::root_calls(&c, j.plan);
                if c.ret.is_some_and(|r| r >= 0) && !(j.budget && c.chain.is_empty()) {
                    let fam = c.args.first().map(|a| a.value.raw).unwrap_or(-1);
                    let create = j
                        .families
                        .iter()
                        .find(|(i, _, _)| *i as i64 == fam)
                        .and_then(|(_, _, cr)| self.names.kallsyms.symbolize(*cr));
                    claims.extend(socket::chain::judge(&c, create.as_deref(), j.plan));
                }
            }
        }
        self.totals.count_call(&c);
        for k in &claims {
            self.totals.count_claim(k);
        }
        let refuted = claims.iter().any(|k| k.verdict == Verdict::Refuted);
        if self.kept.len() < self.keep || (refuted && self.refuted_kept < REFUTED_KEPT) {
            self.refuted_kept += usize::from(refuted && self.kept.len() >= self.keep);
            self.kept.push(c);
            self.claims.extend(claims);
        }
    }

    /// After the last round: calls still open are judged as they are; the kept ones in call order.
    pub fn finish(&mut self) {
        self.settle();
        self.done = self.pairer.finish();
        self.settle();
        self.judge_waiting();
        self.kept.sort_by_key(|c| c.seq);
        self.totals.calls_in_full = self.kept.len() as u64;
    }
}

impl Sink for Stream<'_> {
    fn attached(&mut self, bpf_syms: Vec<Sym>) {
        if self.chain.is_some() {
            let mut ks = self.names.kallsyms.clone();
            ks.extend(bpf_syms);
            self.live = Some(Namer { kallsyms: ks, btf: self.names.btf.clone(), ..Default::default() });
        }
    }

    fn boundary(&mut self, events: Vec<RawEvent>) {
        for e in &events {
            self.last_ts = self.last_ts.max(Some(e.ts_ns));
            self.pairer.push(e, self.names, &mut self.done);
        }
    }

    fn chain(&mut self, events: Vec<RawChainEvent>) {
        if let Some(j) = &self.chain {
            let n = self.live.as_ref().unwrap_or(self.names);
            self.frames.push(&events, j.plan, j.probe, n);
        }
    }

    fn round(&mut self) {
        // The calls of the previous round are judged now, with every call that could have overlapped them known
        // (the other threads' calls that completed this round included); this round's get their frames.
        let previous = std::mem::take(&mut self.waiting);
        self.settle();
        for c in previous {
            self.judge(c);
        }
        // No call judged from now on began before the oldest call still waiting or open (or, with none of those,
        // before the last event seen): uses of the fd tables that ended earlier can go.
        let watermark =
            self.waiting.iter().filter_map(|c| c.enter_ns).chain(self.pairer.oldest_open()).chain(self.last_ts).min();
        if let Some(w) = watermark {
            self.tables.prune(w);
        }
    }
}
