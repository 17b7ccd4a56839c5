//! Command dispatch: parses the command line, runs the command, prints the result, maps errors to exit codes.
use std::io::Write;
use std::time::Duration;

use clap::{CommandFactory, Parser};

use crate::caps::{self, Caps};
use crate::claims::{self, Claim, Verdict};
use crate::cli::{Cli, Cmd, LabCmd, OutputArgs};
use crate::error::{Error, Kind, Result};
use crate::model::{self, Namer, SyscallSpec};
use crate::render::{self, Format, Style};
use crate::report::{Report, TargetInfo};
use crate::run::{self, Options, Target};
use crate::target::Ending;

pub fn main() -> i32 {
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
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("syswalk: error[{}]: {e}", e.kind.name());
            e.exit_code()
        }
    }
}

/// Writes `text` to the file or stdout. A closed pipe (`syswalk prove | head`) is a clean exit, not an error.
fn emit(text: &str, out: &Option<std::path::PathBuf>) -> Result<()> {
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

fn color_wanted(out: &OutputArgs) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    out.output.is_none() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && unsafe { libc::isatty(1) } == 1
}

fn namer() -> Namer {
    let kallsyms = crate::kallsyms::Kallsyms::load().unwrap_or_default();
    Namer { kallsyms, btf: crate::btf::Btf::load().ok() }
}

/// Resolves a family name (inet, AF_INET6 …) through this machine's headers, or a number.
fn family_arg(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse() {
        return Ok(n);
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("AF_") || up.starts_with("PF_") { up } else { format!("AF_{up}") };
    crate::headers::lookup(&crate::headers::socket_h(), &name).map(|c| c.value as i32).ok_or_else(|| {
        Error::new(Kind::Usage, format!("unknown address family {s:?}: {name} is not defined in {}", crate::headers::socket_h()))
            .hint("use a number (e.g. --family 2) or a name the header defines (inet, inet6, unix, netlink, packet)")
    })
}

fn btf_arg(names: &Namer, s: &str, prefix: &str, what: &str) -> Result<i32> {
    if let Ok(n) = s.parse() {
        return Ok(n);
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with(prefix) { up } else { format!("{prefix}{up}") };
    let btf = names.btf.as_ref().ok_or_else(|| {
        Error::new(Kind::NoBtf, format!("cannot resolve {what} {s:?}: the kernel's BTF is unreadable")).hint("give the number instead")
    })?;
    btf.enumerator(&name).map(|v| v as i32).ok_or_else(|| {
        Error::new(Kind::Usage, format!("unknown {what} {s:?}: the kernel's BTF has no enumerator {name}"))
            .hint(format!("use a number, or a name like {prefix}… as the kernel defines it"))
    })
}

fn specs_for(names: &[String]) -> Result<Vec<SyscallSpec>> {
    let mut v = Vec::new();
    for n in names {
        let n = n.trim();
        let s = model::syscall_spec(n).ok_or_else(|| {
            Error::new(Kind::Usage, format!("syswalk does not trace {n:?} yet"))
                .hint(format!("known: {}", model::known_syscalls().join(", ")))
        })?;
        v.push(s);
    }
    Ok(v)
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        Cmd::Target { family, ty, protocol } => Ok(crate::target::builtin_main(family, ty, protocol)),
        Cmd::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "syswalk", &mut buf);
            emit(&String::from_utf8_lossy(&buf), &None)?;
            Ok(0)
        }
        Cmd::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut buf).map_err(|e| Error::io("rendering the man page", e))?;
            emit(&String::from_utf8_lossy(&buf), &None)?;
            Ok(0)
        }
        Cmd::Lab { cmd } => lab(cmd),
        Cmd::Caps { format } => {
            let c = caps::probe();
            let text = match format {
                Format::Json => render::json(&c),
                Format::Text | Format::Md => caps_text(&c),
            };
            emit(&text, &None)?;
            Ok(if c.tier.is_some() { 0 } else { Kind::Bpf.exit_code() })
        }
        Cmd::Prove { family, ty, protocol, no_follow, out, command } => {
            let names = namer();
            let target = if command.is_empty() {
                Target::Builtin {
                    family: family_arg(&family)?,
                    ty: btf_arg(&names, &ty, "SOCK_", "socket type")?,
                    protocol: btf_arg(&names, &protocol, "IPPROTO_", "protocol")?,
                }
            } else {
                Target::Command(command)
            };
            let specs = specs_for(&["socket".to_string()])?;
            investigate(target, specs, !no_follow, None, &out, names)
        }
        Cmd::Trace { pid, syscalls, duration, no_follow, out, command } => {
            let target = match (pid, command.is_empty()) {
                (Some(p), true) => Target::Pid(p),
                (None, false) => Target::Command(command),
                (None, true) => {
                    return Err(Error::new(Kind::Usage, "trace needs a target: -p PID or -- CMD [ARGS…]")
                        .hint("e.g. `syswalk trace -p $(pidof my_server)` or `syswalk trace -- ./my_server`"))
                }
                (Some(_), false) => return Err(Error::new(Kind::Usage, "give either -p PID or -- CMD, not both")),
            };
            let duration = match duration {
                Some(d) if !(d > 0.0 && d.is_finite()) => return Err(Error::new(Kind::Usage, format!("--duration must be a positive number of seconds, got {d}"))),
                Some(d) => Some(Duration::from_secs_f64(d)),
                None => None,
            };
            let specs = specs_for(&syscalls)?;
            investigate(target, specs, !no_follow, duration, &out, namer())
        }
    }
}

fn caps_text(c: &Caps) -> String {
    let mut o = format!("syswalk caps — kernel {} {}\n", c.kernel_release, c.machine);
    for k in &c.checks {
        o.push_str(&format!("  {} {:<16} {}\n", if k.ok { "✓" } else { "✗" }, k.name, k.detail));
    }
    match c.tier {
        Some(t) => o.push_str(&format!("∴ tier {} — {}\n", t.describe(), c.tier_reason)),
        None => o.push_str(&format!("∴ no usable tier — {}\n", c.tier_reason)),
    }
    if let Some(why) = c.chain_unavailable_reason() {
        o.push_str(&format!("  function-level chain: not observable here ({why})\n"));
    }
    o
}

fn investigate(target: Target, specs: Vec<SyscallSpec>, follow: bool, duration: Option<Duration>, out: &OutputArgs, names: Namer) -> Result<i32> {
    let opts = Options { follow_forks: follow, duration, quiet: out.quiet, report_on_stdout: out.output.is_none() };
    let is_pid = matches!(target, Target::Pid(_));
    let session = run::trace(&target, &specs, &opts)?;
    let caps = caps::probe_chain();
    let calls = model::calls_from(&session.events, &specs, &names);
    let socket_calls = calls.iter().filter(|c| c.syscall == "socket").count();
    let traced_socket = specs.iter().any(|s| s.name == "socket");

    if calls.is_empty() || (traced_socket && socket_calls == 0 && specs.len() == 1) {
        let what = specs.iter().map(|s| s.name).collect::<Vec<_>>().join("/");
        return Err(match session.ending {
            Ending::Signaled(s) => Error::new(Kind::TargetKilled, format!("the target was killed by {} before any {what}() call", crate::target::signal_name(s))),
            Ending::Exited(c) if c != 0 => Error::new(Kind::TargetExitedEarly, format!("the target exited with status {c} before any {what}() call"))
                .hint("check that the program runs on its own; its output is shown above"),
            _ if is_pid => Error::new(Kind::TargetExitedEarly, format!("process {} ended (or tracing stopped) before any {what}() call", session.root_pid)),
            _ => Error::new(Kind::NoCall, format!("the target ran to completion without calling {what}()"))
                .hint("syswalk traces the target and the processes it forks; check the program actually makes the call"),
        });
    }

    let mut claims: Vec<Claim> = calls.iter().filter(|c| c.syscall == "socket").flat_map(|c| claims::judge_socket(c, &names)).collect();
    if let Some(why) = caps.chain_unavailable_reason() {
        claims.extend(claims::chain_not_observable(&why));
    } else {
        claims.extend(claims::chain_not_observable(
            "this kernel offers the function-level tier, but syswalk's fentry/kprobe chain is not built yet (issue: the creation chain)",
        ));
    }
    let ks = if names.kallsyms.is_empty() {
        "kallsyms unreadable: pointers not named".to_string()
    } else if names.kallsyms.has_data_symbols() {
        format!("{}: text and data symbols ({} data)", names.kallsyms.source, names.kallsyms.data_symbol_count())
    } else {
        format!(
            "{}: text symbols only ({} data symbols; no CONFIG_KALLSYMS_ALL) — data pointers (ops tables, protos) are identified by the functions they hold",
            names.kallsyms.source,
            names.kallsyms.data_symbol_count()
        )
    };
    let tinfo = TargetInfo { description: target.describe(), pid: session.root_pid, ending: session.ending, forks: session.forks.clone() };
    let report = Report::new(command_line(), &caps, ks, tinfo, &specs, session.stats.clone(), calls, claims);
    let text = match out.format {
        Format::Text => render::text(&report, &Style { color: color_wanted(out) }),
        Format::Md => render::markdown(&report),
        Format::Json => render::json(&report),
    };
    emit(&text, &out.output)?;
    if let Ending::Signaled(s) = session.ending {
        return Err(Error::new(Kind::TargetKilled, format!("the target was killed by {} (the report above has what was captured)", crate::target::signal_name(s))));
    }
    if report.claims.iter().any(|c| c.verdict == Verdict::Refuted) {
        eprintln!("syswalk: {} claim(s) refuted by the evidence", report.summary.refuted);
        return Ok(Kind::Refuted.exit_code());
    }
    Ok(0)
}

fn lab(cmd: LabCmd) -> Result<i32> {
    use crate::lab;
    match cmd {
        LabCmd::Kernels => {
            let mut o = String::from("id    suite               cached version                 qemu\n");
            for r in lab::list()? {
                o.push_str(&format!("{:<5} {:<19} {:<31} {}\n", r.id, r.suite, r.cached.as_deref().unwrap_or("(not fetched)"), r.qemu));
            }
            o.push_str("Any other kernel: --kernel /path/to/vmlinuz-<version> (modules from ../lib/modules/<version> or /lib/modules).\n");
            emit(&o, &None)?;
            Ok(0)
        }
        LabCmd::Fetch { kernel } => {
            let k = lab::fetch(&kernel)?;
            if k.needs_new_qemu {
                lab::new_qemu()?;
            }
            emit(&format!("{} {} {}\n", k.id, k.version, k.image.display()), &None)?;
            Ok(0)
        }
        LabCmd::Run { kernel, timeout, accel, mem, cpus, append, env, console, command } => {
            if timeout == 0 {
                return Err(Error::new(Kind::Usage, "--timeout must be at least 1 second"));
            }
            let k = lab::resolve_kernel(&kernel)?;
            let q = if k.needs_new_qemu { lab::new_qemu()? } else { lab::vm::Qemu::system()? };
            let opts = lab::vm::RunOpts { timeout: Duration::from_secs(timeout), accel, mem, cpus, append, env, verbose: console };
            let out = lab::vm::run(&q, &k, &command, &opts)?;
            eprintln!("lab: {} exited {} ({}; boot to exit {:.2} s)", k.version, out.code, out.accel, out.boot_to_exit.as_secs_f64());
            Ok(out.code)
        }
    }
}
