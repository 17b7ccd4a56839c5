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

/// Zero forward references, nothing undefined or unknown, the given terms exactly the axiom steps' terms, and every
/// number a ✓ conclusion states shown in that step's own text (so it can be redone by hand).
pub fn assert_axiomatic(l: &Value, what: &str) {
    let a = &l["axioms"];
    for k in ["forward", "undefined", "unknown", "reintroduced"] {
        assert_eq!(a[k], serde_json::json!([]), "{what}: axioms.{k} is not empty");
    }
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
