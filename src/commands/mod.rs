//! One module per subcommand. This file parses the command line, dispatches, and maps errors to exit codes; the
//! helpers every command shares (output, names, argument parsing) live here too.
use std::io::Write;
use std::time::Instant;

use clap::Parser;

use crate::cli::{Cli, Cmd};
use crate::error::{Error, Kind, Result};
use crate::model::Namer;
use crate::probes::session::Target;
use crate::syscalls::{self, SyscallSpec};

mod caps;
mod collect;
mod constants;
mod diff;
mod docs;
mod investigate;
mod kaslr;
mod lab;
mod lesson;
mod prove;
mod site;
mod trace;

/// What every command gets from main: when syswalk started (launch → attached is measured from it).
pub struct Ctx {
    pub launch: Instant,
}

pub fn main() -> i32 {
    // The built-in target re-executes syswalk as `syswalk __target F T P`: an internal entry point, kept out of the
    // command line's definition (so out of help, completions and the man page).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == crate::probes::target::TARGET_ARG) {
        return crate::probes::target::target_main(&args[2..]);
    }
    let ctx = Ctx { launch: Instant::now() };
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { Kind::Usage.exit_code() } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    if !cli.verbose {
        libbpf_rs::set_print(None);
    }
    match dispatch(&ctx, cli) {
        Ok(code) => code,
        Err(e) => {
            // Messages carry paths, argv and kernel text: control characters are shown, never sent to the
            // terminal (the message's own line breaks stay).
            eprintln!("syswalk: error[{}]: {}", e.kind.name(), crate::render::escape::document(&e.to_string()));
            e.exit_code()
        }
    }
}

fn dispatch(ctx: &Ctx, cli: Cli) -> Result<i32> {
    match cli.command {
        Cmd::Completions { shell } => docs::completions(shell),
        Cmd::Man { command } => docs::man(command.as_deref()),
        Cmd::Lab { cmd } => lab::run(cmd),
        Cmd::Kaslr { system_map, format } => kaslr::run(system_map, format),
        Cmd::Constants { format } => constants::run(ctx, format),
        Cmd::Lesson { system_map, life, fail, how, out, command } => {
            lesson::run(ctx, system_map, life, fail, how, out, command)
        }
        Cmd::Caps { format } => caps::run(format),
        Cmd::Site { out, from, here, system_map, quiet, how, command } => {
            site::run(ctx, site::Args { out, from, here, quiet, system_map, how, command })
        }
        Cmd::Diff { a, b, format, out } => diff::run(a, b, format, out),
        Cmd::Render { report, format, out } => diff::render(report, format, out),
        Cmd::Prove { family, ty, protocol, fail, life, how, out, command } => prove::run(
            ctx,
            prove::Builtin { family: &family, ty: &ty, protocol: &protocol, fail, life },
            how,
            out,
            command,
        ),
        Cmd::Trace { pid, syscalls, duration, how, out, command } => {
            trace::run(ctx, pid, &syscalls, duration, how, out, command)
        }
    }
}

/// Where a report goes (`-o FILE`, or stdout), checked before any tracing starts: a long trace must not be lost to
/// a typo in the output path. A file created by the check is removed again if no report is written into it.
pub struct Output {
    path: Option<std::path::PathBuf>,
    created: bool,
    written: std::cell::Cell<bool>,
}

impl Output {
    pub fn check(path: &Option<std::path::PathBuf>) -> Result<Output> {
        let Some(p) = path else { return Ok(Output { path: None, created: false, written: false.into() }) };
        let bad = |why: String| {
            Error::new(Kind::Usage, format!("-o {}: {why}", p.display()))
                .hint("give a file in an existing folder (the output is written there when the command has it)")
        };
        let existed = match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => return Err(bad("is a directory".into())),
            Ok(m) => {
                use std::os::unix::fs::{FileTypeExt, MetadataExt};
                let t = m.file_type();
                // A device is refused unless it is /dev/null or a terminal (told by its numbers: opening a device
                // can have effects of its own): /dev/full and the like would only fail once the trace is over.
                if t.is_char_device() {
                    let (major, minor) = (libc::major(m.rdev()), libc::minor(m.rdev()));
                    let null = (major, minor) == (1, 3);
                    // 4: virtual consoles and serial lines, 5: /dev/tty, /dev/console, 136–143: pseudo-terminals.
                    let terminal = matches!(major, 4 | 5 | 136..=143);
                    if !null && !terminal {
                        return Err(bad("is a device, not a file".into()));
                    }
                } else if !(t.is_file() || t.is_fifo()) {
                    return Err(bad("is not a regular file".into()));
                }
                true
            }
            Err(_) => false,
        };
        if !existed {
            std::fs::OpenOptions::new().write(true).create_new(true).open(p).map_err(|e| bad(e.to_string()))?;
        } else if std::fs::metadata(p).is_ok_and(|m| m.is_file()) {
            std::fs::OpenOptions::new().write(true).open(p).map_err(|e| bad(e.to_string()))?;
        }
        if let Some(w) = lab_overlay_warning(p) {
            eprintln!("{w}");
        }
        Ok(Output { path: Some(p.clone()), created: !existed, written: false.into() })
    }

    pub fn write(&self, text: &str) -> Result<()> {
        emit(text, &self.path)?;
        self.written.set(true);
        Ok(())
    }
}

/// Inside `syswalk lab run` (SYSWALK_IN_LAB=1), a file outside the `--out-dir` share (SYSWALK_LAB_OUT) is written
/// to the guest's throwaway overlay and is gone when the VM ends: said at once, before any tracing.
fn lab_overlay_warning(p: &std::path::Path) -> Option<String> {
    if std::env::var_os("SYSWALK_IN_LAB").is_none_or(|v| v != "1") {
        return None;
    }
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let abs = std::fs::canonicalize(dir).ok()?.join(p.file_name()?);
    if abs.starts_with("/dev") {
        return None;
    }
    let shared = std::env::var_os("SYSWALK_LAB_OUT").map(std::path::PathBuf::from);
    if shared.as_ref().is_some_and(|d| abs.starts_with(d)) {
        return None;
    }
    Some(format!(
        "syswalk: warning: -o {} is written inside the lab guest, whose files are a throwaway overlay: it is lost when the VM ends.\n  hint: `syswalk lab run --out-dir DIR …` shares DIR writable at the same path (write under it), or send the report to stdout{}",
        crate::render::escape::text(&p.display().to_string()),
        shared.map(|d| format!(" (this guest's --out-dir is {})", crate::render::escape::text(&d.display().to_string()))).unwrap_or_default()
    ))
}

impl Drop for Output {
    fn drop(&mut self) {
        if let (Some(p), true, false) = (&self.path, self.created, self.written.get()) {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Writes `text` to the file or stdout. A closed pipe (`syswalk prove | head`) is a clean exit, not an error.
pub fn emit(text: &str, out: &Option<std::path::PathBuf>) -> Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).map_err(|e| Error::io(format!("writing {}", p.display()), e)),
        None => {
            let mut so = std::io::stdout().lock();
            match so.write_all(text.as_bytes()).and_then(|_| so.flush()) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::io("writing to standard output", e)),
            }
        }
    }
}

pub fn namer() -> Namer {
    let kallsyms = crate::machine::kallsyms::Kallsyms::load().unwrap_or_default();
    Namer { kallsyms, btf: crate::machine::btf::Btf::load().ok().map(std::sync::Arc::new), ..Default::default() }
}

/// Resolves a family name (inet, AF_INET6 …) through this machine's headers, or a number.
pub fn family_arg(s: &str) -> Result<i32> {
    if let Some(n) = number_arg(s, "--family", 0xffff)? {
        return Ok(n);
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("AF_") || up.starts_with("PF_") { up } else { format!("AF_{up}") };
    crate::machine::headers::lookup(&crate::machine::headers::socket_h(), &name).map(|c| c.value as i32).ok_or_else(
        || {
            Error::new(
                Kind::Usage,
                format!(
                    "unknown address family {s:?}: {name} is not defined in {}",
                    crate::machine::headers::socket_h()
                ),
            )
            .hint("use a number (e.g. --family 2) or a name the header defines (inet, inet6, unix, netlink, packet)")
        },
    )
}

/// A number given for --family/--type/--protocol: None when `s` is a name; a usage error when it is negative or
/// above `max` (families fit in sa_family_t; a type may carry SOCK_NONBLOCK/SOCK_CLOEXEC bits; protocols fit in 16
/// bits). Out-of-range values that the kernel itself rejects (EAFNOSUPPORT…) are inside these bounds on purpose.
pub fn number_arg(s: &str, flag: &str, max: i64) -> Result<Option<i32>> {
    let t = s.trim();
    let looks_numeric = t.starts_with(['-', '+']) || t.starts_with(|c: char| c.is_ascii_digit());
    if !looks_numeric {
        return Ok(None);
    }
    let n: i64 =
        t.parse().map_err(|_| Error::new(Kind::Usage, format!("{flag} {s:?} is neither a number nor a name")))?;
    if !(0..=max).contains(&n) {
        return Err(Error::new(Kind::Usage, format!("{flag} {n} is out of range: it must be 0..={max}"))
            .hint("socket() takes a non-negative int here; use a name (e.g. inet, stream, tcp) or a number in range"));
    }
    Ok(Some(n as i32))
}

pub fn btf_arg(names: &Namer, s: &str, prefix: &str, what: &str) -> Result<i32> {
    let (flag, max) = if prefix == "SOCK_" { ("--type", i32::MAX as i64) } else { ("--protocol", 0xffff) };
    if let Some(n) = number_arg(s, flag, max)? {
        return Ok(n);
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with(prefix) { up } else { format!("{prefix}{up}") };
    let btf = names.btf.as_ref().ok_or_else(|| {
        let why = crate::machine::btf::Btf::load().err().map(|e| e.message).unwrap_or_else(|| "unreadable".into());
        Error::new(Kind::NoBtf, format!("cannot resolve {what} {s:?}: the kernel's BTF: {why}"))
            .hint("give the number instead, or point SYSWALK_BTF_PATH at the kernel's BTF")
    })?;
    btf.enumerator(&name).map(|v| v as i32).ok_or_else(|| {
        Error::new(Kind::Usage, format!("unknown {what} {s:?}: the kernel's BTF has no enumerator {name}"))
            .hint(format!("use a number, or a name like {prefix}… as the kernel defines it"))
    })
}

pub fn specs_for(names: &[String]) -> Result<Vec<SyscallSpec>> {
    let mut v = Vec::new();
    for n in names {
        let n = n.trim();
        let s = syscalls::spec(n).ok_or_else(|| {
            Error::new(Kind::Usage, format!("syswalk does not trace {n:?} yet"))
                .hint(format!("known: {}", syscalls::known().join(", ")))
        })?;
        v.push(s);
    }
    Ok(v)
}

pub fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// The built-in target making the course's call, socket(AF_INET, SOCK_STREAM, 0), with the constants compiled in.
pub fn course_target() -> Target {
    Target::Builtin { family: libc::AF_INET, ty: libc::SOCK_STREAM, protocol: 0, nofile: None }
}

/// Symbols whose KASLR offsets are always compared: the creation chain and the dispatch table's neighbours.
pub fn kaslr_named() -> Vec<&'static str> {
    let mut v: Vec<&str> = crate::syscalls::socket::chain_symbols().collect();
    v.extend([
        "inet_create",
        "inet6_create",
        "unix_create",
        "sock_register",
        "inet_init",
        "net_families",
        "inet_family_ops",
        "inetsw",
        "tcp_prot",
        "inet_stream_ops",
    ]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_socket_arguments_are_range_checked_as_usage_errors() {
        for bad in ["-1", "65536", "99999999999", "1e3", "+-2"] {
            let e = family_arg(bad).expect_err(bad);
            assert_eq!(e.kind, Kind::Usage, "{bad}: {e}");
        }
        assert_eq!(family_arg("2").ok(), Some(2));
        assert_eq!(family_arg("45").ok(), Some(45), "a family the kernel rejects is a valid experiment");
        assert_eq!(number_arg("inet", "--family", 10).ok(), Some(None));
        assert_eq!(number_arg("0x10", "--family", 100).map_err(|e| e.kind).err(), Some(Kind::Usage));
    }

    #[test]
    fn the_output_is_checked_before_any_work_and_a_new_empty_file_is_removed() {
        for bad in ["/nonexistent/dir/r.txt", "/", "/dev/full"] {
            let e = Output::check(&Some(bad.into())).err().unwrap_or_else(|| panic!("{bad} accepted"));
            assert_eq!(e.kind, Kind::Usage, "{bad}");
        }
        assert!(Output::check(&Some("/dev/null".into())).is_ok());
        let t = tempfile::tempdir().expect("tmp");
        let p = t.path().join("r.txt");
        drop(Output::check(&Some(p.clone())).expect("a new file in an existing folder"));
        assert!(!p.exists(), "no report written: the file the check created is gone");
        let o = Output::check(&Some(p.clone())).expect("again");
        o.write("report").expect("write");
        drop(o);
        assert_eq!(std::fs::read_to_string(&p).ok().as_deref(), Some("report"));
    }
}
