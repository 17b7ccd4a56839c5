//! What a run keeps of what it judged: every call and claim counted; the first `--keep-calls` calls of each syscall
//! (and calls with a refuted claim, up to `REFUTED_KEPT` more) with their full evidence; the rest counted only.
use std::collections::BTreeMap;

use crate::claims::{Claim, Verdict};
use crate::model::Call;
use crate::report::Totals;
use crate::syscalls::Syscall;

/// Calls with a refuted claim keep their full evidence even past `--keep-calls`, up to this many.
pub const REFUTED_KEPT: usize = 100;

pub struct Kept {
    /// Calls of each syscall that keep their full evidence.
    keep: usize,
    per: BTreeMap<String, u64>,
    refuted_kept: usize,
    /// tcp.states claims of ended lives kept with their evidence.
    finished_kept: usize,
    pub calls: Vec<Call>,
    pub claims: Vec<Claim>,
    pub totals: Totals,
    /// See `collect::Request::sockets_only`.
    pub sockets_only: bool,
    /// read/write/close calls on other files, counted apart (with `sockets_only`).
    pub socketless: u64,
}

impl Kept {
    /// `keep`: calls of each syscall that keep their full evidence (0: every one).
    pub fn new(keep: usize) -> Self {
        Kept {
            keep: if keep == 0 { usize::MAX } else { keep },
            per: BTreeMap::new(),
            refuted_kept: 0,
            finished_kept: 0,
            calls: Vec::new(),
            claims: Vec::new(),
            totals: Totals::default(),
            sockets_only: false,
            socketless: 0,
        }
    }

    /// A claim about a connection's life that ended: counted, and kept while the budget for full evidence lasts.
    pub fn finished(&mut self, k: Claim) {
        self.totals.count_claim(&k);
        if self.finished_kept < self.keep {
            self.finished_kept += 1;
            self.claims.push(k);
        }
    }

    /// A judged call (`imp`: its syscall's implementation, None for a number no traced syscall has) and its
    /// claims: counted, and kept in full within the budget. False when it was only counted as a call on a file
    /// that is not a socket.
    pub fn call(&mut self, c: Call, claims: Vec<Claim>, imp: Option<&dyn Syscall>) -> bool {
        self.totals.count_call(&c);
        for k in &claims {
            self.totals.count_claim(k);
        }
        // The first `keep` calls of each syscall (a shell's hundreds of close() calls must not crowd out the one
        // socket() that matters), and calls with a refutation up to REFUTED_KEPT more.
        let refuted = claims.iter().any(|k| k.verdict == Verdict::Refuted);
        // Calls of a number no traced syscall has (garbage from a damaged event) share one quota.
        let key = if imp.is_none() { "other" } else { c.syscall.as_str() };
        let n = self.per.get(key).copied().unwrap_or(0) as usize;
        // read/write/close of files that are not sockets (a program's own start-up) are counted, not shown.
        let socketless = imp.is_some_and(|s| s.any_file()) && c.before.socket.is_none() && c.after.socket.is_none();
        if self.sockets_only && socketless && claims.is_empty() {
            self.socketless += 1;
            return false;
        }
        if n < self.keep || (refuted && self.refuted_kept < REFUTED_KEPT) {
            self.refuted_kept += usize::from(refuted && n >= self.keep);
            crate::report::bump(&mut self.per, key);
            self.calls.push(c);
            self.claims.extend(claims);
        }
        true
    }

    /// The run's last claims (counted and kept), the kept calls in call order, the totals completed.
    pub fn close(&mut self, last: Vec<Claim>) {
        for k in &last {
            self.totals.count_claim(k);
        }
        self.claims.extend(last);
        self.calls.sort_by_key(|c| c.seq);
        self.totals.calls_in_full = self.calls.len() as u64;
        self.totals.other_files = self.socketless;
    }
}
