//! Constants read from the machine's installed C headers, with file and line — the course's "grep the header" step.
//! When a header is absent the constant is reported as absent; nothing here falls back to a built-in value.
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct HeaderConst {
    pub name: String,
    pub value: i64,
    pub file: String,
    pub line: usize,
    /// The line as written, trimmed.
    pub text: String,
    /// Names followed to reach the number (AF_INET → PF_INET → 2).
    pub via: Vec<String>,
}

/// A header's text, read once per process (reports name thousands of values from the same few headers).
pub fn header_text(file: &str) -> Option<std::sync::Arc<str>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<str>>>>> = OnceLock::new();
    let mut c = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    c.entry(file.to_string()).or_insert_with(|| std::fs::read_to_string(file).ok().map(Arc::from)).clone()
}

pub fn include_dir() -> String {
    format!("/usr/include/{}-linux-gnu", std::env::consts::ARCH)
}

pub fn unistd_path() -> String {
    format!("{}/asm/unistd_64.h", include_dir())
}
pub fn socket_h() -> String {
    format!("{}/bits/socket.h", include_dir())
}
pub fn socket_type_h() -> String {
    format!("{}/bits/socket_type.h", include_dir())
}
pub const NETINET_IN_H: &str = "/usr/include/netinet/in.h";

/// One definition found in `text`: `#define NAME VALUE` or an enumerator `NAME = VALUE,`.
fn find_in(text: &str, name: &str) -> Option<(usize, String, String)> {
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        let code = l.split("/*").next().unwrap_or("").trim();
        let mut toks = code.split_whitespace();
        match toks.next() {
            Some("#define") if toks.next() == Some(name) => {
                if let Some(v) = toks.next() {
                    if v != name {
                        return Some((i + 1, v.to_string(), l.to_string()));
                    }
                }
            }
            Some(first) if first == name => {
                // enumerator: NAME = VALUE,
                let rest: String = code[name.len()..].trim().to_string();
                if let Some(v) = rest.strip_prefix('=') {
                    let v = v.trim().trim_end_matches(',').trim();
                    return Some((i + 1, v.to_string(), l.to_string()));
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_num(v: &str) -> Option<i64> {
    let v = v.trim_start_matches('(').trim_end_matches(')');
    if let Some(h) = v.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if v.len() > 1 && v.starts_with('0') && v.chars().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&v[1..], 8).ok()
    } else {
        v.parse().ok()
    }
}

/// Looks `name` up in the header text, following symbolic aliases within the same text (up to 8 steps).
pub fn lookup_in(text: &str, file: &str, name: &str) -> Option<HeaderConst> {
    let (line, mut value, linetext) = find_in(text, name)?;
    let mut via = Vec::new();
    for _ in 0..8 {
        if let Some(n) = parse_num(&value) {
            return Some(HeaderConst {
                name: name.to_string(),
                value: n,
                file: file.to_string(),
                line,
                text: linetext,
                via,
            });
        }
        via.push(value.clone());
        let (_, v, _) = find_in(text, &value)?;
        value = v;
    }
    None
}

pub fn lookup(file: &str, name: &str) -> Option<HeaderConst> {
    let text = header_text(file)?;
    lookup_in(&text, file, name)
}

/// Every `#define PREFIX* number` (following aliases) in a header: e.g. the PF_* table of bits/socket.h.
pub fn table(file: &str, prefix: &str) -> Vec<HeaderConst> {
    let Some(text) = header_text(file) else { return Vec::new() };
    let mut out = Vec::new();
    for l in text.lines() {
        let mut t = l.split_whitespace();
        if t.next() == Some("#define") {
            if let Some(n) = t.next() {
                if n.starts_with(prefix) && !out.iter().any(|c: &HeaderConst| c.name == n) {
                    if let Some(c) = lookup_in(&text, file, n) {
                        out.push(c);
                    }
                }
            }
        }
    }
    out
}

/// The address-family name for a value, from bits/socket.h (AF_ form of the PF_ definition).
pub fn family_name(v: i64) -> Option<HeaderConst> {
    let file = socket_h();
    let text = header_text(&file)?;
    for name in ["INET", "INET6", "UNIX", "NETLINK", "PACKET"] {
        if let Some(c) = lookup_in(&text, &file, &format!("AF_{name}")) {
            if c.value == v {
                return Some(c);
            }
        }
    }
    table(&file, "AF_").into_iter().find(|c| c.value == v && c.name != "AF_LOCAL" && c.name != "AF_FILE")
}

/// The socket-option header (SOL_SOCKET, SO_*), the same on every architecture but a few.
pub fn asm_socket_h() -> String {
    "/usr/include/asm-generic/socket.h".to_string()
}

/// The first `#define PREFIX…` of `file` whose value is `v` (following aliases).
pub fn name_in(file: &str, prefix: &str, v: i64) -> Option<HeaderConst> {
    table(file, prefix).into_iter().find(|c| c.value == v)
}

/// The syscall number from asm/unistd_64.h.
pub fn syscall_nr(name: &str) -> Option<HeaderConst> {
    lookup(&unistd_path(), &format!("__NR_{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    const SOCKET_H: &str = "#define PF_UNSPEC\t0\n#define PF_LOCAL\t1\n#define PF_UNIX\t\tPF_LOCAL /* POSIX */\n#define PF_INET\t\t2\t/* IP */\n#define AF_INET\t\tPF_INET\n#define AF_UNIX\tPF_UNIX\n";
    const TYPE_H: &str = "enum __socket_type\n{\n  SOCK_STREAM = 1,\t\t/* Sequenced */\n#define SOCK_STREAM SOCK_STREAM\n  SOCK_DGRAM = 2,\n";
    #[test]
    fn follows_aliases() {
        let c = lookup_in(SOCKET_H, "s.h", "AF_INET").expect("AF_INET");
        assert_eq!((c.value, c.line), (2, 5));
        assert_eq!(c.via, vec!["PF_INET".to_string()]);
        let u = lookup_in(SOCKET_H, "s.h", "AF_UNIX").expect("AF_UNIX");
        assert_eq!(u.value, 1);
        assert_eq!(u.via, vec!["PF_UNIX", "PF_LOCAL"]);
    }
    #[test]
    fn enumerator_not_self_define() {
        let c = lookup_in(TYPE_H, "t.h", "SOCK_STREAM").expect("SOCK_STREAM");
        assert_eq!((c.value, c.line), (1, 3));
        assert!(lookup_in(TYPE_H, "t.h", "SOCK_RAW").is_none());
    }
    #[test]
    fn numbers() {
        assert_eq!(parse_num("0x10"), Some(16));
        assert_eq!(parse_num("010"), Some(8));
        assert_eq!(parse_num("(41)"), Some(41));
        assert_eq!(parse_num("FOO"), None);
    }
}
