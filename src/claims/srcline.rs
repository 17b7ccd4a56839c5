//! Source lines of the running kernel: each chain function and each observed caller address, moved back to its
//! link-time address with the measured KASLR offset, looked up in the DWARF of the same build (the Debian -dbg
//! vmlinux). The DWARF's own function name at that address is checked against the kallsyms name.
use serde::Serialize;

use crate::error::{Error, Kind, Result};

use crate::claims::kaslr::Kaslr;
use crate::claims::{ids, Claim, Evidence, Verdict};
use crate::model::{Call, Namer};

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Line {
    /// What was looked up: a function entry or a caller's return address (symbol+offset).
    pub what: String,
    pub live: u64,
    pub link: u64,
    pub file: Option<String>,
    pub line: Option<u32>,
    /// The innermost DWARF function at the address (inlined frames included).
    pub dwarf_function: Option<String>,
    /// The outermost (non-inlined) DWARF function.
    pub outer_function: Option<String>,
}

/// Where the DWARF vmlinux of `release` may be.
pub fn candidates(release: &str) -> Vec<String> {
    vec![
        format!("/usr/lib/debug/boot/vmlinux-{release}"),
        format!("/usr/lib/debug/lib/modules/{release}/vmlinux"),
        format!("/lib/modules/{release}/build/vmlinux"),
    ]
}

fn strip_prefix_path(f: &str) -> String {
    // Debian builds in /build/reproducible-path/linux-6.1.xx/: keep the path from the kernel tree's root.
    for root in [
        "/net/",
        "/kernel/",
        "/fs/",
        "/mm/",
        "/security/",
        "/include/",
        "/arch/",
        "/lib/",
        "/block/",
        "/drivers/",
        "/ipc/",
        "/init/",
    ] {
        if let Some(i) = f.find(root) {
            return f[i + 1..].to_string();
        }
    }
    f.to_string()
}

/// The first DWARF vmlinux of `release` that exists.
pub fn dwarf_vmlinux(release: &str) -> Option<String> {
    candidates(release).into_iter().find(|p| std::path::Path::new(p).exists())
}

/// Looks each (label, live address) up.
pub fn lookup(path: &str, offset: u64, addrs: &[(String, u64)]) -> Result<Vec<Line>> {
    let loader = addr2line::Loader::new(path).map_err(|e| Error::new(Kind::Io, format!("{path}: {e}")))?;
    let mut out = Vec::new();
    for (what, live) in addrs {
        let link = live.wrapping_sub(offset);
        let loc = loader.find_location(link).map_err(|e| Error::new(Kind::Io, format!("{path}: {e}")))?;
        let mut names: Vec<String> = Vec::new();
        if let Ok(mut frames) = loader.find_frames(link) {
            while let Ok(Some(f)) = frames.next() {
                if let Some(n) = f.function.as_ref().and_then(|n| n.raw_name().ok()) {
                    names.push(n.to_string());
                }
            }
        }
        out.push(Line {
            what: what.clone(),
            live: *live,
            link,
            file: loc.as_ref().and_then(|l| l.file).map(strip_prefix_path),
            line: loc.as_ref().and_then(|l| l.line),
            dwarf_function: names.first().cloned(),
            outer_function: names.last().cloned(),
        });
    }
    Ok(out)
}

/// The `source.lines` claim for the chain of `call` (or, without a traced chain, the default chain's functions).
/// `default_funcs`: the functions to look up when the call has no traced chain (the syscall's default chain).
/// `more`: other functions the run traced (the chains of the other calls), looked up too, after those.
pub fn claims(
    call: Option<&Call>,
    kaslr: &Kaslr,
    names: &Namer,
    default_funcs: &[&str],
    more: &[String],
) -> Vec<Claim> {
    let st = ids::SOURCE_LINES.statement;
    let not = |why: String| {
        vec![Claim {
            id: ids::SOURCE_LINES.id.into(),
            call: None,
            verdict: Verdict::NotObservable,
            statement: st.into(),
            finding: None,
            evidence: vec![],
            reason: Some(why),
        }]
    };
    let Some(path) = dwarf_vmlinux(&kaslr.release) else {
        let tried = candidates(&kaslr.release).join(", ");
        return not(format!("no DWARF vmlinux for {} ({tried}: absent; a Debian kernel has it in linux-image-{}-dbg; the lab: `lab run --dbg`)", kaslr.release, kaslr.release));
    };
    let Some(offset) = kaslr.offset else {
        return not(
            "the KASLR offset was not measured, so live addresses cannot be moved back to link-time addresses".into()
        );
    };
    let mut addrs: Vec<(String, u64)> = Vec::new();
    let funcs: Vec<String> = match call {
        Some(c) if !c.chain.is_empty() => {
            let mut v: Vec<String> = Vec::new();
            for f in &c.chain {
                if !v.contains(&f.func) {
                    v.push(f.func.clone());
                }
            }
            v
        }
        _ => default_funcs.iter().map(|s| s.to_string()).collect(),
    };
    let mut funcs = funcs;
    for f in more {
        if !funcs.contains(f) {
            funcs.push(f.clone());
        }
    }
    for f in &funcs {
        if let Some(s) = names.kallsyms.by_name(f) {
            addrs.push((f.clone(), s.addr));
        }
    }
    if let Some(c) = call {
        for f in &c.chain {
            if let Some(cl) = &f.caller {
                let name = cl.to_string();
                if !addrs.iter().any(|(w, _)| *w == name) {
                    addrs.push((name, cl.addr.0));
                }
            }
        }
    }
    if addrs.is_empty() {
        return not("none of the chain functions is in kallsyms".into());
    }
    let lines = match lookup(&path, offset, &addrs) {
        Ok(l) => l,
        Err(e) => return not(format!("reading DWARF: {e}")),
    };
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut bad = Vec::new();
    let mut unmapped = Vec::new();
    for l in &lines {
        let loc = match (&l.file, l.line) {
            (Some(f), Some(n)) => format!("{f}:{n}"),
            _ => {
                unmapped.push(l.what.clone());
                "no line".into()
            }
        };
        let func = l.dwarf_function.clone().unwrap_or_default();
        evidence.push(Evidence {
            what: l.what.clone(),
            value: format!("{loc} (in {func})"),
            source: format!("{path} @ {:#x} = {:#x} − offset", l.link, l.live),
        });
        // A function entry must be that function in DWARF (outermost frame: the entry is never inlined into itself).
        if !l.what.contains('+')
            && l.outer_function.as_deref() != Some(l.what.as_str())
            && l.dwarf_function.as_deref() != Some(l.what.as_str())
        {
            bad.push(format!("{} → DWARF says {}", l.what, l.outer_function.as_deref().unwrap_or("nothing")));
        }
    }
    evidence.insert(
        0,
        Evidence {
            what: "addresses looked up".into(),
            value: lines.len().to_string(),
            source: "the chain's function entries and call sites".into(),
        },
    );
    let (verdict, statement, reason) = if !bad.is_empty() {
        (
            Verdict::Refuted,
            format!("the DWARF names other functions at the kallsyms addresses: {}", bad.join(", ")),
            None,
        )
    } else if !unmapped.is_empty() {
        (Verdict::NotObservable, st.to_string(), Some(format!("no line information for {}", unmapped.join(", "))))
    } else {
        let first = lines
            .first()
            .map(|l| format!("{} at {}:{}", l.what, l.file.as_deref().unwrap_or("?"), l.line.unwrap_or(0)))
            .unwrap_or_default();
        (
            Verdict::Proved,
            format!(
                "{} addresses mapped to source lines of this build ({first}, …), each in the function kallsyms names",
                lines.len()
            ),
            None,
        )
    };
    vec![Claim::new(ids::SOURCE_LINES, None, verdict, statement, evidence, reason)]
}
