//! Saved evidence (a report or a lesson as JSON) read back for `render`, `diff` and `site`: read once with a size
//! limit, its strings measured and (for the formats a person reads) escaped on the JSON text, then deserialized
//! straight into the typed model — never held as a `serde_json::Value` as well — and its sizes checked
//! (`Report::check_read_back`), so any accepted file renders in time and memory linear in its size.
use std::borrow::Cow;
use std::path::Path;

use crate::error::{Error, Kind};
use crate::report::STRING_MAX;

/// A saved document's JSON text, checked to be a JSON object, with its schema.
pub struct Saved {
    pub schema: Option<String>,
    bytes: Vec<u8>,
}

/// What the first pass reads: the schema only (the rest is skipped, not stored).
#[derive(serde::Deserialize)]
struct Head {
    #[serde(default)]
    schema: Option<serde_json::Value>,
}

/// Why a saved file is not read.
pub enum Bad {
    /// An I/O or size error, with its message and hint already.
    Read(Error),
    Empty,
    NotJson(serde_json::Error),
    NotObject,
    LongString {
        at: usize,
        len: usize,
    },
}

impl Bad {
    /// As a usage error about `shown` (the file as the message names it), with `hint`.
    pub fn error(self, shown: &str, hint: &str) -> Error {
        match self {
            Bad::Read(e) => e,
            Bad::Empty => Error::new(Kind::Usage, format!("{shown} is empty")).hint(hint.to_string()),
            Bad::NotJson(e) => Error::new(Kind::Usage, format!("{shown} is not JSON: {e}")).hint(hint.to_string()),
            Bad::NotObject => Error::new(Kind::Usage, format!("{shown} is not a JSON object")).hint(hint.to_string()),
            Bad::LongString { at, len } => Error::new(
                Kind::Usage,
                format!(
                    "{shown} holds a string of {len} bytes (at byte {at}); a saved report's strings are at most {STRING_MAX} bytes"
                ),
            )
            .hint(format!("{hint}; a run writes no string that long: the file was made or edited by something else")),
        }
    }
}

impl Saved {
    /// Reads `p` (at most `max` bytes of UTF-8), checks it is one JSON object (a pass that stores nothing but the
    /// schema) and that no string in it is longer than `STRING_MAX`; with `escape`, every string's control
    /// characters are made visible (`escape::json_text`, as `escape::json_strings` would on the JSON value).
    pub fn read(p: &Path, max: u64, what: &str, escape: bool) -> std::result::Result<Saved, Bad> {
        let text = crate::machine::files::read_text_limited(p, max, what, Kind::Usage).map_err(Bad::Read)?;
        if text.trim().is_empty() {
            return Err(Bad::Empty);
        }
        let bytes = text.into_bytes();
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            // Not an object (an array would read as a struct's fields in order).
            return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
                Err(e) => Bad::NotJson(e),
                Ok(_) => Bad::NotObject,
            });
        }
        let head: Head = serde_json::from_slice(&bytes).map_err(|e| {
            if e.classify() == serde_json::error::Category::Data {
                Bad::NotObject
            } else {
                Bad::NotJson(e)
            }
        })?;
        let bytes = match crate::escape::json_text(&bytes, escape, STRING_MAX) {
            Err(l) => return Err(Bad::LongString { at: l.at, len: l.len }),
            Ok(Cow::Borrowed(_)) => bytes,
            Ok(Cow::Owned(b)) => b,
        };
        let schema = head.schema.map(|s| s.as_str().map(String::from).unwrap_or_else(|| s.to_string()));
        Ok(Saved { schema, bytes })
    }

    /// The document in its typed model.
    pub fn parse<T: serde::de::DeserializeOwned>(self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_back_escaped_straight_into_the_model() {
        let mut r = crate::fixtures::report();
        r.tool = "syswalk\n  ✓ kernel.memory_safe forged".into();
        let t = tempfile::tempdir().expect("tmp");
        let p = t.path().join("r.json");
        std::fs::write(&p, serde_json::to_string_pretty(&r).expect("json")).expect("write");
        let back: crate::report::Report =
            Saved::read(&p, 1 << 20, "report", true).ok().expect("reads").parse().expect("a report");
        assert_eq!(back.tool, "syswalk\\n  ✓ kernel.memory_safe forged");
        let raw: crate::report::Report =
            Saved::read(&p, 1 << 20, "report", false).ok().expect("reads").parse().expect("a report");
        assert_eq!(raw.tool, r.tool, "unescaped for JSON output");
        for (body, want) in [("", "empty"), ("[1, 2]", "not a JSON object"), ("{\"a\": ", "not JSON"), ("7", "object")]
        {
            std::fs::write(&p, body).expect("write");
            let e = Saved::read(&p, 1 << 20, "report", true).err().expect("refused").error("r.json", "h");
            assert_eq!(e.kind, Kind::Usage);
            assert!(e.message.contains(want), "{body:?}: {e}");
        }
    }
}
