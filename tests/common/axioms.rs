//! The axiomatic checks every rendered lesson must pass, on any kernel: read from the lesson's JSON, not from
//! syswalk's own verdict on itself alone.
use serde_json::Value;

fn strs(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(String::from)).collect()
}

/// The numbers a text states: hex (0x…) and decimal runs not glued to a letter, digit, `_` or `.` (so `x86_64`,
/// `unistd_64.h` and `6.1.0` state none; `-57` states 57).
pub fn numbers(t: &str) -> Vec<String> {
    let cs: Vec<char> = t.chars().collect();
    let glued = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '.');
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        if cs[i].is_ascii_digit() && !glued(i.checked_sub(1).and_then(|j| cs.get(j))) {
            let mut j = i;
            if cs[i] == '0' && cs.get(i + 1) == Some(&'x') {
                j += 2;
                while j < cs.len() && cs[j].is_ascii_hexdigit() {
                    j += 1;
                }
            } else {
                while j < cs.len() && cs[j].is_ascii_digit() {
                    j += 1;
                }
            }
            if !glued(cs.get(j)) || (cs.get(j) == Some(&'.') && !cs.get(j + 1).is_some_and(|c| c.is_alphanumeric())) {
                out.push(cs[i..j].iter().collect());
            }
            i = j.max(i + 1);
            continue;
        }
        i += 1;
    }
    out
}

/// The identifier-shaped words of `t`, read without syswalk's checker: `struct NAME`, a word with `_` and a letter, a
/// word with two capitals in a row. Whitespace-separated chunks that are paths (`/…`, `~/…`, a URL) or name a C
/// source or header (`….h`, `….c:NN`) are skipped whole; a word starting with a digit is a number.
pub fn identifiers(t: &str) -> Vec<String> {
    let mut kept = String::new();
    for chunk in t.split_whitespace() {
        let c = chunk.trim_matches(|c: char| "()[]{},;.\"'`<>".contains(c));
        let bare = c.rsplit_once(':').filter(|(_, n)| n.chars().all(|d| d.is_ascii_digit())).map_or(c, |(p, _)| p);
        let path = c.starts_with('/')
            || c.starts_with("~/")
            || c.contains("://")
            || bare.ends_with(".h")
            || bare.ends_with(".c");
        kept.push(' ');
        if !path {
            kept.push_str(chunk);
        }
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let words: Vec<&str> = kept.split(|c: char| !word(c)).filter(|w| !w.is_empty()).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        if w.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        if w == "struct" && kept.contains(&format!("struct {}", words.get(i).copied().unwrap_or(""))) {
            if let Some(n) = words.get(i).filter(|n| !n.starts_with(|c: char| c.is_ascii_digit())) {
                out.push(format!("struct {n}"));
                i += 1;
                continue;
            }
        }
        let snake = w.contains('_') && w.chars().any(|c| c.is_ascii_alphabetic());
        let caps = w.as_bytes().windows(2).any(|p| p[0].is_ascii_uppercase() && p[1].is_ascii_uppercase());
        if snake || caps {
            out.push(w.to_string());
        }
    }
    out
}

/// Does `name` occur in `text` as a whole word (no letter, digit or `_` glued to it)?
fn says(text: &str, name: &str) -> bool {
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(name)
        .any(|(i, _)| !glued(text[..i].chars().next_back()) && !glued(text[i + name.len()..].chars().next()))
}

/// Every identifier a step's text uses (action, code, result, evidence) is said by name — in the name or the
/// derivation of a term introduced at or before that step, or on the lesson's "named, not derived" list — so a
/// reader has met it before reading it. Outside strings (the command, the target, the program's own function) and
/// claim ids are not the lesson's words.
pub fn assert_identifiers_derived(l: &Value, what: &str) {
    let a = &l["axioms"];
    let terms = a["terms"].as_array().expect("axioms.terms");
    let named: Vec<String> = a["named"]
        .as_array()
        .expect("axioms.named")
        .iter()
        .filter_map(|n| n["name"].as_str().map(String::from))
        .collect();
    let mut quoted: Vec<String> = vec![l["command"].as_str().unwrap_or("").to_string()];
    if let Some(d) = l["report"]["target"]["description"].as_str() {
        quoted.push(d.to_string());
    }
    for c in l["claims"].as_array().into_iter().flatten() {
        quoted.extend(c["id"].as_str().map(String::from));
        // user.call_site's call: "BINARY (FUNCTION)": the program's own function is its word.
        for e in c["evidence"].as_array().into_iter().flatten().filter(|_| c["id"] == "user.call_site") {
            if let Some(f) =
                e["source"].as_str().and_then(|s| s.rsplit_once(" (")).map(|(_, f)| f.trim_end_matches(')'))
            {
                quoted.push(f.to_string());
            }
        }
    }
    quoted.retain(|q| !q.is_empty());
    for s in l["steps"].as_array().expect("steps") {
        let n = s["n"].as_u64().unwrap_or(0);
        let mut t = format!(
            "{}\n{}\n{}",
            s["action"].as_str().unwrap_or(""),
            s["code"].as_str().unwrap_or(""),
            s["result"].as_str().unwrap_or("")
        );
        for e in strs(&s["evidence"]) {
            t.push('\n');
            t.push_str(&e);
        }
        for q in &quoted {
            t = t.replace(q.as_str(), " ");
        }
        let mut said = named.join("\n");
        for d in terms.iter().filter(|d| d["step"].as_u64().is_some_and(|k| k <= n)) {
            said.push('\n');
            said.push_str(d["term"].as_str().unwrap_or(""));
            said.push('\n');
            said.push_str(d["derived"].as_str().unwrap_or(""));
        }
        for id in identifiers(&t) {
            assert!(
                says(&said, &id),
                "{what}: step {n} uses {id:?}, which no term introduced at or before it names (nor the named, not \
                 derived list):\n  {t}"
            );
        }
    }
}

/// Each of `names` is introduced (as a term of that name) at or before the first step whose action, code, result or
/// evidence writes it: the names issue 31 found used and never derived.
pub fn assert_derived_at_first_use(l: &Value, names: &[&str], what: &str) {
    let steps = l["steps"].as_array().expect("steps");
    for t in names {
        let intro = l["axioms"]["terms"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["term"] == *t))
            .and_then(|x| x["step"].as_u64())
            .unwrap_or_else(|| panic!("{what}: {t} is introduced by no step"));
        let said = |s: &&Value| ["action", "code", "result", "evidence"].iter().any(|k| s[*k].to_string().contains(t));
        let first = steps.iter().find(said).and_then(|s| s["n"].as_u64()).unwrap_or(u64::MAX);
        assert!(intro <= first, "{what}: {t} first used at step {first}, introduced at {intro}");
    }
}

/// The names issue 31 found used and never derived.
pub const ISSUE_31: &[&str] = &["orig_ax", "sock_alloc", "sk_alloc", "fd_install", "private_data", "DWARF"];

/// Zero forward references, nothing undefined or unknown (syswalk's checker now reads every identifier of the text),
/// the "named, not derived" list present, every identifier said by a term at or before its step (read here
/// independently), the given terms exactly the axiom steps' terms, and every number a ✓ conclusion states shown in
/// that step's own text (so it can be redone by hand).
pub fn assert_axiomatic(l: &Value, what: &str) {
    let a = &l["axioms"];
    for k in ["forward", "undefined", "unknown", "reintroduced"] {
        assert_eq!(a[k], serde_json::json!([]), "{what}: axioms.{k} is not empty");
    }
    // The reviewed "named, not derived" strings are printed with the lesson, each with why.
    for u in a["named"].as_array().unwrap_or_else(|| panic!("{what}: no axioms.named list")) {
        assert!(u["why"].as_str().is_some_and(|w| !w.is_empty()), "{what}: named without why: {u}");
    }
    assert_identifiers_derived(l, what);
    let steps = l["steps"].as_array().expect("steps");
    let axiom_terms: Vec<String> =
        steps.iter().filter(|s| s["status"] == "axiom").flat_map(|s| strs(&s["introduces"])).collect();
    assert!(!axiom_terms.is_empty(), "{what}: no axiom steps");
    assert_eq!(strs(&a["given"]), axiom_terms, "{what}: introduced without derivation = exactly the stated axioms");
    for s in steps.iter().filter(|s| s["status"] == "proved") {
        let result = s["result"].as_str().unwrap_or("");
        let mut shown = format!("{} {}", s["action"].as_str().unwrap_or(""), s["code"].as_str().unwrap_or(""));
        for e in strs(&s["evidence"]) {
            shown.push(' ');
            shown.push_str(&e);
        }
        let shown_numbers = numbers(&shown);
        for n in numbers(result) {
            assert!(
                shown_numbers.contains(&n),
                "{what}: step {} concludes with {n}, which its evidence does not show:\n  result: {result}\n  shown: {shown}",
                s["n"]
            );
        }
    }
}

#[test]
fn numbers_are_found_whole() {
    assert_eq!(numbers("fd 3 at 0x2b8f33, IPPROTO_TCP (6)."), vec!["3", "0x2b8f33", "6"]);
    assert_eq!(numbers("x86_64 unistd_64.h 6.1.0 sk_prot"), Vec::<String>::new());
    assert_eq!(numbers("v6.1.0-57"), vec!["57"], "a number after a dash is stated");
}

#[test]
fn identifiers_are_read_independently() {
    assert_eq!(
        identifiers(
            "orig_ax = 41 [/usr/include/x86_64-linux-gnu/asm/unistd_64.h:45] struct pt_regs DWARF net/socket.c:1667"
        ),
        vec!["orig_ax", "struct pt_regs", "DWARF"]
    );
    assert_eq!(identifiers("x86_64 6.1.0 0xffff88 fdt->max_fds"), vec!["x86_64", "max_fds"]);
    assert!(says("sk->sk_prot points", "sk_prot") && !says("sk_protocol", "sk_prot"));
}
