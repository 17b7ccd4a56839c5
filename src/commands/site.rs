//! `syswalk site`: the course as a static site, from a run here or from saved evidence (lesson or report JSON).
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, Kind, Result};
use crate::lesson::Lesson;
use crate::render::site::{self, Machine};
use crate::report::Report;

use super::Ctx;

/// What a folder holds once a site was written there: the files of that site, so a new build replaces them.
const MARKER: &str = ".syswalk-site";
const EVIDENCE_MAX: u64 = 256 << 20;

pub struct Args {
    pub out: PathBuf,
    pub from: Vec<PathBuf>,
    pub here: bool,
    pub quiet: bool,
    pub system_map: Option<PathBuf>,
    pub how: crate::cli::TraceArgs,
    pub command: Vec<std::ffi::OsString>,
}

/// The output folder, checked before any work: it must be absent (its parent existing), empty, or a site this
/// command wrote (its marker lists the files to replace).
fn check_out(d: &Path) -> Result<Vec<String>> {
    let bad = |why: String| {
        Error::new(Kind::Usage, format!("-o {}: {why}", d.display()))
            .hint("give a new or empty folder, or one a previous `syswalk site` wrote")
    };
    match std::fs::metadata(d) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = d.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !parent.is_dir() {
                return Err(bad(format!("its parent {} is not a folder", parent.display()))
                    .hint(format!("create it first (mkdir -p {}), or give a folder that exists", parent.display())));
            }
            Ok(vec![])
        }
        Err(e) => Err(bad(e.to_string())),
        Ok(m) if !m.is_dir() => Err(bad("is not a folder".into())),
        Ok(_) => {
            let entries: Vec<_> = std::fs::read_dir(d).map_err(|e| bad(e.to_string()))?.collect();
            if entries.is_empty() {
                return Ok(vec![]);
            }
            match std::fs::read_to_string(d.join(MARKER)) {
                Ok(list) => Ok(list
                    .lines()
                    .filter(|l| !l.is_empty() && !l.contains('/') && !l.starts_with('.'))
                    .map(str::to_string)
                    .collect()),
                Err(_) => Err(bad(format!(
                    "is not empty ({} {}) and no site was written there",
                    entries.len(),
                    if entries.len() == 1 { "entry" } else { "entries" }
                ))),
            }
        }
    }
}

/// Reads one evidence file: a lesson (with the report of its run) or a report.
fn load(p: &Path) -> Result<(Option<Lesson>, Option<Report>)> {
    let hint = "give a file written by `syswalk lesson --format json -o FILE` or `syswalk prove --format json -o FILE`";
    let text = crate::machine::files::read_text_limited(p, EVIDENCE_MAX, "evidence file", Kind::Usage)
        .map_err(|e| e.hint(hint))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::new(Kind::Usage, format!("--from {}: not JSON: {e}", p.display())).hint(hint))?;
    if !v.is_object() {
        return Err(Error::new(Kind::Usage, format!("--from {}: not a JSON object", p.display())).hint(hint));
    }
    let schema = v.get("schema").and_then(|s| s.as_str()).unwrap_or("").to_string();
    let bad = |e: serde_json::Error| {
        Error::new(Kind::Usage, format!("--from {}: not a whole {schema} document: {e}", p.display())).hint(hint)
    };
    if schema == crate::lesson::SCHEMA {
        let mut l: Lesson = serde_json::from_value(v).map_err(bad)?;
        let r = l.report.take().map(|b| *b);
        Ok((Some(l), r))
    } else if schema == crate::report::SCHEMA {
        Ok((None, Some(serde_json::from_value(v).map_err(bad)?)))
    } else {
        Err(Error::new(
            Kind::Usage,
            format!(
                "--from {}: schema {schema:?}; a site is made from {:?} (lesson) or {:?} (prove/trace) documents",
                p.display(),
                crate::lesson::SCHEMA,
                crate::report::SCHEMA
            ),
        )
        .hint(hint))
    }
}

pub fn run(ctx: &Ctx, a: Args) -> Result<i32> {
    let old = check_out(&a.out)?;
    let here = a.here || a.from.is_empty();
    if !here && !a.command.is_empty() {
        return Err(Error::new(Kind::Usage, "a program to trace is given, but --from without --here traces nothing")
            .hint("add --here to trace the program as well"));
    }
    let mut ms: Vec<Machine> = Vec::new();
    let mut taken = BTreeSet::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for p in &a.from {
        let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        if seen.contains(&canon) {
            return Err(Error::new(Kind::Usage, format!("--from {} is given twice", p.display()))
                .hint("give each evidence file once"));
        }
        seen.push(canon);
    }
    for p in &a.from {
        let (l, r) = load(p)?;
        // The file's name, not its path: the same evidence gives the same pages wherever it lies.
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string());
        let m = Machine::new(name, l, r, &taken);
        taken.insert(m.slug.clone());
        if !a.quiet {
            eprintln!("syswalk site: read {} ({})", crate::render::escape::text(&p.display().to_string()), m.slug);
        }
        ms.push(m);
    }
    let mut refuted = 0;
    if here {
        if !a.quiet {
            eprintln!("syswalk site: tracing the course's run here…");
        }
        let life = a.command.is_empty();
        let mut l = super::lesson::build(ctx, a.system_map.as_deref(), life, a.how, a.quiet, false, a.command)?;
        refuted = l.count(crate::lesson::Status::Refuted);
        let r = l.report.take().map(|b| *b);
        let m = Machine::new("a run here".into(), Some(l), r, &taken);
        ms.insert(0, m);
    }
    let started = std::time::Instant::now();
    let s = site::build(&ms).map_err(|broken| {
        Error::new(
            Kind::Internal,
            format!("the site has {} broken internal link(s):\n  {}", broken.len(), broken.join("\n  ")),
        )
        .hint("this is a bug in syswalk's site builder: please report it with the evidence files")
    })?;
    let io = |what: String| move |e: std::io::Error| Error::io(what, e);
    std::fs::create_dir_all(&a.out).map_err(io(format!("creating {}", a.out.display())))?;
    for f in old.iter().filter(|f| !s.files.contains_key(*f)) {
        let _ = std::fs::remove_file(a.out.join(f));
    }
    let mut bytes = 0;
    for (name, body) in &s.files {
        let p = a.out.join(name);
        // A symlink left in the folder is replaced, never followed out of it.
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::remove_file(&p).map_err(io(format!("replacing the symlink {}", p.display())))?;
        }
        std::fs::write(&p, body).map_err(io(format!("writing {}", p.display())))?;
        bytes += body.len();
    }
    let list: String = s.files.keys().map(|k| format!("{k}\n")).collect();
    let marker = a.out.join(MARKER);
    if std::fs::symlink_metadata(&marker).is_ok_and(|m| m.file_type().is_symlink()) {
        std::fs::remove_file(&marker).map_err(io(format!("replacing the symlink {}", marker.display())))?;
    }
    std::fs::write(&marker, list).map_err(io(format!("writing {}", marker.display())))?;
    if !a.quiet {
        eprintln!(
            "syswalk site: wrote {} files ({} KB) in {:.0} ms to {} — open {}",
            s.files.len(),
            bytes / 1024,
            started.elapsed().as_secs_f64() * 1000.0,
            crate::render::escape::text(&a.out.display().to_string()),
            crate::render::escape::text(&a.out.join("index.html").display().to_string())
        );
    }
    if refuted > 0 {
        eprintln!("syswalk: {refuted} lesson step(s) refuted by the evidence of the run here");
        return Ok(Kind::Refuted.exit_code());
    }
    Ok(0)
}
