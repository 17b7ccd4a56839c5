//! Lab tier: `syswalk lab` boots stock Debian kernels (6.1 and 6.12) under QEMU and runs commands inside.
//! Needs root (virtiofsd), qemu-system-x86, busybox-static and the Debian mirror (scripts/setup.sh); kernels are
//! fetched into the cache on first use.
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "lab tests run virtiofsd and BPF in the guest: run them as root");
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_syswalk")
}

fn lab(kernel: &str, extra: &[&str], cmd: &[&str]) -> Output {
    let mut c = Command::new(bin());
    c.args(["lab", "run", "--kernel", kernel]).args(extra).arg("--").args(cmd);
    c.stdin(Stdio::null()).output().expect("run syswalk lab")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn runs_a_command_on_6_1_and_passes_exit_codes_through() {
    let _g = lock();
    let o = lab("6.1", &[], &["uname", "-r"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    let rel = text(&o.stdout);
    assert!(rel.trim().starts_with("6.1.0-") && rel.trim().ends_with("-cloud-amd64"), "{rel:?}");
    for code in [0, 3, 42] {
        let o = lab("6.1", &[], &["sh", "-c", &format!("echo out; echo err >&2; exit {code}")]);
        assert_eq!(o.status.code(), Some(code), "stderr: {}", text(&o.stderr));
        assert_eq!(text(&o.stdout), "out\n", "stdout streamed apart from stderr");
        assert!(text(&o.stderr).contains("err\n"));
    }
}

#[test]
fn guest_writes_do_not_reach_the_host() {
    let _g = lock();
    let marker = format!("/etc/syswalk-lab-marker-{}", std::process::id());
    let o = lab("6.1", &[], &["sh", "-c", &format!("echo x > {marker} && cat {marker}")]);
    assert_eq!(o.status.code(), Some(0), "the guest can write (tmpfs overlay): {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "x\n");
    assert!(!std::path::Path::new(&marker).exists(), "{marker} leaked to the host");
}

#[test]
fn a_panicking_guest_is_an_error_not_a_hang() {
    let _g = lock();
    let t0 = std::time::Instant::now();
    let o = lab("6.1", &["--timeout", "60"], &["sh", "-c", "echo c > /proc/sysrq-trigger"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(40), "{err}");
    assert!(err.contains("panicked"), "{err}");
    assert!(err.contains("sysrq") || err.contains("SysRq"), "console tail shown: {err}");
    assert!(t0.elapsed().as_secs() < 60);
}

#[test]
fn a_hanging_command_times_out() {
    let _g = lock();
    let o = lab("6.1", &["--timeout", "8"], &["sleep", "100"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(40), "{err}");
    assert!(err.contains("did not finish within 8 s"), "{err}");
}

fn caps_in(kernel: &str) -> Value {
    let o = lab(kernel, &[], &[bin(), "caps", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("caps json")
}

#[test]
fn fentry_loads_and_fires_on_both_stock_kernels() {
    let _g = lock();
    for k in ["6.1", "6.12"] {
        let c = caps_in(k);
        assert!(c["kernel_release"].as_str().unwrap_or("").starts_with(k), "{k}: {}", c["kernel_release"]);
        let fentry = c["checks"].as_array().and_then(|a| a.iter().find(|x| x["name"] == "fentry")).cloned().expect("fentry");
        assert_eq!(fentry["ok"], true, "{k}: {fentry}");
        assert!(fentry["detail"].as_str().unwrap_or("").contains("fired"), "{k}: {fentry}");
        assert_eq!(c["tier"], "A", "{k}");
    }
}

#[test]
fn prove_on_stock_kernels_names_data_symbols() {
    let _g = lock();
    for k in ["6.1", "6.12"] {
        let o = lab(k, &[], &[bin(), "prove", "-q", "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{k}: {}", text(&o.stderr));
        let r: Value = serde_json::from_slice(&o.stdout).expect("json");
        let c = &r["calls"][0];
        assert_eq!(c["ret"], 3, "{k}");
        assert_eq!(c["after"]["socket"]["ops"]["symbol"], "inet_stream_ops", "{k}");
        assert_eq!(c["after"]["sock"]["sk_prot"]["symbol"], "tcp_prot", "{k}");
        assert_eq!(c["after"]["file"]["f_op"]["symbol"], "socket_file_ops", "{k}");
        assert_eq!(r["summary"]["refuted"], 0, "{k}");
        assert_eq!(r["summary"]["proved"], 9, "{k}");
    }
}
