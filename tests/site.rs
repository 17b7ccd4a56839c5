//! Site tier: `syswalk site` from a run here (root, real BPF), read back by a real headless Chromium over the
//! DevTools protocol and by an independent link checker (Python's HTML parser, tests/tools/linkcheck.py).
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod common;
use common::{bin, lock, run};
#[path = "common/browser.rs"]
mod browser;
use browser::Browser;

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn shots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `syswalk site -o DIR ARGS…` → DIR (asserting exit 0).
fn site(name: &str, args: &[&str]) -> PathBuf {
    let d = tmp(name);
    let mut a = vec!["site", "-o", d.to_str().expect("utf-8 path")];
    a.extend_from_slice(args);
    let o = run(&a);
    assert_eq!(o.status.code(), Some(0), "site {args:?}: {}", text(&o.stderr));
    d
}

fn pages(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .expect("site dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".html"))
        .collect();
    v.sort();
    v
}

fn url(d: &Path, page: &str) -> String {
    format!("file://{}/{page}", d.canonicalize().expect("canonical").display())
}

fn one(d: &Path, suffix: &str) -> String {
    pages(d).into_iter().find(|p| p.ends_with(suffix)).unwrap_or_else(|| panic!("no *{suffix} in {:?}", pages(d)))
}

/// Every page loads with no console error, exception or failed request, and every link on every page — as the
/// browser's DOM has it — names a page of the site and an element id in it. Screenshots of the index, the split
/// view and the three-pane view.
#[test]
fn every_page_loads_clean_in_chromium_and_every_link_resolves() {
    let _g = lock();
    let d = site("site-here", &["-q"]);
    let ps = pages(&d);
    assert!(ps.len() >= 10, "{ps:?}");
    let mut b = Browser::launch();
    b.viewport(1600, 900);
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut links: Vec<(String, String)> = Vec::new();
    for p in &ps {
        let problems = b.open(&url(&d, p));
        assert!(problems.is_empty(), "{p}: {problems:#?}");
        let got = b.eval("JSON.stringify([[...document.querySelectorAll('[id]')].map(e => e.id), [...document.querySelectorAll('a[href]')].map(a => a.href)])");
        let got: Value = serde_json::from_str(got.as_str().expect("string")).expect("json");
        ids.insert(
            p.clone(),
            got[0].as_array().expect("ids").iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        );
        links.extend(
            got[1].as_array().expect("links").iter().filter_map(|v| v.as_str()).map(|h| (p.clone(), h.to_string())),
        );
    }
    let base = url(&d, "");
    let (mut internal, mut external) = (0, 0);
    for (p, h) in &links {
        if let Some(rest) = h.strip_prefix(&base) {
            internal += 1;
            let (file, frag) = rest.split_once('#').unwrap_or((rest, ""));
            let set = ids.get(file).unwrap_or_else(|| panic!("{p}: link {h}: no page {file}"));
            assert!(frag.is_empty() || set.contains(frag), "{p}: link {h}: no id {frag} in {file}");
        } else {
            external += 1;
            assert!(h.starts_with("https://elixir.bootlin.com/linux/v"), "{p}: unexpected link {h}");
        }
    }
    assert!(internal > 200, "{internal} internal links");
    eprintln!("{} pages, {internal} internal links resolved, {external} external", ps.len());
    // Claims link to their evidence: every claim id of the run has its section on the claims page.
    let claims = one(&d, "-claims.html");
    assert!(ids[&claims].iter().any(|i| i == "c-file.private_data_is_socket"), "{:?}", ids[&claims]);
    for (name, page) in [
        ("index", "index.html".to_string()),
        ("split", one(&d, "-part1.html")),
        ("three-pane", one(&d, "-questions.html")),
    ] {
        b.open(&url(&d, &page));
        b.screenshot(&shots().join(format!("site-{name}.png")));
    }
}

/// The split view: at 1600×900 the theory and proof panes sit side by side, each scrolls, and scrolling one (a
/// real wheel event) leaves the other where it was. On a 600-wide screen they stack.
#[test]
fn the_split_view_s_panes_sit_side_by_side_and_scroll_on_their_own() {
    let _g = lock();
    let d = site("site-split", &["-q"]);
    let mut b = Browser::launch();
    b.viewport(1600, 900);
    assert!(b.open(&url(&d, &one(&d, "-part1.html"))).is_empty());
    let rects = |b: &mut Browser| -> Value {
        b.eval("['theory','proof'].map(i => { const e = document.getElementById(i); const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, scroll: e.scrollTop, sh: e.scrollHeight, ch: e.clientHeight}; })")
    };
    let r = rects(&mut b);
    let (l, p) = (&r[0], &r[1]);
    assert!(l["right"].as_f64() <= p["left"].as_f64(), "side by side: {r}");
    assert_eq!(l["top"], p["top"], "same top: {r}");
    assert!(l["bottom"].as_f64().is_some_and(|v| v <= 900.0), "the pane fits the window: {r}");
    for x in [l, p] {
        assert!(x["sh"].as_f64() > x["ch"].as_f64(), "each pane has more than it shows, so it scrolls: {r}");
    }
    let centre = |x: &Value| ((x["left"].as_f64().unwrap_or(0.0) + x["right"].as_f64().unwrap_or(0.0)) / 2.0, 400.0);
    let (px, py) = centre(p);
    b.wheel(px, py, 900.0);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r2 = rects(&mut b);
    assert!(r2[1]["scroll"].as_f64().is_some_and(|s| s > 0.0), "the proof pane scrolled: {r2}");
    assert_eq!(r2[0]["scroll"].as_f64(), Some(0.0), "the theory pane did not move: {r2}");
    let (lx, ly) = centre(&r2[0]);
    b.wheel(lx, ly, 500.0);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let r3 = rects(&mut b);
    assert!(r3[0]["scroll"].as_f64().is_some_and(|s| s > 0.0), "the theory pane scrolled: {r3}");
    assert_eq!(r3[1]["scroll"], r2[1]["scroll"], "the proof pane stayed: {r3}");
    b.screenshot(&shots().join("site-split-scrolled.png"));
    b.viewport(600, 900);
    b.open(&url(&d, &one(&d, "-part1.html")));
    let r = rects(&mut b);
    assert_eq!(r[0]["left"], r[1]["left"], "one column at 600: {r}");
    assert!(r[0]["bottom"].as_f64() <= r[1]["top"].as_f64(), "stacked: {r}");
}

/// The three-pane view (proof | theory | questions): three columns at 1920 wide, one at 600.
#[test]
fn the_three_pane_view_has_three_columns_wide_and_one_narrow() {
    let _g = lock();
    let d = site("site-three", &["-q"]);
    let mut b = Browser::launch();
    let q = url(&d, &one(&d, "-questions.html"));
    let cols = |b: &mut Browser| -> Vec<(f64, f64)> {
        let v = b.eval("['q-proof','q-theory','q-list'].map(i => { const r = document.getElementById(i).getBoundingClientRect(); return [r.left, r.top]; })");
        v.as_array()
            .expect("rects")
            .iter()
            .map(|p| (p[0].as_f64().unwrap_or(-1.0), p[1].as_f64().unwrap_or(-1.0)))
            .collect()
    };
    b.viewport(1920, 1000);
    assert!(b.open(&q).is_empty());
    let c = cols(&mut b);
    assert!(c[0].0 < c[1].0 && c[1].0 < c[2].0, "three columns left to right: {c:?}");
    assert!(c[0].1 == c[1].1 && c[1].1 == c[2].1, "on one row: {c:?}");
    b.screenshot(&shots().join("site-three-pane-1920.png"));
    b.viewport(600, 1000);
    b.open(&q);
    let c = cols(&mut b);
    assert!(c[0].0 == c[1].0 && c[1].0 == c[2].0, "one column: {c:?}");
    assert!(c[0].1 < c[1].1 && c[1].1 < c[2].1, "stacked: {c:?}");
    b.screenshot(&shots().join("site-three-pane-600.png"));
}

/// A closed `<details>` opens on a real click on its summary (no script on the page).
#[test]
fn a_details_section_opens_on_click() {
    let _g = lock();
    let d = site("site-details", &["-q"]);
    let mut b = Browser::launch();
    b.viewport(1600, 900);
    assert!(b.open(&url(&d, "index.html")).is_empty());
    assert_eq!(b.eval("document.scripts.length"), 0, "no script");
    let r = b.eval("(() => { const s = document.querySelector('details:not([open]) > summary'); const r = s.getBoundingClientRect(); return [r.left + 5, r.top + r.height / 2, s.parentElement.id]; })()");
    let id = r[2].as_str().expect("id").to_string();
    assert_eq!(b.eval(&format!("document.getElementById('{id}').open")), false);
    b.click(r[0].as_f64().expect("x"), r[1].as_f64().expect("y"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(b.eval(&format!("document.getElementById('{id}').open")), true, "opened by the click");
}

/// A target named with `<script>` and an argv holding `"><img src=x onerror=…>` show as text: no element,
/// attribute or script from them in any page's DOM, and the strings themselves are on the pages.
#[test]
fn a_hostile_program_name_and_argv_leave_no_element_in_the_dom() {
    let _g = lock();
    let dir = tmp("hostile-target");
    std::fs::create_dir_all(&dir).expect("dir");
    let exe = dir.join("<script>alert(1)<\x2fscript>".replace('/', "_"));
    std::fs::copy(common::cc("course"), &exe).expect("copy target");
    let arg = "\"><img src=x onerror=alert(2)>\x1b[31m";
    let d = site("site-hostile", &["-q", "--", exe.to_str().expect("path"), arg]);
    let mut b = Browser::launch();
    b.viewport(1600, 900);
    let mut seen_as_text = 0;
    for p in pages(&d) {
        let problems = b.open(&url(&d, &p));
        assert!(problems.is_empty(), "{p}: {problems:#?}");
        assert_eq!(b.eval("document.querySelectorAll('script, img, iframe, object').length"), 0, "{p}");
        assert_eq!(
            b.eval(
                "[...document.querySelectorAll('*')].some(e => [...e.attributes].some(a => a.name.startsWith('on')))"
            ),
            false,
            "{p}: an event-handler attribute"
        );
        if b.eval("document.body.innerText.includes('<script>alert(1)<_script>') && document.body.innerText.includes('onerror=alert(2)>\\\\x1b[31m')") == true {
            seen_as_text += 1;
        }
    }
    assert!(seen_as_text >= 1, "the hostile strings appear as text (escaped control byte included) on some page");
}

/// The independent checker passes the site — and names a link the site breaks on purpose.
#[test]
fn an_independent_link_checker_passes_the_site_and_catches_a_broken_anchor() {
    let _g = lock();
    let d = site("site-links", &["-q"]);
    let check = |d: &Path| {
        Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/linkcheck.py"))
            .arg(d)
            .output()
            .expect("python3 (scripts/setup.sh installs it)")
    };
    let o = check(&d);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains(" 0 broken"), "{}", text(&o.stdout));
    // Remove one id a link points to: the checker must name it.
    let claims = d.join(one(&d, "-claims.html"));
    let html = std::fs::read_to_string(&claims).expect("claims page");
    std::fs::write(&claims, html.replacen("id=\"c-file.private_data_is_socket\"", "id=\"gone\"", 1)).expect("write");
    let o = check(&d);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("no id c-file.private_data_is_socket"), "{}", text(&o.stdout));
}

/// Saved evidence gives byte-identical sites; bad input is refused before any work, with exit 2.
#[test]
fn saved_evidence_gives_the_same_bytes_and_bad_input_is_refused_first() {
    let _g = lock();
    let ev = Path::new(env!("CARGO_TARGET_TMPDIR")).join("site-lesson.json");
    let o = run(&["lesson", "--life", "-q", "--format", "json", "-o", ev.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let l: Value = serde_json::from_slice(&std::fs::read(&ev).expect("lesson")).expect("json");
    assert!(l["report"]["calls"].as_array().is_some_and(|c| !c.is_empty()), "the lesson carries its run's report");
    let a = site("site-a", &["-q", "--from", ev.to_str().expect("p")]);
    let b = site("site-b", &["-q", "--from", ev.to_str().expect("p")]);
    assert_eq!(pages(&a), pages(&b));
    for p in pages(&a) {
        assert_eq!(std::fs::read(a.join(&p)).expect("a"), std::fs::read(b.join(&p)).expect("b"), "{p} differs");
    }
    // Rebuilding into a site folder replaces its own files only: a page of the old site that the new one lacks is
    // removed, a file of the user's is kept, and a symlink in the folder is replaced, not followed.
    let marker = a.join(".syswalk-site");
    let mut list = std::fs::read_to_string(&marker).expect("marker");
    list.push_str("old-page.html\n");
    std::fs::write(&marker, list).expect("marker");
    std::fs::write(a.join("old-page.html"), "old").expect("old page");
    std::fs::write(a.join("mine.txt"), "mine").expect("user file");
    let outside = Path::new(env!("CARGO_TARGET_TMPDIR")).join("site-outside.txt");
    std::fs::write(&outside, "outside").expect("outside");
    std::fs::remove_file(a.join("index.html")).expect("index");
    std::os::unix::fs::symlink(&outside, a.join("index.html")).expect("symlink");
    let again = run(&["site", "-q", "-o", a.to_str().expect("p"), "--from", ev.to_str().expect("p")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(!a.join("old-page.html").exists(), "the old site's page is removed");
    assert_eq!(std::fs::read_to_string(a.join("mine.txt")).expect("kept"), "mine");
    assert_eq!(std::fs::read_to_string(&outside).expect("outside"), "outside", "not written through the symlink");
    assert!(!a.join("index.html").symlink_metadata().expect("index").file_type().is_symlink());
    assert_eq!(std::fs::read(a.join("index.html")).expect("a"), std::fs::read(b.join("index.html")).expect("b"));
    let foreign = tmp("site-foreign");
    std::fs::create_dir_all(&foreign).expect("dir");
    std::fs::write(foreign.join("notes.txt"), "mine").expect("write");
    for (args, says) in [
        (vec!["site", "-o", foreign.to_str().expect("p")], "is not empty"),
        (vec!["site", "-o", "/nonexistent/dir/site"], "is not a folder"),
        (vec!["site", "-o", "/tmp/x-site", "--from", "/nonexistent.json"], "nonexistent.json"),
        (vec!["site", "-o", "/tmp/x-site", "--from", "/etc/hostname"], "not JSON"),
    ] {
        let t0 = std::time::Instant::now();
        let o = Command::new(bin()).args(&args).output().expect("run");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o.stderr));
        assert!(text(&o.stderr).contains(says), "{args:?}: {}", text(&o.stderr));
        assert!(!text(&o.stderr).contains("tracing"), "refused before tracing: {}", text(&o.stderr));
        assert!(t0.elapsed().as_secs() < 5);
    }
    assert_eq!(std::fs::read_to_string(foreign.join("notes.txt")).expect("kept"), "mine");
}

/// Runs syswalk with `args`, killing it after `secs` (a hang fails the test instead of stopping CI).
fn run_within(args: &[&str], secs: u64) -> std::process::Output {
    let child = Command::new(bin())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(o) => o.expect("wait"),
        Err(_) => {
            // SAFETY: kill(2) on the PID of our own child, which has not been waited for (it is still running).
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("{args:?} still ran after {secs} s");
        }
    }
}

/// The site folder, hostile or unusable, is refused at once and before any tracing, with exit 2: a marker that is a
/// FIFO or a symlink to /dev/zero, a folder another build holds, a read-only mount; and an inconsistent lesson is a
/// usage error, not "a bug in syswalk".
#[test]
fn a_hostile_or_unwritable_site_folder_is_refused_at_once_before_tracing() {
    let _g = lock();
    let base = tmp("site-hostile");
    std::fs::create_dir_all(&base).expect("dir");
    let ev = base.join("ev.json");
    let o = run(&["prove", "-q", "--format", "json", "-o", ev.to_str().expect("p")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let refused = |dir: &Path, from: bool, says: &str| {
        let d = dir.to_str().expect("p");
        let args: Vec<&str> =
            if from { vec!["site", "-o", d, "--from", ev.to_str().expect("p")] } else { vec!["site", "-o", d] };
        let t0 = std::time::Instant::now();
        let o = run_within(&args, 20);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("tracing") && !err.contains("attached"), "refused before tracing: {err}");
        assert!(t0.elapsed().as_secs() < 5, "{args:?} took {:?}", t0.elapsed());
    };
    let fifo = base.join("fifo-marker");
    std::fs::create_dir_all(&fifo).expect("dir");
    std::fs::write(fifo.join("index.html"), "old").expect("page");
    assert!(Command::new("mkfifo").arg(fifo.join(".syswalk-site")).status().expect("mkfifo").success());
    refused(&fifo, true, "is a FIFO");
    let zero = base.join("zero-marker");
    std::fs::create_dir_all(&zero).expect("dir");
    std::fs::write(zero.join("index.html"), "old").expect("page");
    std::os::unix::fs::symlink("/dev/zero", zero.join(".syswalk-site")).expect("symlink");
    refused(&zero, true, "is a symbolic link");
    // A folder another build holds: flock(1) takes the same lock syswalk takes.
    let held = base.join("held");
    std::fs::create_dir_all(&held).expect("dir");
    let mut holder = Command::new("flock").arg(&held).args(["sleep", "30"]).spawn().expect("flock");
    std::thread::sleep(std::time::Duration::from_millis(300));
    refused(&held, true, "another `syswalk site` is writing there");
    let _ = holder.kill();
    let _ = holder.wait();
    // A read-only mount (root writes through file modes, not through a read-only mount), in a mount namespace of
    // its own: a new folder in it, and the mount point itself. No --from: the command would trace here first.
    let ro = base.join("ro");
    std::fs::create_dir_all(&ro).expect("dir");
    for (target, says) in [(ro.join("site"), "cannot open or create it"), (ro.clone(), "cannot write there")] {
        let script =
            format!("mount -t tmpfs -o ro none '{}' && exec '{}' site -o '{}'", ro.display(), bin(), target.display());
        let o = Command::new("unshare").args(["-m", "sh", "-c", &script]).output().expect("unshare");
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", target.display());
        assert!(err.contains(says) && err.contains("Read-only file system"), "{err}");
        assert!(!err.contains("tracing"), "refused before tracing: {err}");
    }
    // A lesson whose axioms name a step it does not have: a usage error naming the inconsistency.
    let lesson = base.join("lesson.json");
    let o = run(&["lesson", "-q", "--format", "json", "-o", lesson.to_str().expect("p")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let mut l: Value = serde_json::from_slice(&std::fs::read(&lesson).expect("lesson")).expect("json");
    l["axioms"]["terms"][0]["step"] = 9999.into();
    let bad = base.join("bad-lesson.json");
    std::fs::write(&bad, serde_json::to_vec(&l).expect("json")).expect("write");
    let out = base.join("bad-site");
    let o = run(&["site", "-q", "-o", out.to_str().expect("p"), "--from", bad.to_str().expect("p")]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("inconsistent") && err.contains("t-9999"), "{err}");
    assert!(!out.exists(), "the folder made for a site that was not written is removed");
}
