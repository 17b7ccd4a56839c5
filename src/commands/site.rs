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

/// The marker is a list of file names: read with a bound, like every file from outside.
const MARKER_MAX: u64 = 4 << 20;

/// The output folder, opened, locked and checked before any work (before tracing): it must be absent (its parent
/// existing; it is created), empty, or a site this command wrote (its marker lists the files to replace), and
/// writable. Every file is then written through its descriptor (`files::OutDir`).
struct Out {
    dir: crate::machine::files::OutDir,
    path: PathBuf,
    /// The files of the site written there before (from its marker), to remove those the new one lacks.
    old: Vec<String>,
    /// Created by this command: removed again if nothing was written.
    created: bool,
    written: bool,
}

impl Out {
    fn prepare(d: &Path) -> Result<Out> {
        let shown = crate::render::escape::text(&d.display().to_string()).into_owned();
        let bad = |why: String| {
            Error::new(Kind::Usage, format!("-o {shown}: {why}"))
                .hint("give a new or empty folder, or one a previous `syswalk site` wrote")
        };
        if d.file_name().is_some_and(|n| n.len() > crate::machine::files::NAME_MAX) {
            return Err(bad(format!("its last name is longer than {} bytes", crate::machine::files::NAME_MAX)));
        }
        let parent = d.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let (dir, created) = crate::machine::files::OutDir::open(d, true).map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => bad(format!("its parent {} is not a folder", parent.display())).hint(format!(
                "create it first (mkdir -p {}), or give a folder that exists",
                crate::render::escape::text(&parent.display().to_string())
            )),
            Some(libc::ELOOP) => bad("is a symbolic link".into()).hint("give the folder itself, not a link to it"),
            Some(libc::ENOTDIR) => bad("is not a folder".into()),
            _ => bad(format!("cannot open or create it: {e}")),
        })?;
        let mut out = Out { dir, path: d.to_path_buf(), old: vec![], created, written: false };
        if !out.dir.try_lock().map_err(|e| bad(format!("cannot lock it: {e}")))? {
            return Err(bad("another `syswalk site` is writing there now".into())
                .hint("wait for it to finish, or give another folder"));
        }
        out.dir.check_writable().map_err(|e| bad(format!("cannot write there: {e}")))?;
        let entries = out.dir.entries().map_err(|e| bad(e.to_string()))?;
        if entries.is_empty() {
            return Ok(out);
        }
        let marker = out.dir.read_regular(MARKER, MARKER_MAX).map_err(|e| {
            bad(format!("its {MARKER} {e}")).hint(format!(
                "a site's {MARKER} is a file `syswalk site` wrote: remove what is there, or give another folder"
            ))
        })?;
        let Some(list) = marker else {
            return Err(bad(format!(
                "is not empty ({} {}) and no site was written there",
                entries.len(),
                if entries.len() == 1 { "entry" } else { "entries" }
            )));
        };
        out.old = String::from_utf8_lossy(&list)
            .lines()
            .filter(|l| {
                !l.is_empty() && !l.contains('/') && !l.starts_with('.') && l.len() <= crate::machine::files::NAME_MAX
            })
            .map(str::to_string)
            .collect();
        Ok(out)
    }

    /// Removes the old site's pages the new one lacks, writes every file, and the marker last.
    fn publish(&mut self, files: &std::collections::BTreeMap<String, String>) -> Result<usize> {
        let shown = |name: &str| crate::render::escape::text(&self.path.join(name).display().to_string()).into_owned();
        self.written = true;
        for f in self.old.iter().filter(|f| !files.contains_key(*f)) {
            let _ = self.dir.remove(f);
        }
        let mut bytes = 0;
        for (name, body) in files {
            self.dir.write(name, body.as_bytes()).map_err(|e| Error::io(format!("writing {}", shown(name)), e))?;
            bytes += body.len();
        }
        let list: String = files.keys().map(|k| format!("{k}\n")).collect();
        self.dir.write(MARKER, list.as_bytes()).map_err(|e| Error::io(format!("writing {}", shown(MARKER)), e))?;
        Ok(bytes)
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        // A folder this command created for a site it did not write (the trace failed, the evidence was bad):
        // removed, as `prove -o` removes its empty file. Only if empty (remove_dir refuses otherwise).
        if self.created && !self.written {
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

/// Reads one evidence file: a lesson (with the report of its run) or a report.
fn load(p: &Path) -> Result<(Option<Lesson>, Option<Report>)> {
    let hint = "give a file written by `syswalk lesson --format json -o FILE` or `syswalk prove --format json -o FILE`";
    let shown = format!("--from {}", p.display());
    // Read once, its strings escaped on the text (every string with its control characters shown: ids, links and
    // preformatted views included), then straight into the model.
    let saved = crate::saved::Saved::read(p, EVIDENCE_MAX, "evidence file", true).map_err(|b| b.error(&shown, hint))?;
    let schema = saved.schema.clone().unwrap_or_default();
    let bad = |e: serde_json::Error| {
        Error::new(Kind::Usage, format!("--from {}: not a whole {schema} document: {e}", p.display())).hint(hint)
    };
    let sane = |r: Option<Report>| -> Result<Option<Report>> {
        if let Some(why) = r.as_ref().and_then(|r| r.check_read_back().err()) {
            return Err(Error::new(Kind::Usage, format!("--from {}: not a report a run makes: {why}", p.display()))
                .hint(format!(
                    "{hint}; a file past these bounds was not written by a run (made or edited by something else)"
                )));
        }
        Ok(r)
    };
    if schema == crate::lesson::SCHEMA {
        let mut l: Lesson = saved.parse().map_err(bad)?;
        let r = l.report.take().map(|b| *b);
        Ok((Some(l), sane(r)?))
    } else if schema == crate::report::SCHEMA {
        Ok((None, sane(Some(saved.parse().map_err(bad)?))?))
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
    let mut out = Out::prepare(&a.out)?;
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
        // Named with a bound: a link can hold a name from the evidence.
        let mut list: Vec<String> = broken
            .iter()
            .take(8)
            .map(|b| crate::render::escape::text(&b.chars().take(200).collect::<String>()).into_owned())
            .collect();
        if broken.len() > list.len() {
            list.push(format!("… and {} more", broken.len() - list.len()));
        }
        let list = list.join("\n  ");
        // From saved evidence, a link to nothing is a step, term or claim the file names but does not hold: the
        // file's fault (an edited or damaged file) until shown otherwise. From a run here alone, syswalk's.
        if a.from.is_empty() {
            Error::new(Kind::Internal, format!("the site has {} broken internal link(s):\n  {list}", broken.len()))
                .hint("this is a bug in syswalk's site builder: please report it")
        } else {
            Error::new(
                Kind::Usage,
                format!(
                    "the evidence is inconsistent: it names steps, terms or claims it does not hold ({} broken internal link(s) in the site made from it):\n  {list}",
                    broken.len()
                ),
            )
            .hint("give evidence files as `syswalk lesson --format json` or `prove --format json` wrote them; if yours are unedited, please report it as a bug")
        }
    })?;
    let bytes = out.publish(&s.files)?;
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
