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
/// string syswalk itself writes) are left as they are. (Saved documents are escaped on their text, `json_text`,
/// which this checks.)
#[cfg(test)]
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

/// A string of a JSON text longer than the bound `json_text` was given: its length and where it starts.
#[derive(Debug, PartialEq)]
pub struct LongString {
    pub at: usize,
    pub len: usize,
}

/// A saved document's JSON text with every string (values and object keys, at any depth) escaped as
/// `json_strings` escapes them, done on the text itself so the document is read once, straight into its typed model
/// (no `serde_json::Value` of a report that may be hundreds of megabytes). A JSON string holds a control character
/// as an escape (`\n`, `\u001b`; raw ones are invalid JSON and left for the parser to refuse) and a C1 control or
/// bidirectional override as itself or as `\uXXXX`: each becomes the JSON of its visible form (`\\n`, `\\x1b`,
/// `\\u{202e}`). With `escape` false the text is only measured. A text with nothing to escape is returned as it
/// is. Err: a string longer than `max_string` bytes (as written in the text).
pub fn json_text(j: &[u8], escape: bool, max_string: usize) -> Result<Cow<'_, [u8]>, LongString> {
    let mut out: Vec<u8> = Vec::new();
    let mut copied = 0;
    let replace = |out: &mut Vec<u8>, copied: &mut usize, from: usize, to: usize, c: char| {
        out.extend_from_slice(&j[*copied..from]);
        // The visible form is ASCII with backslashes: in JSON each backslash is doubled.
        for b in text(c.encode_utf8(&mut [0; 4])).bytes() {
            if b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        *copied = to;
    };
    let hex = |s: &[u8]| -> Option<u32> { u32::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok() };
    let mut i = 0;
    while i < j.len() {
        if j[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < j.len() && j[i] != b'"' {
            let b = j[i];
            if b == b'\\' {
                let e = j.get(i + 1).copied().unwrap_or(0);
                let simple = match e {
                    b'n' => Some('\n'),
                    b't' => Some('\t'),
                    b'r' => Some('\r'),
                    b'b' => Some('\u{8}'),
                    b'f' => Some('\u{c}'),
                    _ => None,
                };
                if let Some(c) = simple.filter(|_| escape) {
                    replace(&mut out, &mut copied, i, i + 2, c);
                    i += 2;
                } else if e == b'u' {
                    let c = j.get(i + 2..i + 6).and_then(hex).and_then(char::from_u32);
                    if let Some(c) = c.filter(|c| escape && needs_text_escape(*c)) {
                        replace(&mut out, &mut copied, i, i + 6, c);
                    }
                    i += 6;
                } else {
                    i += 2;
                }
            } else if b >= 0x7f && escape {
                let n = match b {
                    0x7f..=0xbf => 1,
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    _ => 4,
                };
                let c = j.get(i..i + n).and_then(|s| std::str::from_utf8(s).ok()).and_then(|s| s.chars().next());
                if let Some(c) = c.filter(|c| needs_text_escape(*c)) {
                    replace(&mut out, &mut copied, i, i + n, c);
                }
                i += n;
            } else {
                i += 1;
            }
        }
        // The string's length as written (between its quotes).
        let len = i.min(j.len()).saturating_sub(start + 1);
        if len > max_string {
            return Err(LongString { at: start, len });
        }
        i += 1;
    }
    if copied == 0 {
        return Ok(Cow::Borrowed(j));
    }
    out.extend_from_slice(&j[copied.min(j.len())..]);
    Ok(Cow::Owned(out))
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
    fn escaping_the_json_text_gives_what_escaping_its_strings_gives() {
        let v = serde_json::json!({
            "a\nb": ["x\u{1b}[2J\u{7}y", "plain", "tab\there\r", "\u{8}\u{c}\u{7f}\u{85}", "bidi \u{202e}x\u{2066}"],
            "emoji 😀 é": {"k": "line one\nline two", "n": 7, "deep": [["\u{0}"]]},
            "q": "a \"quoted\" \\ back\\slash /"
        });
        let mut want = v.clone();
        json_strings(&mut want);
        // Written compactly and with C1/bidi characters as \u escapes too: both spellings are escaped alike.
        let ascii =
            serde_json::to_string(&v).expect("json").replace('\u{202e}', "\\u202E").replace('\u{85}', "\\u0085");
        for text in [serde_json::to_string_pretty(&v).expect("json"), ascii] {
            let out = json_text(text.as_bytes(), true, 1 << 20).expect("no long string");
            let got: serde_json::Value = serde_json::from_slice(&out).expect("still JSON");
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&out));
            let measured = json_text(text.as_bytes(), false, 1 << 20).expect("measured");
            assert!(matches!(measured, Cow::Borrowed(_)), "not escaping leaves the text as it is");
        }
        let clean = serde_json::to_string(&serde_json::json!({"a": ["b", 1, {"c": "d"}]})).expect("json");
        assert!(matches!(json_text(clean.as_bytes(), true, 8), Ok(Cow::Borrowed(_))));
        let long = format!("{{\"ok\": \"{}\", \"x\": 1}}", "z".repeat(20));
        assert_eq!(json_text(long.as_bytes(), true, 19), Err(LongString { at: 7, len: 20 }));
        assert!(json_text(long.as_bytes(), true, 20).is_ok());
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
