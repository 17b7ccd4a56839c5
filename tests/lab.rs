//! Lab tier: `syswalk lab` boots stock Debian kernels (6.1, 6.12 and 7.3) under QEMU and runs commands inside.
//! Needs root (virtiofsd), qemu-system-x86, busybox-static and the Debian mirror (scripts/setup.sh); kernels are
//! fetched into the cache on first use.
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

#[path = "common/axioms.rs"]
mod axioms;
#[path = "common/browser.rs"]
mod browser;
#[path = "common/perfetto.rs"]
mod perfetto;
#[path = "common/svg.rs"]
mod svg;

static LOCK: Mutex<()> = Mutex::new(());

/// Every known lab kernel (`syswalk lab kernels`): the oldest and newest Debian ships, and the one between.
const KERNELS: &[&str] = &["6.1", "6.12", "7.3"];

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

/// Builds tests/c/SRC into the test tmpdir as OUT (the guest sees the host's files).
fn cc(src: &str, out: &str, flags: &[&str]) -> std::path::PathBuf {
    let exe = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(out);
    let st = Command::new("cc")
        .arg("-O1")
        .args(flags)
        .arg("-o")
        .arg(&exe)
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c").join(src))
        .status()
        .expect("cc");
    assert!(st.success(), "compiling {src}");
    exe
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
    // The same kernel given by path (vmlinuz-<version>, modules from ../lib/modules/<version>).
    let home = std::env::var("SYSWALK_CACHE")
        .map(|c| format!("{c}/lab"))
        .unwrap_or_else(|_| format!("{}/.cache/syswalk/lab", std::env::var("HOME").unwrap_or_default()));
    let boot = std::path::Path::new(&home).join("kernels/6.1/boot");
    let image = std::fs::read_dir(&boot)
        .expect("6.1 fetched above")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("vmlinuz-"))
        .expect("vmlinuz");
    let o = lab(image.to_str().expect("utf8"), &[], &["uname", "-r"]);
    assert_eq!(o.status.code(), Some(0), "by path: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), rel, "the same kernel by path");
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
fn fentry_loads_and_fires_on_every_stock_kernel() {
    let _g = lock();
    for k in KERNELS {
        let c = caps_in(k);
        assert!(
            c["kernel_release"].as_str().unwrap_or("").starts_with(&format!("{k}.")),
            "{k}: {}",
            c["kernel_release"]
        );
        let fentry =
            c["checks"].as_array().and_then(|a| a.iter().find(|x| x["name"] == "fentry")).cloned().expect("fentry");
        assert_eq!(fentry["ok"], true, "{k}: {fentry}");
        assert!(fentry["detail"].as_str().unwrap_or("").contains("fired"), "{k}: {fentry}");
        assert_eq!(c["tier"], "A", "{k}");
    }
}

#[test]
fn prove_on_stock_kernels_names_data_symbols() {
    let _g = lock();
    for k in KERNELS {
        let o = lab(k, &[], &[bin(), "prove", "-q", "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{k}: {}", text(&o.stderr));
        let r: Value = serde_json::from_slice(&o.stdout).expect("json");
        let c = &r["calls"][0];
        assert_eq!(c["ret"], 3, "{k}");
        assert_eq!(c["after"]["socket"]["ops"]["symbol"], "inet_stream_ops", "{k}");
        assert_eq!(c["after"]["sock"]["sk_prot"]["symbol"], "tcp_prot", "{k}");
        assert_eq!(c["after"]["file"]["f_op"]["symbol"], "socket_file_ops", "{k}");
        assert_eq!(r["summary"]["refuted"], 0, "{k}");
        assert_eq!(r["summary"]["not_observable"], 0, "{k}: a stock kernel shows everything");
        assert!(r["summary"]["proved"].as_u64().unwrap_or(0) >= 17, "{k}: {}", r["summary"]);
    }
}

const CHAIN_CLAIMS: [&str; 8] = [
    "chain.order",
    "chain.parentage",
    "provenance.socket",
    "socket.filled_by_create",
    "provenance.sock",
    "provenance.file",
    "fd_install.fd_is_return",
    "latency.per_function",
];

fn prove_json(kernel: &str, args: &[&str]) -> Value {
    let mut cmd = vec![bin(), "prove", "-q", "--format", "json"];
    cmd.extend_from_slice(args);
    let o = lab(kernel, &[], &cmd);
    assert_eq!(o.status.code(), Some(0), "{kernel} {args:?}: {}", text(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json")
}

fn verdicts(r: &Value, call: u64) -> Vec<(String, String)> {
    r["claims"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["call"].as_u64() == Some(call))
                .map(|c| (c["id"].as_str().unwrap_or("").to_string(), c["verdict"].as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_whole_chain_is_proved_at_tiers_a_and_b_on_every_kernel() {
    let _g = lock();
    for k in KERNELS {
        for (attach, tier, probe) in [("fentry", "A", "fentry/fexit"), ("kprobe", "B", "kprobe/kretprobe")] {
            let r = prove_json(k, &["--attach", attach]);
            assert_eq!(r["kernel"]["tier"], tier, "{k} {attach}");
            let v = verdicts(&r, 1);
            for id in CHAIN_CLAIMS {
                let got = v.iter().find(|(i, _)| i == id).map(|(_, v)| v.as_str());
                assert_eq!(got, Some("proved"), "{k} {attach}: {id}: {}", r["claims"]);
            }
            assert!(v.iter().all(|(_, v)| v == "proved"), "{k} {attach}: {v:?}");
            let chain = r["calls"][0]["chain"].as_array().expect("chain");
            let funcs: Vec<&str> = chain.iter().filter_map(|f| f["func"].as_str()).collect();
            for f in [
                "__sys_socket",
                "__sock_create",
                "sock_alloc",
                "inet_create",
                "sk_alloc",
                "sock_alloc_file",
                "fd_install",
            ] {
                assert!(funcs.contains(&f), "{k} {attach}: {f} missing from {funcs:?}");
            }
            assert!(chain.iter().all(|f| f["probe"] == probe));
            // The chain's one-read snapshots agree with tier C's field-by-field walk of the same objects.
            let snap = |func: &str, when: &str, from: &str| -> Value {
                chain
                    .iter()
                    .find(|f| f["func"] == func)
                    .and_then(|f| f[when].as_array().and_then(|a| a.iter().find(|o| o["from"] == from)).cloned())
                    .unwrap_or(Value::Null)
            };
            let after = &r["calls"][0]["after"];
            assert_eq!(
                snap("fd_install", "entry_objects", "file")["file"],
                after["file"],
                "{k} {attach}: fd_install's file vs the walk"
            );
            let sk = &snap("sock_init_data", "exit_objects", "sk")["sock"];
            for field in ["addr", "family", "type", "state", "sk_prot", "sk_socket", "prot_name"] {
                assert_eq!(
                    sk[field], after["sock"][field],
                    "{k} {attach}: sock.{field} after sock_init_data vs the walk"
                );
            }
            let so = &snap(&slot_create(&r), "exit_objects", "sock")["socket"];
            // (not ->file: sock_alloc_file sets it after the create returns)
            for field in ["addr", "ops", "ops_family", "ops_release", "ops_connect", "sk", "state"] {
                assert_eq!(
                    so[field], after["socket"][field],
                    "{k} {attach}: socket.{field} after the create vs the walk"
                );
            }
            // The family create came from the live table, not from a list in syswalk.
            let slot = r["dispatch"]["slots"]
                .as_array()
                .and_then(|s| s.iter().find(|x| x["family"]["raw"] == 2))
                .cloned()
                .expect("net_families[2]");
            assert_eq!(slot["net_proto_family"]["symbol"], "inet_family_ops", "{k}");
            assert_eq!(slot["create"]["symbol"], "inet_create", "{k}");
            // A function absent on this kernel is reported as such, never silently dropped.
            let plan = r["chain_plan"].as_array().expect("plan");
            let smf = plan.iter().find(|p| p["name"] == "sock_map_fd").expect("sock_map_fd in the plan");
            assert_eq!(smf["traced"], false);
            assert!(smf["note"].as_str().unwrap_or("").contains("absent"), "{smf}");
        }
    }
}

/// The family create function the report read from net_families[] for the call's family.
fn slot_create(r: &Value) -> String {
    let fam = r["calls"][0]["args"][0]["value"]["raw"].as_i64().unwrap_or(-1);
    r["dispatch"]["slots"]
        .as_array()
        .and_then(|s| s.iter().find(|x| x["family"]["raw"].as_i64() == Some(fam)))
        .and_then(|x| x["create"]["symbol"].as_str())
        .unwrap_or("?")
        .to_string()
}

#[test]
fn inet6_dgram_and_unix_differ_in_create_ops_and_protocol() {
    let _g = lock();
    for k in KERNELS {
        let v6 = prove_json(k, &["--family", "inet6", "--type", "dgram"]);
        let ux = prove_json(k, &["--family", "unix", "--type", "stream"]);
        let funcs = |r: &Value| -> Vec<String> {
            r["calls"][0]["chain"]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f["func"].as_str().map(String::from)).collect())
                .unwrap_or_default()
        };
        assert!(funcs(&v6).contains(&"inet6_create".to_string()), "{k}: {:?}", funcs(&v6));
        assert!(funcs(&ux).contains(&"unix_create".to_string()), "{k}: {:?}", funcs(&ux));
        assert_eq!(v6["calls"][0]["after"]["socket"]["ops"]["symbol"], "inet6_dgram_ops", "{k}");
        assert_eq!(ux["calls"][0]["after"]["socket"]["ops"]["symbol"], "unix_stream_ops", "{k}");
        assert_eq!(v6["calls"][0]["after"]["sock"]["protocol"]["name"], "IPPROTO_UDP", "{k}");
        assert_eq!(ux["calls"][0]["after"]["sock"]["protocol"]["raw"], 0, "{k}");
        for r in [&v6, &ux] {
            assert!(verdicts(r, 1).iter().all(|(_, v)| v == "proved"), "{k}: {:?}", verdicts(r, 1));
        }
    }
}

#[test]
fn ftrace_function_graph_agrees_on_the_order() {
    let _g = lock();
    for k in KERNELS {
        // The same kind of call, seen first by ftrace alone (the built-in target, no BPF attached), then by syswalk.
        // ftrace is filtered to the default chain's names (those this kernel has): patching every kernel function
        // for function_graph under TCG is slow and once hung qemu 7.2 in CI; the order of these names is what we compare.
        let names = "__sys_socket update_socket_protocol __sock_create security_socket_create sock_alloc inet_create sk_alloc \
                     sock_init_data security_socket_post_create sock_alloc_file get_unused_fd_flags fd_install sock_map_fd sock_release";
        let script = format!(
            "cd /sys/kernel/tracing && echo nop > current_tracer && echo > set_ftrace_filter && \
             for f in {names}; do grep -qx $f available_filter_functions && echo $f >> set_ftrace_filter; done; \
             echo __sys_socket > set_graph_function && echo 1 > options/funcgraph-proc && \
             echo > trace && echo function_graph > current_tracer && {0} __target 2 1 0; \
             cat trace > /tmp/ft.txt; echo nop > current_tracer; {0} prove -q --attach fentry --format json -o /tmp/r.json; \
             cat /tmp/r.json; echo '=====FTRACE====='; cat /tmp/ft.txt",
            bin()
        );
        let o = lab(k, &["--timeout", "300"], &["sh", "-c", &script]);
        assert_eq!(o.status.code(), Some(0), "{k}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        let (json, trace) = out.split_once("=====FTRACE=====").expect("both parts");
        let r: Value = serde_json::from_str(json).expect("json");
        let ours: Vec<String> = r["calls"][0]["chain"]
            .as_array()
            .expect("chain")
            .iter()
            .filter_map(|f| f["func"].as_str().map(String::from))
            .collect();
        // ftrace lines of the target: "… syswalk-123 | … |  name() {" or "name();"
        let mut theirs: Vec<String> = Vec::new();
        for l in trace.lines().filter(|l| l.contains("syswalk-")) {
            if let Some(body) = l.rsplit('|').next() {
                let name = body.trim().trim_end_matches(" {").trim_end_matches(';').trim_end_matches("()");
                if ours.iter().any(|o| o == name) {
                    theirs.push(name.to_string());
                }
            }
        }
        assert!(theirs.len() >= 5, "{k}: ftrace saw too few of our functions: {theirs:?}\n{trace}");
        let ours_common: Vec<String> = ours.iter().filter(|f| theirs.contains(f)).cloned().collect();
        assert_eq!(ours_common, theirs, "{k}: syswalk and ftrace disagree on the call order");
    }
}

#[test]
fn a_chain_file_extends_the_investigation() {
    let _g = lock();
    let good = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/socket-file.toml");
    let bad = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-chain.toml");
    std::fs::write(&bad, "functions = [\"__sys_socket\", \"sock_aloc_file\"]\n").expect("write");
    for k in KERNELS {
        let r = prove_json(k, &["--chain", good]);
        let plan = r["chain_plan"].as_array().expect("plan");
        let names: Vec<&str> = plan.iter().filter_map(|p| p["name"].as_str()).collect();
        assert_eq!(
            names,
            vec!["__sys_socket", "sock_map_fd", "get_unused_fd_flags", "sock_alloc_file", "fd_install"],
            "{k}"
        );
        let smf = &plan[1];
        assert_eq!(smf["traced"], false, "{k}: {smf}");
        assert!(smf["note"].as_str().unwrap_or("").contains("inlined"), "{k}: {smf}");
        let chain = r["calls"][0]["chain"].as_array().expect("chain");
        let saf = chain.iter().find(|f| f["func"] == "sock_alloc_file").expect("sock_alloc_file traced");
        let from: Vec<&str> =
            saf["exit_objects"].as_array().expect("objs").iter().filter_map(|o| o["from"].as_str()).collect();
        assert_eq!(from, vec!["return", "sock"], "{k}: only the snapshots asked for");
        let v = verdicts(&r, 1);
        for id in ["provenance.file", "fd_install.fd_is_return", "chain.order"] {
            assert!(v.contains(&(id.to_string(), "proved".to_string())), "{k}: {id} {v:?}");
        }
        // Functions the file leaves out make their claims not observable, never proved.
        assert!(v.contains(&("provenance.sock".to_string(), "not_observable".to_string())), "{k}: {v:?}");
        let o = lab(k, &[], &[bin(), "prove", "-q", "--chain", bad.to_str().expect("path")]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{k}: {err}");
        assert!(err.contains("\"sock_aloc_file\" does not exist") && err.contains("sock_alloc_file"), "{k}: {err}");
    }
}

fn lesson_claim(l: &Value, id: &str) -> Value {
    l["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no claim {id}"))
}

#[test]
fn the_lesson_is_fully_observable_on_stock_kernels_with_the_dbg_package() {
    let _g = lock();
    for k in KERNELS {
        let mut o = lab(k, &["--dbg"], &[bin(), "lesson", "-q", "--format", "json"]);
        let mut l: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{k}: {e}: {}", text(&o.stdout)));
        // KASLR's draw lands on offset 0 about once in 500 boots (the lesson then says "not observable"): a new
        // boot draws again.
        if lesson_claim(&l, "kaslr.offset_constant")["finding"].as_str().is_some_and(|f| f.contains("= 0x0 ")) {
            eprintln!("{k}: KASLR offset 0 this boot (a random slot 0, or a fallback): booting again");
            o = lab(k, &["--dbg"], &[bin(), "lesson", "-q", "--format", "json"]);
            l = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{k}: {e}: {}", text(&o.stdout)));
        }
        // A refuted step names itself and its claims (a flaky refutation is a finding to read, not a number).
        let refuted: Vec<String> = l["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(l["claims"].as_array().into_iter().flatten())
            .filter(|s| s["status"] == "refuted" || s["verdict"] == "refuted")
            .map(|s| s.to_string())
            .collect();
        assert_eq!(o.status.code(), Some(0), "{k}: stderr {}\nrefuted: {refuted:#?}", text(&o.stderr));
        for s in l["steps"].as_array().expect("steps") {
            assert!(
                ["axiom", "proved", "shown"].contains(&s["status"].as_str().unwrap_or("")),
                "{k}: step {} {}: {} {}",
                s["n"],
                s["action"],
                s["status"],
                s["why_not"]
            );
        }
        axioms::assert_axiomatic(&l, &format!("{k} --dbg"));
        axioms::assert_derived_at_first_use(&l, axioms::ISSUE_31, &format!("{k} --dbg"));
        // KASLR: a non-zero offset, one constant over ≥ 20 symbols.
        let kc = lesson_claim(&l, "kaslr.offset_constant");
        let st = kc["finding"].as_str().unwrap_or("");
        assert!(!st.contains("= 0x0 "), "{k}: KASLR is on in the lab: {st}");
        let n: usize =
            st.split(" for all ").nth(1).and_then(|x| x.split(' ').next()).and_then(|x| x.parse().ok()).unwrap_or(0);
        assert!(n >= 20, "{k}: {n} symbols compared: {st}");
        // Dispatch: the slot names inet_create, put there at boot by inet_init.
        let d = lesson_claim(&l, "dispatch.create");
        assert!(d["finding"].as_str().unwrap_or("").contains("inet_family_ops → .create = inet_create"), "{k}: {d}");
        let b = lesson_claim(&l, "dispatch.registered_at_boot");
        assert!(b["finding"].as_str().unwrap_or("").starts_with("inet_init called sock_register("), "{k}: {b}");
        let sw = lesson_claim(&l, "dispatch.inetsw");
        assert!(
            sw["finding"].as_str().unwrap_or("").contains("IPPROTO_TCP (6) / tcp_prot / inet_stream_ops"),
            "{k}: {sw}"
        );
        assert_eq!(lesson_claim(&l, "dispatch.code")["verdict"], "proved", "{k}");
        // Source lines from the -dbg DWARF: __sys_socket is in net/socket.c.
        let s = lesson_claim(&l, "source.lines");
        let sys = s["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .find(|e| e["what"] == "__sys_socket")
            .cloned()
            .unwrap_or_default();
        assert!(sys["value"].as_str().unwrap_or("").starts_with("net/socket.c:"), "{k}: {s}");
    }
}

#[test]
fn nokaslr_makes_the_offset_zero_and_no_dbg_means_no_source_lines() {
    let _g = lock();
    let o = lab("6.1", &["--dbg", "--append", "nokaslr"], &[bin(), "kaslr", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "stderr {}", text(&o.stderr));
    let k: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(k["offset"], "0x0", "{k}");
    assert!(k["nokaslr"].as_bool().unwrap_or(false));
    for c in k["claims"].as_array().expect("claims") {
        assert_eq!(c["verdict"], "proved", "{c}");
    }
    // Without the -dbg files the same steps are present and say what is missing.
    let o = lab("6.1", &[], &[bin(), "lesson", "-q", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "stderr {}", text(&o.stderr));
    let l: Value = serde_json::from_slice(&o.stdout).expect("json");
    axioms::assert_axiomatic(&l, "6.1 without --dbg");
    let s = lesson_claim(&l, "source.lines");
    assert_eq!(s["verdict"], "not_observable");
    assert!(s["reason"].as_str().unwrap_or("").contains("-dbg"), "{s}");
    assert_eq!(lesson_claim(&l, "kaslr.offset_constant")["verdict"], "not_observable");
}

/// Parses a JSON integer or pointer string as the u64 bit pattern the kernel had.
fn bits(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_i64().map(|i| i as u64).or_else(|| n.as_u64()),
        Value::String(s) => {
            let s = s.split_whitespace().next()?;
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => s.parse::<i64>().ok().map(|i| i as u64),
            }
        }
        _ => None,
    }
}

#[test]
fn bpftrace_sees_the_same_arguments_and_return_values() {
    let _g = lock();
    // bpftrace (kfunc/kretfunc) stays attached while syswalk proves at tier A and then tier B: both tools watch the
    // very same calls, so pointers must be equal, not just alike.
    let script = format!(
        r#"bpftrace -e 'kfunc:fd_install {{ printf("FI %d %d 0x%lx\n", pid, args->fd, args->file); }} kretfunc:sock_alloc_file {{ printf("SAF %d 0x%lx\n", pid, retval); }} kretfunc:__sys_socket {{ printf("SYS %d %d %d %d %d\n", pid, args->family, args->type, args->protocol, retval); }} kretfunc:sock_alloc {{ printf("SA %d 0x%lx\n", pid, retval); }}' > /tmp/bt.txt 2>/tmp/bt.err &
BT=$!
for i in $(seq 1 1200); do grep -q Attaching /tmp/bt.txt && break; sleep 0.1; done
grep -q Attaching /tmp/bt.txt || {{ cat /tmp/bt.err >&2; exit 9; }}
{0} prove -q --attach fentry --format json -o /tmp/a.json && {0} prove -q --attach kprobe --format json -o /tmp/b.json
rc=$?
kill -INT $BT; wait $BT
cat /tmp/a.json; echo =====; cat /tmp/b.json; echo =====; cat /tmp/bt.txt
exit $rc"#,
        bin()
    );
    for k in KERNELS {
        let o = lab(k, &["--timeout", "400"], &["sh", "-c", &script]);
        assert_eq!(o.status.code(), Some(0), "{k}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        let parts: Vec<&str> = out.split("=====\n").collect();
        assert_eq!(parts.len(), 3, "{k}: {out}");
        let bt: Vec<Vec<&str>> = parts[2].lines().map(|l| l.split_whitespace().collect()).collect();
        for (tier, js) in [("A", parts[0]), ("B", parts[1])] {
            let r: Value = serde_json::from_str(js).unwrap_or_else(|e| panic!("{k} {tier}: {e}"));
            assert_eq!(r["kernel"]["tier"], tier);
            let pid = r["target"]["pid"].as_u64().expect("pid").to_string();
            let chain = r["calls"][0]["chain"].as_array().expect("chain").clone();
            let frame = |f: &str| {
                chain.iter().find(|x| x["func"] == f).cloned().unwrap_or_else(|| panic!("{k} {tier}: no {f}"))
            };
            let arg = |f: &Value, n: &str| {
                f["args"].as_array().and_then(|a| a.iter().find(|x| x["name"] == n)).and_then(|x| bits(&x["value"]))
            };
            let mine = |tag: &str| -> Vec<Vec<u64>> {
                bt.iter()
                    .filter(|l| l.first() == Some(&tag) && l.get(1) == Some(&pid.as_str()))
                    .map(|l| l[2..].iter().map(|v| bits(&Value::String(v.to_string())).unwrap_or(u64::MAX)).collect())
                    .collect()
            };
            let sys = frame("__sys_socket");
            let want_sys = vec![
                arg(&sys, "family").expect("family"),
                arg(&sys, "type").expect("type"),
                arg(&sys, "protocol").expect("protocol"),
                bits(&sys["ret"]).expect("ret"),
            ];
            assert_eq!(want_sys, vec![2, 1, 0, 3], "{k} {tier}");
            assert_eq!(mine("SYS"), vec![want_sys], "{k} {tier}: __sys_socket args/return, bpftrace vs syswalk");
            assert_eq!(
                mine("SA"),
                vec![vec![bits(&frame("sock_alloc")["ret"]).expect("ret")]],
                "{k} {tier}: sock_alloc return"
            );
            let saf = bits(&frame("sock_alloc_file")["ret"]).expect("ret");
            assert_eq!(mine("SAF"), vec![vec![saf]], "{k} {tier}: sock_alloc_file return");
            let fi = frame("fd_install");
            let want_fi = vec![arg(&fi, "fd").expect("fd"), arg(&fi, "file").expect("file")];
            assert_eq!(want_fi[1], saf);
            assert!(
                mine("FI").contains(&want_fi),
                "{k} {tier}: fd_install({want_fi:?}) not seen by bpftrace: {:?}",
                mine("FI")
            );
        }
    }
}

#[test]
fn an_evidence_budget_streams_n_calls_and_counts_the_rest() {
    let _g = lock();
    let looper = cc("loop.c", "loop", &[]);
    for attach in ["fentry", "kprobe"] {
        let o = lab(
            "6.1",
            &[],
            &[
                bin(),
                "prove",
                "-q",
                "--attach",
                attach,
                "--chain-calls",
                "3",
                "--bpf-stats",
                "--format",
                "json",
                "--",
                looper.to_str().expect("utf8"),
                "25",
                "0",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{attach}: {}", text(&o.stderr));
        let r: Value = serde_json::from_slice(&o.stdout).expect("json");
        // --bpf-stats: the kernel timed the chain's programs too; the root's entry program ran once per call.
        let progs = r["stats"]["programs"].as_array().expect("programs");
        // Tier B: one kprobe program carries every slot as its attach cookie (6.1 and 6.12 have cookies), so it ran
        // at least once per call too.
        let root = if attach == "fentry" { "fe_0" } else { "kp_cookie" };
        let p = progs.iter().find(|p| p["name"] == root).unwrap_or_else(|| panic!("{attach}: {root} in {progs:?}"));
        assert!(p["runs"].as_u64().expect("runs") >= 25 && p["run_ns"].as_u64().expect("ns") > 0, "{attach}: {p}");
        let b = &r["chain_budget"];
        assert_eq!(b["full"], 3, "{attach}: {b}");
        let root = b["counted"]
            .as_array()
            .expect("counted")
            .iter()
            .find(|c| c[0] == "__sys_socket")
            .cloned()
            .expect("root counted");
        assert_eq!((root[1].as_u64(), root[2].as_u64()), (Some(22), Some(22)), "{attach}: 25 calls − 3 in full");
        let claims = r["claims"].as_array().expect("claims");
        let c = claims.iter().find(|c| c["id"] == "chain.counts_complete").expect("budget claim");
        assert_eq!(c["verdict"], "proved", "{c}");
        assert_eq!(
            claims.iter().filter(|c| c["id"] == "provenance.socket").count(),
            3,
            "{attach}: chain claims for the streamed calls only"
        );
        assert_eq!(
            claims.iter().filter(|c| c["id"] == "fd.lowest_free").count(),
            25,
            "{attach}: the boundary still judges every call"
        );
    }
}

#[test]
fn threads_making_socket_calls_at_once_each_get_their_own_chain() {
    let _g = lock();
    // Two threads released together, 10 socket() calls each: on 2 vCPUs their chains run in parallel and interleave
    // in time. Each call must be judged on its own thread's record: every chain claim proved for every call.
    let exe = cc("threads.c", "threads", &["-pthread"]);
    let script = format!(
        "{0} prove -q --attach fentry --format json -o /tmp/a.json -- {1} 2 10 && {0} prove -q --attach kprobe --format json -o /tmp/b.json -- {1} 2 10; rc=$?; cat /tmp/a.json; echo =====; cat /tmp/b.json; echo =====; cat /sys/kernel/debug/sched/preempt; exit $rc",
        bin(),
        exe.display()
    );
    for k in KERNELS {
        let o = lab(k, &["--timeout", "400"], &["sh", "-c", &script]);
        assert_eq!(o.status.code(), Some(0), "{k}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        let parts: Vec<&str> = out.split("=====\n").collect();
        assert_eq!(parts.len(), 3, "{k}: {out}");
        // 7.x's PREEMPT_LAZY (6.x Debian: voluntary) lets a thread be preempted inside a tracing program; the other thread on that CPU then
        // finds the program busy and the kernel skips it (a recursion miss). Those runs are lost — counted, and the
        // calls they touch are not observable — but nothing else may be lost, and nothing may be refuted.
        // The live preemption model (PREEMPT_DYNAMIC), the active one in parentheses: "none voluntary full (lazy)".
        let preemptible = parts[2].contains("(full)") || parts[2].contains("(lazy)");
        for (tier, js) in [("A", parts[0]), ("B", parts[1])] {
            let r: Value = serde_json::from_str(js).unwrap_or_else(|e| panic!("{k} {tier}: {e}"));
            assert_eq!(r["kernel"]["tier"], tier);
            let lost = r["stats"]["lost"].as_u64().unwrap_or(u64::MAX);
            let misses: u64 = r["stats"]["programs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["recursion_misses"].as_u64())
                .sum();
            let calls = r["calls"].as_array().expect("calls");
            let sockets: Vec<&Value> = calls.iter().filter(|c| c["syscall"] == "socket").collect();
            if preemptible && lost > 0 {
                assert_eq!(lost, misses, "{k} {tier}: every loss is a run the kernel skipped, none is syswalk's");
                let mut tids: Vec<u64> = sockets.iter().filter_map(|c| c["tid"].as_u64()).collect();
                tids.sort();
                tids.dedup();
                assert_eq!(tids.len(), 2, "{k} {tier}: two threads, {tids:?}");
                // A call whose every frame closed is judged on its own thread's record like anywhere else.
                for c in &sockets {
                    let closed = c["chain"]
                        .as_array()
                        .is_some_and(|f| !f.is_empty() && f.iter().all(|x| !x["exit_ns"].is_null()));
                    if !closed {
                        continue;
                    }
                    assert!(
                        c["chain"].as_array().into_iter().flatten().all(|x| x["tid"] == c["tid"]),
                        "{k} {tier}: {c}"
                    );
                }
                for (id, v) in r["totals"]["claims"].as_object().into_iter().flatten() {
                    assert_eq!(v[1], 0, "{k} {tier}: {id} refuted with lost events: {}", r["totals"]);
                }
                // A skipped run spoils at most the one call it belongs to (a missed root exit no longer leaves the
                // thread's record open for the calls after it): calls not proved, or missing, ≤ runs lost.
                let proved = r["totals"]["claims"]["chain.parentage"][0].as_u64().unwrap_or(0);
                assert!(
                    20 - proved.min(20) <= lost,
                    "{k} {tier}: {proved} of 20 proved with {lost} lost: {}",
                    r["totals"]
                );
                eprintln!(
                    "{k} {tier}: {lost} runs skipped by the kernel (recursion misses); {}",
                    r["totals"]["claims"]
                );
                continue;
            }
            assert_eq!(lost, 0, "{k} {tier}");
            assert_eq!(sockets.len(), 20, "{k} {tier}: 2 threads × 10 calls");
            let pid = r["target"]["pid"].as_u64().expect("pid");
            let mut tids: Vec<u64> = sockets.iter().filter_map(|c| c["tid"].as_u64()).collect();
            tids.sort();
            tids.dedup();
            assert_eq!(tids.len(), 2, "{k} {tier}: two threads, {tids:?}");
            assert!(!tids.contains(&pid), "{k} {tier}: the calls come from the threads, not the main thread");
            for c in &sockets {
                let seq = c["seq"].as_u64().expect("seq");
                let v = verdicts(&r, seq);
                for id in CHAIN_CLAIMS {
                    let got = v.iter().find(|(i, _)| i == id).map(|(_, v)| v.as_str());
                    assert_eq!(got, Some("proved"), "{k} {tier} call {seq} (tid {}): {id}", c["tid"]);
                }
            }
        }
    }
}

#[test]
fn a_forked_child_s_calls_are_traced_at_the_function_level_from_its_first_call() {
    let _g = lock();
    // A parent listens (port 4711, backlog 7) and forks; the child is the client. The chain object shares the
    // boundary's process set, which follows the fork in the kernel: the child's calls get their chains like the
    // parent's, and both ends of the connection are linked at the function level.
    let exe = cc("forkpair.c", "forkpair", &[]);
    let script = format!(
        // Both runs whatever the first's exit (1 = a refutation): the reports say which claim, for the assertions.
        "{0} prove -q --attach fentry --format json -o /tmp/a.json -- {1} 4711; ra=$?; {0} prove -q --attach kprobe --format json -o /tmp/b.json -- {1} 4712; rb=$?; cat /tmp/a.json; echo =====; cat /tmp/b.json; echo =====; echo $ra $rb",
        bin(),
        exe.display()
    );
    for k in ["6.12", "7.3"] {
        let o = lab(k, &["--timeout", "400"], &["sh", "-c", &script]);
        assert_eq!(o.status.code(), Some(0), "{k}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        let parts: Vec<&str> = out.split("=====\n").collect();
        assert_eq!(parts.len(), 3, "{k}: {out}");
        for (tier, js) in [("A", parts[0]), ("B", parts[1])] {
            let r: Value = serde_json::from_str(js).unwrap_or_else(|e| panic!("{k} {tier}: {e}: {}", text(&o.stderr)));
            assert_eq!(r["kernel"]["tier"], tier);
            // A refutation is named with its evidence (a rare one under TCG timing must be diagnosable from CI).
            let refuted: Vec<&Value> =
                r["claims"].as_array().into_iter().flatten().filter(|c| c["verdict"] == "refuted").collect();
            assert!(refuted.is_empty(), "{k} {tier}: refuted {refuted:#?}\nstats {}", r["stats"]);
            let root = r["target"]["pid"].as_u64().expect("pid");
            let calls = r["calls"].as_array().expect("calls");
            let child: Vec<&Value> = calls.iter().filter(|c| c["pid"].as_u64() != Some(root)).collect();
            let names: Vec<&str> = child.iter().filter_map(|c| c["syscall"].as_str()).collect();
            for want in ["socket", "connect", "write", "read", "close"] {
                assert!(names.contains(&want), "{k} {tier}: the child's {want}: {names:?}");
            }
            // The child's first call after fork(): its chain is there, rooted where the parent's is.
            let first = child.iter().find(|c| c["syscall"] == "socket").expect("the child's socket()");
            let chain = first["chain"].as_array().map(|f| f.len()).unwrap_or(0);
            assert!(chain > 0, "{k} {tier}: the child's socket() has no chain frames: {first}");
            assert!(parts[2].trim().split(' ').all(|rc| rc == "0"), "{k}: exit codes {}", parts[2]);
            assert_eq!(first["chain"][0]["func"], "__sys_socket", "{k} {tier}");
            let lost = r["stats"]["lost"].as_u64().unwrap_or(u64::MAX);
            let bad: Vec<String> = r["claims"]
                .as_array()
                .expect("claims")
                .iter()
                .filter(|c| {
                    let id = c["id"].as_str().unwrap_or("");
                    ["connect.", "accept.", "write.", "read.", "rw.", "close."].iter().any(|p| id.starts_with(p))
                })
                .filter(|c| {
                    // Not observable for want of the process's evidence: frames missing, or a process "not traced".
                    let why = c["reason"].as_str().unwrap_or("");
                    c["verdict"] == "refuted"
                        || (c["verdict"] == "not_observable"
                            && (why.contains("no chain frame")
                                || why.contains("not traced")
                                || why.contains("not observed in this call")))
                })
                .map(|c| format!("{} {} {} {}", c["call"], c["id"], c["verdict"], c["reason"]))
                .collect();
            assert!(lost > 0 || bad.is_empty(), "{k} {tier}: both processes' calls judged from their frames: {bad:#?}");
            // The child's connect(), write() and read() have their chains proved like the parent's calls.
            let proved =
                |id: &str| {
                    r["claims"].as_array().into_iter().flatten().any(|c| {
                        c["id"] == id && c["verdict"] == "proved" && child.iter().any(|x| x["seq"] == c["call"])
                    })
                };
            for id in ["connect.chain", "write.chain", "read.chain"] {
                assert!(lost > 0 || proved(id), "{k} {tier}: the child's {id}");
            }
            for (id, v) in r["totals"]["claims"].as_object().into_iter().flatten() {
                assert_eq!(v[1], 0, "{k} {tier}: {id} refuted: {}", r["totals"]);
            }
        }
    }
}

#[test]
fn lab_kernels_lists_every_known_kernel_with_its_resolved_version() {
    let _g = lock();
    let f = Command::new(bin()).args(["lab", "fetch", "newest"]).stdin(Stdio::null()).output().expect("fetch");
    assert_eq!(f.status.code(), Some(0), "{}", text(&f.stderr));
    let fetched = text(&f.stdout);
    let mut w = fetched.split_whitespace();
    assert_eq!(w.next(), KERNELS.last().copied(), "newest is the last kernel the tests cover: {fetched}");
    let version = w.next().unwrap_or("").to_string();
    assert!(version.starts_with("7.3.") && version.ends_with("-cloud-amd64"), "{fetched}");
    let o = Command::new(bin()).args(["lab", "kernels"]).stdin(Stdio::null()).output().expect("kernels");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| r.first().is_some_and(|c| c.chars().next().is_some_and(|ch| ch.is_ascii_digit())))
        .collect();
    let ids: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(ids, KERNELS, "the lab tests cover exactly the known kernels:\n{out}");
    let newest = rows.iter().find(|r| r[0] == "7.3").expect("7.3 row");
    assert!(newest.contains(&version.as_str()), "lab kernels shows the version fetch resolved: {out}");
    // The booted kernel is that version.
    let u = lab("newest", &[], &["uname", "-r"]);
    assert_eq!(text(&u.stdout).trim(), version, "{}", text(&u.stderr));
}

/// The server's life (issue: bind, listen, connect, accept4, read/write, close) on stock kernels, at tier A and
/// tier B: every claim proved. The same program run once under ftrace function_graph alone gives the order of
/// the chain functions; bpftrace, attached while syswalk proves, sees the same pointers and return values.
#[test]
fn the_server_life_is_proved_at_tiers_a_and_b_and_ftrace_and_bpftrace_agree() {
    let _g = lock();
    let names = "__sys_socket __sock_create sock_alloc inet_create sk_alloc sock_alloc_file get_unused_fd_flags fd_install \
                 __sys_bind inet_bind inet_bind_sk __inet_bind inet_csk_get_port __sys_listen inet_listen __inet_listen_sk \
                 inet_csk_listen_start __sys_connect inet_stream_connect __inet_stream_connect tcp_v4_connect __sys_accept4 \
                 do_accept inet_accept inet_csk_accept tcp_sendmsg tcp_recvmsg sock_close __sock_release inet_release tcp_close";
    let roots = "__sys_socket __sys_bind __sys_listen __sys_connect __sys_accept4 tcp_sendmsg tcp_recvmsg sock_close";
    let script = format!(
        r#"cd /sys/kernel/tracing && echo nop > current_tracer && echo > set_ftrace_filter && echo > set_graph_function
for f in {names}; do grep -qx $f available_filter_functions && echo $f >> set_ftrace_filter; done
for f in {roots}; do grep -qx $f available_filter_functions && echo $f >> set_graph_function; done
echo 1 > options/funcgraph-proc && echo > trace && echo function_graph > current_tracer && {0} __target life
rc=$?; cat trace > /tmp/ft.txt; echo nop > current_tracer; [ $rc = 0 ] || exit 8
bpftrace -e 'kretfunc:inet_csk_accept {{ printf("ICA %d 0x%lx\n", pid, retval); }} kretfunc:tcp_sendmsg {{ printf("SND %d 0x%lx %d\n", pid, args->sk, retval); }} kretfunc:tcp_recvmsg {{ printf("RCV %d 0x%lx %d\n", pid, args->sk, retval); }} kfunc:tcp_close {{ printf("TCL %d 0x%lx\n", pid, args->sk); }} kfunc:sock_free_inode {{ printf("SFI 0 0x%lx\n", args->inode); }} kfunc:__sk_destruct {{ printf("SKD 0 0x%lx\n", args->head); }}' > /tmp/bt.txt 2>/tmp/bt.err &
BT=$!
for i in $(seq 1 1200); do grep -q Attaching /tmp/bt.txt && break; sleep 0.1; done
grep -q Attaching /tmp/bt.txt || {{ cat /tmp/bt.err >&2; exit 9; }}
{0} prove -q --life --attach fentry --format json -o /tmp/a.json && {0} prove -q --life --attach kprobe --format json -o /tmp/b.json
rc=$?
kill -INT $BT; wait $BT
cat /tmp/a.json; echo =====; cat /tmp/b.json; echo =====; cat /tmp/bt.txt; echo =====; cat /tmp/ft.txt
exit $rc"#,
        bin()
    );
    for k in ["6.1", "6.12"] {
        let o = lab(k, &["--timeout", "500"], &["sh", "-c", &script]);
        assert_eq!(o.status.code(), Some(0), "{k}: {}", text(&o.stderr));
        let out = text(&o.stdout);
        let parts: Vec<&str> = out.split("=====\n").collect();
        assert_eq!(parts.len(), 4, "{k}: {out}");
        let bt: Vec<Vec<&str>> = parts[2].lines().map(|l| l.split_whitespace().collect()).collect();
        let mut orders = Vec::new();
        for (tier, js) in [("A", parts[0]), ("B", parts[1])] {
            let r: Value = serde_json::from_str(js).unwrap_or_else(|e| panic!("{k} {tier}: {e}"));
            assert_eq!(r["kernel"]["tier"], tier);
            let claims = r["claims"].as_array().expect("claims");
            let bad: Vec<String> = claims
                .iter()
                .filter(|c| c["verdict"] != "proved")
                .map(|c| format!("{} {} {} {}", c["call"], c["id"], c["verdict"], c["reason"]))
                .collect();
            assert!(bad.is_empty(), "{k} {tier}: every claim of the life target is proved: {bad:#?}");
            let ids: Vec<&str> = claims.iter().filter_map(|c| c["id"].as_str()).collect();
            for want in [
                "bind.chain",
                "bind.chain_objects",
                "bind.port",
                "bind.bucket",
                "listen.chain_objects",
                "listen.state",
                "listen.backlog",
                "connect.chain_objects",
                "connect.states",
                "accept.chain_objects",
                "accept.fd_before_alloc",
                "accept.ends",
                "write.chain",
                "read.chain",
                "rw.bytes_match",
                "close.chain",
                "close.chain_objects",
                "close.freed",
                "tcp.states",
            ] {
                assert!(ids.contains(&want), "{k} {tier}: no {want} claim");
            }
            // Every closed socket and sock freed, seen by bpftrace too with the argument syswalk derived it from.
            assert_eq!(ids.iter().filter(|i| **i == "close.freed").count(), 3, "{k} {tier}: one close.freed per close");
            let freed: Vec<(String, u64)> = r["connections"]["socks"]
                .as_array()
                .expect("connection view")
                .iter()
                .flat_map(|s| s["freed"].as_array().cloned().unwrap_or_default())
                .filter_map(|f| Some((f["what"].as_str()?.to_string(), bits(&f["arg"])?)))
                .collect();
            for (what, tag) in [("socket", "SFI"), ("sock", "SKD")] {
                let ours: Vec<u64> = freed.iter().filter(|(w, _)| w == what).map(|(_, a)| *a).collect();
                assert_eq!(ours.len(), 3, "{k} {tier}: three {what}s freed: {freed:?}");
                let all: Vec<u64> = bt
                    .iter()
                    .filter(|l| l.first() == Some(&tag))
                    .filter_map(|l| l.get(2).and_then(|v| bits(&Value::String(v.to_string()))))
                    .collect();
                for a in ours {
                    assert!(all.contains(&a), "{k} {tier}: bpftrace saw no {tag} of {a:#x}: {all:x?}");
                }
            }
            let calls = r["calls"].as_array().expect("calls");
            let pid = r["target"]["pid"].as_u64().expect("pid").to_string();
            let frames = |sys: &str, nth: usize| -> Vec<Value> {
                calls
                    .iter()
                    .filter(|c| c["syscall"] == sys)
                    .nth(nth)
                    .and_then(|c| c["chain"].as_array().cloned())
                    .unwrap_or_default()
            };
            let func = |fs: &[Value], f: &str| {
                fs.iter().find(|x| x["func"] == f).cloned().unwrap_or_else(|| panic!("{k} {tier}: no {f}"))
            };
            let arg0 = |f: &Value| f["args"][0]["value"].as_str().and_then(|v| bits(&Value::String(v.into())));
            let mine = |tag: &str| -> Vec<Vec<u64>> {
                bt.iter()
                    .filter(|l| l.first() == Some(&tag) && l.get(1) == Some(&pid.as_str()))
                    .map(|l| l[2..].iter().map(|v| bits(&Value::String(v.to_string())).unwrap_or(u64::MAX)).collect())
                    .collect()
            };
            let acc = func(&frames("accept4", 0), "inet_csk_accept");
            assert_eq!(
                mine("ICA"),
                vec![vec![bits(&acc["ret"]).expect("ret")]],
                "{k} {tier}: inet_csk_accept's return"
            );
            for (tag, sys, f) in [("SND", "write", "tcp_sendmsg"), ("RCV", "read", "tcp_recvmsg")] {
                let want: Vec<Vec<u64>> = (0..2)
                    .map(|i| {
                        let fr = func(&frames(sys, i), f);
                        vec![arg0(&fr).expect("sk"), bits(&fr["ret"]).expect("ret")]
                    })
                    .collect();
                assert_eq!(mine(tag), want, "{k} {tier}: {f}'s sock and return, bpftrace vs syswalk");
            }
            let closes: Vec<u64> = (0..3).map(|i| arg0(&func(&frames("close", i), "tcp_close")).expect("sk")).collect();
            assert_eq!(mine("TCL").into_iter().flatten().collect::<Vec<_>>(), closes, "{k} {tier}: tcp_close's sock");
            // The order of every chain function over the whole life, in call order.
            let seq: Vec<String> = calls
                .iter()
                .flat_map(|c| c["chain"].as_array().cloned().unwrap_or_default())
                .filter_map(|f| f["func"].as_str().map(String::from))
                .collect();
            orders.push(seq);
        }
        assert_eq!(orders[0], orders[1], "{k}: tiers A and B saw the same functions in the same order");
        let ours = &orders[0];
        let mut theirs: Vec<String> = Vec::new();
        for l in parts[3].lines().filter(|l| l.contains("syswalk-")) {
            if let Some(body) = l.rsplit('|').next() {
                let name = body.trim().trim_end_matches(" {").trim_end_matches(';').trim_end_matches("()");
                if ours.iter().any(|o| o == name) {
                    theirs.push(name.to_string());
                }
            }
        }
        assert!(theirs.len() >= 30, "{k}: ftrace saw too few of our functions: {theirs:?}\n{}", parts[3]);
        let ours_common: Vec<String> = ours.iter().filter(|f| theirs.contains(f)).cloned().collect();
        assert_eq!(ours_common, theirs, "{k}: syswalk and ftrace disagree on the order of the life's functions");
    }
}

/// The whole course (`lesson --life`) on stock kernels with their -dbg package: every step of Part 1 and of each
/// call's chapter observable and proved, and the course axiomatic as one.
#[test]
fn the_whole_course_is_proved_step_by_step_on_stock_kernels() {
    let _g = lock();
    let ev = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("course-evidence");
    let _ = std::fs::remove_dir_all(&ev);
    std::fs::create_dir_all(&ev).expect("evidence dir");
    let mut files = Vec::new();
    for k in ["6.1", "6.12"] {
        // Written inside the guest, into the --out-dir share: the file is on the host after.
        let f = ev.join(format!("{k}.json"));
        let fs = f.to_str().expect("path");
        let o = lab(
            k,
            &["--dbg", "--out-dir", ev.to_str().expect("path")],
            &[bin(), "lesson", "--life", "-q", "--format", "json", "-o", fs],
        );
        assert_eq!(o.status.code(), Some(0), "{k}: stderr {}", text(&o.stderr));
        let out = std::fs::read(&f).unwrap_or_else(|e| panic!("{k}: {fs} not brought out of the guest: {e}"));
        files.push(fs.to_string());
        let l: Value = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{k}: {e}: {}", text(&out)));
        let steps = l["steps"].as_array().expect("steps");
        for s in steps {
            assert!(
                ["axiom", "proved", "shown"].contains(&s["status"].as_str().unwrap_or("")),
                "{k}: step {} {}: {} {}",
                s["n"],
                s["action"],
                s["status"],
                s["why_not"]
            );
        }
        for part in ["bind", "listen", "connect", "accept4", "write and read", "close"] {
            assert!(steps.iter().any(|s| s["part"] == part), "{k}: no {part} chapter");
        }
        axioms::assert_axiomatic(&l, &format!("{k} lesson --life --dbg"));
    }
    site_of_three_kernels(&ev, &files);
}

/// The course site from this host's evidence and the two lab kernels': its comparison page, read in Chromium,
/// shows update_socket_protocol only on 6.12 and sock_map_fd absent (inlined) on both; 6.12's Part 2 links each
/// chain function to its source line in that exact version; the independent link checker passes.
fn site_of_three_kernels(ev: &std::path::Path, lab_files: &[String]) {
    let host = ev.join("host.json");
    let o = Command::new(bin())
        .args(["lesson", "--life", "-q", "--format", "json", "-o"])
        .arg(&host)
        .output()
        .expect("lesson here");
    assert_eq!(o.status.code(), Some(0), "host lesson: {}", text(&o.stderr));
    let d = ev.join("site");
    let mut c = Command::new(bin());
    c.args(["site", "-q", "-o"]).arg(&d).arg("--from").arg(&host);
    for f in lab_files {
        c.args(["--from", f]);
    }
    let o = c.output().expect("site");
    assert_eq!(o.status.code(), Some(0), "site: {}", text(&o.stderr));
    let lc = Command::new("python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/linkcheck.py"))
        .arg(&d)
        .output()
        .expect("python3");
    assert_eq!(lc.status.code(), Some(0), "{}", text(&lc.stdout));
    let mut b = browser::Browser::launch();
    b.viewport(1600, 900);
    let url = |p: &str| format!("file://{}/{p}", d.canonicalize().expect("canonical").display());
    let problems = b.open(&url("compare.html"));
    assert!(problems.is_empty(), "{problems:#?}");
    let heads = b.eval("[...document.querySelector('#functions + table tr').cells].map(c => c.innerText)");
    let heads: Vec<String> =
        heads.as_array().expect("heads").iter().map(|h| h.as_str().unwrap_or("").to_string()).collect();
    let col = |series: &str| {
        heads.iter().position(|h| h.starts_with(series)).unwrap_or_else(|| panic!("no {series} column: {heads:?}"))
    };
    let (c61, c612) = (col("6.1.0-"), col("6.12."));
    let row = |b: &mut browser::Browser, f: &str| -> Vec<String> {
        let v = b.eval(&format!("[...document.getElementById('fn-{f}').cells].map(c => c.innerText)"));
        v.as_array().expect("cells").iter().map(|h| h.as_str().unwrap_or("").to_string()).collect()
    };
    let usp = row(&mut b, "update-socket-protocol");
    assert!(usp[c612].starts_with("traced"), "update_socket_protocol on 6.12: {usp:?}");
    assert!(usp[c61].starts_with("absent"), "update_socket_protocol on 6.1: {usp:?}");
    assert_eq!(usp[1], "present on some kernels only", "{usp:?}");
    let smf = row(&mut b, "sock-map-fd");
    for c in [c61, c612] {
        assert!(smf[c].starts_with("absent") && smf[c].contains("inlined"), "sock_map_fd: {smf:?}");
    }
    b.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots/site-compare.png"));
    // 6.12's Part 2: the chain's functions link to their DWARF lines in the exact upstream version.
    let part2 = std::fs::read_dir(&d)
        .expect("site")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .find(|n| n.starts_with("6.12.") && n.ends_with("-part2.html"))
        .expect("6.12 part 2");
    assert!(b.open(&url(&part2)).is_empty());
    let links = b.eval("[...document.querySelectorAll('.tree a')].map(a => a.href)");
    let links: Vec<&str> = links.as_array().expect("links").iter().filter_map(|l| l.as_str()).collect();
    assert!(
        links
            .iter()
            .any(|l| l.starts_with("https://elixir.bootlin.com/linux/v6.12.") && l.contains("/source/net/socket.c#L")),
        "{links:?}"
    );
}

/// `prove --fail F --attach fentry|kprobe --format json` for each target, in one boot of kernel `k`: the reports, as
/// (target, tier, report) with tier "A" then "B" for each target.
fn fail_reports(k: &str, targets: &[&'static str]) -> Vec<(&'static str, &'static str, Value)> {
    let mut script = String::new();
    for f in targets {
        for a in ["fentry", "kprobe"] {
            script += &format!("{} prove -q --fail {f} --attach {a} --format json; echo =====\n", bin());
        }
    }
    let o = lab(k, &["--timeout", "400"], &["sh", "-c", &script]);
    assert_eq!(o.status.code(), Some(0), "{k}: {}", text(&o.stderr));
    let out = text(&o.stdout);
    let parts: Vec<&str> = out.split("=====\n").filter(|p| !p.trim().is_empty()).collect();
    assert_eq!(parts.len(), targets.len() * 2, "{k}: {out}");
    parts
        .iter()
        .enumerate()
        .map(|(i, js)| {
            let (f, tier) = (targets[i / 2], ["A", "B"][i % 2]);
            let r: Value = serde_json::from_str(js).unwrap_or_else(|e| panic!("{k} {f} {tier}: {e}"));
            assert_eq!(r["kernel"]["tier"], tier, "{k} {f}");
            (f, tier, r)
        })
        .collect()
}

/// The course's harder puzzle, tiers A and B: a socket() that fails after sock_alloc releases that very socket in
/// the same call; one rejected before sock_alloc allocated nothing.
#[test]
fn each_failure_target_releases_what_it_allocated_at_tiers_a_and_b() {
    let _g = lock();
    let kinds = ["emfile", "family-range", "family-unregistered", "protocol", "type"];
    for k in ["6.1", "6.12"] {
        for (f, tier, r) in fail_reports(k, &kinds) {
            let c = r["claims"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["id"] == "release.same_socket"))
                .unwrap_or_else(|| panic!("{k} {f} {tier}: no release claim"));
            assert_eq!(c["verdict"], "proved", "{k} {f} {tier}: {c}");
            let allocated = !matches!(f, "family-range" | "type");
            let finding = c["finding"].as_str().unwrap_or("");
            assert_eq!(finding.contains("never ran"), !allocated, "{k} {f} {tier}: {finding}");
            if f == "emfile" {
                // The sock side: the struct sock sk_alloc returned is the one tcp_close got, in the same call.
                let sc = r["claims"]
                    .as_array()
                    .and_then(|a| a.iter().find(|c| c["id"] == "release.same_sock"))
                    .unwrap_or_else(|| panic!("{k} {f} {tier}: no release.same_sock"));
                assert_eq!(sc["verdict"], "proved", "{k} {f} {tier}: {sc}");
                let ev = |w: &str| {
                    sc["evidence"]
                        .as_array()
                        .and_then(|a| a.iter().find(|e| e["what"].as_str().is_some_and(|x| x.starts_with(w))))
                        .and_then(|e| e["value"].as_str())
                        .unwrap_or("")
                        .to_string()
                };
                let sk = ev("sk_alloc() returned");
                assert!(sk.starts_with("0xff"), "{k} {f} {tier}: a kernel pointer: {sk}");
                assert_eq!(ev("tcp_close"), sk, "{k} {f} {tier}: tcp_close got sk_alloc's sock");
            }
            assert_eq!(r["summary"]["refuted"], 0, "{k} {f} {tier}");
            // Every claim the target makes is proved here: none is left not observable at tiers A/B.
            assert_eq!(r["summary"]["not_observable"], 0, "{k} {f} {tier}: {:#}", r["summary"]);
            // What was allocated went back to the kernel: sock_free_inode got sock_alloc's pointer (RCU, later).
            let freed: Vec<&Value> =
                r["claims"].as_array().into_iter().flatten().filter(|c| c["id"] == "release.freed").collect();
            if allocated {
                assert_eq!(freed.len(), 1, "{k} {f} {tier}: one release.freed");
                assert_eq!(freed[0]["verdict"], "proved", "{k} {f} {tier}: {}", freed[0]);
                let alloc = c["evidence"][0]["value"].as_str().unwrap_or("");
                assert!(
                    freed[0]["evidence"][0]["value"].as_str().is_some_and(|v| v.contains(alloc)),
                    "{k} {f} {tier}: the same pointer: {} vs {alloc}",
                    freed[0]
                );
            } else {
                assert!(freed.is_empty(), "{k} {f} {tier}: nothing allocated, nothing to free: {freed:?}");
            }
            // The call's allocation list: each object with who made it, who released it and who freed it.
            let call = &r["calls"][0];
            let allocs = call["allocations"].as_array().cloned().unwrap_or_default();
            let of = |o: &str| allocs.iter().find(|a| a["object"] == o).cloned();
            if allocated {
                let so = of("struct socket").unwrap_or_else(|| panic!("{k} {f} {tier}: no socket in {call:#}"));
                assert_eq!(so["allocated_by"], "sock_alloc", "{k} {f} {tier}");
                assert_eq!(so["addr"], c["evidence"][0]["value"], "{k} {f} {tier}: the pointer sock_alloc returned");
                let rel: Vec<&str> =
                    so["released_by"].as_array().into_iter().flatten().filter_map(|x| x.as_str()).collect();
                assert!(rel.iter().any(|x| x.ends_with("sock_release")), "{k} {f} {tier}: {so}");
                assert_eq!(so["freed_by"], "sock_free_inode", "{k} {f} {tier}: {so}");
            } else {
                assert!(allocs.is_empty(), "{k} {f} {tier}: nothing allocated: {allocs:?}");
            }
            if f == "emfile" {
                let sk = of("struct sock").unwrap_or_else(|| panic!("{k} {f} {tier}: no sock in {call:#}"));
                assert_eq!(sk["allocated_by"], "sk_alloc");
                let rel: Vec<&str> =
                    sk["released_by"].as_array().into_iter().flatten().filter_map(|x| x.as_str()).collect();
                assert!(rel.contains(&"tcp_close"), "{k} {f} {tier}: {sk}");
                assert_eq!(sk["freed_by"], "__sk_destruct", "{k} {f} {tier}: the sock went back too: {sk}");
                assert!(
                    freed[0]["finding"].as_str().unwrap_or("").contains("1 of 1 sock(s)"),
                    "{k} {f} {tier}: release.freed follows the sock: {}",
                    freed[0]
                );
            }
            // A family inside the table with no one registered: its slot read live, NULL.
            if f == "family-unregistered" {
                let u = r["claims"].as_array().and_then(|a| a.iter().find(|c| c["id"] == "dispatch.unregistered"));
                let u = u.unwrap_or_else(|| panic!("{k} {f} {tier}: no dispatch.unregistered"));
                assert_eq!(u["verdict"], "proved", "{k} {f} {tier}: {u:#}");
                assert!(u["evidence"].to_string().contains("NULL"), "{k} {f} {tier}: {u:#}");
            }
        }
    }
}

#[test]
fn diff_of_6_1_and_6_12_names_update_socket_protocol_as_only_on_6_12() {
    let _g = lock();
    let t = tempfile::tempdir().expect("tmp");
    let mut files = Vec::new();
    for k in ["6.1", "6.12"] {
        let o = lab(k, &[], &[bin(), "prove", "-q", "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{k}: {}", text(&o.stderr));
        let f = t.path().join(format!("{k}.json"));
        std::fs::write(&f, &o.stdout).expect("write");
        files.push(f.to_str().expect("path").to_string());
    }
    let o = Command::new(bin()).args(["diff", &files[0], &files[1], "--format", "json"]).output().expect("diff");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let d: Value = serde_json::from_slice(&o.stdout).expect("json");
    let fns = d["functions"].as_array().expect("functions");
    let usp = fns.iter().find(|f| f["name"] == "update_socket_protocol").expect("update_socket_protocol planned");
    assert_eq!(usp["change"], "only in b", "{usp:#}");
    assert!(usp["a"].as_str().is_some_and(|s| s.starts_with("absent")), "{usp:#}");
    assert_eq!(usp["b"], "traced");
    let smf = fns.iter().find(|f| f["name"] == "sock_map_fd").expect("sock_map_fd planned");
    assert_eq!(smf["change"], "", "sock_map_fd is absent (inlined) on both: {smf:#}");
    assert_eq!((d["refuted_a"].as_u64(), d["refuted_b"].as_u64()), (Some(0), Some(0)), "{d:#}");
    assert!(d["latency"].as_array().is_some_and(|l| l.iter().any(|x| x["func"] == "sock_alloc")), "{d:#}");
    // Struct layouts: the structs the diff names are exactly those whose BTF layout differs between the two reports.
    let reports: Vec<Value> =
        files.iter().map(|f| serde_json::from_slice(&std::fs::read(f).expect("read")).expect("json")).collect();
    let by_name = |r: &Value| -> std::collections::BTreeMap<String, Value> {
        r["layouts"]["structs"]
            .as_array()
            .expect("layouts in every lab report")
            .iter()
            .map(|s| (s["name"].as_str().expect("name").to_string(), s.clone()))
            .collect()
    };
    let (la, lb) = (by_name(&reports[0]), by_name(&reports[1]));
    assert!(la.contains_key("sock") && la.contains_key("socket") && la.contains_key("file"), "{:?}", la.keys());
    let moved: Vec<&String> = la.keys().filter(|k| lb.get(*k) != la.get(*k)).collect();
    let named: Vec<&str> =
        d["structs"].as_array().expect("structs").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(named, moved, "{:#}", d["structs"]);
    assert_eq!(d["structs_compared"].as_u64(), Some(la.len() as u64));
    let o = Command::new(bin()).args(["diff", &files[0], &files[1]]).output().expect("diff text");
    let t = text(&o.stdout);
    for n in &named {
        assert!(t.contains(&format!("struct {n} ")), "the text names struct {n}: {t}");
    }
    let o = Command::new(bin()).args(["diff", &files[1], &files[1], "--format", "json"]).output().expect("diff");
    let same: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(same["differences"], 0, "{same:#}");
}

#[test]
fn out_dir_brings_a_guest_file_out_and_an_o_elsewhere_is_warned_about() {
    let _g = lock();
    let t = tempfile::tempdir().expect("tmp");
    let d = t.path().to_str().expect("path").to_string();
    let kept = format!("{d}/kept.json");
    let script = format!("{0} prove -q --format json -o {kept} && {0} prove -q --format json -o /tmp/lost.json", bin());
    let o = lab("6.12", &["--out-dir", &d], &["sh", "-c", &script]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r: Value =
        serde_json::from_slice(&std::fs::read(&kept).expect("the report written under --out-dir is on the host"))
            .expect("a whole JSON report");
    assert_eq!(r["kernel"]["tier"], "A", "written in the guest");
    let e = text(&o.stderr);
    assert!(e.contains("-o /tmp/lost.json is written inside the lab guest"), "{e}");
    assert!(!e.contains(&format!("-o {kept} is written inside")), "the shared one is not warned about: {e}");
}

#[test]
fn the_perfetto_timeline_of_a_6_12_run_nests_and_its_flows_reproduce_the_provenance_claims() {
    let _g = lock();
    let t = tempfile::tempdir().expect("tmp");
    let d = t.path().to_str().expect("path").to_string();
    let script = format!(
        "{0} prove -q --attach fentry --format json -o {d}/socket.json && {0} prove -q --life --attach fentry --format json -o {d}/life.json",
        bin()
    );
    let o = lab("6.12", &["--out-dir", &d], &["sh", "-c", &script]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for name in ["socket", "life"] {
        let rep = format!("{d}/{name}.json");
        let r: Value = serde_json::from_slice(&std::fs::read(&rep).expect("report")).expect("json");
        assert_eq!(r["kernel"]["tier"], "A");
        let out = format!("{d}/{name}.trace.json");
        let o =
            Command::new(bin()).args(["render", &rep, "--format", "perfetto", "-o", &out]).output().expect("render");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let trace: Value = serde_json::from_slice(&std::fs::read(&out).expect("trace")).expect("json");
        let flows = perfetto::check(&trace).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The memory graph of the same guest evidence, drawn on the host.
        let pic = format!("{d}/{name}.svg");
        let o = Command::new(bin()).args(["render", &rep, "--format", "svg", "-o", &pic]).output().expect("render");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        if name == "socket" {
            svg::check_memory_graph(&r, &std::fs::read_to_string(&pic).expect("svg"));
        }
        svg::screenshot(std::path::Path::new(&pic), &format!("memory-graph-6.12-tier-A-{name}"));
        // Every chain frame is a slice (or an instant when its exit was not recorded).
        let frames: usize =
            r["calls"].as_array().expect("calls").iter().map(|c| c["chain"].as_array().map_or(0, Vec::len)).sum();
        let kernel = trace["traceEvents"].as_array().expect("events").iter().filter(|e| e["cat"] == "kernel").count();
        assert_eq!(kernel, frames, "{name}: one kernel slice per chain frame");
        assert!(frames > 10, "{name}: the chain was traced");
        // provenance.*: the flow of the address the claim proved visits every function its evidence names, in
        // the evidence's order, and then the socket() call's exit walk (in the life, the later calls' too).
        for id in ["provenance.socket", "provenance.sock", "provenance.file"] {
            let of_id: Vec<&Value> = r["claims"].as_array().expect("claims").iter().filter(|c| c["id"] == id).collect();
            assert!(!of_id.is_empty(), "{name}: no {id} claim");
            for c in of_id {
                assert_eq!(c["verdict"], "proved", "{name} {id}");
                let kind = id.trim_start_matches("provenance.");
                let a = c["evidence"][0]["value"].as_str().expect("address");
                let f: Vec<_> = flows.iter().filter(|(n, _)| *n == format!("struct {kind} {a}")).collect();
                assert!(
                    !f.is_empty(),
                    "{name} {id}: no flow for {a}: {:?}",
                    flows.iter().map(|f| &f.0).collect::<Vec<_>>()
                );
                let slices: Vec<&str> = f[0].1.iter().map(|s| s.slice.as_str()).collect();
                let want: Vec<&str> = c["evidence"]
                    .as_array()
                    .expect("evidence")
                    .iter()
                    .filter(|e| e["source"] == "fentry/fexit")
                    .filter_map(|e| e["what"].as_str()?.split("()").next())
                    .collect();
                let mut at = 0;
                for w in &want {
                    let i = slices[at..]
                        .iter()
                        .position(|s| s == w)
                        .unwrap_or_else(|| panic!("{name} {id}: {w} not in the flow after step {at}: {slices:?}"));
                    at += i;
                }
                assert!(
                    slices[at..].iter().any(|s| s.starts_with("socket(")),
                    "{name} {id}: then socket()'s exit walk finds it: {slices:?}"
                );
            }
        }
    }
}

#[test]
fn histograms_count_every_call_full_and_counted_at_tiers_a_and_b() {
    let _g = lock();
    let looper = cc("loop.c", "loop-hist", &[]);
    let t = tempfile::tempdir().expect("tmp");
    let d = t.path().to_str().expect("path").to_string();
    let lp = looper.to_str().expect("path");
    let script = format!(
        "{0} prove -q --attach fentry --hist --chain-calls 4 --format json -o {d}/a.json -- {lp} 60 0 && \
         {0} prove -q --attach kprobe --hist --chain-calls 4 --format json -o {d}/b.json -- {lp} 60 0 && \
         {0} prove -q --attach fentry --format hist -- {lp} 20 0",
        bin()
    );
    let o = lab("6.12", &["--out-dir", &d], &["sh", "-c", &script]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for (f, tier) in [("a", "A"), ("b", "B")] {
        let r: Value = serde_json::from_slice(&std::fs::read(format!("{d}/{f}.json")).expect("report")).expect("json");
        assert_eq!(r["kernel"]["tier"], tier);
        let sockets = r["totals"]["by_syscall"]["socket"].as_u64().expect("socket calls");
        assert_eq!(sockets, 60, "{tier}: the loop's socket() calls");
        // Per function: the calls received in full (frames with an exit) and those the kernel only counted.
        let mut full: std::collections::BTreeMap<String, u64> = Default::default();
        for c in r["calls"].as_array().expect("calls") {
            for fr in c["chain"].as_array().into_iter().flatten().filter(|f| !f["exit_ns"].is_null()) {
                *full.entry(fr["func"].as_str().unwrap_or("").to_string()).or_default() += 1;
            }
        }
        let counted: std::collections::BTreeMap<String, u64> = r["chain_budget"]["counted"]
            .as_array()
            .expect("counted")
            .iter()
            .filter_map(|x| Some((x[0].as_str()?.to_string(), x[2].as_u64()?)))
            .collect();
        let h = r["histograms"]["funcs"].as_array().expect("histograms");
        assert_eq!(r["histograms"]["missed"], 0, "{tier}");
        let mut checked = 0;
        for x in h {
            let func = x["func"].as_str().unwrap_or("");
            let sum: u64 = x["buckets"].as_array().into_iter().flatten().filter_map(|b| b[1].as_u64()).sum();
            assert_eq!(sum, x["calls"].as_u64().unwrap_or(0), "{tier} {func}: buckets add up");
            let want = full.get(func).copied().unwrap_or(0) + counted.get(func).copied().unwrap_or(0);
            assert_eq!(
                sum,
                want,
                "{tier} {func}: every call in the histogram (full {:?} + counted {:?})",
                full.get(func),
                counted.get(func)
            );
            checked += usize::from(want > 0);
        }
        assert!(checked >= 8, "{tier}: the socket chain's functions have histograms: {h:?}");
        let root = h.iter().find(|x| x["func"] == "__sys_socket").expect("__sys_socket");
        assert_eq!(root["calls"].as_u64(), Some(60), "{tier}: one __sys_socket per socket()");
        // The SVG histogram, rendered on the host from the guest's report: per function a panel whose drawn
        // counts add up to the function's calls.
        let svg_path = t.path().join(format!("{f}.hist.svg"));
        let o = Command::new(bin())
            .args(["render", &format!("{d}/{f}.json"), "--format", "hist-svg", "-o", svg_path.to_str().expect("p")])
            .output()
            .expect("render");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let svg = std::fs::read_to_string(&svg_path).expect("svg");
        let doc = roxmltree::Document::parse(&svg).expect("the histogram SVG is XML");
        let panels: Vec<roxmltree::Node> =
            doc.descendants().filter(|n| n.attribute("class") == Some("panel")).collect();
        assert_eq!(panels.len(), h.len(), "{tier}: a panel per function");
        for (panel, x) in panels.iter().zip(h) {
            let drawn: u64 = panel
                .descendants()
                .filter(|n| n.attribute("class") == Some("count"))
                .filter_map(|n| n.text()?.parse::<u64>().ok())
                .sum();
            assert_eq!(Some(drawn), x["calls"].as_u64(), "{tier} {}: drawn counts", x["func"]);
            let title: String = panel
                .descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .filter(|t| !t.trim().is_empty())
                .take(1)
                .collect();
            assert!(title.starts_with(&format!("@{}: ", x["func"].as_str().unwrap_or(""))), "{title}");
        }
        let (w, hgt) = svg::screenshot(&svg_path, &format!("histograms-6.12-tier-{tier}"));
        assert!(w > 300 && hgt > 300, "{w}×{hgt}");
    }
    let out = text(&o.stdout);
    assert!(out.contains("@__sys_socket: 20 calls") && out.contains(" |@"), "the text histogram: {out}");
}

#[test]
fn a_connection_s_failures_are_proved_at_tiers_a_and_b() {
    let _g = lock();
    let targets = ["connrefused", "addrinuse", "accept-emfile"];
    let ids = ["connect.refused", "bind.in_use", "accept.emfile"];
    for k in ["6.1", "6.12"] {
        for (i, (f, tier, r)) in fail_reports(k, &targets).into_iter().enumerate() {
            let id = ids[i / 2];
            let c = r["claims"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["id"] == id))
                .unwrap_or_else(|| panic!("{k} {f} {tier}: no {id} claim"));
            assert_eq!(c["verdict"], "proved", "{k} {f} {tier}: {c:#}");
            assert_eq!(r["summary"]["refuted"], 0, "{k} {f} {tier}");
            assert_eq!(r["summary"]["not_observable"], 0, "{k} {f} {tier}: every claim proved: {:#}", r["summary"]);
            if f == "addrinuse" {
                let finding = c["finding"].as_str().unwrap_or("");
                assert!(finding.contains("owner of bind bucket 0xff"), "{k} {f} {tier}: the bucket's owner: {finding}");
            }
            // The calls that succeeded around the failure are proved down to the function level.
            let chain = r["claims"]
                .as_array()
                .expect("claims")
                .iter()
                .filter(|c| c["id"].as_str().is_some_and(|x| x.ends_with(".chain")) && c["verdict"] == "proved");
            assert!(chain.count() >= 3, "{k} {f} {tier}: the function-level chains of the other calls");
            let find = |id: &str| r["claims"].as_array().and_then(|a| a.iter().find(|c| c["id"] == id)).cloned();
            if f == "accept-emfile" {
                // The fd is refused first, so nothing is allocated; the connection waits for the next accept4.
                for id in ["accept.nothing_allocated", "accept.kept_waiting"] {
                    let c = find(id).unwrap_or_else(|| panic!("{k} {f} {tier}: no {id}"));
                    assert_eq!(c["verdict"], "proved", "{k} {f} {tier}: {c:#}");
                }
            }
            let left = find("sockets.none_left").unwrap_or_else(|| panic!("{k} {f} {tier}: no sockets.none_left"));
            assert_eq!(left["verdict"], "proved", "{k} {f} {tier}: nothing else runs in the guest: {left:#}");
        }
    }
}

/// The puzzle as a lesson (`lesson --fail emfile`) on 6.12 with its -dbg package, tiers A and B: the prediction
/// from the source lines (sock_release's call site, mapped by DWARF), every observation and the verdict proved.
#[test]
fn the_puzzle_lesson_is_proved_with_its_source_line_at_tiers_a_and_b() {
    let _g = lock();
    // The socket() puzzle, then a connection's failures: (--fail, the source file the prediction's line is in, how
    // the verdict's result begins).
    let kinds = [
        ("emfile", "net/socket.c:", "nothing leaked"),
        ("accept-emfile", "net/socket.c:", "as predicted"),
        ("addrinuse", "net/ipv4/af_inet.c:", "as predicted"),
        ("connrefused", "net/ipv4/af_inet.c:", "as predicted"),
    ];
    let mut script = String::new();
    for (f, _, _) in kinds {
        for a in ["fentry", "kprobe"] {
            script += &format!("{} lesson -q --fail {f} --attach {a} --format json; echo =====\n", bin());
        }
    }
    let o = lab("6.12", &["--dbg", "--timeout", "400"], &["sh", "-c", &script]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let parts: Vec<&str> = out.split("=====\n").filter(|p| !p.trim().is_empty()).collect();
    assert_eq!(parts.len(), kinds.len() * 2, "{out}");
    for (i, p) in parts.iter().enumerate() {
        let ((f, file, verdict_start), tier) = (kinds[i / 2], ["A", "B"][i % 2]);
        let l: Value = serde_json::from_str(p).unwrap_or_else(|e| panic!("{f} {tier}: {e}"));
        assert_eq!(l["tier"], tier, "{f}");
        let steps = l["steps"].as_array().expect("steps");
        for s in steps {
            assert!(
                ["axiom", "proved", "shown"].contains(&s["status"].as_str().unwrap_or("")),
                "{f} {tier}: step {} {}: {} {}",
                s["n"],
                s["action"],
                s["status"],
                s["why_not"]
            );
        }
        let predict =
            steps.iter().find(|s| s["action"].as_str().is_some_and(|a| a.starts_with("predict"))).expect("prediction");
        assert!(predict["result"].as_str().is_some_and(|r| r.contains(file)), "{f} {tier}: {predict}");
        let verdict = steps.last().expect("verdict");
        assert!(verdict["result"].as_str().is_some_and(|r| r.starts_with(verdict_start)), "{f} {tier}: {verdict}");
        axioms::assert_axiomatic(&l, &format!("6.12 lesson --fail {f} tier {tier}"));
    }
}
