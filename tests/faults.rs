//! Host tier, the fault suite: signals, hostile strings, bad input. Each test asserts what a user would see (exit
//! code, message, output bytes) and that nothing is left behind (programs loaded, processes running, files).
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::*;

fn alive(pid: u32) -> bool {
    // A zombie is not alive: read the state.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| !r.starts_with('Z')))
        .unwrap_or(false)
}

/// The target syswalk launched: syswalk's child (the pid in /proc/<syswalk>/task/<tid>/children).
fn child_of(pid: u32) -> Option<u32> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| s.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
        .next()
}

/// Starts `syswalk args…` and waits until its programs are attached and its target runs.
fn start_attached(args: &[&str]) -> (std::process::Child, Vec<String>) {
    let before = syswalk_progs();
    let child = Command::new(bin()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let t0 = Instant::now();
    while syswalk_progs().len() == before.len() && t0.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(syswalk_progs().len() > before.len(), "{args:?}: programs were never attached");
    std::thread::sleep(Duration::from_millis(200));
    (child, before)
}

#[test]
fn sigint_sigterm_sighup_stop_cleanly_and_take_the_launched_target_along() {
    let _g = lock();
    for (sig, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        let (child, before) = start_attached(&["prove", "--", "sleep", "30"]);
        let target = child_of(child.id()).expect("the target runs as syswalk's child");
        // SAFETY: kill on our own child's pid.
        unsafe { libc::kill(child.id() as i32, sig) };
        let t0 = Instant::now();
        let o = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(t0.elapsed() < Duration::from_secs(10), "{name}: took {:?}", t0.elapsed());
        // The target made no socket() call: that is the answer (24), said plainly — not "killed by signal 9".
        assert_eq!(o.status.code(), Some(24), "{name}: {err}");
        assert!(err.contains(&format!("before syswalk stopped it on signal {sig}")), "{name}: {err}");
        assert!(!err.contains("killed by"), "{name}: {err}");
        assert!(!alive(target), "{name}: the target {target} runs on");
        assert_nothing_left(&before, name);
    }
}

#[test]
fn ctrl_c_at_a_terminal_reaches_the_target_too_and_is_still_syswalk_stopping_it() {
    let _g = lock();
    use std::os::unix::process::CommandExt;
    let before = syswalk_progs();
    // A terminal sends SIGINT to the whole foreground process group: syswalk and the target it launched.
    let child = Command::new(bin())
        .args(["prove", "--", "sleep", "30"])
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let t0 = Instant::now();
    while syswalk_progs().len() == before.len() && t0.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill on the process group we just made.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGINT) };
    let o = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(24), "{err}");
    assert!(err.contains("before syswalk stopped it on signal 2") && !err.contains("killed by"), "{err}");
    assert_nothing_left(&before, "after a group SIGINT");
}

#[test]
fn sigkill_of_syswalk_takes_the_launched_target_along_and_frees_every_program() {
    let _g = lock();
    let (mut child, before) = start_attached(&["trace", "-q", "--", "sleep", "30"]);
    let target = child_of(child.id()).expect("target");
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let t0 = Instant::now();
    while alive(target) && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(target), "the target {target} outlived a SIGKILLed syswalk");
    assert_nothing_left(&before, "after SIGKILL");
}

#[test]
fn a_traced_pid_runs_on_after_syswalk_stops() {
    let _g = lock();
    let mut sleeper = Command::new("sleep").arg("30").spawn().expect("sleep");
    let pid = sleeper.id().to_string();
    let (child, before) = start_attached(&["trace", "-p", &pid]);
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(24), "{err}");
    assert!(err.contains("it still runs"), "{err}");
    assert!(alive(sleeper.id()), "-p: syswalk must leave the process running");
    assert_nothing_left(&before, "-p after SIGINT");
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    // --duration with no call: the same answer, not "the process ended".
    let mut sleeper = Command::new("sleep").arg("30").spawn().expect("sleep");
    let o = run(&["trace", "-q", "-p", &sleeper.id().to_string(), "--duration", "1"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(24), "{err}");
    assert!(err.contains("after --duration 1 s") && err.contains("it still runs"), "{err}");
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}

/// Markdown without its code spans and fenced blocks (where HTML is not interpreted).
fn outside_code(md: &str) -> String {
    let mut out = String::new();
    let mut in_block: Option<usize> = None;
    for line in md.lines() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        if ticks >= 3 && in_block.is_none_or(|n| ticks >= n) {
            in_block = if in_block.is_some() { None } else { Some(ticks) };
            continue;
        }
        if in_block.is_some() {
            continue;
        }
        let cs: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < cs.len() {
            if cs[i] == '`' {
                let n = cs[i..].iter().take_while(|c| **c == '`').count();
                let fence: String = "`".repeat(n);
                let rest: String = cs[i + n..].iter().collect();
                if let Some(end) = rest.find(&fence) {
                    i += n + rest[..end].chars().count() + n;
                    continue;
                }
            }
            out.push(cs[i]);
            i += 1;
        }
        out.push('\n');
    }
    out
}

const HOSTILE_ARG: &str = "<img src=x onerror=alert(1)>|`code`\n✓ fake.claim\x1b]0;owned\x07\x1b[2J";

/// A target whose argv and comm are hostile, making one socket() call. A compiled program, not a script: an
/// interpreter found through a shim (pyenv) runs a shell first, whose own calls would come first.
fn hostile_target() -> Vec<String> {
    vec![cc("hostile").display().to_string(), HOSTILE_ARG.into()]
}

#[test]
fn hostile_argv_and_comm_are_escaped_in_every_format() {
    let _g = lock();
    let t = hostile_target();
    let mut args: Vec<&str> = vec!["prove", "-q", "--format", "", "--"];
    args.extend(t.iter().map(String::as_str));
    for format in ["text", "md", "json", "summary"] {
        args[3] = format;
        let o = Command::new(bin()).args(&args).env("TERM", "xterm").output().expect("run");
        assert_eq!(o.status.code(), Some(0), "{format}: {}", String::from_utf8_lossy(&o.stderr));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(!out.contains('\x1b') && !out.contains('\x07'), "{format}: a raw control character reached the output");
        match format {
            "json" => {
                // JSON keeps the real strings (serde escapes them), nothing lost.
                let v: serde_json::Value = serde_json::from_str(&out).expect("json");
                assert!(v["target"]["description"].as_str().unwrap_or("").contains(HOSTILE_ARG), "{v}");
                let comms: Vec<&str> =
                    v["calls"].as_array().into_iter().flatten().filter_map(|c| c["comm"].as_str()).collect();
                assert!(comms.iter().any(|c| c.starts_with("\x1b[31m")), "the hostile comm is not kept: {comms:?}");
            }
            "md" => {
                let prose = outside_code(&out);
                assert!(!prose.contains("<img") && !prose.contains("<b>"), "live HTML in Markdown:\n{prose}");
                assert!(out.contains("&lt;img src=x onerror=alert(1)&gt;"), "{out}");
                // Every table row still has its cells: no newline or bare | from the argv broke one.
                for l in out.lines().filter(|l| l.starts_with("| ")) {
                    assert!(l.ends_with(" |"), "a table row was broken: {l}");
                }
            }
            _ => {
                assert!(out.contains("\\x1b]0;owned\\x07"), "{format}: the escape is not shown visibly:\n{out}");
                assert!(
                    !out.lines().any(|l| l.starts_with("✓ fake.claim")),
                    "{format}: a newline in argv faked a line"
                );
            }
        }
    }
    // The progress lines on stderr name the target too: escaped there as well.
    let mut args: Vec<&str> = vec!["prove", "--format", "summary", "--"];
    args.extend(t.iter().map(String::as_str));
    let o = Command::new(bin()).args(&args).output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tracing command:"), "the attached line: {err}");
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "a raw control character reached stderr: {err:?}");
}

#[test]
fn bad_input_is_refused_before_any_tracing_with_its_exit_code() {
    let _g = lock();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["prove", "-o", "/nonexistent/dir/r.txt"], 2, "-o /nonexistent/dir/r.txt"),
        (&["prove", "-o", "/"], 2, "is a directory"),
        (&["prove", "-o", "/dev/full"], 2, "is a device"),
        (&["trace", "--chain", "/dev/zero", "--", "true"], 2, "is a character device"),
        (&["trace", "--duration", "1e300", "--", "true"], 2, "longer than a year"),
        (&["trace", "--duration", "1e20", "--", "true"], 2, "longer than a year"),
        (&["trace", "--duration=-1", "--", "true"], 2, "positive"),
        (&["prove", "--family=-1"], 2, "out of range"),
        (&["prove", "--family", "99999999"], 2, "out of range"),
        (&["prove", "--protocol", "70000"], 2, "out of range"),
        (&["trace", "-p", "2"], 2, "kernel thread"),
        (&["man", "nope"], 2, "no command"),
    ];
    for (args, code, needle) in cases {
        let before = syswalk_progs();
        let t0 = Instant::now();
        let o = run(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(t0.elapsed() < Duration::from_secs(5), "{args:?}: refused only after {:?}", t0.elapsed());
        assert_nothing_left(&before, &format!("{args:?}"));
    }
    assert!(!Path::new("/nonexistent/dir/r.txt").exists());
    let o = Command::new(bin()).args(["prove", "-q"]).env("SYSWALK_BTF_PATH", "/dev/zero").output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(11), "{err}");
    assert!(err.contains("/dev/zero is a character device"), "{err}");
    // syswalk's own PID: `exec` keeps the shell's PID, so $$ is syswalk's.
    let o = Command::new("sh").args(["-c", &format!("exec {} trace -p $$", bin())]).output().expect("sh");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is syswalk itself"), "{err}");
    // Without privileges `caps` says so with the permission exit code, like every command.
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", bin()])
        .arg("caps")
        .output()
        .expect("setpriv");
    assert_eq!(o.status.code(), Some(10), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn a_report_file_is_written_only_with_a_report() {
    let _g = lock();
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("r.json");
    let o = run(&["prove", "-q", "--format", "json", "-o", f.to_str().expect("utf8"), "--", "true"]);
    assert_eq!(o.status.code(), Some(24), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!f.exists(), "a failed run left an empty report file");
    let o = run(&["prove", "-q", "--format", "json", "-o", f.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).expect("report")).expect("json");
    assert_eq!(v["summary"]["refuted"], 0);
}

#[test]
fn only_sockets_are_walked_as_sockets() {
    let _g = lock();
    let prog = cc("files");
    let o = run(&["trace", "-q", "--syscalls", "close", "--format", "json", "--", prog.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let kinds: Vec<(String, bool)> = r["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| c["syscall"] == "close" && c["before"]["file"].is_object())
        .map(|c| (c["before"]["file"]["type"].as_str().unwrap_or("").to_string(), c["before"]["socket"].is_object()))
        .collect();
    let want = ["pipe (FIFO)", "anonymous inode", "directory", "anonymous inode", "anonymous inode", "socket"];
    assert!(kinds.len() >= want.len(), "{kinds:?}");
    let tail = &kinds[kinds.len() - want.len()..];
    for ((ty, walked), w) in tail.iter().zip(want) {
        assert!(ty.starts_with(w), "{tail:?}");
        assert_eq!(*walked, w == "socket", "only the socket's private_data is read as a struct socket: {tail:?}");
    }
    let sockets = r["objects"].as_array().expect("objects").iter().filter(|o| o["kind"] == "socket").count();
    assert_eq!(sockets, 1, "one struct socket in the whole run: {}", r["objects"]);
    let text = run(&["trace", "-q", "--syscalls", "close", "--", prog.to_str().expect("utf8")]);
    let t = String::from_utf8_lossy(&text.stdout);
    assert!(t.contains("not read as a struct socket: the file is a pipe (FIFO)"), "{t}");
}

#[test]
fn an_overloaded_ring_buffer_counts_and_shows_what_it_lost() {
    let _g = lock();
    let looper = cc("loop");
    // A 4 KiB ring holds five events: 20 000 socket()+close() pairs overflow it for sure.
    let o = Command::new(bin())
        .args(["trace", "--format", "json", "--", looper.to_str().expect("utf8"), "20000", "0"])
        .env("SYSWALK_RING_KB", "4")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let lost = r["stats"]["lost"].as_u64().expect("lost");
    let seen = r["totals"]["calls"].as_u64().expect("calls");
    assert!(lost > 0, "a 4 KiB ring lost nothing?");
    assert!(err.contains(&format!("WARNING: {lost} events were lost")), "{err}");
    // Every event is either judged (2 per call) or counted as lost: 40 000 events and the warm-up's.
    assert!(2 * seen + lost >= 40_000, "seen {seen} calls, lost {lost} events");
    let t = Command::new(bin())
        .args(["trace", "-q", "--", looper.to_str().expect("utf8"), "20000", "0"])
        .env("SYSWALK_RING_KB", "4")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&t.stdout).contains("events were lost"), "the text report says so too");
    let o = Command::new(bin()).args(["prove", "-q"]).env("SYSWALK_RING_KB", "3").output().expect("run");
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Four processes overrun a small ring: events are lost, and a claim whose evidence may be among them is "not
/// observable (events lost)", never ✗ — the exit code is 0, not 1.
#[test]
fn lost_events_never_refute_a_claim() {
    let _g = lock();
    let looper = cc("loop");
    let l = looper.to_str().expect("utf8");
    let sh = format!("{l} 3000 0 & {l} 3000 0 & {l} 3000 0 & {l} 3000 0 & wait");
    let o = Command::new(bin())
        .args(["prove", "--keep-calls", "0", "--format", "json", "--", "sh", "-c", &sh])
        // 64 KiB: small enough that ~48 000 of ~48 000 events are lost, big enough that some socket() calls (and
        // the shell's first calls) get through every time (8 KiB sometimes kept none: exit 24, "no socket() call").
        .env("SYSWALK_RING_KB", "64")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "a loss is not a refutation: {err}");
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(r["stats"]["lost"].as_u64().expect("lost") > 0, "a 64 KiB ring under four loops lost nothing?");
    for (id, t) in r["totals"]["claims"].as_object().expect("totals.claims") {
        assert_eq!(t[1], 0, "{id} refuted with events lost: {t}");
    }
    for c in r["claims"].as_array().expect("claims") {
        if let Some(why) = c["reason"].as_str().filter(|w| w.starts_with("events lost:")) {
            assert_eq!(c["verdict"], "not_observable", "{c}");
            assert!(why.contains("boundary events were lost before this verdict"), "{why}");
        }
    }
}

#[test]
fn stopping_the_target_stops_what_it_started_too() {
    let _g = lock();
    // The target is a shell that starts a sleep of its own: a stop must not leave that grandchild running.
    let (child, before) = start_attached(&["prove", "--", "sh", "-c", "sleep 30 & wait"]);
    let target = child_of(child.id()).expect("target");
    let t0 = Instant::now();
    let mut grandchild = None;
    while grandchild.is_none() && t0.elapsed() < Duration::from_secs(5) {
        grandchild = child_of(target);
        std::thread::sleep(Duration::from_millis(20));
    }
    let grandchild = grandchild.expect("the shell started its sleep");
    // SAFETY: kill on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(24), "{}", String::from_utf8_lossy(&o.stderr));
    let t0 = Instant::now();
    while alive(grandchild) && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(grandchild), "the target's own child {grandchild} runs on");
    assert_nothing_left(&before, "after stopping a target with children");
}

/// A folder, and the report `prove` saved there as JSON (the base the hostile variants are made from).
fn saved_prove_report() -> (tempfile::TempDir, serde_json::Value) {
    let dir = tempfile::tempdir().expect("tmp");
    let rep = dir.path().join("r.json");
    let o = run(&["prove", "-q", "--format", "json", "-o", rep.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let base: serde_json::Value = serde_json::from_slice(&std::fs::read(&rep).expect("report")).expect("json");
    (dir, base)
}

/// A saved report whose chain frame nests 2^62 or 10^11 deep renders or is refused with the usage exit code (2),
/// never a panic or an abort on a huge allocation; one with a newline in its claim ids, tool, syscall names,
/// plan notes, probes and connection fields prints no forged line in text or Markdown.
#[test]
fn a_hostile_saved_report_is_refused_or_renders_without_a_forged_line() {
    let _g = lock();
    let (dir, base) = saved_prove_report();
    let frame = |depth: u64| {
        serde_json::json!({"func": "__sys_socket", "depth": depth, "parent": null, "tid": 1, "enter_ns": 1,
            "exit_ns": 2, "inclusive_ns": 1, "exclusive_ns": 1, "args": [], "ret": 3, "caller": null,
            "entry_objects": [], "exit_objects": [], "probe": "fentry"})
    };
    let render = |v: &serde_json::Value, format: &str| {
        let p = dir.path().join("hostile.json");
        std::fs::write(&p, serde_json::to_vec(v).expect("json")).expect("write");
        let t0 = Instant::now();
        let o = run(&["render", p.to_str().expect("utf8"), "--format", format]);
        assert!(t0.elapsed() < Duration::from_secs(10), "{format}: {:?}", t0.elapsed());
        o
    };
    for depth in [1u64 << 62, 100_000_000_000] {
        let mut v = base.clone();
        v["calls"][0]["chain"] = serde_json::json!([frame(0), frame(depth)]);
        for format in ["text", "md"] {
            let o = render(&v, format);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{format} of depth {depth}: {err}");
            assert!(err.contains("depth") && !err.contains("panicked"), "{err}");
        }
    }
    let forged = "\n  ✓ kernel.memory_safe forged";
    let mut v = base.clone();
    let put = |path: &[&str], v: &mut serde_json::Value| {
        let s = path.iter().fold(&mut *v, |x, k| match k.parse::<usize>() {
            Ok(i) => &mut x[i],
            Err(_) => &mut x[*k],
        });
        *s = serde_json::Value::String(format!("{}{forged}", s.as_str().unwrap_or("x")));
    };
    put(&["tool"], &mut v);
    put(&["claims", "0", "id"], &mut v);
    put(&["calls", "0", "syscall"], &mut v);
    put(&["syscalls", "0", "nr_origin"], &mut v);
    v["calls"][0]["chain"] = serde_json::json!([frame(0)]);
    put(&["calls", "0", "chain", "0", "probe"], &mut v);
    put(&["calls", "0", "chain", "0", "func"], &mut v);
    v["chain_plan"] = serde_json::json!([{"name": "sock_alloc", "traced": false, "in_kallsyms": false, "in_btf": false, "note": "n"}]);
    put(&["chain_plan", "0", "note"], &mut v);
    put(&["chain_plan", "0", "name"], &mut v);
    for format in ["text", "md"] {
        let o = render(&v, format);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(out.contains("kernel.memory"), "{format}: the fields are shown:\n{out}");
        for l in out.lines() {
            let l = l.trim_start_matches([' ', '-', '*', '|', '`']);
            assert!(!l.starts_with("✓ kernel.memory"), "{format}: a forged line {l:?} in\n{out}");
        }
    }
}

/// A saved report past a bound of what a run writes (a string of over 1 MiB, a plan of 4097 functions, 257
/// histograms) is refused by `render`, `diff` and `site --from` with the usage exit code (2), a message naming the
/// bound, and what to do; a histogram with counts near 2^64 and bounds at the top renders without a panic.
#[test]
fn a_saved_report_past_a_bound_is_refused_and_a_hostile_histogram_renders() {
    let _g = lock();
    let (dir, base) = saved_prove_report();
    let write = |name: &str, v: &serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, serde_json::to_vec(v).expect("json")).expect("write");
        p.to_str().expect("utf8").to_string()
    };
    let plan = base["chain_plan"].get(0).cloned().unwrap_or_else(
        || serde_json::json!({"name": "f", "in_kallsyms": false, "in_btf": false, "traced": false, "note": "n"}),
    );
    let hist = |n: usize| {
        let funcs: Vec<serde_json::Value> =
            (0..n).map(|i| serde_json::json!({"func": format!("f{i}"), "calls": 1, "buckets": [[1, 1]]})).collect();
        serde_json::json!({"funcs": funcs, "missed": 0})
    };
    let mut long = base.clone();
    long["command"] = "x".repeat((1 << 20) + 1).into();
    let mut plans = base.clone();
    plans["chain_plan"] = serde_json::Value::Array(vec![plan; 4097]);
    let mut hists = base.clone();
    hists["histograms"] = hist(257);
    let site = dir.path().join("site");
    for (v, says) in [(long, "a saved report's strings are at most"), (plans, "4096"), (hists, "256")] {
        let p = write("bad.json", &v);
        let good = dir.path().join("r.json");
        let good = good.to_str().expect("utf8");
        for args in [
            vec!["render", &p, "--format", "text"],
            vec!["render", &p, "--format", "svg"],
            vec!["diff", good, &p],
            vec!["site", "-q", "-o", site.to_str().expect("utf8"), "--from", &p],
        ] {
            let t0 = Instant::now();
            let o = run(&args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(says) && err.contains("hint") && !err.contains("panicked"), "{args:?}: {err}");
            assert!(t0.elapsed() < Duration::from_secs(10), "{args:?}: {:?}", t0.elapsed());
        }
    }
    let mut v = base.clone();
    v["histograms"] = serde_json::json!({"funcs": [{"func": "f", "calls": u64::MAX,
        "buckets": [[0, u64::MAX], [1u64 << 61, u64::MAX / 3], [u64::MAX, 1]]}], "missed": u64::MAX});
    let p = write("hist.json", &v);
    for format in ["hist", "hist-svg"] {
        let o = run(&["render", &p, "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", String::from_utf8_lossy(&o.stderr));
    }
}
