//! `syswalk caps`: what this kernel lets syswalk observe. Every attach type is tried for real (load + attach of an
//! empty program); nothing is inferred from version numbers or config files.
use std::mem::MaybeUninit;

use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{OpenObject, UprobeOpts};
use serde::Serialize;

use crate::error::{Error, Kind, Result};

use crate::machine::btf;
use crate::machine::kallsyms::Kallsyms;

#[allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::unwrap_used,
    unused_imports,
    dead_code,
    non_camel_case_types
)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/caps.skel.rs"));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Tier {
    /// fentry/fexit (BPF trampolines): the function-level chain with typed arguments.
    A,
    /// kprobe/kretprobe.
    B,
    /// Syscall boundary: tp_btf sys_enter/sys_exit plus CO-RE struct walks.
    C,
}

impl std::fmt::Display for Tier {
    /// The letter: A, B or C.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl Tier {
    pub fn describe(self) -> &'static str {
        match self {
            Tier::A => "A (fentry/fexit)",
            Tier::B => "B (kprobe/kretprobe)",
            Tier::C => "C (syscall boundary: tp_btf + CO-RE struct walk)",
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Caps {
    pub kernel_release: String,
    pub machine: String,
    pub checks: Vec<Check>,
    pub tier: Option<Tier>,
    pub tier_reason: String,
}

impl Caps {
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
    /// Why the function-level chain is not observable here (None when it is).
    pub fn chain_unavailable_reason(&self) -> Option<String> {
        if matches!(self.tier, Some(Tier::A) | Some(Tier::B)) {
            return None;
        }
        let d = |n: &str| self.get(n).map(|c| c.detail.clone()).unwrap_or_else(|| "not tried".into());
        Some(format!(
            "the function-level chain needs fentry or kprobes; on this kernel fentry: {}; kprobe: {}",
            d("fentry"),
            d("kprobe")
        ))
    }
}

/// Effective capabilities from /proc/self/status.
pub fn cap_eff() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("CapEff:").map(|v| u64::from_str_radix(v.trim(), 16).ok())))
        .flatten()
        .unwrap_or(0)
}

pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;

/// Whether this process may load tracing BPF programs: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON.
pub fn has_bpf_caps() -> bool {
    let c = cap_eff();
    let has = |b: u32| c >> b & 1 == 1;
    has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))
}

#[no_mangle]
#[inline(never)]
pub extern "C" fn syswalk_uprobe_target() -> u64 {
    std::hint::black_box(41)
}

/// Loads, attaches and fires one program; returns how often it fired.
fn try_prog(which: &str) -> Result<u64> {
    let mut obj = MaybeUninit::<OpenObject>::uninit();
    let mut open = skel::ProbeSkelBuilder::default()
        .open(&mut obj)
        .map_err(|e| Error::with_source(Kind::Bpf, format!("open failed: {e}"), e))?;
    {
        let p = &mut open.progs;
        for (name, prog) in [
            ("fentry", &mut p.cap_fentry),
            ("fexit", &mut p.cap_fexit),
            ("kprobe", &mut p.cap_kprobe),
            ("kretprobe", &mut p.cap_kretprobe),
            ("tp_btf", &mut p.cap_tp_btf),
            ("raw_tp", &mut p.cap_raw_tp),
            ("uprobe", &mut p.cap_uprobe),
        ] {
            prog.set_autoload(name == which);
        }
    }
    let skel =
        open.load().map_err(|e| Error::with_source(Kind::Bpf, format!("BPF_PROG_LOAD failed: {}", short(&e)), e))?;
    let p = &skel.progs;
    let link = match which {
        "fentry" => p.cap_fentry.attach(),
        "fexit" => p.cap_fexit.attach(),
        "kprobe" => p.cap_kprobe.attach_kprobe(false, "__sys_socket"),
        "kretprobe" => p.cap_kretprobe.attach_kprobe(true, "__sys_socket"),
        "tp_btf" => p.cap_tp_btf.attach(),
        "raw_tp" => p.cap_raw_tp.attach_raw_tracepoint("sys_enter"),
        "uprobe" => {
            std::hint::black_box(syswalk_uprobe_target());
            p.cap_uprobe.attach_uprobe_with_opts(
                -1,
                "/proc/self/exe",
                0,
                UprobeOpts { func_name: Some("syswalk_uprobe_target".into()), ..Default::default() },
            )
        }
        _ => return Err(Error::new(Kind::Bpf, "unknown attach type")),
    };
    let link = link.map_err(|e| Error::with_source(Kind::Bpf, format!("attach failed: {}", short(&e)), e))?;
    // Make the event happen: socket() (for the kernel-side probes) and a call of the uprobe target.
    for _ in 0..3 {
        // SAFETY: socket/close take plain ints; the fd is closed at once.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
            if fd >= 0 {
                libc::close(fd);
            }
        }
        std::hint::black_box(syswalk_uprobe_target());
    }
    use skel::types::cap_kind as K;
    let idx = match which {
        "fentry" => K::CAP_FENTRY,
        "fexit" => K::CAP_FEXIT,
        "kprobe" => K::CAP_KPROBE,
        "kretprobe" => K::CAP_KRETPROBE,
        "tp_btf" => K::CAP_TP_BTF,
        "raw_tp" => K::CAP_RAW_TP,
        _ => K::CAP_UPROBE,
    }
    .0 as usize;
    // Detach first: the count is read once the program can no longer run, so it is final.
    drop(link);
    let n = skel
        .maps
        .bss_data
        .as_deref()
        // Volatile: the kernel wrote the counter behind the compiler's back.
        // SAFETY: `b` points into the mmapped .bss, which lives as long as `skel`; `idx` < CAP_N by construction.
        .map(|b| unsafe { std::ptr::read_volatile(&b.hits[idx]) })
        .unwrap_or(0);
    if n == 0 {
        return Err(Error::new(Kind::Bpf, "attached, but never fired when its event happened"));
    }
    Ok(n)
}

fn short(e: &libbpf_rs::Error) -> String {
    let s = format!("{e:#}");
    let errno = [
        ("Operation not permitted", "EPERM"),
        ("No such file or directory", "ENOENT"),
        ("Operation not supported", "EOPNOTSUPP"),
        ("Invalid argument", "EINVAL"),
        ("Permission denied", "EACCES"),
        ("Device or resource busy", "EBUSY"),
        ("No such process", "ESRCH"),
    ]
    .iter()
    .find(|(t, _)| s.contains(t))
    .map(|(_, n)| *n);
    match errno {
        Some(n) => format!("{n} ({s})"),
        None => s,
    }
}

/// One attach type tried for real (or skipped with the reason when the kernel lacks BTF it needs).
fn attach_check(which: &str, possible: bool) -> Check {
    let r = if possible { try_prog(which) } else { Err(Error::new(Kind::Bpf, "needs kernel BTF")) };
    Check {
        name: which.into(),
        ok: r.is_ok(),
        detail: match r {
            Ok(n) => format!("loaded, attached, fired {n}× when triggered"),
            Err(e) => e.message,
        },
    }
}

/// The attach types the function-level chain could use (fentry, kprobe), tried for real: what `prove` needs to say
/// whether the chain is observable, without the full `caps` survey.
pub fn probe_chain() -> Caps {
    let (release, machine) = crate::machine::uname();
    let mut checks = Vec::new();
    for which in ["fentry", "kprobe"] {
        checks.push(attach_check(which, true));
    }
    let ok = |n: &str| checks.iter().any(|c| c.name == n && c.ok);
    let (tier, tier_reason) = if ok("fentry") {
        (Some(Tier::A), "fentry loads and attaches".to_string())
    } else if ok("kprobe") {
        (Some(Tier::B), "fentry unavailable; kprobe attaches".to_string())
    } else {
        (Some(Tier::C), "fentry and kprobes unavailable; tp_btf attaches".to_string())
    };
    Caps { kernel_release: release, machine, checks, tier, tier_reason }
}

/// Runs every check. Takes well under a second.
pub fn probe() -> Caps {
    let (release, machine) = crate::machine::uname();
    let mut checks = Vec::new();
    let c = cap_eff();
    let has = |b: u32| c >> b & 1 == 1;
    checks.push(Check {
        name: "privileges".into(),
        ok: has_bpf_caps(),
        detail: format!(
            "euid {}; CapEff {c:#x}: CAP_SYS_ADMIN {}, CAP_BPF {}, CAP_PERFMON {}",
            // SAFETY: geteuid has no preconditions.
            unsafe { libc::geteuid() },
            has(CAP_SYS_ADMIN),
            has(CAP_BPF),
            has(CAP_PERFMON)
        ),
    });
    let btf_path = btf::vmlinux_path();
    let btf_ok = match std::fs::metadata(&btf_path) {
        Ok(m) => Check { name: "btf".into(), ok: true, detail: format!("{btf_path} ({} bytes)", m.len()) },
        Err(e) => Check { name: "btf".into(), ok: false, detail: format!("{btf_path}: {e}") },
    };
    let have_btf = btf_ok.ok;
    checks.push(btf_ok);
    for which in ["fentry", "fexit", "kprobe", "kretprobe", "tp_btf", "raw_tp", "uprobe"] {
        let needs_btf = matches!(which, "fentry" | "fexit" | "tp_btf");
        checks.push(attach_check(which, have_btf || !needs_btf));
    }
    let fs = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let tracefs_mounted = mounts.lines().any(|l| l.split_whitespace().nth(2) == Some("tracefs"));
    checks.push(Check {
        name: "tracefs".into(),
        ok: tracefs_mounted,
        detail: if tracefs_mounted {
            "mounted".into()
        } else if fs.contains("tracefs") {
            "supported by the kernel but not mounted (mount -t tracefs nodev /sys/kernel/tracing)".into()
        } else {
            "not supported by this kernel".into()
        },
    });
    let ftrace = std::fs::read_to_string("/sys/kernel/tracing/available_tracers");
    // What the function-level oracle (ftrace's function_graph tracer) needs; the check is named for it.
    let graph = ftrace.as_ref().is_ok_and(|t| t.split_whitespace().any(|x| x == "function_graph"));
    checks.push(Check {
        name: "function_graph".into(),
        ok: graph,
        detail: match ftrace {
            Ok(t) if graph => format!("in available_tracers ({})", t.trim()),
            Ok(t) => format!("not in available_tracers ({}): no ftrace oracle for the chain here", t.trim()),
            Err(e) => format!("/sys/kernel/tracing/available_tracers: {e}"),
        },
    });
    let ks = Kallsyms::load();
    checks.push(match &ks {
        Ok(k) if k.addresses_visible() => Check {
            name: "kallsyms".into(),
            ok: true,
            detail: format!(
                "{} symbols, addresses visible; data symbols {} ({})",
                k.len(),
                k.data_symbol_count(),
                if k.has_data_symbols() {
                    "CONFIG_KALLSYMS_ALL-like: data objects named"
                } else {
                    "few: data objects such as inet_stream_ops are not named here, only text"
                }
            ),
        },
        Ok(k) => Check {
            name: "kallsyms".into(),
            ok: false,
            detail: format!("{} symbols but addresses hidden (kptr_restrict)", k.len()),
        },
        Err(e) => Check { name: "kallsyms".into(), ok: false, detail: e.to_string() },
    });
    let smap = format!("/boot/System.map-{release}");
    checks.push(Check {
        name: "system_map".into(),
        ok: std::path::Path::new(&smap).exists(),
        detail: if std::path::Path::new(&smap).exists() {
            smap
        } else {
            format!("{smap} absent: static addresses (KASLR offset) not observable")
        },
    });
    let ok = |n: &str| checks.iter().any(|c| c.name == n && c.ok);
    let (tier, tier_reason) = if ok("fentry") && ok("fexit") {
        (Some(Tier::A), "fentry and fexit load and attach".to_string())
    } else if ok("kprobe") && ok("kretprobe") {
        (Some(Tier::B), "fentry/fexit unavailable; kprobe and kretprobe attach".to_string())
    } else if ok("tp_btf") {
        (Some(Tier::C), "fentry/fexit and kprobes unavailable; tp_btf attaches".to_string())
    } else {
        (None, "no attach type syswalk uses works here (see the checks)".to_string())
    };
    Caps { kernel_release: release, machine, checks, tier, tier_reason }
}
