//! KASLR from evidence: the live address of each symbol (/proc/kallsyms) minus its link-time address (System.map or
//! the vmlinux ELF symbol table of the same build) is one constant — the offset the kernel was moved by at boot.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Kind, Result};

use crate::claims::ids;
use crate::claims::{ev, global_claim as claim, Claim, Verdict};
use crate::machine::kallsyms::Kallsyms;
use crate::model::KAddr;

fn hex_opt<S: serde::Serializer>(v: &Option<u64>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(&format_args!("{v:#x}")),
        None => s.serialize_none(),
    }
}

/// Link-time addresses by name (a name may occur more than once: static functions in different files).
#[derive(Debug, Clone, Default)]
pub struct StaticMap {
    pub source: String,
    pub syms: HashMap<String, Vec<u64>>,
}

/// The Debian kernel image package ships a one-line placeholder System.map; the real one is in the -dbg package.
fn is_placeholder(text: &str) -> bool {
    text.lines().count() < 10 && text.contains("ffffffffffffffff")
}

impl StaticMap {
    pub fn parse_system_map(text: &str, source: &str) -> Self {
        let mut syms: HashMap<String, Vec<u64>> = HashMap::new();
        for l in text.lines() {
            let mut it = l.split_whitespace();
            let (Some(a), Some(_k), Some(n)) = (it.next(), it.next(), it.next()) else { continue };
            if let Ok(a) = u64::from_str_radix(a, 16) {
                syms.entry(n.to_string()).or_default().push(a);
            }
        }
        StaticMap { source: source.into(), syms }
    }

    /// Symbols of a vmlinux ELF (mapped, not read: a -dbg vmlinux is ~600 MB).
    pub fn from_elf(path: &Path) -> Result<Self> {
        use object::{Object, ObjectSymbol};
        crate::machine::files::regular(path, "the vmlinux", Kind::Io)?;
        let f = std::fs::File::open(path)
            .map_err(|e| Error::with_source(Kind::Io, format!("{}: {e}", path.display()), e))?;
        // A concurrent truncation by another process could fault: the documented hazard of any file mapping.
        // SAFETY: the file is opened read-only and only read through the map; syswalk never writes or truncates it.
        let map = unsafe { memmap2::Mmap::map(&f) }
            .map_err(|e| Error::with_source(Kind::Io, format!("mapping {}: {e}", path.display()), e))?;
        let obj = object::File::parse(&*map)
            .map_err(|e| Error::with_source(Kind::Io, format!("{} is not an ELF file: {e}", path.display()), e))?;
        let mut syms: HashMap<String, Vec<u64>> = HashMap::new();
        for s in obj.symbols() {
            if let Ok(n) = s.name() {
                if !n.is_empty() && s.address() != 0 {
                    syms.entry(n.to_string()).or_default().push(s.address());
                }
            }
        }
        if syms.is_empty() {
            return Err(Error::new(Kind::Io, format!("{} has no symbol table (stripped)", path.display())));
        }
        Ok(StaticMap { source: format!("{} (ELF .symtab)", path.display()), syms })
    }

    /// Loads a System.map or a vmlinux, told apart by the ELF magic.
    pub fn load(path: &Path) -> Result<Self> {
        crate::machine::files::regular(path, "the System.map or vmlinux", Kind::Io)?;
        let mut head = [0u8; 4];
        let n = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
            .map_err(|e| Error::with_source(Kind::Io, format!("{}: {e}", path.display()), e))?;
        if n == 4 && &head == b"\x7fELF" {
            return Self::from_elf(path);
        }
        let text = crate::machine::files::read_text_limited(
            path,
            crate::machine::files::SYSTEM_MAP_MAX,
            "the System.map",
            Kind::Io,
        )?;
        if is_placeholder(&text) {
            return Err(Error::new(
                Kind::Io,
                format!(
                    "{} is a placeholder ({}); the real map is in the kernel's -dbg package",
                    path.display(),
                    text.trim()
                ),
            ));
        }
        let m = Self::parse_system_map(&text, &path.display().to_string());
        if m.syms.is_empty() {
            return Err(Error::new(Kind::Io, format!("{} has no symbols", path.display())));
        }
        Ok(m)
    }

    fn unique(&self, name: &str) -> Option<u64> {
        match self.syms.get(name).map(|v| v.as_slice()) {
            Some([a]) => Some(*a),
            _ => None,
        }
    }
}

/// Where a static map for kernel `release` may be, in the order tried.
pub fn candidates(release: &str) -> Vec<PathBuf> {
    [
        format!("/boot/System.map-{release}"),
        format!("/usr/lib/debug/boot/System.map-{release}"),
        format!("/lib/modules/{release}/build/System.map"),
        format!("/usr/lib/debug/boot/vmlinux-{release}"),
        format!("/usr/lib/debug/lib/modules/{release}/vmlinux"),
        format!("/lib/modules/{release}/build/vmlinux"),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect()
}

/// The first usable static map, and what was tried on the way.
pub fn find_static(release: &str, given: Option<&Path>) -> (Option<StaticMap>, Vec<String>) {
    let mut tried = Vec::new();
    let paths = match given {
        Some(p) => vec![p.to_path_buf()],
        None => candidates(release),
    };
    for p in paths {
        if !p.exists() {
            tried.push(format!("{}: absent", p.display()));
            continue;
        }
        match StaticMap::load(&p) {
            Ok(m) => return (Some(m), tried),
            Err(e) => tried.push(e.message),
        }
    }
    (None, tried)
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SymOffset {
    pub name: String,
    pub live: KAddr,
    #[serde(rename = "static")]
    pub link: KAddr,
    pub offset: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Kaslr {
    pub release: String,
    pub live_source: String,
    pub static_source: Option<String>,
    pub tried: Vec<String>,
    pub cmdline: String,
    pub nokaslr: bool,
    /// CONFIG_RANDOMIZE_BASE as the kernel's config says, and where it was read.
    pub randomize_base: Option<(String, String)>,
    pub compared: Vec<SymOffset>,
    /// live − link-time, one number for the whole kernel (shown and serialized as 0x…).
    #[serde(serialize_with = "hex_opt")]
    pub offset: Option<u64>,
    pub claims: Vec<Claim>,
}

/// The symbols compared: `_text`, the named ones (the chain), then an even spread over the whole text, unique in both.
pub fn choose(live: &Kallsyms, st: &StaticMap, named: &[&str], spread: usize) -> Vec<(String, u64, u64)> {
    let mut live_count: HashMap<&str, usize> = HashMap::new();
    for s in live.syms().iter().filter(|s| s.module.is_none()) {
        *live_count.entry(s.name.as_str()).or_default() += 1;
    }
    let pick = |name: &str| -> Option<(String, u64, u64)> {
        if live_count.get(name) != Some(&1) {
            return None;
        }
        let l = live.by_name(name)?;
        Some((name.to_string(), l.addr, st.unique(name)?))
    };
    let mut out: Vec<(String, u64, u64)> = Vec::new();
    for n in std::iter::once("_text").chain(named.iter().copied()) {
        if let Some(p) = pick(n) {
            if !out.iter().any(|o| o.0 == p.0) {
                out.push(p);
            }
        }
    }
    let text: Vec<&crate::machine::kallsyms::Sym> = live
        .syms()
        .iter()
        .filter(|s| s.module.is_none() && matches!(s.kind, 'T' | 't') && live_count.get(s.name.as_str()) == Some(&1))
        .collect();
    if !text.is_empty() && spread > 0 {
        let step = (text.len() / spread).max(1);
        for s in text.iter().step_by(step).take(spread) {
            if let Some(p) = pick(&s.name) {
                if !out.iter().any(|o| o.0 == p.0) {
                    out.push(p);
                }
            }
        }
    }
    out
}

fn randomize_base(release: &str) -> Option<(String, String)> {
    let p = format!("/boot/config-{release}");
    let text = std::fs::read_to_string(&p).ok()?;
    text.lines().enumerate().find_map(|(i, l)| {
        if l.starts_with("CONFIG_RANDOMIZE_BASE=") {
            Some((l.trim_start_matches("CONFIG_RANDOMIZE_BASE=").to_string(), format!("{p}:{}", i + 1)))
        } else if l.starts_with("# CONFIG_RANDOMIZE_BASE is not set") {
            Some(("n".into(), format!("{p}:{}", i + 1)))
        } else {
            None
        }
    })
}

/// Judges KASLR from the live symbols and a static map (None: not observable, with what was tried).
pub fn measure(
    live: &Kallsyms,
    st: Option<&StaticMap>,
    tried: Vec<String>,
    release: &str,
    cmdline: &str,
    named: &[&str],
) -> Kaslr {
    let nokaslr = cmdline.split_whitespace().any(|w| w == "nokaslr");
    let rb = randomize_base(release);
    let mut k = Kaslr {
        release: release.into(),
        live_source: live.source.clone(),
        static_source: st.map(|s| s.source.clone()),
        tried: tried.clone(),
        cmdline: cmdline.trim().into(),
        nokaslr,
        randomize_base: rb.clone(),
        compared: vec![],
        offset: None,
        claims: vec![],
    };
    const MIN: usize = 20;
    let not = |why: String| {
        [
            claim(
                ids::KASLR_OFFSET_CONSTANT,
                Verdict::NotObservable,
                "live address − link-time address is one constant for every kernel symbol",
                vec![],
                Some(why.clone()),
            ),
            claim(
                ids::KASLR_OFFSET_MATCHES_BOOT,
                Verdict::NotObservable,
                "the offset agrees with how the kernel was booted (nokaslr, CONFIG_RANDOMIZE_BASE)",
                vec![],
                Some(why),
            ),
        ]
    };
    if !live.addresses_visible() {
        k.claims.extend(not(format!("{} shows no addresses (kptr_restrict; run as root)", live.source)));
        return k;
    }
    let Some(st) = st else {
        k.claims.extend(not(format!(
            "no link-time symbol map for {release}: {} (the -dbg package has one; or pass --system-map FILE)",
            tried.join("; ")
        )));
        return k;
    };
    let pairs = choose(live, st, named, 40);
    k.compared = pairs
        .iter()
        .map(|(n, l, s)| SymOffset {
            name: n.clone(),
            live: KAddr(*l),
            link: KAddr(*s),
            offset: format!("{:#x}", l.wrapping_sub(*s)),
        })
        .collect();
    if pairs.len() < MIN {
        k.claims.extend(not(format!(
            "only {} symbols are unique in both {} and {} (need {MIN})",
            pairs.len(),
            live.source,
            st.source
        )));
        return k;
    }
    let offs: Vec<u64> = pairs.iter().map(|(_, l, s)| l.wrapping_sub(*s)).collect();
    let first = offs[0];
    let differ: Vec<&SymOffset> = k.compared.iter().zip(&offs).filter(|(_, o)| **o != first).map(|(c, _)| c).collect();
    let mut evidence = vec![
        ev("live addresses", format!("{} symbols", pairs.len()), live.source.clone()),
        ev("link-time addresses", format!("{} symbols", pairs.len()), st.source.clone()),
    ];
    for c in k.compared.iter().take(4) {
        evidence.push(ev(c.name.clone(), format!("{} − {} = {}", c.live, c.link, c.offset), "kallsyms − static map"));
    }
    if differ.is_empty() {
        k.offset = Some(first);
        evidence.push(ev("distinct offsets", "1", format!("over {} symbols", pairs.len())));
        k.claims.push(claim(
            ids::KASLR_OFFSET_CONSTANT,
            Verdict::Proved,
            format!(
                "live − link-time = {first:#x} for all {} symbols compared: the kernel was moved as one block",
                pairs.len()
            ),
            evidence,
            None,
        ));
    } else {
        for d in differ.iter().take(4) {
            evidence.push(ev(
                format!("{} (differs)", d.name),
                format!("{} − {} = {}", d.live, d.link, d.offset),
                "kallsyms − static map",
            ));
        }
        k.claims.push(claim(
            ids::KASLR_OFFSET_CONSTANT,
            Verdict::Refuted,
            format!(
                "live − link-time is not one constant: {} of {} symbols differ from {first:#x}",
                differ.len(),
                pairs.len()
            ),
            evidence,
            None,
        ));
        return k;
    }
    // Does the measured offset agree with how the kernel was booted?
    let mut evidence = vec![
        ev("offset", format!("{first:#x}"), ids::KASLR_OFFSET_CONSTANT.id),
        ev("nokaslr on the command line", nokaslr.to_string(), "/proc/cmdline"),
    ];
    if let Some((v, src)) = &rb {
        evidence.push(ev("CONFIG_RANDOMIZE_BASE", v.clone(), src.clone()));
    }
    let randomizing = !nokaslr && rb.as_ref().is_none_or(|(v, _)| v == "y");
    let (ok, statement) = match (first == 0, randomizing) {
        (false, true) => (Some(true), format!("KASLR is on and moved the kernel by {first:#x} this boot")),
        (true, false) => (
            Some(true),
            "the kernel runs at its link-time addresses (offset 0), as nokaslr / CONFIG_RANDOMIZE_BASE say it should"
                .to_string(),
        ),
        (false, false) => (Some(false), format!("the kernel moved by {first:#x} although randomization is off")),
        // Not a contradiction: slot 0 is one of the ~500 2 MiB slots KASLR draws from (seen once in ~200 lab
        // boots, 6.1 under TCG), and the kernel also falls back to its link address when it finds no slot.
        (true, true) => (None, "offset 0 although nothing disables KASLR".to_string()),
    };
    let verdict = match ok {
        Some(true) => Verdict::Proved,
        Some(false) => Verdict::Refuted,
        None => Verdict::NotObservable,
    };
    let reason = ok.is_none().then(|| {
        if rb.is_some() {
            "offset 0 with KASLR on: the random draw can land on slot 0 (one of ~500), or the kernel fell back to its link address; this boot's evidence cannot tell which (boot again: a new draw)".to_string()
        } else {
            "offset 0 and no kernel config to say whether CONFIG_RANDOMIZE_BASE is set".to_string()
        }
    });
    k.claims.push(claim(ids::KASLR_OFFSET_MATCHES_BOOT, verdict, statement, evidence, reason));
    k
}

/// `syswalk kaslr` on this machine.
pub fn live(live: &Kallsyms, system_map: Option<&Path>, named: &[&str]) -> crate::error::Result<Kaslr> {
    let (release, _) = crate::machine::uname();
    let (st, tried) = find_static(&release, system_map);
    if let (Some(_), None) = (system_map, &st) {
        return Err(crate::error::Error::new(crate::error::Kind::Usage, format!("--system-map: {}", tried.join("; ")))
            .hint("give a System.map or a vmlinux with symbols, of this very kernel build"));
    }
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    Ok(measure(live, st.as_ref(), tried, &release, &cmdline, named))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_map(offset: u64, n: usize) -> (Kallsyms, StaticMap) {
        let mut lt = String::new();
        let mut st = String::new();
        for i in 0..n {
            let a = 0xffffffff81000000u64 + (i as u64) * 0x100;
            let name = if i == 0 { "_text".to_string() } else { format!("f{i}") };
            lt.push_str(&format!("{:016x} T {name}\n", a + offset));
            st.push_str(&format!("{a:016x} T {name}\n"));
        }
        (Kallsyms::parse(&lt, "live"), StaticMap::parse_system_map(&st, "map"))
    }

    #[test]
    fn one_offset_is_proved() {
        let (l, s) = live_map(0x2a00000, 100);
        let k = measure(&l, Some(&s), vec![], "x", "quiet", &["f3"]);
        assert_eq!(k.claims[0].verdict, Verdict::Proved, "{:?}", k.claims);
        assert_eq!(k.offset, Some(0x2a00000));
        assert!(k.compared.len() >= 20);
        assert_eq!(k.claims[1].verdict, Verdict::Proved);
    }

    #[test]
    fn a_differing_symbol_refutes() {
        let (l, s) = live_map(0x2a00000, 100);
        let mut st = s.clone();
        st.syms.insert("f3".into(), vec![0xffffffff81000300 + 8]);
        let k = measure(&l, Some(&st), vec![], "x", "", &["f3"]);
        assert_eq!(k.claims[0].verdict, Verdict::Refuted);
    }

    #[test]
    fn nokaslr_with_offset_refutes_and_zero_is_proved() {
        let (l, s) = live_map(0x2a00000, 100);
        let k = measure(&l, Some(&s), vec![], "x", "nokaslr", &[]);
        assert_eq!(k.claims[1].verdict, Verdict::Refuted);
        let (l, s) = live_map(0, 100);
        let k = measure(&l, Some(&s), vec![], "x", "quiet nokaslr", &[]);
        assert_eq!(k.claims[1].verdict, Verdict::Proved);
        assert_eq!(k.offset, Some(0));
    }

    #[test]
    fn no_map_is_not_observable_and_says_what_was_tried() {
        let (l, _) = live_map(0, 30);
        let k = measure(&l, None, vec!["/boot/System.map-x: absent".into()], "x", "", &[]);
        assert_eq!(k.claims[0].verdict, Verdict::NotObservable);
        assert!(k.claims[0].reason.as_deref().unwrap_or("").contains("/boot/System.map-x: absent"));
    }

    #[test]
    fn placeholder_map_is_rejected() {
        let tmp = tempfile::tempdir().expect("tmp");
        let p = tmp.path().join("System.map");
        std::fs::write(&p, "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n")
            .expect("tmp");
        let e = StaticMap::load(&p).unwrap_err();
        assert!(e.message.contains("placeholder"), "{e}");
    }
}
