//! Host tier: syswalk run for real on the kernel this machine runs (tier C). Needs root (CAP_BPF + CAP_PERFMON);
//! the tests fail, not skip, without it. They run one at a time so the loaded-program checks see only their own.
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::*;

fn claim<'a>(r: &'a Value, id: &str, call: u64) -> &'a Value {
    r["claims"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id && c["call"].as_u64() == Some(call)))
        .unwrap_or_else(|| panic!("no claim {id} for call {call}"))
}

const TIER_C_CLAIMS: [&str; 9] = [
    "fd.lowest_free",
    "file.private_data_is_socket",
    "socket.file_is_file",
    "socket.sk_is_sock",
    "sock.sk_socket_backlink",
    "sock.family_matches_arg",
    "sock.protocol_resolved",
    "socket.type_matches_arg",
    "socket.ops_is_family_ops",
];

#[test]
fn prove_builtin_target_proves_every_tier_c_claim() {
    let _g = lock();
    let before = syswalk_progs();
    let o = run(&["prove", "--format", "json", "-q"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    assert_eq!(r["schema"], "syswalk.report/2");
    let tier = r["kernel"]["tier"].as_str().expect("tier").to_string();
    assert_eq!(r["stats"]["lost"], 0);
    // Launch → attached covers loading and attaching, and everything before (capabilities, BTF, kallsyms).
    let (l2a, att) = (
        r["stats"]["launch_to_attached_ms"].as_f64().expect("launch_to_attached_ms"),
        r["stats"]["attach_ms"].as_f64().expect("attach_ms"),
    );
    assert!(l2a > att && att > 0.0, "launch→attached {l2a} ms vs attach {att} ms");
    let calls = r["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1, "exactly the built-in call");
    let c = &calls[0];
    assert_eq!(c["syscall"], "socket");
    assert_eq!(c["ret"], 3, "fds 0,1,2 open → fd 3");
    assert_eq!(c["before"]["fdtable"]["open"], serde_json::json!([0, 1, 2]));
    assert_eq!(c["before"]["fdtable"]["files_users"], 1, "a single-threaded child has its fd table to itself");
    assert_eq!(c["after"]["sock"]["family"]["raw"], 2);
    assert_eq!(c["after"]["sock"]["protocol"]["raw"], 6);
    assert_eq!(c["after"]["sock"]["protocol"]["name"], "IPPROTO_TCP");
    assert_eq!(c["after"]["socket"]["state"]["name"], "SS_UNCONNECTED");
    assert_eq!(c["after"]["sock"]["state"]["name"], "TCP_CLOSE");
    assert_eq!(c["after"]["sock"]["prot_name"], "TCP");
    assert_eq!(c["after"]["socket"]["ops_connect"]["symbol"], "inet_stream_connect");
    assert_eq!(c["after"]["file"]["f_op_read_iter"]["symbol"], "sock_read_iter");
    for id in TIER_C_CLAIMS {
        let k = claim(&r, id, 1);
        assert_eq!(k["verdict"], "proved", "{id}: {k}");
        assert!(!k["evidence"].as_array().expect("evidence").is_empty(), "{id} has no evidence");
    }
    let chain = r["claims"].as_array().expect("claims").iter().find(|c| c["id"] == "chain.order").expect("chain.order");
    if tier == "C" {
        // The function-level chain cannot be seen on this kernel and must say so, never ✓.
        assert_eq!(chain["verdict"], "not_observable");
        assert!(chain["reason"].as_str().unwrap_or("").contains("fentry"));
    } else {
        // Re-run inside the lab on a stock kernel: the chain is there and proved.
        assert_eq!(chain["verdict"], "proved", "tier {tier}: {chain}");
    }
    assert_nothing_left(&before, "prove");
}

#[test]
fn text_report_has_steps_map_and_summary() {
    let _g = lock();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.txt");
    let o = run(&["prove", "-q", "-o", out.to_str().expect("utf8 path")]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty(), "-o must keep stdout empty");
    let t = std::fs::read_to_string(&out).expect("report written");
    assert!(t.contains("memory linkage"), "{t}");
    assert!(t.contains("(= the socket above ✓)"));
    assert!(t.contains("∴ 9 proved · 0 refuted · 8 not observable here"), "{t}");
    assert!(!t.contains('\x1b'), "no colour in a file");
    let md = run(&["prove", "-q", "--format", "md"]);
    let m = String::from_utf8_lossy(&md.stdout);
    assert!(m.starts_with("# syswalk report"));
    assert!(m.contains("**`sock.sk_socket_backlink`**"));
}

#[test]
fn inet6_dgram_and_unix_stream_are_told_apart() {
    let _g = lock();
    let prog = cc("sockets");
    // AF_INET6=10 SOCK_DGRAM=2, AF_UNIX=1 SOCK_STREAM=1
    let o = run(&["prove", "--format", "json", "-q", "--", prog.to_str().expect("path"), "10:2:0", "1:1:0"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    // prove traces a connection's whole life; this program only makes two socket() calls (and closes them).
    let calls: Vec<&Value> =
        r["calls"].as_array().expect("calls").iter().filter(|c| c["syscall"] == "socket").collect();
    assert_eq!(calls.len(), 2);
    let (v6, ux) = (calls[0], calls[1]);
    assert_eq!(v6["ret"], 3);
    assert_eq!(ux["ret"], 4);
    assert_eq!(v6["after"]["sock"]["family"]["name"], "AF_INET6");
    assert_eq!(v6["after"]["sock"]["protocol"]["name"], "IPPROTO_UDP");
    assert_eq!(v6["after"]["socket"]["type"]["name"], "SOCK_DGRAM");
    assert_eq!(v6["after"]["socket"]["ops_release"]["symbol"], "inet6_release");
    assert_eq!(v6["after"]["socket"]["ops_connect"]["symbol"], "inet_dgram_connect");
    assert_eq!(ux["after"]["sock"]["family"]["name"], "AF_UNIX");
    assert_eq!(ux["after"]["sock"]["protocol"]["raw"], 0);
    assert_eq!(ux["after"]["socket"]["ops_connect"]["symbol"], "unix_stream_connect");
    assert_eq!(ux["after"]["socket"]["ops_release"]["symbol"], "unix_release");
    for call in [v6["seq"].as_u64().expect("seq"), ux["seq"].as_u64().expect("seq")] {
        for id in TIER_C_CLAIMS {
            assert_eq!(claim(&r, id, call)["verdict"], "proved", "call {call} {id}");
        }
    }
    // Where kallsyms names data objects, the ops tables must be the family's own.
    if let Some(s) = v6["after"]["socket"]["ops"]["symbol"].as_str() {
        assert_eq!(s, "inet6_dgram_ops");
    }
    if let Some(s) = ux["after"]["socket"]["ops"]["symbol"].as_str() {
        assert_eq!(s, "unix_stream_ops");
    }
}

#[test]
fn unsupported_family_reports_errno_and_no_walk() {
    let _g = lock();
    let o = run(&["prove", "--family", "99", "--format", "json", "-q"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let c = &r["calls"][0];
    assert_eq!(c["ret"], -97);
    assert_eq!(c["errno"]["name"], "EAFNOSUPPORT");
    assert!(c["after"].get("file").is_none() && c["after"].get("socket").is_none(), "no object walk on failure");
    let all: Vec<&Value> = r["claims"].as_array().expect("claims").iter().filter(|k| k["call"] == 1).collect();
    // With a function-level chain (the lab), the puzzle's claim too: family 99 is rejected before sock_alloc. At
    // tier C they are made as not observable, with why.
    let puzzle = ["release.same_socket", "release.same_sock", "release.freed"];
    let tier_c = r["kernel"]["tier"] == "C";
    for rel in all.iter().filter(|k| puzzle.contains(&k["id"].as_str().unwrap_or(""))) {
        if tier_c {
            assert_eq!(rel["verdict"], "not_observable", "{rel}");
            assert!(rel["reason"].as_str().is_some_and(|f| f.contains("fentry or kprobes")), "{rel}");
        } else {
            assert_eq!(rel["verdict"], "proved", "{rel}");
            assert!(rel["finding"].as_str().is_some_and(|f| f.contains("never ran")), "{rel}");
        }
    }
    let claims: Vec<&&Value> = all.iter().filter(|k| !puzzle.contains(&k["id"].as_str().unwrap_or(""))).collect();
    assert_eq!(claims.len(), 1, "only the failure claim: {claims:?}");
    assert_eq!(claims[0]["id"], "fd.unchanged_on_failure");
    assert_eq!(claims[0]["verdict"], "proved");
    assert_eq!(r["target"]["ending"]["value"], 1, "built-in target exits 1 when the call fails");
}

#[test]
fn each_failure_target_fails_as_the_kernel_says_and_leaves_nothing() {
    let _g = lock();
    // (--fail, errno, what the target's call was)
    let cases = [
        ("emfile", "EMFILE", "socket(2, 1, 0)"),
        ("family-range", "EAFNOSUPPORT", "socket(46, 1, 0)"),
        ("family-unregistered", "EAFNOSUPPORT", "socket(25, 1, 0)"),
        ("protocol", "EPROTONOSUPPORT", "socket(2, 1, 17)"),
        ("type", "EINVAL", "socket(2, 11, 0)"),
    ];
    for (fail, errno, call) in cases {
        let o = run(&["prove", "--fail", fail, "--format", "json", "-q"]);
        assert_eq!(o.status.code(), Some(0), "{fail}: stderr: {}", String::from_utf8_lossy(&o.stderr));
        let r = json(&o);
        assert!(r["target"]["description"].as_str().unwrap_or("").contains(call), "{fail}: {}", r["target"]);
        let c = &r["calls"][0];
        assert_eq!(c["errno"]["name"], errno, "{fail}: {c}");
        assert!(c["after"].get("socket").is_none(), "{fail}: no object on failure");
        let verdict = |id: &str| {
            r["claims"].as_array().into_iter().flatten().find(|k| k["id"] == id).cloned().unwrap_or_default()
        };
        assert_eq!(verdict("fd.unchanged_on_failure")["verdict"], "proved", "{fail}");
        // The namespace's socket count: equal (proved), or moved by another process (not observable, and said).
        let left = verdict("sockets.none_left");
        match left["verdict"].as_str() {
            Some("proved") => {}
            Some("not_observable") => {
                assert!(left["reason"].as_str().unwrap_or("").contains("other processes"), "{left}")
            }
            _ => panic!("{fail}: {left}"),
        }
        let used = r["stats"]["sockets_used"].as_array().expect("sockets_used read");
        assert_eq!(used.len(), 2, "{fail}");
        assert_eq!(r["stats"]["tcp_sockets"].as_array().map(|a| a.len()), Some(2), "{fail}: TCP's count read too");
        // Inside the table with no family: its slot is read live where kallsyms has net_families; here (text
        // symbols only) the claim says why it cannot be, never ✓. Other failures do not make this claim.
        let unreg = verdict("dispatch.unregistered");
        if fail == "family-unregistered" {
            let has_table = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default().contains(" net_families\n");
            // With the table in kallsyms, it is proved at tiers A/B (read before and after); at tier C the read
            // before the target is not made, so not observable.
            let want = if has_table && r["kernel"]["tier"] != "C" { "proved" } else { "not_observable" };
            assert_eq!(unreg["verdict"], want, "{fail}: {unreg}");
            if !has_table {
                assert!(unreg["reason"].as_str().unwrap_or("").contains("kallsyms"), "{unreg}");
            }
        } else {
            assert!(unreg.is_null(), "{fail}: {unreg}");
        }
    }
    // EMFILE comes from the limit, not from a full table: the same call without --fail succeeds.
    let o = run(&["prove", "--format", "json", "-q"]);
    assert_eq!(json(&o)["calls"][0]["ret"], 3);
    // A failure target is one call; mixing it with another call's arguments is a usage error.
    let o = run(&["prove", "--fail", "emfile", "--family", "unix"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn other_processes_never_appear() {
    let _g = lock();
    let noise = cc("noise");
    let mut n1 = Command::new(&noise).arg("3000").spawn().expect("noise");
    let mut n2 = Command::new(&noise).arg("3000").spawn().expect("noise");
    std::thread::sleep(Duration::from_millis(100));
    let prog = cc("sockets");
    let o = run(&["prove", "--format", "json", "-q", "--", prog.to_str().expect("path"), "2:1:0", "2:2:0"]);
    let _ = n1.wait();
    let _ = n2.wait();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let pid = r["target"]["pid"].as_u64().expect("pid");
    let calls = r["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 2, "only the target's two calls, none of the noise");
    assert!(calls.iter().all(|c| c["pid"].as_u64() == Some(pid)));
    assert!(u64::from(n1.id()) != pid && u64::from(n2.id()) != pid);
}

#[test]
fn forked_children_are_followed() {
    let _g = lock();
    let prog = cc("sockets");
    let script = format!("{} 2:1:0; exit 0", prog.display());
    let o = run(&["prove", "--format", "json", "-q", "--", "sh", "-c", &script]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let root = r["target"]["pid"].as_u64().expect("pid");
    let c = &r["calls"][0];
    assert_ne!(c["pid"].as_u64(), Some(root), "the call came from the forked child");
    assert!(!r["target"]["forks"].as_array().expect("forks").is_empty());
    let o = run(&["prove", "--no-follow", "-q", "--", "sh", "-c", &script]);
    assert_eq!(
        o.status.code(),
        Some(24),
        "without following, the shell itself made no socket(): {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn trace_attaches_to_a_running_pid() {
    let _g = lock();
    let prog = cc("sockets");
    let script = format!("sleep 1.5; exec {} 2:1:0", prog.display());
    let mut child = Command::new("sh").arg("-c").arg(&script).stdout(Stdio::null()).spawn().expect("sh");
    let pid = child.id().to_string();
    let o = run(&["trace", "-p", &pid, "--syscalls", "socket", "--format", "json", "-q"]);
    let _ = child.wait();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let c = &r["calls"][0];
    assert_eq!(c["pid"].as_u64().map(|p| p.to_string()), Some(pid));
    assert_eq!(claim(&r, "sock.sk_socket_backlink", 1)["verdict"], "proved");
}

#[test]
fn trace_covers_a_server_life() {
    let _g = lock();
    // python3 is on the machine; a loopback server: socket, bind, listen, close.
    let code = "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(1); s.close()";
    let o = run(&[
        "trace",
        "--format",
        "json",
        "-q",
        "--syscalls",
        "socket,bind,listen,close",
        "--",
        "python3",
        "-c",
        code,
    ]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let calls = r["calls"].as_array().expect("calls");
    let sock = calls
        .iter()
        .rev()
        .find(|c| c["syscall"] == "socket" && c["after"]["sock"]["family"]["raw"] == 2)
        .expect("inet socket");
    let fd = sock["ret"].as_i64().expect("fd");
    let addr = sock["after"]["socket"]["addr"].clone();
    for name in ["bind", "listen"] {
        let c = calls
            .iter()
            .find(|c| c["syscall"] == name && c["args"][0]["value"]["raw"] == fd)
            .unwrap_or_else(|| panic!("{name} on fd {fd}"));
        assert_eq!(c["ret"], 0);
        assert_eq!(c["after"]["socket"]["addr"], addr, "{name} acts on the same struct socket");
    }
    let listen = calls.iter().find(|c| c["syscall"] == "listen").expect("listen");
    assert_eq!(listen["after"]["sock"]["state"]["name"], "TCP_LISTEN");
}

fn expect_error(args: &[&str], code: i32, needle: &str) {
    let before = syswalk_progs();
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{args:?}: stderr {err}");
    assert!(err.contains(needle), "{args:?}: stderr {err:?} lacks {needle:?}");
    assert!(err.contains("error["), "{args:?}: message format: {err}");
    assert_nothing_left(&before, &format!("{args:?}"));
}

#[test]
fn each_error_kind_has_its_exit_code_and_leaves_nothing_loaded() {
    let _g = lock();
    let noexec = Path::new(env!("CARGO_TARGET_TMPDIR")).join("not-executable");
    std::fs::write(&noexec, "#!/bin/sh\n").expect("write");
    expect_error(&["prove", "--", "no-such-command-xyz"], 20, "command not found");
    expect_error(&["prove", "--", noexec.to_str().expect("path")], 21, "not an executable");
    expect_error(&["trace", "-p", "4194303"], 22, "no process with PID 4194303");
    expect_error(&["prove", "--", "false"], 23, "exited with status 1 before any call on a socket (socket, ");
    expect_error(&["prove", "--", "true"], 24, "without any call on a socket (socket, ");
    expect_error(&["prove", "--", "sh", "-c", "kill -9 $$"], 25, "killed by signal 9");
    expect_error(&["prove", "--family", "nosuchfamily"], 2, "unknown address family");
    expect_error(&["trace", "--syscalls", "frobnicate", "--", "true"], 2, "does not trace");
    let o = Command::new(bin()).args(["prove"]).env("SYSWALK_BTF_PATH", "/nonexistent/vmlinux").output().expect("run");
    assert_eq!(o.status.code(), Some(11), "{}", String::from_utf8_lossy(&o.stderr));
    // Not root: drop every capability and become nobody.
    let o = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            bin(),
            "prove",
        ])
        .output()
        .expect("setpriv (util-linux)");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(10), "{err}");
    assert!(err.contains("CAP_BPF") && err.contains("hint:"), "{err}");
}

#[test]
fn interrupt_detaches_everything() {
    let _g = lock();
    let before = syswalk_progs();
    let mut child = Command::new(bin())
        .args(["trace", "-q", "--", "sleep", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let t0 = Instant::now();
    while syswalk_progs().len() == before.len() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(syswalk_progs().len() > before.len(), "programs were never attached");
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let st = child.wait().expect("wait");
    assert!(t0.elapsed() < Duration::from_secs(20));
    assert!(st.code().is_some(), "syswalk exited by itself after SIGINT");
    assert_nothing_left(&before, "after SIGINT");
    assert!(!Path::new(&format!("/proc/{}", child.id())).exists());
}

#[test]
fn broken_pipe_is_a_clean_exit() {
    let _g = lock();
    let o = Command::new("bash")
        .args([
            "-c",
            &format!("set -o pipefail; {} prove -q --format json | true; echo \"status=${{PIPESTATUS[0]}}\"", bin()),
        ])
        .output()
        .expect("bash");
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(out.contains("status=0"), "stdout {out} stderr {err}");
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
}

#[test]
fn caps_reports_tier_and_reasons() {
    let _g = lock();
    let before = syswalk_progs();
    let o = run(&["caps", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let c = json(&o);
    let check = |n: &str| c["checks"].as_array().and_then(|a| a.iter().find(|k| k["name"] == n)).cloned().expect(n);
    assert_eq!(check("tp_btf")["ok"], true);
    assert_eq!(check("btf")["ok"], true);
    // The tier follows from what really attached, and every failure carries the kernel's answer.
    let tier = c["tier"].as_str().expect("tier");
    let fentry_ok = check("fentry")["ok"] == true && check("fexit")["ok"] == true;
    let kprobe_ok = check("kprobe")["ok"] == true && check("kretprobe")["ok"] == true;
    let expect = if fentry_ok {
        "A"
    } else if kprobe_ok {
        "B"
    } else {
        "C"
    };
    assert_eq!(tier, expect);
    for k in c["checks"].as_array().expect("checks") {
        if k["ok"] == false {
            assert!(!k["detail"].as_str().unwrap_or("").is_empty(), "{k}");
        }
    }
    let t = run(&["caps"]);
    let text = String::from_utf8_lossy(&t.stdout);
    assert!(text.contains(&format!("∴ tier {expect}")), "{text}");
    assert_nothing_left(&before, "caps");
}

fn lesson_step<'a>(l: &'a Value, claim: &str) -> &'a Value {
    l["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["claims"].as_array().is_some_and(|c| c.iter().any(|x| x == claim)))
        .unwrap_or_else(|| panic!("no step rests on {claim}"))
}

fn lesson_claim<'a>(l: &'a Value, id: &str) -> &'a Value {
    l["claims"]
        .as_array()
        .expect("claims")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no claim {id}: {}", l["claims"]))
}

#[test]
fn lesson_on_this_kernel_proves_or_says_why_not() {
    let _g = lock();
    let o = run(&["lesson", "-q", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let l = json(&o);
    assert_eq!(l["schema"], "syswalk.lesson/1");
    let steps = l["steps"].as_array().expect("steps");
    for s in steps {
        let st = s["status"].as_str().expect("status");
        assert!(["axiom", "proved", "not_observable", "shown"].contains(&st), "step {}: {st}", s["n"]);
        if st == "not_observable" {
            assert!(s["why_not"].as_str().is_some_and(|w| !w.is_empty()), "step {} says why not", s["n"]);
        }
    }
    // Read from the text: every term is introduced before a step's text uses it; only the axioms are given; every
    // number a ✓ conclusion states is in its step.
    axioms::assert_axiomatic(&l, "host");
    // The user side: the built-in target's own machine code and the return address the kernel saw.
    for id in [
        "user.call_site",
        "user.return_address",
        "constants.nr_socket",
        "constants.af_inet",
        "constants.sock_stream",
        "constants.ipproto_ip",
        "fd.lowest_free",
    ] {
        assert_eq!(lesson_claim(&l, id)["verdict"], "proved", "{id}: {}", lesson_claim(&l, id));
    }
    let site = lesson_claim(&l, "user.call_site");
    assert!(site["finding"].as_str().unwrap_or("").starts_with("syswalk_course_socket loads 2, 1, 0"), "{site}");
    // This kernel has no static map and no fentry/kprobes: those steps are present and say so.
    assert_eq!(lesson_step(&l, "kaslr.offset_constant")["status"], "not_observable");
    assert!(lesson_step(&l, "kaslr.offset_constant")["why_not"].as_str().unwrap_or("").contains("System.map"));
    assert_eq!(lesson_step(&l, "chain.order")["status"], "not_observable");
    assert_eq!(lesson_step(&l, "source.lines")["status"], "not_observable");
    // The text form has the seeds' line shape and the computed closing sections.
    let t = run(&["lesson", "-q"]);
    let text = String::from_utf8_lossy(&t.stdout);
    assert!(
        text.lines().any(|x| x.starts_with("11. look the system call's number up ..") && x.ends_with('✓')),
        "{text}"
    );
    for h in [
        "TERMS",
        "NEW THINGS INTRODUCED WITHOUT DERIVATION",
        "NAMED, NOT DERIVED",
        "FORWARD REFERENCES",
        "NEW INFERENCE",
        "REJECTION STATUS",
    ] {
        assert!(text.contains(h), "{h}");
    }
    // The strings let through as quoted data are printed, each with why (the machine's name at least).
    assert!(text.contains("\"x86_64\" at step 05: what `uname -m` prints"), "{text}");
    // The names the issue found used and never derived are derived where the text first uses them.
    axioms::assert_derived_at_first_use(&l, axioms::ISSUE_31, "host");
    assert_eq!(
        text.lines().filter(|x| x.len() > 3 && x.as_bytes()[2] == b'.' && x.as_bytes()[0].is_ascii_digit()).count(),
        steps.len()
    );
}

#[test]
fn lesson_of_a_c_program_finds_its_plt_call() {
    let _g = lock();
    let prog = cc("course");
    let o = run(&["lesson", "-q", "--format", "json", "--", prog.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let l = json(&o);
    let site = lesson_claim(&l, "user.call_site");
    assert_eq!(site["verdict"], "proved", "{site}");
    assert!(
        site["finding"].as_str().unwrap_or("").contains("main loads 2, 1, 0")
            && site["finding"].as_str().unwrap_or("").contains("through the PLT"),
        "{site}"
    );
    assert_eq!(lesson_claim(&l, "user.return_address")["verdict"], "proved");
    // The line's step names the program that really ran, not the built-in target.
    let line = l["steps"].as_array().into_iter().flatten().find(|s| s["part"] == "the line").expect("the line");
    let code = line["code"].as_str().unwrap_or("");
    assert!(code.contains(prog.to_str().unwrap_or("?")) && !code.contains("built-in"), "{line}");
    axioms::assert_axiomatic(&l, "host, the user's own program");
    // A program whose path and arguments are full of the lesson's words uses none of its terms.
    let odd = Path::new(env!("CARGO_TARGET_TMPDIR")).join("the chain BTF tier");
    std::fs::create_dir_all(&odd).expect("mkdir");
    let odd = odd.join("kallsyms");
    std::fs::copy(&prog, &odd).expect("copy");
    let o = run(&["lesson", "-q", "--format", "json", "--", odd.to_str().expect("utf8"), "fentry pt_regs offset"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    axioms::assert_axiomatic(&json(&o), "host, a program named with the lesson's words");
    // A program that never makes the course's call is told so (exit 24), not given a lesson full of ✗.
    let other = cc("sockets");
    let o = run(&["lesson", "-q", "--", other.to_str().expect("utf8"), "1:1:0"]);
    assert_eq!(o.status.code(), Some(24), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("socket(AF_UNIX (1), SOCK_STREAM (1), IPPROTO_IP (0)) = 3"));
}

#[test]
fn constants_agree_with_the_observed_call() {
    let _g = lock();
    let o = run(&["constants", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let k = json(&o);
    let m = Command::new("uname").arg("-m").output().expect("uname");
    assert_eq!(k["machine"]["value"], String::from_utf8_lossy(&m.stdout).trim());
    for r in k["rows"].as_array().expect("rows") {
        assert_eq!(r["header"]["value"], r["observed"]["value"], "{r}");
        assert!(r["header"]["line"].as_u64().is_some_and(|l| l > 0));
    }
    for c in k["claims"].as_array().expect("claims") {
        assert_eq!(c["verdict"], "proved", "{c}");
    }
}

#[test]
fn kaslr_without_a_static_map_is_not_observable_and_a_bad_map_is_a_usage_error() {
    let o = run(&["kaslr", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let k = json(&o);
    let c = &k["claims"][0];
    assert_eq!(c["id"], "kaslr.offset_constant");
    assert_eq!(c["verdict"], "not_observable", "{c}");
    assert!(k["tried"].as_array().is_some_and(|t| !t.is_empty()));
    expect_error(&["kaslr", "--system-map", "/nonexistent/System.map"], 2, "--system-map");
    // A map of another build must not be taken for this one: a made-up map refutes the constant offset.
    let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fake.System.map");
    let ks = std::fs::read_to_string("/proc/kallsyms").expect("kallsyms");
    let mut fake = String::new();
    for (i, l) in ks.lines().filter(|l| !l.contains('[')).enumerate() {
        let mut it = l.split_whitespace();
        let (Some(a), Some(t), Some(n)) = (it.next(), it.next(), it.next()) else { continue };
        let a = u64::from_str_radix(a, 16).expect("hex");
        // every 7th symbol moved by 16 bytes
        fake.push_str(&format!("{:016x} {t} {n}\n", if i % 7 == 0 { a + 16 } else { a }));
    }
    std::fs::write(&p, fake).expect("write map");
    let o = run(&["kaslr", "--format", "json", "--system-map", p.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1), "refuted → exit 1; stderr {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&o)["claims"][0]["verdict"], "refuted");
}

fn bpf_stats_sysctl() -> String {
    std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled").expect("kernel.bpf_stats_enabled").trim().to_string()
}

#[test]
fn bpf_stats_measures_each_program_for_the_session_only() {
    let _g = lock();
    assert_eq!(bpf_stats_sysctl(), "0", "run-time statistics must be off before the test");
    let l = cc("loop");
    let lp = l.to_str().expect("utf-8 path");
    // Without the flag: the programs are listed (recursion misses are always counted) but the kernel timed nothing.
    let o = run(&["prove", "--format", "json", "-q", "--", lp, "20", "0"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    assert_eq!(r["stats"]["bpf_stats"], false);
    let progs = r["stats"]["programs"].as_array().expect("programs");
    assert!(progs.iter().any(|p| p["name"] == "sw_sys_enter"), "{progs:?}");
    assert!(progs.iter().all(|p| p["runs"] == 0 && p["run_ns"] == 0), "nothing timed without --bpf-stats: {progs:?}");
    // With it: 20 socket() + 20 close() at least went through the boundary programs, and each run took time.
    let o = run(&["prove", "--bpf-stats", "--format", "json", "-q", "--", lp, "20", "0"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    assert_eq!(r["stats"]["bpf_stats"], true);
    let progs = r["stats"]["programs"].as_array().expect("programs");
    for name in ["sw_sys_enter", "sw_sys_exit"] {
        let p = progs.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name} in {progs:?}"));
        assert!(p["runs"].as_u64().expect("runs") >= 40, "{name}: {p}");
        assert!(p["run_ns"].as_u64().expect("run_ns") > 0, "{name}: {p}");
    }
    // The text report says it, and the kernel's statistics are off again once syswalk has exited.
    let o = run(&["prove", "--bpf-stats", "-q"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("bpf cost") && text.contains("sw_sys_enter"), "{text}");
    assert_eq!(bpf_stats_sysctl(), "0", "syswalk left BPF run-time statistics on");
}

#[test]
fn threads_sharing_an_fd_table_are_judged_without_false_refutations() {
    let _g = lock();
    // Two threads released together, 50 socket()+close() each, one fd table: a call may get a higher fd than the
    // lowest free at its entry because the other thread took it meanwhile. That is evidence (or, unexplained, not
    // observable), never a refutation.
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("threads");
    let st = Command::new("cc")
        .args(["-O1", "-pthread", "-o"])
        .arg(&exe)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/threads.c"))
        .status()
        .expect("cc");
    assert!(st.success());
    let o = run(&["prove", "--format", "json", "-q", "--", exe.to_str().expect("utf-8"), "2", "50"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let calls = r["calls"].as_array().expect("calls");
    assert_eq!(calls.iter().filter(|c| c["syscall"] == "socket").count(), 100);
    let mut tids: Vec<u64> = calls.iter().filter_map(|c| c["tid"].as_u64()).collect();
    tids.sort();
    tids.dedup();
    assert_eq!(tids.len(), 2, "{tids:?}");
    // The kernel counts the table's users: the main thread (waiting in pthread_join) and the workers still alive —
    // at least 2 whenever a worker makes a call, 3 while both run.
    let users: Vec<Option<u64>> = calls.iter().map(|c| c["before"]["fdtable"]["files_users"].as_u64()).collect();
    assert!(users.iter().all(|n| n.is_some_and(|n| n >= 2)), "files->count at entry: {users:?}");
    let lowest: Vec<&Value> =
        r["claims"].as_array().expect("claims").iter().filter(|c| c["id"] == "fd.lowest_free").collect();
    assert_eq!(lowest.len(), 100);
    assert!(lowest.iter().all(|c| c["verdict"] != "refuted"), "{lowest:?}");
    let explained = lowest
        .iter()
        .filter(|c| {
            c["evidence"].as_array().is_some_and(|e| e.iter().any(|x| x["what"] == "taken meanwhile by another thread"))
        })
        .count();
    eprintln!("calls whose fd was explained by the other thread: {explained} of 100");
}

/// The claims a connection's life proves at the syscall boundary (tier C), by the call they are about.
const LIFE_TIER_C: &[(&str, &[&str])] = &[
    ("bind", &["fd.same_socket", "bind.port", "bind.address", "bind.bucket", "bind.still_closed"]),
    ("getsockname", &["getsockname.agrees"]),
    ("listen", &["fd.same_socket", "listen.state", "listen.backlog", "listen.queue_empty"]),
    ("connect", &["fd.same_socket", "connect.peer", "connect.states", "connect.socket_state", "connect.listener"]),
    (
        "accept4",
        &[
            "fd.same_socket",
            "accept.new_socket",
            "accept.graft",
            "accept.local",
            "accept.peer_addr",
            "accept.ends",
            "accept.listener_listens",
        ],
    ),
    ("write", &["fd.same_socket", "write.seq"]),
    ("read", &["fd.same_socket", "rw.bytes_match"]),
    ("close", &["fd.same_socket", "close.fd_free"]),
];

fn role<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["connections"]["socks"].as_array().and_then(|a| a.iter().find(|s| s["role"] == name)).expect(name)
}

fn life_claims_hold(r: &Value, took_unread: bool) {
    let calls = r["calls"].as_array().expect("calls");
    let claims = r["claims"].as_array().expect("claims");
    for (sys, ids) in LIFE_TIER_C {
        let of: Vec<&Value> = calls.iter().filter(|c| c["syscall"] == *sys).collect();
        assert!(!of.is_empty(), "no {sys} call");
        for c in of {
            let seq = c["seq"].as_u64().expect("seq");
            for id in ids.iter().chain(if *sys == "read" && took_unread { &["read.took_unread"][..] } else { &[][..] })
            {
                assert_eq!(claim(r, id, seq)["verdict"], "proved", "{sys} (call {seq}) {id}: {}", claim(r, id, seq));
            }
        }
    }
    // The function-level claims are not observable here, and say why.
    for c in claims
        .iter()
        .filter(|c| c["id"].as_str().is_some_and(|i| i.ends_with(".chain") || i.ends_with(".chain_objects")))
    {
        assert_eq!(c["verdict"], "not_observable", "{c}");
        assert!(c["reason"].as_str().is_some_and(|w| w.contains("fentry")), "{c}");
    }
    // Every TCP sock's states form one chain that ends closed.
    let states: Vec<&Value> = claims.iter().filter(|c| c["id"] == "tcp.states").collect();
    assert_eq!(states.len(), 3, "listener, client, accepted");
    assert!(states.iter().all(|c| c["verdict"] == "proved"), "{states:?}");
    let cv = &r["connections"];
    let mut roles: Vec<&str> =
        cv["socks"].as_array().expect("socks").iter().filter_map(|s| s["role"].as_str()).collect();
    roles.sort();
    assert_eq!(roles, ["accepted", "client", "listener"]);
    assert_eq!(cv["pairs"].as_array().map(|p| p.len()), Some(1), "one connection: {cv}");
    let client = role(r, "client");
    let seen: Vec<&str> =
        client["states"].as_array().expect("states").iter().filter_map(|s| s["new"]["name"].as_str()).collect();
    assert_eq!(&seen[..2], ["TCP_SYN_SENT", "TCP_ESTABLISHED"], "the handshake as the tracepoint saw it");
}

#[test]
fn prove_life_proves_every_boundary_claim_and_says_why_the_chain_is_not() {
    let _g = lock();
    let o = run(&["prove", "--life", "--format", "json", "-q"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    life_claims_hold(&r, true);
    // The port bind() chose is the one getsockname() reported and connect() asked for.
    let calls = r["calls"].as_array().expect("calls");
    let of = |s: &str| calls.iter().find(|c| c["syscall"] == s).expect(s);
    let port = of("bind")["after"]["sock"]["inet"]["num"].as_u64().expect("port");
    assert_eq!(of("getsockname")["sockaddr"]["port"].as_u64(), Some(port));
    assert_eq!(of("connect")["sockaddr"]["port"].as_u64(), Some(port));
    assert_eq!(of("listen")["after"]["sock"]["max_ack_backlog"], 8);
    // The text report shows the connection view with both ends.
    let t = run(&["prove", "--life", "-q"]);
    let text = String::from_utf8_lossy(&t.stdout);
    assert!(
        text.contains("connections (socks followed across calls") && text.contains("SYN_SENT → ESTABLISHED"),
        "{text}"
    );
}

#[test]
fn a_users_server_and_client_are_proved_and_their_ends_linked() {
    let _g = lock();
    let (server, client) = (cc("server"), cc("client"));
    let pf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("life-port");
    let _ = std::fs::remove_file(&pf);
    let script = format!("{} {} & {} {}; wait", server.display(), pf.display(), client.display(), pf.display());
    let o = run(&["prove", "--format", "json", "-q", "--", "sh", "-c", &script]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    life_claims_hold(&r, false);
    let pid = |n: &str| role(&r, n)["pid"].as_u64();
    assert_ne!(pid("listener"), pid("client"), "server and client are two processes");
    assert_eq!(pid("listener"), pid("accepted"), "the listener and the accepted sock are the server's");
}

#[test]
fn lesson_life_adds_one_chapter_per_call_and_stays_axiomatic() {
    let _g = lock();
    let o = run(&["lesson", "--life", "-q", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let l = json(&o);
    axioms::assert_axiomatic(&l, "host, lesson --life");
    assert!(
        l["axioms"]["named"].as_array().is_some_and(|n| n.iter().any(|u| u["name"] == "x86_64")),
        "the named, not derived list is in the JSON: {}",
        l["axioms"]["named"]
    );
    let steps = l["steps"].as_array().expect("steps");
    let parts: Vec<&str> = steps.iter().filter_map(|s| s["part"].as_str()).collect();
    let at = |p: &str| parts.iter().position(|x| *x == p).unwrap_or_else(|| panic!("no chapter {p}: {parts:?}"));
    let order = ["the result", "bind", "listen", "connect", "accept4", "write and read", "close"].map(at);
    assert!(order.windows(2).all(|w| w[0] < w[1]), "chapters in the server's order: {order:?}");
    // New terms come with their chapter: a port before the backlog, the handshake before the child sock.
    let intro = |t: &str| {
        l["axioms"]["terms"].as_array().and_then(|a| a.iter().find(|x| x["term"] == t)).and_then(|x| x["step"].as_u64())
    };
    for (a, b) in
        [("port", "backlog"), ("backlog", "handshake"), ("handshake", "child sock"), ("child sock", "sequence number")]
    {
        assert!(intro(a).zip(intro(b)).is_some_and(|(x, y)| x < y), "{a} is introduced before {b}");
    }
    for s in steps.iter().filter(|s| parts[s["n"].as_u64().unwrap_or(1) as usize - 1] != "axioms") {
        let claims: Vec<&str> =
            s["claims"].as_array().map(|a| a.iter().filter_map(|c| c.as_str()).collect()).unwrap_or_default();
        let chain = claims.iter().any(|c| {
            c.ends_with(".chain")
                || c.ends_with(".chain_objects")
                || *c == "accept.fd_before_alloc"
                || *c == "close.freed"
        });
        let life = ["bind", "listen", "connect", "accept4", "write and read", "close"]
            .contains(&s["part"].as_str().unwrap_or(""));
        if life && chain {
            assert_eq!(s["status"], "not_observable", "step {}: the chain is not observable here", s["n"]);
        } else if life {
            assert_eq!(s["status"], "proved", "step {} ({}): {}", s["n"], s["action"], s["why_not"]);
        }
    }
}

#[test]
fn a_loop_of_connections_reusing_sock_addresses_is_judged_without_false_refutations() {
    let _g = lock();
    // 300 connections from one thread: the kernel hands the freed socks' addresses to the next ones, and a whole
    // burst of calls and state changes arrives before the first is judged. Each call must find its own.
    let prog = cc("connloop");
    let o = run(&["prove", "--format", "json", "-q", "--", prog.to_str().expect("path"), "300", "0"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let t = &r["totals"]["claims"];
    for (id, n) in [
        ("connect.states", 300),
        ("accept.ends", 300),
        ("rw.bytes_match", 600),
        ("read.took_unread", 600),
        ("write.seq", 600),
        ("close.fd_free", 601),
        ("tcp.states", 601),
    ] {
        assert_eq!(t[id], serde_json::json!([n, 0, 0]), "{id}: [proved, refuted, not observable]");
    }
    assert_eq!(r["summary"]["refuted"], 0);
}

#[test]
fn diff_of_a_report_against_itself_shows_no_difference_and_refuses_what_is_not_a_report() {
    let _g = lock();
    let t = tempfile::tempdir().expect("tmp");
    let a = t.path().join("a.json");
    let o = run(&["prove", "-q", "--format", "json", "-o", a.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let ap = a.to_str().expect("path");
    let o = run(&["diff", ap, ap, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let d = json(&o);
    assert_eq!(d["differences"], 0, "{d:#}");
    assert_eq!(d["claims"].as_array().map(Vec::len), Some(0));
    // Tier C: no chain here, and the diff says what it could not compare.
    let nc = d["not_compared"].to_string();
    assert!(nc.contains("no function-level chain"), "{nc}");
    let o = run(&["diff", ap, ap]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("no difference"));
    // A file that is not a report, and one that is absent: usage errors (exit 2) that say what to give.
    let bad = t.path().join("bad.json");
    std::fs::write(&bad, "{\"schema\": \"something/1\"}").expect("write");
    for other in [bad.to_str().expect("path"), "/nonexistent/x.json"] {
        let o = run(&["diff", ap, other]);
        assert_eq!(o.status.code(), Some(2), "{other}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(other) && e.contains("error[usage]"), "{e}");
    }
    // The output path is checked before anything is read.
    let o = run(&["diff", "/nonexistent/a.json", ap, "-o", "/nonexistent-dir/d.txt"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("-o /nonexistent-dir/d.txt"));
}

#[test]
fn lab_out_dir_is_checked_before_anything_is_fetched_or_booted() {
    for (dir, why) in
        [("/nonexistent-syswalk-dir", "No such file"), ("/etc/hostname", "is not a folder"), ("/", "whole root")]
    {
        let o = run(&["lab", "run", "--kernel", "no-such-kernel", "--out-dir", dir, "--", "true"]);
        assert_eq!(o.status.code(), Some(2), "{dir}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(&format!("--out-dir {dir}")) && e.contains(why), "{dir}: {e}");
    }
}

/// `prove -q ARGS --format json -o DIR/NAME.json`, checked to exit 0: the report's path and its JSON.
fn saved_report(dir: &std::path::Path, name: &str, args: &[&str]) -> (std::path::PathBuf, Value) {
    let rep = dir.join(format!("{name}.json"));
    let mut all = vec!["prove", "-q", "--format", "json", "-o", rep.to_str().expect("path")];
    all.extend_from_slice(args);
    let o = run(&all);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&std::fs::read(&rep).expect("report")).expect("json");
    (rep, r)
}

#[test]
fn the_life_as_a_perfetto_timeline_nests_and_its_flows_follow_each_fd_s_objects() {
    let _g = lock();
    let t = tempfile::tempdir().expect("tmp");
    let (rep, r) = saved_report(t.path(), "life", &["--life"]);
    // The saved report rendered again (what a lab run's evidence gets on the host).
    let o = run(&["render", rep.to_str().expect("path"), "--format", "perfetto"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let trace = json(&o);
    let flows = common::perfetto::check(&trace).unwrap_or_else(|e| panic!("{e}"));
    let calls = r["calls"].as_array().expect("calls");
    let slices = trace["traceEvents"].as_array().expect("events").iter().filter(|e| e["ph"] == "X").count();
    assert_eq!(slices, calls.len(), "one slice per call at tier C (no chain here)");
    // Each socket's flow visits, in order, every call whose walk found that socket: from its socket() or
    // accept4() to its close().
    for kind in ["socket", "sock", "file"] {
        let mut addrs: Vec<String> =
            calls.iter().filter_map(|c| c["after"][kind]["addr"].as_str().map(String::from)).collect();
        addrs.sort();
        addrs.dedup();
        assert!(addrs.len() >= 3, "three {kind}s in the life: {addrs:?}");
        for a in addrs {
            let want: Vec<String> = calls
                .iter()
                .filter(|c| {
                    c["before"][kind]["addr"].as_str() == Some(&a) || c["after"][kind]["addr"].as_str() == Some(&a)
                })
                .map(|c| c["syscall"].as_str().unwrap_or("").to_string())
                .collect();
            let name = format!("struct {kind} {a}");
            let f: Vec<&(String, Vec<common::perfetto::Step>)> = flows.iter().filter(|(n, _)| *n == name).collect();
            assert_eq!(f.len(), 1, "one flow for {name}");
            let mut got: Vec<String> =
                f[0].1.iter().map(|s| s.slice.split('(').next().unwrap_or("").to_string()).collect();
            got.dedup();
            assert_eq!(got, want, "{name}: the flow's slices are the calls that walked it");
        }
    }
}

#[test]
fn the_memory_graph_draws_one_node_per_object_and_one_arrow_per_pointer_with_the_report_s_addresses() {
    let _g = lock();
    let t = tempfile::tempdir().expect("tmp");
    let (rep, r) = saved_report(t.path(), "socket", &[]);
    let svg_path = t.path().join("socket.svg");
    let o = run(&["render", rep.to_str().expect("path"), "--format", "svg", "-o", svg_path.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(&svg_path).expect("svg");
    common::svg::check_memory_graph(&r, &svg);
    let (w, h) = common::svg::screenshot(&svg_path, "memory-graph-socket");
    assert!(w > 600 && h > 200, "{w}×{h}");
    // prove writes the same picture live, and the server's life shows both ends of its connection.
    let life = t.path().join("life.svg");
    let o = run(&["prove", "-q", "--life", "--format", "svg", "-o", life.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(&life).expect("svg");
    let d = common::svg::read(&svg).unwrap_or_else(|e| panic!("{e}"));
    let peer: Vec<&common::svg::Arrow> = d.arrows.iter().filter(|a| a.dashed).collect();
    assert_eq!(peer.len(), 1, "one connection, one dashed arrow: {:#?}", d.arrows);
    for end in [peer[0].from, peer[0].to] {
        assert!(
            d.nodes[end].texts.iter().any(|t| t.starts_with("sk_state = TCP_")),
            "an end is a sock: {:?}",
            d.nodes[end]
        );
    }
    assert_eq!(d.nodes.iter().filter(|n| n.texts.first().map(String::as_str) == Some("struct sock")).count(), 3);
    common::svg::screenshot(&life, "memory-graph-life");
}

#[test]
fn a_saved_report_renders_as_text_and_markdown_with_every_claim_and_object() {
    let _g = lock();
    let t = tempfile::tempdir().expect("tmp");
    let (rep, r) = saved_report(t.path(), "life", &["--life"]);
    for (format, symbol) in [("text", "✓"), ("md", "✓")] {
        let o = run(&["render", rep.to_str().expect("path"), "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8(o.stdout).expect("utf-8");
        for c in r["claims"].as_array().expect("claims") {
            let id = c["id"].as_str().expect("id");
            let shown = if format == "md" { format!("`{id}`") } else { id.to_string() };
            assert!(out.contains(&shown), "{format}: claim {id} shown");
        }
        assert!(out.contains(symbol));
        for ob in r["objects"].as_array().expect("objects") {
            let a = ob["addr"].as_str().expect("addr");
            assert!(out.contains(a), "{format}: object {a} shown");
        }
        let s = &r["summary"];
        let line = format!("{} proved", s["proved"]);
        assert!(out.contains(&line), "{format}: the summary's count {line:?}");
    }
    // A report of another shape is refused, saying why.
    let bad = t.path().join("bad.json");
    let mut v = r.clone();
    v["calls"][0]["seq"] = "one".into();
    std::fs::write(&bad, serde_json::to_vec(&v).expect("json")).expect("write");
    let o = run(&["render", bad.to_str().expect("path"), "--format", "text"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not hold a whole report of this schema"));
}

#[test]
fn a_unix_listener_is_not_refuted_for_lacking_the_inet_state_tracepoint() {
    let _g = lock();
    let t = tempfile::tempdir().expect("tmp");
    let prog = common::cc("unixlife");
    let (p, d) = (prog.to_str().expect("path"), t.path().to_str().expect("path"));
    let (_, r) = saved_report(t.path(), "unix", &["--", p, d]);
    let listen = r["calls"].as_array().expect("calls").iter().find(|c| c["syscall"] == "listen").expect("listen");
    let c = claim(&r, "listen.state", listen["seq"].as_u64().expect("seq"));
    assert_eq!(c["verdict"], "not_observable", "{c:#}");
    assert!(c["reason"].as_str().is_some_and(|w| w.contains("AF_UNIX") && w.contains("TCP_LISTEN")), "{c:#}");
    assert_eq!(r["summary"]["refuted"], 0, "{:#}", r["summary"]);
}

#[test]
fn a_connection_s_failures_are_named_and_leave_their_sockets_as_they_were() {
    let _g = lock();
    let t = tempfile::tempdir().expect("tmp");
    for (fail, syscall, errno, id) in [
        ("connrefused", "connect", "ECONNREFUSED", "connect.refused"),
        ("addrinuse", "bind", "EADDRINUSE", "bind.in_use"),
        ("accept-emfile", "accept4", "EMFILE", "accept.emfile"),
    ] {
        let (_, r) = saved_report(t.path(), fail, &["--fail", fail]);
        assert_eq!(r["target"]["ending"]["value"], 0, "{fail}: the target's call failed as intended");
        let calls = r["calls"].as_array().expect("calls");
        let failed: Vec<&Value> = calls.iter().filter(|c| c["ret"].as_i64().is_some_and(|x| x < 0)).collect();
        assert_eq!(failed.len(), 1, "{fail}: one failed call");
        let c = failed[0];
        assert_eq!(c["syscall"], syscall, "{fail}");
        assert_eq!(c["errno"]["name"], errno, "{fail}: {:#}", c["errno"]);
        assert!(c["errno"]["origin"].as_str().is_some_and(|o| o.contains("errno")), "{fail}: named from the headers");
        let cl = claim(&r, id, c["seq"].as_u64().expect("seq"));
        assert_eq!(cl["verdict"], "proved", "{fail}: {cl:#}");
        assert_eq!(r["summary"]["refuted"], 0, "{fail}");
        // The target closes every socket it made: the namespace's counts are back where they were (or moved by
        // another process, and said).
        let left = r["claims"].as_array().into_iter().flatten().find(|k| k["id"] == "sockets.none_left");
        let left = left.unwrap_or_else(|| panic!("{fail}: no sockets.none_left"));
        assert!(
            left["verdict"] == "proved"
                || (left["verdict"] == "not_observable"
                    && left["reason"].as_str().unwrap_or("").contains("other processes")),
            "{fail}: {left}"
        );
        let finding = cl["finding"].as_str().unwrap_or("");
        match fail {
            "connrefused" => {
                assert!(finding.contains("TCP_CLOSE → TCP_SYN_SENT → TCP_CLOSE"), "{finding}");
                assert!(finding.contains("SS_UNCONNECTED"), "{finding}");
            }
            "addrinuse" => {
                // The holder named is the listener the target bound first (its first socket()).
                let first = calls.iter().find(|c| c["syscall"] == "socket").expect("socket");
                let sk = first["after"]["sock"]["addr"].as_str().expect("sock");
                assert!(finding.contains(&format!("held by sk {sk} (listener)")), "{finding}");
                assert!(finding.contains("local port 0"), "{finding}");
            }
            _ => {
                assert!(finding.contains("1 connection(s) waiting") && finding.contains("unchanged"), "{finding}");
                // The next accept4 gets that connection.
                let next = calls.iter().find(|x| x["syscall"] == "accept4" && x["seq"].as_u64() > c["seq"].as_u64());
                let next = next.expect("a second accept4");
                assert_eq!(next["ret"], 5, "{next:#}");
                assert_eq!(next["before"]["sock"]["ack_backlog"], 1, "still queued at the next call's entry");
                // And it is that very connection: the child is the other end of the client's sock.
                let kept = claim(&r, "accept.kept_waiting", next["seq"].as_u64().expect("seq"));
                assert_eq!(kept["verdict"], "proved", "{kept:#}");
                let client = calls
                    .iter()
                    .find(|x| x["syscall"] == "connect" && x["ret"] == 0)
                    .and_then(|x| x["after"]["sock"]["addr"].as_str())
                    .expect("the client's connect");
                assert!(kept["finding"].as_str().unwrap_or("").contains(client), "{kept:#}");
                // The failed call's allocation order is the chain's: not observable at tier C, with why.
                let na = claim(&r, "accept.nothing_allocated", c["seq"].as_u64().expect("seq"));
                assert_eq!(na["verdict"], "not_observable", "{na:#}");
            }
        }
    }
}

/// The puzzle as a lesson at tier C: the boundary observations proved (fd table, socket count), the chain's not
/// observable with why — never ✓ — and nothing refuted.
#[test]
fn the_puzzle_lesson_proves_the_boundary_and_says_why_the_chain_is_not_observable() {
    let _g = lock();
    let o = run(&["lesson", "-q", "--fail", "emfile", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let l = json(&o);
    let steps = l["steps"].as_array().expect("steps");
    let status = |prefix: &str| {
        steps
            .iter()
            .find(|s| s["action"].as_str().is_some_and(|a| a.starts_with(prefix)))
            .map(|s| (s["status"].as_str().unwrap_or("").to_string(), s["why_not"].as_str().unwrap_or("").to_string()))
            .unwrap_or_else(|| panic!("no step {prefix}"))
    };
    assert_eq!(status("observe: the fd table").0, "proved");
    assert_eq!(status("observe: the kernel's socket count").0, "proved");
    let (st, why) = status("observe: the socket sock_alloc returned");
    assert_eq!(st, "not_observable");
    assert!(why.contains("needs fentry or kprobes"), "the claim is made here, as not observable, with why: {why}");
    assert!(steps.iter().all(|s| s["status"] != "refuted"), "{steps:#?}");
    assert_eq!(l["report"]["calls"][0]["ret"], -24, "the report of the run is inside");
    common::axioms::assert_axiomatic(&l, "lesson --fail emfile (tier C)");
}

/// socket()'s other failure targets as chapters at tier C: each axiomatic under the identifier check, with the
/// named, not derived list in its text.
#[test]
fn every_socket_failure_lesson_is_axiomatic() {
    let _g = lock();
    for fail in ["family-range", "family-unregistered", "protocol", "type"] {
        let o = run(&["lesson", "-q", "--fail", fail, "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{fail}: {}", String::from_utf8_lossy(&o.stderr));
        common::axioms::assert_axiomatic(&json(&o), &format!("lesson --fail {fail} (tier C)"));
        let t = run(&["lesson", "-q", "--fail", fail]);
        assert!(String::from_utf8_lossy(&t.stdout).contains("\nNAMED, NOT DERIVED\n"), "{fail}");
    }
}

/// A connection's failures as chapters at tier C: the boundary observations proved, the prediction and the
/// chain's observations not observable with why (never ✓), nothing refuted, and the chapter axiomatic.
#[test]
fn a_connection_s_failure_lessons_prove_the_boundary_and_say_why_the_chain_is_not_observable() {
    let _g = lock();
    // (--fail, the failed syscall, the observation proved at the boundary, one not observable at tier C)
    for (fail, syscall, proved, chain) in [
        ("accept-emfile", "accept4", "observe: the next accept4() takes", Some("observe: the fd was asked for first")),
        ("addrinuse", "bind", "observe: the call failed with EADDRINUSE", None),
        ("connrefused", "connect", "observe: the call failed with ECONNREFUSED", None),
    ] {
        let o = run(&["lesson", "-q", "--fail", fail, "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{fail}: {}", String::from_utf8_lossy(&o.stderr));
        let l = json(&o);
        let steps = l["steps"].as_array().expect("steps");
        let step = |prefix: &str| {
            steps
                .iter()
                .find(|s| s["action"].as_str().is_some_and(|a| a.starts_with(prefix)))
                .unwrap_or_else(|| panic!("{fail}: no step {prefix}: {steps:#?}"))
        };
        assert!(step("ask: ")["evidence"][0].as_str().unwrap_or("").contains(&format!("{syscall}(")), "{fail}");
        assert_eq!(step(proved)["status"], "proved", "{fail}: {:#}", step(proved));
        assert_eq!(step("observe: the kernel's socket counts")["status"], "proved", "{fail}");
        let p = step("predict from the source");
        assert_eq!(p["status"], "not_observable", "{fail}: never ✓ without the line: {p:#}");
        assert!(p["why_not"].as_str().is_some_and(|w| !w.is_empty()), "{fail}: {p:#}");
        if let Some(chain) = chain {
            let c = step(chain);
            assert_eq!(c["status"], "not_observable", "{fail}: {c:#}");
            assert!(c["why_not"].as_str().unwrap_or("").contains("fentry or kprobes"), "{fail}: {c:#}");
        }
        assert!(steps.iter().all(|s| s["status"] != "refuted"), "{fail}: {steps:#?}");
        // Nothing was predicted here (no DWARF line): the verdict does not say "as predicted".
        let verdict = steps.last().expect("verdict");
        assert!(!verdict["result"].as_str().unwrap_or("").starts_with("as predicted"), "{fail}: {verdict:#}");
        assert!(l["report"]["calls"].as_array().is_some_and(|c| c.iter().any(|c| c["syscall"] == syscall)));
        common::axioms::assert_axiomatic(&l, &format!("lesson --fail {fail} (tier C)"));
    }
}

/// Inside a PID namespace (a container) syswalk's PIDs are the namespace's: the built-in target is proved, and
/// `trace -p N` traces the namespace's process N — not the host process whose initial-namespace PID is also N, which
/// makes socket calls all the while (its AF_INET sockets must not appear; the namespace's process makes AF_INET6).
#[test]
fn in_a_pid_namespace_the_namespace_s_own_process_is_traced_and_no_other() {
    let _g = lock();
    let o = Command::new("unshare")
        .args(["-p", "-f", "--mount-proc", bin(), "prove", "--format", "json", "-q"])
        .output()
        .expect("unshare (util-linux)");
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    assert_eq!(r["calls"].as_array().map(|c| c.len()), Some(1), "the built-in target's socket(), found by its PID");
    // Both numbers of the target: the namespace's (small: the namespace is new) and the host's.
    let (pid, host) = (r["target"]["pid"].as_u64().unwrap_or(0), r["target"]["host_pid"].as_u64().unwrap_or(0));
    assert!(pid > 0 && pid < 100 && host > 0 && host != pid, "pid {pid} in the namespace, host PID {host}");
    for id in TIER_C_CLAIMS {
        assert_eq!(claim(&r, id, r["calls"][0]["seq"].as_u64().unwrap_or(0))["verdict"], "proved", "{id}");
    }

    // A host process making AF_INET sockets, and a namespace process given the same number as its PID there.
    let mut host = Command::new("python3")
        .args(["-c", "import socket,time\nfor _ in range(1500):\n    socket.socket().close(); time.sleep(0.005)"])
        .spawn()
        .expect("python3");
    let h = host.id();
    let out = std::env::temp_dir().join(format!("syswalk-pidns-{}.json", std::process::id()));
    let script = format!(
        "echo {} > /proc/sys/kernel/ns_last_pid\n\
         python3 -c 'import time,socket\ntime.sleep(1.5)\nfor _ in range(3): socket.socket(socket.AF_INET6).close()\ntime.sleep(1.5)' &\n\
         p=$!\n[ \"$p\" = {h} ] || {{ echo \"namespace PID $p, wanted {h}\" >&2; exit 99; }}\n\
         exec {} trace -p $p --duration 4 --format json -q -o {}",
        h - 1,
        bin(),
        out.display()
    );
    let o =
        Command::new("unshare").args(["-p", "-f", "--mount-proc", "bash", "-c", &script]).output().expect("unshare");
    let _ = host.kill();
    let _ = host.wait();
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&std::fs::read(&out).expect("the report")).expect("JSON");
    let _ = std::fs::remove_file(&out);
    let calls = r["calls"].as_array().expect("calls");
    let sockets: Vec<&Value> = calls.iter().filter(|c| c["syscall"] == "socket").collect();
    assert_eq!(sockets.len(), 3, "the namespace process's three socket() calls and no other: {calls:#?}");
    for c in calls {
        assert_eq!(c["pid"].as_u64(), Some(u64::from(h)), "PIDs as the namespace numbers them");
    }
    for c in &sockets {
        assert_eq!(c["args"][0]["value"]["raw"], 10, "AF_INET6: the host process's AF_INET calls are not traced");
    }
}

/// A parent that listens and a forked child as its client (tests/c/forkpair.c): both processes' calls are traced
/// from the child's first call after fork(), both ends of the connection are linked, and nothing is refuted.
#[test]
fn a_forked_client_and_its_parent_server_are_both_proved() {
    let _g = lock();
    let exe = cc("forkpair");
    let o = run(&["prove", "--format", "json", "-q", "--", exe.to_str().expect("utf8"), "4712"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    let root = r["target"]["pid"].as_u64().expect("pid");
    let calls = r["calls"].as_array().expect("calls");
    let child: Vec<&str> =
        calls.iter().filter(|c| c["pid"].as_u64() != Some(root)).filter_map(|c| c["syscall"].as_str()).collect();
    for want in ["socket", "connect", "write", "read", "close"] {
        assert!(child.contains(&want), "the child's {want}: {child:?}");
    }
    for (id, v) in r["totals"]["claims"].as_object().expect("totals") {
        assert_eq!(v[1], 0, "{id} refuted: {}", r["totals"]);
    }
    let accept = calls.iter().find(|c| c["syscall"] == "accept4").expect("the parent's accept4()");
    let ends = claim(&r, "accept.ends", accept["seq"].as_u64().expect("seq"));
    assert_eq!(ends["verdict"], "proved", "the child's sock is the other end: {ends}");
}

/// The same forked client/server over IPv6 ([::1]) is judged like the IPv4 run: every claim proved over 127.0.0.1
/// is proved over ::1 (none is IPv4-only by nature here; read.took_unread's proof depends on whether the read found
/// its bytes queued, so it is compared as judged), addresses are decoded ([::1]:port), both ends linked.
#[test]
fn an_ipv6_connection_is_proved_like_an_ipv4_one() {
    let _g = lock();
    let exe = cc("forkpair");
    let proved = |args: &[&str]| -> (Value, std::collections::BTreeSet<String>) {
        let mut a = vec!["prove", "--format", "json", "-q", "--", exe.to_str().expect("utf8")];
        a.extend_from_slice(args);
        let o = run(&a);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let r = json(&o);
        for (id, v) in r["totals"]["claims"].as_object().expect("totals") {
            assert_eq!(v[1], 0, "{args:?}: {id} refuted: {}", r["totals"]);
        }
        let ids = r["totals"]["claims"]
            .as_object()
            .expect("totals")
            .iter()
            .filter(|(_, v)| v[0].as_u64().unwrap_or(0) > 0)
            .map(|(k, _)| k.clone())
            .collect();
        (r, ids)
    };
    let (r4, v4) = proved(&["4717"]);
    let (r6, v6) = proved(&["4718", "6"]);
    // Whether a read finds its bytes already queued (read.took_unread ✓) or waits for them (– not observable:
    // nothing was unread at its entry) is scheduling, not the family: those are compared as judged, not as proved.
    let timing = ["read.took_unread"];
    let missing: Vec<&String> = v4.difference(&v6).filter(|id| !timing.contains(&id.as_str())).collect();
    assert!(missing.is_empty(), "proved over IPv4 and not over IPv6: {missing:?}");
    for id in timing {
        let judged = |r: &Value| r["totals"]["claims"][id].as_array().is_some_and(|v| !v.is_empty());
        assert_eq!(judged(&r4), judged(&r6), "{id} judged over one family only");
    }
    let accept = r6["calls"].as_array().and_then(|c| c.iter().find(|c| c["syscall"] == "accept4")).expect("accept4");
    assert_eq!(accept["after"]["sock"]["inet"]["rcv_saddr"], "::1", "{accept}");
    let ends = claim(&r6, "accept.ends", accept["seq"].as_u64().expect("seq"));
    assert_eq!(ends["verdict"], "proved", "{ends}");
    assert!(ends["finding"].as_str().unwrap_or("").contains("[::1]:4718"), "{ends}");
}

/// The calls real programs move bytes with (send, sendto, sendmsg, writev, sendfile; recv, recvfrom, recvmsg,
/// readv) are each judged by the byte claims read() and write() get, over one loopback connection: every send
/// call's write_seq advanced by what it returned, every receive took its bytes from those unread (all were queued
/// before the first), a MSG_PEEK receive (which takes nothing) is not observable with its reason — never refuted;
/// the half-close (shutdown SHUT_WR) sent its FIN and getpeername named the server.
#[test]
fn the_send_and_receive_family_is_judged_like_read_and_write() {
    let _g = lock();
    let exe = cc("datacalls");
    let o = run(&["prove", "--format", "json", "-q", "--", exe.to_str().expect("utf8"), "4719"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    for (id, v) in r["totals"]["claims"].as_object().expect("totals") {
        assert_eq!(v[1], 0, "{id} refuted: {}", r["totals"]);
    }
    let calls = r["calls"].as_array().expect("calls");
    let of = |sys: &str| -> Vec<&Value> {
        calls.iter().filter(|c| c["syscall"] == sys && c["before"]["sock"].is_object()).collect()
    };
    for sys in ["sendto", "sendmsg", "writev", "sendfile"] {
        let cs = of(sys);
        assert!(!cs.is_empty(), "no {sys}() on a socket in the report");
        for c in cs {
            let k = claim(&r, "write.seq", c["seq"].as_u64().expect("seq"));
            assert_eq!(k["verdict"], "proved", "{sys}: {k}");
        }
    }
    let recvs = of("recvfrom");
    assert_eq!(recvs.len(), 3, "recv(MSG_PEEK), recv(), recvfrom() are recvfrom calls: {recvs:?}");
    let peek = claim(&r, "read.took_unread", recvs[0]["seq"].as_u64().expect("seq"));
    assert_eq!(peek["verdict"], "not_observable", "a peek takes nothing: {peek}");
    assert!(peek["reason"].as_str().unwrap_or("").contains("MSG_PEEK"), "{peek}");
    for c in recvs[1..].iter().copied().chain(of("recvmsg")).chain(of("readv")) {
        let k = claim(&r, "read.took_unread", c["seq"].as_u64().expect("seq"));
        assert_eq!(k["verdict"], "proved", "{}: {k}", c["syscall"]);
    }
    // The child's half-close sent its FIN (ESTABLISHED → FIN_WAIT1 inside the call); getpeername named the server.
    let sd = of("shutdown");
    assert_eq!(sd.len(), 1, "the child's shutdown(SHUT_WR)");
    let k = claim(&r, "shutdown.fin", sd[0]["seq"].as_u64().expect("seq"));
    assert_eq!(k["verdict"], "proved", "{k}");
    let gp = of("getpeername");
    assert_eq!(gp.len(), 1, "the child's getpeername()");
    let k = claim(&r, "getpeername.agrees", gp[0]["seq"].as_u64().expect("seq"));
    assert_eq!(k["verdict"], "proved", "{k}");
    assert!(k["finding"].as_str().unwrap_or("").contains("127.0.0.1:4719"), "{k}");
}

/// A real program no one here wrote, run by its script in `tests/corpus/` under `prove` (every call kept): nothing
/// refuted; every call that moves bytes on a TCP socket judged by its module (write.seq for a send, read.took_unread
/// for a receive: none merely counted); both ends of every accepted connection linked (accept.ends proved).
/// Returns the report.
fn corpus(script: &str, args: &[&str]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(script);
    let mut a = vec!["prove", "--format", "json", "-q", "--keep-calls", "0", "--", path.to_str().expect("utf8")];
    a.extend_from_slice(args);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(0), "{script}: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    for (id, v) in r["totals"]["claims"].as_object().expect("totals") {
        assert_eq!(v[1], 0, "{script}: {id} refuted: {}", r["totals"]);
    }
    let claims = r["claims"].as_array().expect("claims");
    let has = |seq: u64, id: &str| claims.iter().any(|k| k["call"].as_u64() == Some(seq) && k["id"] == id);
    let sends = ["write", "sendto", "sendmsg", "writev", "sendfile"];
    let recvs = ["read", "recvfrom", "recvmsg", "readv"];
    let mut judged = 0;
    for c in r["calls"].as_array().expect("calls") {
        let sys = c["syscall"].as_str().unwrap_or("");
        let tcp = c["before"]["sock"]["inet"]["tcp"].is_object() && c["ret"].as_i64().is_some_and(|v| v >= 0);
        let seq = c["seq"].as_u64().expect("seq");
        if tcp && sends.contains(&sys) {
            assert!(has(seq, "write.seq"), "{script}: {sys}() call {seq} on a TCP socket was not judged");
            judged += 1;
        }
        if tcp && recvs.contains(&sys) {
            assert!(has(seq, "read.took_unread"), "{script}: {sys}() call {seq} on a TCP socket was not judged");
            judged += 1;
        }
        if sys.starts_with("accept") && c["after"]["sock"]["inet"]["tcp"].is_object() {
            let ends = claim(&r, "accept.ends", seq);
            assert_eq!(ends["verdict"], "proved", "{script}: both ends of the connection: {ends}");
        }
    }
    assert!(judged >= 4, "{script}: only {judged} byte-moving calls on TCP sockets: {}", r["totals"]);
    r
}

fn calls_of<'a>(r: &'a Value, sys: &str) -> Vec<&'a Value> {
    r["calls"].as_array().map(|a| a.iter().filter(|c| c["syscall"] == sys).collect()).unwrap_or_default()
}

#[test]
fn nginx_and_curl_are_proved_with_their_sendfile_and_writev() {
    let _g = lock();
    let dir = tempfile::tempdir().expect("tmp");
    let r = corpus("nginx.sh", &["4720", dir.path().to_str().expect("utf8")]);
    let sf: Vec<&Value> = calls_of(&r, "sendfile").into_iter().filter(|c| c["ret"] == 70000).collect();
    assert_eq!(sf.len(), 1, "nginx sent the 70 000-byte file with one sendfile(): {}", r["totals"]);
    let k = claim(&r, "write.seq", sf[0]["seq"].as_u64().expect("seq"));
    assert_eq!(k["verdict"], "proved", "{k}");
    assert!(!calls_of(&r, "writev").is_empty(), "nginx's headers go out with writev()");
    // The master binds and listens; its forked worker accepts: both followed.
    let master = calls_of(&r, "listen").first().and_then(|c| c["pid"].as_u64()).expect("nginx's listen()");
    let workers: std::collections::BTreeSet<u64> =
        calls_of(&r, "accept4").iter().filter_map(|c| c["pid"].as_u64()).collect();
    assert!(
        !workers.is_empty() && !workers.contains(&master),
        "the worker accepts, not the master {master}: {workers:?}"
    );
}

#[test]
fn redis_server_and_redis_cli_are_proved() {
    let _g = lock();
    let dir = tempfile::tempdir().expect("tmp");
    let r = corpus("redis.sh", &["4721", dir.path().to_str().expect("utf8")]);
    assert!(calls_of(&r, "accept4").len() >= 3, "one connection per redis-cli: {}", r["totals"]);
}

#[test]
fn python_http_server_with_curl_and_urllib_is_proved_over_ipv4_and_ipv6() {
    let _g = lock();
    for (port, addr) in [("4722", "127.0.0.1"), ("4723", "::1")] {
        let r = corpus("pyhttp.sh", &[port, addr]);
        assert!(!calls_of(&r, "recvfrom").is_empty() && !calls_of(&r, "sendto").is_empty(), "{addr}: curl's send/recv");
    }
}

/// Ordinary TCP that a prover must not call wrong (tests/c/shapes.c): a non-blocking connect (EINPROGRESS), a
/// non-blocking read with nothing to read (EAGAIN), a client that finished before accept(), a reset (SO_LINGER 0)
/// met by ECONNRESET, a half-close. Nothing refuted, at whatever tier the machine gives; each accepted connection's
/// two ends linked; the half-close's FIN proved; the failed calls reported with their errno.
#[test]
fn ordinary_tcp_shapes_are_never_refuted() {
    let _g = lock();
    let exe = cc("shapes");
    let o = run(&["prove", "--format", "json", "-q", "--keep-calls", "0", "--", exe.to_str().expect("utf8"), "4724"]);
    assert_eq!(o.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let r = json(&o);
    for (id, v) in r["totals"]["claims"].as_object().expect("totals") {
        assert_eq!(v[1], 0, "{id} refuted: {}", r["totals"]);
    }
    let calls = r["calls"].as_array().expect("calls");
    let errno = |sys: &str, name: &str| calls.iter().any(|c| c["syscall"] == sys && c["errno"]["name"] == name);
    assert!(errno("read", "EAGAIN"), "the non-blocking read's EAGAIN");
    assert!(errno("read", "ECONNRESET"), "the reset's ECONNRESET");
    let accepts: Vec<&Value> = calls.iter().filter(|c| c["syscall"] == "accept4").collect();
    assert_eq!(accepts.len(), 4, "four connections accepted");
    for a in accepts {
        let ends = claim(&r, "accept.ends", a["seq"].as_u64().expect("seq"));
        assert_eq!(ends["verdict"], "proved", "{ends}");
    }
    let sd = calls.iter().find(|c| c["syscall"] == "shutdown").expect("the half-close");
    assert_eq!(claim(&r, "shutdown.fin", sd["seq"].as_u64().expect("seq"))["verdict"], "proved");
}
