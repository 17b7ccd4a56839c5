//! What the host-tier test binaries share: one test at a time with a clean kernel, running syswalk, finding its
//! programs with bpftool, building the C targets.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod axioms;
pub mod perfetto;
pub mod svg;

static LOCK: Mutex<()> = Mutex::new(());

pub fn lock() -> MutexGuard<'static, ()> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "host-tier tests load BPF programs: run them as root (README: test command)");
    let g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    // Start from a kernel with none of syswalk's programs loaded (the previous test's are freed after an RCU
    // grace period); anything still there after that is a leak.
    let t0 = Instant::now();
    while !syswalk_progs().is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "syswalk programs still loaded before the test: {:?}",
            syswalk_progs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    g
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_syswalk")
}

pub fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).stdin(Stdio::null()).output().expect("run syswalk")
}

pub fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout={} stderr={}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// Names of loaded BPF programs that syswalk owns (sw_* tier-C programs, cap_* probe programs), from bpftool.
pub fn syswalk_progs() -> Vec<String> {
    let o =
        Command::new("bpftool").args(["prog", "list", "-j"]).output().expect("bpftool (scripts/setup.sh installs it)");
    assert!(o.status.success(), "bpftool failed: {}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).expect("bpftool json");
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["name"].as_str().map(String::from))
                .filter(|n| n.starts_with("sw_") || n.starts_with("cap_"))
                .collect()
        })
        .unwrap_or_default()
}

pub fn assert_nothing_left(before: &[String], what: &str) {
    // The kernel frees a program after its last fd closes and an RCU grace period: allow it a moment.
    let t0 = Instant::now();
    let mut after = syswalk_progs();
    while after.len() != before.len() && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
        after = syswalk_progs();
    }
    assert_eq!(after.len(), before.len(), "{what}: syswalk BPF programs left loaded: {after:?} (before: {before:?})");
}

pub fn cc(name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c").join(format!("{name}.c"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let fresh = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    if fresh(&out).is_some() && fresh(&out) >= fresh(&src) {
        return out; // already built (the lab tier reuses the host tier's build; cc is slow under TCG)
    }
    let st = Command::new("cc")
        .args(["-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc (gcc) is needed for test targets");
    assert!(st.success(), "compiling {}", src.display());
    out
}
