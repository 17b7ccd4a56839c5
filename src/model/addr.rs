//! Typed values of the evidence model: a kernel address (shown and serialized as 0x…, 16 digits), a caller (the
//! return address a function was entered from, named from kallsyms), the kinds of kernel objects syswalk walks.
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A kernel address. Compared as a number, never as text; shown as `0xffff888100d6df80`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct KAddr(pub u64);

impl KAddr {
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for KAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}", self.0)
    }
}

impl fmt::Debug for KAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for KAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Parses "0x…" (as serialized); a saved report is read back by `syswalk render`.
impl std::str::FromStr for KAddr {
    type Err = String;
    fn from_str(t: &str) -> Result<Self, String> {
        let hex = t.strip_prefix("0x").ok_or_else(|| format!("{t:?} is not a 0x… kernel address"))?;
        u64::from_str_radix(hex, 16).map(KAddr).map_err(|e| format!("{t:?}: {e}"))
    }
}

impl<'de> Deserialize<'de> for KAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = String::deserialize(d)?;
        t.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a function was called from: the return address at its entry, and the text symbol (and offset) holding
/// it. Serialized as `symbol+0xoffset`, as kallsyms-based tools print it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Caller {
    pub addr: KAddr,
    pub symbol: String,
    pub offset: u64,
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.offset == 0 {
            write!(f, "{}", self.symbol)
        } else {
            write!(f, "{}+{:#x}", self.symbol, self.offset)
        }
    }
}

impl Serialize for Caller {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Reads `symbol+0xoffset` back. The address itself is not in the JSON: it reads back as 0 (renderers show the
/// symbol and offset only).
impl<'de> Deserialize<'de> for Caller {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = String::deserialize(d)?;
        let (symbol, offset) = match t.rsplit_once("+0x") {
            Some((s, o)) => (s.to_string(), u64::from_str_radix(o, 16).map_err(serde::de::Error::custom)?),
            None => (t, 0),
        };
        Ok(Caller { addr: KAddr(0), symbol, offset })
    }
}

/// The kinds of kernel object the walk and the chain's snapshots read.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, serde::Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ObjKind {
    File,
    Socket,
    Sock,
    /// A snapshot of a kind this build does not decode.
    #[serde(rename = "?")]
    Unknown,
}

impl fmt::Display for ObjKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjKind::File => "file",
            ObjKind::Socket => "socket",
            ObjKind::Sock => "sock",
            ObjKind::Unknown => "?",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_show_as_hex_and_serialize_as_strings() {
        let a = KAddr(0xffff_8881_00d6_df80);
        assert_eq!(a.to_string(), "0xffff888100d6df80");
        assert_eq!(serde_json::to_string(&a).ok().as_deref(), Some("\"0xffff888100d6df80\""));
        assert_eq!(KAddr(0).to_string(), "0x0000000000000000");
        assert!(KAddr(0).is_null() && !a.is_null());
        let c = Caller { addr: a, symbol: "__sock_create".into(), offset: 0x7f };
        assert_eq!(serde_json::to_string(&c).ok().as_deref(), Some("\"__sock_create+0x7f\""));
        assert_eq!(serde_json::to_string(&ObjKind::Sock).ok().as_deref(), Some("\"sock\""));
    }
}
