//! The layout's rules, checked from the source text (no build of syswalk needed):
//! - no import cycle between the crate's top-level modules, nor between sibling modules of one folder;
//! - the README's layout section names every folder of src/ and nothing that is not there;
//! - every top-level module imports only modules below it in the declared layer order (`LAYERS`, as
//!   ARCHITECTURE.md gives it);
//! - no code outside the syscall registry (`src/syscalls/mod.rs`) decides what to do by comparing a call's syscall
//!   name with a string (`c.syscall == "socket"`, `match c.syscall.as_str()`): it asks the registry.
//!
//! Test code (`#[cfg(test)]` modules, which sit at the end of each file) is not part of the layering.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ readable").flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// src/a/b.rs → ["a", "b"]; src/a/mod.rs → ["a"]; src/lib.rs → [].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_string());
    }
    parts
}

/// The paths a file names: `crate::a::b…` and `super::x…` (resolved against the file's module), as segment lists.
fn references(module: &[String], is_mod_rs: bool, text: &str) -> Vec<Vec<String>> {
    let code = match text.find("#[cfg(test)]\nmod ").or_else(|| text.find("#[cfg(test)]\npub(crate) mod ")) {
        Some(i) => &text[..i],
        None => text,
    };
    let code: String = code.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut out = Vec::new();
    for (prefix, base) in [
        ("crate::", vec![]),
        ("super::", {
            // In a mod.rs, `super` is the parent of the folder's module; in a.rs it is the folder's module.
            let mut m = module.to_vec();
            m.pop();
            if is_mod_rs {
                m.pop();
            }
            m
        }),
    ] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let segs: Vec<String> = rest
                .split("::")
                .map(|s| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
                .take_while(|s| !s.is_empty())
                .collect();
            // `use crate::x::{a, b}`: the brace group names children of x.
            let mut path = base.clone();
            path.extend(segs.iter().cloned());
            let after = rest.get(segs.join("::").len()..).unwrap_or("");
            if let Some(group) =
                after.strip_prefix("::{").or_else(|| segs.is_empty().then(|| after.strip_prefix('{')).flatten())
            {
                let inner: String = group.chars().take_while(|c| *c != '}').collect();
                for item in inner.split(',') {
                    let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() && name != "self" {
                        let mut p = path.clone();
                        p.push(name);
                        out.push(p);
                    }
                }
            }
            out.push(path);
        }
    }
    out
}

fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut c = stack[at..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(n, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// Edges between modules at each level: for a reference from module F to module T, the edge goes between the
/// children of their deepest common ancestor that contain F and T (siblings), when F and T differ there.
fn level_edges(src: &Path) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(src, f)).collect();
    let mut levels: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        let from = module_of(src, f);
        let text = std::fs::read_to_string(f).expect("readable");
        let is_mod = f.file_name().is_some_and(|n| n == "mod.rs");
        for r in references(&from, is_mod, &text) {
            // The longest prefix of the reference that is a module of the crate.
            let Some(to) = (1..=r.len()).rev().map(|n| r[..n].to_vec()).find(|p| modules.contains(p)) else { continue };
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common >= from.len() || common >= to.len() {
                continue; // a module and its own descendants or ancestors
            }
            let parent = if common == 0 { "crate".to_string() } else { from[..common].join("::") };
            levels.entry(parent).or_default().entry(from[common].clone()).or_default().insert(to[common].clone());
        }
    }
    levels
}

#[test]
fn no_module_imports_a_module_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let levels = level_edges(&src);
    assert!(levels.get("crate").is_some_and(|e| e.len() > 5), "the checker found the crate's modules: {levels:?}");
    for (parent, edges) in &levels {
        if let Some(c) = find_cycle(edges) {
            panic!("import cycle among the modules of {parent}: {}", c.join(" → "));
        }
    }
}

#[test]
fn the_checker_sees_a_cycle() {
    let dir = std::env::temp_dir().join(format!("syswalk-layout-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("a")).expect("tmp");
    std::fs::write(dir.join("lib.rs"), "mod a;\nmod b;\n").expect("tmp");
    std::fs::write(dir.join("a/mod.rs"), "use crate::b::thing;\n").expect("tmp");
    std::fs::write(dir.join("b.rs"), "fn f() { crate::a::g() }\n#[cfg(test)]\nmod tests { use crate::a::x; }\n")
        .expect("tmp");
    let levels = level_edges(&dir);
    let c = find_cycle(&levels["crate"]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(c.is_some(), "a ↔ b is a cycle: {levels:?}");
}

/// The layers, lowest first: a module may import only modules of a lower layer (same-layer entries are
/// independent of each other). `escape` and `signals` use nothing of the crate and serve every layer; `fixtures`
/// is test support.
const LAYERS: &[&[&str]] = &[
    &["escape", "signals"],
    &["error"],
    &["machine"],
    &["probes"],
    &["model"],
    &["claims"],
    &["report"],
    &["saved"],
    &["diff"],
    &["lesson"],
    &["syscalls"],
    &["pipeline", "fixtures"],
    &["render", "lab"],
    &["cli"],
    &["commands"],
];

fn rank(m: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&m))
}

/// The imports between top-level modules that go up (or across) the layer order, and modules no layer names.
fn layer_violations(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut bad = Vec::new();
    for (from, tos) in edges {
        let Some(rf) = rank(from) else {
            bad.push(format!("{from} is in no layer of LAYERS (tests/layout.rs): place it"));
            continue;
        };
        for to in tos {
            match rank(to) {
                None => bad.push(format!("{to} is in no layer of LAYERS (tests/layout.rs): place it")),
                Some(rt) if rt >= rf => bad.push(format!("{from} (layer {rf}) imports {to} (layer {rt})")),
                Some(_) => {}
            }
        }
    }
    bad
}

#[test]
fn every_module_imports_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let levels = level_edges(&src);
    let crate_edges = levels.get("crate").expect("top-level edges");
    assert!(crate_edges.len() > 10, "the checker found the crate's modules: {crate_edges:?}");
    let bad = layer_violations(crate_edges);
    assert!(bad.is_empty(), "imports against the layer order:\n{}", bad.join("\n"));
}

#[test]
fn the_layer_checker_sees_an_import_upwards_and_an_unplaced_module() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("model".into()).or_default().insert("syscalls".into());
    edges.entry("syscalls".into()).or_default().insert("model".into());
    edges.entry("newthing".into()).or_default().insert("error".into());
    let bad = layer_violations(&edges);
    assert!(bad.iter().any(|b| b.starts_with("model (layer")), "{bad:?}");
    assert!(bad.iter().any(|b| b.starts_with("newthing is in no layer")), "{bad:?}");
    assert_eq!(bad.len(), 2, "syscalls → model goes down: {bad:?}");
}

/// Lines of non-test code that compare a syscall name with a string literal, as `file:line: text`.
fn string_dispatch(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rs_files(src, &mut files);
    files.sort();
    let mut hits = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(src).expect("under src");
        if rel == Path::new("syscalls/mod.rs") {
            continue; // the registry
        }
        let text = std::fs::read_to_string(f).expect("readable");
        let code = match text.find("#[cfg(test)]\nmod ").or_else(|| text.find("#[cfg(test)]\npub(crate) mod ")) {
            Some(i) => &text[..i],
            None => &text[..],
        };
        for (n, line) in code.lines().enumerate() {
            let l = line.trim_start();
            if l.starts_with("//") {
                continue;
            }
            let compares =
                ["syscall == \"", "syscall != \"", "\" == c.syscall", "\" != c.syscall"].iter().any(|p| l.contains(p));
            let matches_name = l.contains("syscall.as_str()") && (l.contains("match ") || l.contains("matches!("));
            if compares || matches_name {
                hits.push(format!("{}:{}: {}", rel.display(), n + 1, l));
            }
        }
    }
    hits
}

#[test]
fn no_code_outside_the_registry_dispatches_on_a_syscall_name() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let hits = string_dispatch(&src);
    assert!(
        hits.is_empty(),
        "string dispatch on a syscall name (ask `syscalls::of(c)` / `DEF.is(c)` instead):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_dispatch_checker_sees_a_comparison_and_a_match() {
    let dir = std::env::temp_dir().join(format!("syswalk-dispatch-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("syscalls")).expect("tmp");
    std::fs::write(dir.join("a.rs"), "fn f(c: &Call) -> bool { c.syscall == \"socket\" }\n").expect("tmp");
    std::fs::write(dir.join("b.rs"), "fn g(c: &Call) { match c.syscall.as_str() { _ => {} } }\n").expect("tmp");
    std::fs::write(dir.join("syscalls/mod.rs"), "fn h(c: &Call) -> bool { c.syscall == \"socket\" }\n").expect("tmp");
    std::fs::write(
        dir.join("c.rs"),
        "fn ok() {}\n#[cfg(test)]\nmod t { fn x(c: &Call) -> bool { c.syscall == \"bind\" } }\n",
    )
    .expect("tmp");
    let hits = string_dispatch(&dir);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(hits.len(), 2, "a.rs and b.rs, not the registry nor test code: {hits:?}");
}

#[test]
fn the_readme_layout_names_every_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let section = readme.split("## Layout").nth(1).expect("README has a ## Layout section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut dirs = Vec::new();
    fn walk(d: &Path, root: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).expect("readable").flatten() {
            if e.path().is_dir() {
                out.push(format!("{}/", e.path().strip_prefix(root).expect("under root").display()));
                walk(&e.path(), root, out);
            }
        }
    }
    walk(&root.join("src"), root, &mut dirs);
    for d in &dirs {
        assert!(section.contains(d.as_str()), "the README's layout section does not name {d}");
    }
    for word in section.split(|c: char| c.is_whitespace() || c == '`') {
        if word.starts_with("src/") && word.ends_with('/') {
            assert!(root.join(word).is_dir(), "the README's layout names {word}, which is not in the tree");
        }
    }
}

#[test]
#[ignore]
fn print_edges() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for (p, e) in level_edges(&src) {
        for (a, bs) in e {
            println!("{p}: {a} → {}", bs.iter().cloned().collect::<Vec<_>>().join(", "));
        }
    }
}
