//! Every string from outside (argv, comm, paths, kernel strings, error texts) is escaped for the format it goes
//! into: control characters shown visibly in text (an argv cannot clear the screen, set the window title or fake a
//! report line), Markdown/HTML specials escaped so nothing becomes live HTML or breaks a table, code spans fenced so
//! a backtick cannot end them.
use std::borrow::Cow;
use std::fmt::Write as _;

fn needs_text_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Text: control characters (newlines and tabs included), C1 controls and bidirectional overrides as visible
/// escapes (`\n`, `\t`, `\x1b`, `\u{202e}`).
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_text_escape) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            c if needs_text_escape(c) && (c as u32) < 0x100 => {
                let _ = write!(o, "\\x{:02x}", c as u32);
            }
            c if needs_text_escape(c) => {
                let _ = write!(o, "\\u{{{:x}}}", c as u32);
            }
            c => o.push(c),
        }
    }
    Cow::Owned(o)
}

/// A whole text document syswalk composed: every control character but its own newlines made visible (the last
/// line of defence; outside strings are escaped with `text` where they are put in).
pub fn document(s: &str) -> String {
    s.split('\n').map(|l| text(l).into_owned()).collect::<Vec<_>>().join("\n")
}

/// Every string of a saved document (values and object keys, at any depth) with its control characters shown
/// visibly, as `text` shows them. A saved report or lesson is outside input: applied once where one is read for a
/// human-readable format, no field of it — claim id, family name, `tool`, a connection's address, a chain probe, a
/// plan note, one added later — can put a newline (a forged line such as "✓ kernel.memory_safe"), an escape
/// sequence or a bidirectional override into text, Markdown or HTML. Strings without such characters (every
/// string syswalk itself writes) are left as they are.
pub fn json_strings(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let Cow::Owned(t) = text(s) {
                *s = t;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(json_strings),
        Value::Object(m) => {
            if m.keys().any(|k| k.chars().any(needs_text_escape)) {
                let old = std::mem::take(m);
                for (k, mut x) in old {
                    json_strings(&mut x);
                    m.insert(text(&k).into_owned(), x);
                }
            } else {
                m.values_mut().for_each(json_strings);
            }
        }
        _ => {}
    }
}

/// An identifier from outside (a claim id) as an HTML `id` and URL fragment: ASCII letters, digits, `.` and `_` as
/// they are, every other character as `~HEX;` (so distinct identifiers stay distinct, a `-` suffix added after it
/// cannot collide with another's, and no control character, space, quote or `#` reaches an attribute or a link).
pub fn frag(s: &str) -> Cow<'_, str> {
    let keep = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_');
    if s.chars().all(keep) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if keep(c) {
            o.push(c);
        } else {
            let _ = write!(o, "~{:x};", c as u32);
        }
    }
    Cow::Owned(o)
}

/// Markdown running text (also safe inside a table cell): HTML and Markdown specials escaped, newlines as spaces.
pub fn md(s: &str) -> String {
    let t = text(s);
    let mut o = String::with_capacity(t.len() + 8);
    for c in t.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                o.push('\\');
                o.push(c);
            }
            c => o.push(c),
        }
    }
    o
}

/// A Markdown inline code span holding `s` literally (HTML is not interpreted inside one).
pub fn md_code(s: &str) -> String {
    code_span(text(s).into_owned())
}

/// A code span inside a table cell. A `|` would end the cell even inside a code span, and GFM's row splitter
/// reads `\\|` as an escaped backslash and a bare pipe: a value with a `|` is written as escaped text instead.
pub fn md_cell_code(s: &str) -> String {
    if s.contains('|') {
        md(s)
    } else {
        code_span(text(s).into_owned())
    }
}

fn code_span(t: String) -> String {
    let longest = t.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if t.starts_with('`') || t.ends_with('`') || t.is_empty() { " " } else { "" };
    format!("{fence}{pad}{t}{pad}{fence}")
}

/// A fence for a Markdown code block around `body`: longer than any run of backticks inside it.
pub fn md_fence(body: &str) -> String {
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "\x1b]0;owned\x07\x1b[2J<img src=x onerror=alert(1)>|`x`\nline\u{202e}";

    #[test]
    fn text_shows_control_characters_visibly() {
        let t = text(HOSTILE);
        assert!(!t.chars().any(|c| c.is_control()), "{t}");
        assert!(t.contains("\\x1b]0;owned\\x07") && t.contains("\\n") && t.contains("\\u{202e}"), "{t}");
        assert_eq!(text("plain"), "plain");
        assert_eq!(document("a\x1b[2Jb\nc"), "a\\x1b[2Jb\nc");
    }

    #[test]
    fn a_saved_document_s_strings_and_keys_carry_no_control_character() {
        let mut v = serde_json::json!({"id": "a\n  ✓ kernel.memory_safe", "ok": "fd.lowest_free", "n": 3,
            "list": [{"k\u{7}": "\u{1b}[2J"}], "keys": {"x\ny": 1}});
        json_strings(&mut v);
        assert_eq!(v["id"], "a\\n  ✓ kernel.memory_safe");
        assert_eq!(v["ok"], "fd.lowest_free", "a plain string is kept");
        assert_eq!(v["n"], 3);
        assert_eq!(v["list"][0]["k\\x07"], "\\x1b[2J");
        assert_eq!(v["keys"]["x\\ny"], 1);
        fn controls(v: &serde_json::Value) -> bool {
            match v {
                serde_json::Value::String(s) => s.chars().any(char::is_control),
                serde_json::Value::Array(a) => a.iter().any(controls),
                serde_json::Value::Object(m) => m.iter().any(|(k, x)| k.chars().any(char::is_control) || controls(x)),
                _ => false,
            }
        }
        assert!(!controls(&v), "{v}");
    }

    #[test]
    fn a_fragment_keeps_plain_ids_and_escapes_everything_else_distinctly() {
        assert_eq!(frag("fd.lowest_free"), "fd.lowest_free");
        let f = frag("x\u{1b}]0;t\u{7} \"#~");
        assert!(f.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '#' | '\'')), "{f}");
        assert_eq!(f, "x~1b;~5d;0~3b;t~7;~20;~22;~23;~7e;");
        assert_ne!(frag("a~61;"), frag("aa"), "escaped and literal stay distinct");
        assert_eq!(frag("a-2"), "a~2d;2", "a '-' is escaped: `c-ID-2` is never another id's anchor");
    }

    #[test]
    fn markdown_has_no_live_html_no_broken_table_and_no_escaped_code_span() {
        let m = md(HOSTILE);
        assert!(!m.contains('<') && !m.contains('\n') && m.contains("&lt;img"), "{m}");
        assert!(!m.replace("\\|", "").contains('|'), "a bare | would split a table cell: {m}");
        assert_eq!(md("sock_alloc → <family>_create"), "sock\\_alloc → &lt;family&gt;\\_create");
        assert_eq!(md_cell_code("a|b"), "a\\|b");
        assert_eq!(md_cell_code("a\\|b"), "a\\\\\\|b", "escaped backslash, then escaped pipe");
        assert_eq!(md_code("a|b"), "`a|b`");
        let c = md_code("a`b``c");
        assert!(c.starts_with("```") && c.ends_with("```"), "fence longer than the longest run: {c}");
        assert_eq!(md_code("`x"), "`` `x ``");
        assert_eq!(md_fence("no ticks"), "```");
        assert_eq!(md_fence("a ```` b"), "`````");
    }
}
