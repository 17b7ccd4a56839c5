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
mod docs;
mod investigate;
mod kaslr;
mod lab;
mod lesson;
mod prove;
mod trace;

/// What every command gets from main: when syswalk started (launch → attached is measured from it).
pub struct Ctx {
    pub launch: Instant,
}

pub fn main() -> i32 {
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
            eprintln!("syswalk: error[{}]: {e}", e.kind.name());
            e.exit_code()
        }
    }
}

fn dispatch(ctx: &Ctx, cli: Cli) -> Result<i32> {
    match cli.command {
        Cmd::Target { family, ty, protocol } => Ok(crate::probes::target::builtin_main(family, ty, protocol)),
        Cmd::Completions { shell } => docs::completions(shell),
        Cmd::Man => docs::man(),
        Cmd::Lab { cmd } => lab::run(cmd),
        Cmd::Kaslr { system_map, format } => kaslr::run(system_map, format),
        Cmd::Constants { format } => constants::run(ctx, format),
        Cmd::Lesson { system_map, how, out, command } => lesson::run(ctx, system_map, how, out, command),
        Cmd::Caps { format } => caps::run(format),
        Cmd::Prove { family, ty, protocol, how, out, command } => {
            prove::run(ctx, &family, &ty, &protocol, how, out, command)
        }
        Cmd::Trace { pid, syscalls, duration, how, out, command } => {
            trace::run(ctx, pid, &syscalls, duration, how, out, command)
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
    Namer { kallsyms, btf: crate::machine::btf::Btf::load().ok() }
}

/// Resolves a family name (inet, AF_INET6 …) through this machine's headers, or a number.
pub fn family_arg(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse() {
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

pub fn btf_arg(names: &Namer, s: &str, prefix: &str, what: &str) -> Result<i32> {
    if let Ok(n) = s.parse() {
        return Ok(n);
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with(prefix) { up } else { format!("{prefix}{up}") };
    let btf = names.btf.as_ref().ok_or_else(|| {
        Error::new(Kind::NoBtf, format!("cannot resolve {what} {s:?}: the kernel's BTF is unreadable"))
            .hint("give the number instead")
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
    Target::Builtin { family: libc::AF_INET, ty: libc::SOCK_STREAM, protocol: 0 }
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
