//! What the pipeline knows of time and threads from the boundary events: the latest event time, the ring's loss
//! count, and per thread when its recent calls entered and when its latest call returned — bounded, and pruned of
//! threads gone quiet.
use std::collections::{HashMap, VecDeque};

use crate::probes::boundary::{EvKind, RawEvent};

/// Entry times kept per thread, to bound a close()'s late release frames by the thread's next call.
const ENTERS_KEPT: usize = 256;

#[derive(Default)]
pub struct Threads {
    /// The latest event time seen.
    pub last_ts: Option<u64>,
    /// The boundary's loss count carried by the latest events (0 while nothing was lost).
    pub lost_seen: u64,
    /// Per thread, when its latest traced call returned.
    last_exit: HashMap<u32, u64>,
    /// Per thread, when its recent calls entered (at most ENTERS_KEPT).
    enters: HashMap<u32, VecDeque<u64>>,
}

impl Threads {
    pub fn saw(&mut self, e: &RawEvent) {
        self.last_ts = self.last_ts.max(Some(e.ts_ns));
        self.lost_seen = self.lost_seen.max(e.lost_seen);
        if e.kind == EvKind::SW_EXIT.0 {
            self.last_exit.insert(e.tid, e.ts_ns);
        }
        if e.kind == EvKind::SW_ENTER.0 {
            let q = self.enters.entry(e.tid).or_default();
            if q.len() >= ENTERS_KEPT {
                q.pop_front();
            }
            q.push_back(e.ts_ns);
        }
    }

    /// When thread `tid` next entered a call after `t` (u64::MAX if it has not yet).
    pub fn next_enter(&self, tid: u32, t: u64) -> u64 {
        self.enters.get(&tid).and_then(|q| q.iter().find(|x| **x > t).copied()).unwrap_or(u64::MAX)
    }

    /// Whether thread `tid` returned from a traced call after `t`.
    pub fn returned_since(&self, tid: u32, t: u64) -> bool {
        self.last_exit.get(&tid).is_some_and(|x| *x > t)
    }

    /// Forgets threads quiet for more than `stale_ns` before `now`.
    pub fn prune(&mut self, now: u64, stale_ns: u64) {
        self.enters.retain(|_, q| q.back().is_some_and(|t| now.saturating_sub(*t) <= stale_ns));
        self.last_exit.retain(|_, t| now.saturating_sub(*t) <= stale_ns);
    }
}
