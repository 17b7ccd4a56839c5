//! `--chain FILE`: a user's own function list (TOML), so an investigation can be extended without code changes.
//!
//! ```toml
//! functions = [
//!   "__sys_socket",
//!   { name = "sock_alloc_file", snapshot = ["sock", "return"] },
//! ]
//! ```
//! `optional = true` marks a function that may be inlined or renamed on some kernels: absent, it is reported in the
//! plan instead of being an error. `snapshot` names arguments (or "return") of type struct socket *, struct sock *, struct file * or
//! struct socket ** to read at entry and exit — "entry:NAME" or "exit:NAME" for one of the two; without it every such
//! argument is read at both (each snapshot is two kernel reads per call: ask only for what you look at).
use serde::Deserialize;

use crate::error::{Error, Kind, Result};
use crate::machine::btf::Btf;
use crate::machine::kallsyms::Kallsyms;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainFile {
    pub functions: Vec<FnSpec>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum FnSpec {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        snapshot: Option<Vec<String>>,
        /// May be absent on some kernels (inlined everywhere, renamed): then reported, not an error.
        #[serde(default)]
        optional: bool,
    },
}

impl FnSpec {
    pub fn name(&self) -> &str {
        match self {
            FnSpec::Name(n) | FnSpec::Full { name: n, .. } => n,
        }
    }
    pub fn optional(&self) -> bool {
        matches!(self, FnSpec::Full { optional: true, .. })
    }
    pub fn snapshot(&self) -> Option<&[String]> {
        match self {
            FnSpec::Full { snapshot: Some(s), .. } => Some(s),
            _ => None,
        }
    }
}

/// A likely typo of `want`: edit distance ≤ 2, or one contains the other (for names of 5+ characters).
fn close(have: &str, want: &str) -> bool {
    if have.len() >= 5 && want.len() >= 5 && (have.contains(want) || want.contains(have)) {
        return true;
    }
    have.len().abs_diff(want.len()) <= 2 && strsim::levenshtein(have, want) <= 2
}

const SNAPSHOTTABLE: [&str; 4] = ["struct socket *", "struct sock *", "struct file *", "struct socket **"];

/// Parses and checks a chain file against this kernel: unknown functions and bad snapshot names are errors with a
/// hint; functions that exist only in BTF (inlined) are kept and reported by the plan.
pub fn parse(text: &str, source: &str, btf: Option<&Btf>, ks: &Kallsyms) -> Result<Vec<FnSpec>> {
    let f: ChainFile = toml::from_str(text).map_err(|e| {
        Error::new(Kind::Usage, format!("{source}: not a valid chain file: {e}"))
            .hint("write `functions = [\"__sys_socket\", { name = \"sock_alloc_file\", snapshot = [\"return\"] }]`")
    })?;
    if f.functions.is_empty() {
        return Err(Error::new(Kind::Usage, format!("{source}: `functions` is empty")));
    }
    if f.functions.len() > super::SLOTS {
        return Err(Error::new(
            Kind::Usage,
            format!("{source}: {} functions; syswalk traces at most {} at once", f.functions.len(), super::SLOTS),
        ));
    }
    for s in &f.functions {
        let n = s.name();
        let in_ks = ks.by_name(n).is_some();
        let in_btf = btf.is_some_and(|b| b.has_func(n));
        if !in_ks && !in_btf && s.optional() {
            continue;
        }
        if !in_ks && !in_btf {
            let mut similar: Vec<String> = ks.names().filter(|k| close(k, n)).cloned().collect();
            similar.sort();
            similar.dedup();
            similar.truncate(6);
            let hint = if similar.is_empty() {
                "check the spelling against /proc/kallsyms".to_string()
            } else {
                format!("similar names in /proc/kallsyms: {}", similar.join(", "))
            } + "; if it is inlined on this kernel, write { name = \""
                + n
                + "\", optional = true } to have it reported instead";
            return Err(Error::new(
                Kind::Usage,
                format!("{source}: function {n:?} does not exist on this kernel (neither in kallsyms nor in BTF)"),
            )
            .hint(hint));
        }
        if let Some(snap) = s.snapshot() {
            let sig = btf.and_then(|b| b.func_sig(n)).ok_or_else(|| {
                Error::new(
                    Kind::Usage,
                    format!(
                        "{source}: {n}: `snapshot` needs the function's BTF signature, which this kernel does not have"
                    ),
                )
            })?;
            for want in snap {
                let (when, want) = super::split_snapshot(want);
                if want == "return" && when == super::AT_ENTRY {
                    return Err(Error::new(
                        Kind::Usage,
                        format!("{source}: {n}: \"entry:return\" — there is no return value at entry"),
                    )
                    .hint("write \"return\" or \"exit:return\""));
                }
                let ty = if want == "return" {
                    Some(sig.ret.clone())
                } else {
                    sig.params.iter().find(|(p, _)| p == want).map(|(_, t)| t.clone())
                };
                match ty {
                    None => {
                        let names: Vec<&str> = sig.params.iter().map(|(p, _)| p.as_str()).collect();
                        return Err(Error::new(Kind::Usage, format!("{source}: {n} has no argument {want:?}"))
                            .hint(format!("its arguments: {} (or \"return\")", names.join(", "))));
                    }
                    Some(t) if !SNAPSHOTTABLE.contains(&t.as_str()) => {
                        return Err(Error::new(
                            Kind::Usage,
                            format!("{source}: {n}: {want} is `{t}`; syswalk snapshots {}", SNAPSHOTTABLE.join(", ")),
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(f.functions)
}

#[cfg(test)]
mod tests {
    use super::*;
    fn ks() -> Kallsyms {
        Kallsyms::parse(
            "ffffffff81000000 T __sys_socket\nffffffff81000100 T sock_alloc\nffffffff81000200 T sock_alloc_file\n",
            "fixture",
        )
    }
    #[test]
    fn accepts_names_and_tables() {
        let f =
            parse("functions = [\"__sys_socket\", { name = \"sock_alloc\" }]", "t.toml", None, &ks()).expect("valid");
        assert_eq!(f.iter().map(|s| s.name()).collect::<Vec<_>>(), vec!["__sys_socket", "sock_alloc"]);
    }
    #[test]
    fn unknown_function_is_an_error_with_a_hint() {
        let e = parse("functions = [\"sock_aloc\"]", "t.toml", None, &ks()).expect_err("unknown");
        assert_eq!(e.kind, Kind::Usage);
        assert!(e.message.contains("does not exist"), "{e}");
        assert!(e.hint.clone().unwrap_or_default().contains("sock_alloc"), "{e}");
        let e = parse("functions = [\"sock_aloc_file\"]", "t.toml", None, &ks()).expect_err("typo");
        assert!(e.hint.unwrap_or_default().contains("sock_alloc_file"));
    }
    #[test]
    fn bad_files() {
        assert!(parse("functions = []", "t", None, &ks()).is_err());
        let ok = parse("functions = [\"sock_alloc\", { name = \"sock_map_fd\", optional = true }]", "t", None, &ks())
            .expect("optional absent is fine");
        assert_eq!(ok.len(), 2);
        assert!(parse("funcs = [\"x\"]", "t", None, &ks()).is_err());
        assert!(
            parse("functions = [{ name = \"sock_alloc\", snapshot = [\"x\"] }]", "t", None, &ks()).is_err(),
            "snapshot needs BTF"
        );
    }
    #[test]
    fn snapshot_requests_say_when() {
        assert_eq!(crate::probes::chain::split_snapshot("entry:sock"), (1, "sock"));
        assert_eq!(crate::probes::chain::split_snapshot("exit:return"), (2, "return"));
        assert_eq!(crate::probes::chain::split_snapshot("sock"), (3, "sock"));
    }
}
