//! What syswalk's own BPF programs cost the traced kernel, measured by the kernel itself.
//!
//! For every loaded program the kernel keeps, in the program's fdinfo (`/proc/self/fdinfo/FD`):
//! - `recursion_misses`: how often the program was *not* run because it was already running on that CPU (a traced
//!   function called again from an interrupt while its program ran). Always counted. Each miss is an entry or exit
//!   syswalk never saw, so it is reported as lost, never hidden.
//! - `run_cnt` / `run_time_ns`: how often it ran and for how long — counted only while BPF run-time statistics are on
//!   (`--bpf-stats`: syswalk holds a `BPF_ENABLE_STATS` fd for the session; the kernel turns them off when it closes,
//!   so nothing stays changed).
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use serde::Serialize;

use crate::error::{Error, Kind, Result};

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ProgCost {
    pub name: String,
    /// Times the program ran (0 unless run-time statistics were on).
    pub runs: u64,
    /// Nanoseconds spent in the program, trampoline/kprobe dispatch not included.
    pub run_ns: u64,
    /// Times it was skipped because it was already running on that CPU: events lost.
    pub recursion_misses: u64,
}

/// The fields of one BPF program's fdinfo text; None for a text that is not a BPF program's.
pub fn parse_fdinfo(text: &str) -> Option<(u64, u64, u64)> {
    let mut prog = false;
    let (mut runs, mut ns, mut miss) = (0, 0, 0);
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let v = v.trim();
        match k.trim() {
            "prog_type" => prog = true,
            "run_cnt" => runs = v.parse().ok()?,
            "run_time_ns" => ns = v.parse().ok()?,
            "recursion_misses" => miss = v.parse().ok()?,
            _ => {}
        }
    }
    prog.then_some((runs, ns, miss))
}

/// The cost of every loaded program of `obj` (programs not loaded — unused slots — are skipped).
pub fn read(obj: &libbpf_rs::Object) -> Vec<ProgCost> {
    let mut out = Vec::new();
    for p in obj.progs() {
        if !p.autoload() {
            continue;
        }
        let fd = p.as_fd().as_raw_fd();
        let Ok(text) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else { continue };
        if let Some((runs, run_ns, recursion_misses)) = parse_fdinfo(&text) {
            out.push(ProgCost { name: p.name().to_string_lossy().into_owned(), runs, run_ns, recursion_misses });
        }
    }
    out
}

/// BPF run-time statistics, on while this value lives (the kernel turns them off when the last such fd closes).
pub struct RunTimeStats(#[allow(dead_code)] OwnedFd);

pub fn enable_run_time_stats() -> Result<RunTimeStats> {
    // SAFETY: bpf_enable_stats takes a plain enum value and returns a new fd or a negative errno; no pointers.
    let fd = unsafe { libbpf_rs::libbpf_sys::bpf_enable_stats(libbpf_rs::libbpf_sys::BPF_STATS_RUN_TIME) };
    if fd < 0 {
        return Err(Error::new(Kind::Bpf, format!("the kernel refused to turn on BPF run-time statistics (BPF_ENABLE_STATS: {})", std::io::Error::from_raw_os_error(-fd)))
            .hint("it needs Linux ≥ 5.8 and CAP_SYS_ADMIN; run without --bpf-stats, or set sysctl kernel.bpf_stats_enabled=1 yourself"));
    }
    // SAFETY: fd was just returned by the kernel and nothing else owns it.
    Ok(RunTimeStats(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Totals over programs: (runs, ns, recursion misses).
pub fn totals(c: &[ProgCost]) -> (u64, u64, u64) {
    c.iter().fold((0, 0, 0), |(a, b, m), p| (a + p.runs, b + p.run_ns, m + p.recursion_misses))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_of_a_program_gives_its_counters() {
        let t = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\nlink:\t0\nprog_type:\t26\nprog_jited:\t1\nprog_tag:\tb0f2\nmemlock:\t4096\nprog_id:\t32\nrun_time_ns:\t123456\nrun_cnt:\t42\nrecursion_misses:\t3\nverified_insns:\t99\n";
        assert_eq!(parse_fdinfo(t), Some((42, 123456, 3)));
    }

    #[test]
    fn fdinfo_that_is_not_a_program_or_is_garbled_gives_nothing() {
        assert_eq!(parse_fdinfo("pos:\t0\nflags:\t02\nmap_type:\t2\n"), None);
        assert_eq!(parse_fdinfo("prog_type:\t26\nrun_cnt:\tlots\n"), None);
        // A kernel without run-time fields (older than 5.1) still names the program: zeros, not an error.
        assert_eq!(parse_fdinfo("prog_type:\t26\nprog_jited:\t1\n"), Some((0, 0, 0)));
    }

    #[test]
    fn totals_add_up() {
        let c = [
            ProgCost { name: "a".into(), runs: 2, run_ns: 10, recursion_misses: 1 },
            ProgCost { name: "b".into(), runs: 3, run_ns: 5, recursion_misses: 0 },
        ];
        assert_eq!(totals(&c), (5, 15, 1));
    }
}
