//! Command dispatch: parses the command line, runs the command, prints the result, maps errors to exit codes.
use std::io::Write;
use std::time::Duration;

use clap::{CommandFactory, Parser};

use crate::claims::{Claim, Verdict};
use crate::cli::{AttachArg, Cli, Cmd, LabCmd, OutputArgs, QemuArg, TraceArgs};
use crate::error::{Error, Kind, Result};
use crate::model::{self, Namer, SyscallSpec};
use crate::probes::caps::{self, Caps};
use crate::probes::chain::{self, Attach};
use crate::probes::session::{self, Options, Target};
use crate::probes::target::Ending;
use crate::render::{self, Format, Style};
use crate::report::{Report, TargetInfo};

/// When syswalk's main started: launch → attached is measured from here.
pub static LAUNCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub fn main() -> i32 {
    LAUNCH.get_or_init(std::time::Instant::now);
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
    let kallsyms = crate::machine::kallsyms::Kallsyms::load().unwrap_or_default();
    Namer { kallsyms, btf: crate::machine::btf::Btf::load().ok() }
}

/// Resolves a family name (inet, AF_INET6 …) through this machine's headers, or a number.
fn family_arg(s: &str) -> Result<i32> {
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

fn btf_arg(names: &Namer, s: &str, prefix: &str, what: &str) -> Result<i32> {
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
        Cmd::Target { family, ty, protocol } => Ok(crate::probes::target::builtin_main(family, ty, protocol)),
        Cmd::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "syswalk", &mut buf);
            emit(&String::from_utf8_lossy(&buf), &None)?;
            Ok(0)
        }
        Cmd::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut buf)
                .map_err(|e| Error::io("rendering the man page", e))?;
            emit(&String::from_utf8_lossy(&buf), &None)?;
            Ok(0)
        }
        Cmd::Lab { cmd } => lab(cmd),
        Cmd::Kaslr { system_map, format } => {
            let ks = crate::machine::kallsyms::Kallsyms::load()?;
            let k = crate::claims::kaslr::live(&ks, system_map.as_deref(), &kaslr_named())?;
            let text = match format {
                Format::Json => render::json(&k),
                _ => kaslr_text(&k),
            };
            emit(&text, &None)?;
            Ok(if k.claims.iter().any(|c| c.verdict == Verdict::Refuted) { Kind::Refuted.exit_code() } else { 0 })
        }
        Cmd::Constants { format } => {
            let names = namer();
            let opts = Options {
                follow_forks: false,
                duration: None,
                quiet: true,
                report_on_stdout: true,
                chain_calls: 0,
                bpf_stats: false,
            };
            let got =
                collect(course_target(), specs_for(&["socket".to_string()])?, &opts, &names, AttachArg::None, None)?;
            let call = got.report.calls.iter().find(|c| c.syscall == "socket");
            let k = crate::claims::constants::build(call, &names);
            let text = match format {
                Format::Json => render::json(&k),
                _ => crate::claims::constants::text(&k),
            };
            emit(&text, &None)?;
            Ok(if k.claims.iter().any(|c| c.verdict == Verdict::Refuted) { Kind::Refuted.exit_code() } else { 0 })
        }
        Cmd::Lesson { system_map, how, out, command } => lesson(system_map, how, out, command),
        Cmd::Caps { format } => {
            let c = caps::probe();
            let text = match format {
                Format::Json => render::json(&c),
                Format::Text | Format::Md | Format::Summary => caps_text(&c),
            };
            emit(&text, &None)?;
            Ok(if c.tier.is_some() { 0 } else { Kind::Bpf.exit_code() })
        }
        Cmd::Prove { family, ty, protocol, how, out, command } => {
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
            let chain = load_chain(how.chain.as_deref(), &names)?;
            investigate(target, specs, None, &out, names, &how, chain)
        }
        Cmd::Trace { pid, syscalls, duration, how, out, command } => {
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
                Some(d) if !(d > 0.0 && d.is_finite()) => {
                    return Err(Error::new(
                        Kind::Usage,
                        format!("--duration must be a positive number of seconds, got {d}"),
                    ))
                }
                Some(d) => Some(Duration::from_secs_f64(d)),
                None => None,
            };
            let specs = specs_for(&syscalls)?;
            let names = namer();
            let chain = load_chain(how.chain.as_deref(), &names)?;
            investigate(target, specs, duration, &out, names, &how, chain)
        }
    }
}

/// The built-in target making the course's call, socket(AF_INET, SOCK_STREAM, 0), with the constants compiled in.
fn course_target() -> Target {
    Target::Builtin { family: libc::AF_INET, ty: libc::SOCK_STREAM, protocol: 0 }
}

/// Symbols whose KASLR offsets are always compared: the creation chain and the dispatch table's neighbours.
fn kaslr_named() -> Vec<&'static str> {
    let mut v: Vec<&str> = chain::DEFAULT_CHAIN.iter().copied().filter(|f| !f.starts_with('{')).collect();
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

fn kaslr_text(k: &crate::claims::kaslr::Kaslr) -> String {
    let mut o = format!(
        "syswalk kaslr — kernel {}\n\nlive addresses: {}\nlink-time addresses: {}\n",
        k.release,
        k.live_source,
        k.static_source.as_deref().unwrap_or("none found")
    );
    for t in &k.tried {
        o.push_str(&format!("  tried: {t}\n"));
    }
    if !k.compared.is_empty() {
        o.push_str(&format!("\n{:<32} {:<18}   {:<18}   {}\n", "symbol", "live", "link-time", "live − link-time"));
        for c in &k.compared {
            o.push_str(&format!("{:<32} {} − {} = {}\n", c.name, c.live, c.link, c.offset));
        }
    }
    o.push('\n');
    for c in &k.claims {
        o.push_str(&format!("{} {}: {}\n", c.verdict.symbol(), c.id, c.statement));
        if let Some(r) = &c.reason {
            o.push_str(&format!("    not observable here: {r}\n"));
        }
    }
    o
}

fn lesson(
    system_map: Option<std::path::PathBuf>,
    how: crate::cli::TraceArgs,
    out: OutputArgs,
    command: Vec<std::ffi::OsString>,
) -> Result<i32> {
    use crate::lesson;
    use crate::syscalls::socket::lesson as build;
    let names = namer();
    let (target, binary) = match command.first() {
        None => {
            (course_target(), std::env::current_exe().map_err(|e| Error::io("finding syswalk's own executable", e))?)
        }
        Some(prog) => {
            let path = crate::probes::target::resolve(prog)?;
            (Target::Command(command.clone()), path)
        }
    };
    let chain = load_chain(how.chain.as_deref(), &names)?;
    let opts = Options {
        follow_forks: !how.no_follow,
        duration: None,
        quiet: out.quiet,
        report_on_stdout: out.output.is_none(),
        chain_calls: how.chain_calls,
        bpf_stats: how.bpf_stats,
    };
    let got = collect(target, specs_for(&["socket".to_string()])?, &opts, &names, how.attach, chain)?;
    let call = build::course_call(&got.report);
    if call.is_none() {
        let seen: Vec<String> = got
            .report
            .calls
            .iter()
            .filter(|c| c.syscall == "socket")
            .map(|c| {
                format!(
                    "socket({}) = {}",
                    c.args.iter().map(|a| a.value.show()).collect::<Vec<_>>().join(", "),
                    c.ret.map(|r| r.to_string()).unwrap_or_else(|| "?".into())
                )
            })
            .collect();
        return Err(Error::new(
            Kind::NoCall,
            format!(
                "the program made no successful socket(AF_INET, SOCK_STREAM, 0) call; it made: {}",
                if seen.is_empty() { "none".to_string() } else { seen.join("; ") }
            ),
        )
        .hint("the lesson follows the course's line; use `syswalk prove -- CMD` for any other socket() call"));
    }
    let constants = crate::claims::constants::build(call, &names);
    let user = crate::machine::usercall::find(&binary, "socket");
    let kaslr = crate::claims::kaslr::live(&names.kallsyms, system_map.as_deref(), &kaslr_named())?;
    let (boot, boot_source) = match std::fs::read_to_string(build::TRACE_FILE) {
        Ok(t) => (build::parse_boot_trace(&t), build::TRACE_FILE.to_string()),
        Err(e) => (vec![], format!("{} ({e}; tracefs not mounted?)", build::TRACE_FILE)),
    };
    let mut sources = crate::claims::srcline::claims(call, &kaslr, &names);
    let vmlinux = crate::claims::srcline::dwarf_vmlinux(&kaslr.release);
    let offset = kaslr.offset.as_deref().and_then(|o| u64::from_str_radix(o.trim_start_matches("0x"), 16).ok());
    sources.push(crate::claims::kcode::claim(
        vmlinux.as_deref(),
        offset,
        names.kallsyms.by_name("net_families").map(|s| s.addr),
    ));
    let l = build::lesson(&build::Inputs {
        report: &got.report,
        constants: &constants,
        user,
        kaslr: &kaslr,
        boot,
        boot_source,
        sources,
    });
    let text = match out.format {
        Format::Json => render::json(&l),
        Format::Md => lesson::markdown(&l),
        Format::Text | Format::Summary => lesson::text(&l),
    };
    emit(&text, &out.output)?;
    if l.count(lesson::Status::Refuted) > 0 {
        eprintln!("syswalk: {} lesson step(s) refuted by the evidence", l.count(lesson::Status::Refuted));
        return Ok(Kind::Refuted.exit_code());
    }
    Ok(0)
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

/// The chain to trace for this run: which attach type, which functions, the live family table.
struct ChainChoice {
    setup: Option<session::ChainSetup>,
    families: Vec<(usize, u64, u64)>,
    families_error: Option<String>,
    inetsw: Vec<chain::InetswRow>,
    /// Why the chain is not traced (tier C), when it is not.
    why_not: Option<String>,
}

fn load_chain(path: Option<&std::path::Path>, names: &Namer) -> Result<Option<Vec<chain::spec::FnSpec>>> {
    let Some(p) = path else { return Ok(None) };
    let text = std::fs::read_to_string(p)
        .map_err(|e| Error::new(Kind::Usage, format!("cannot read chain file {}: {e}", p.display())))?;
    chain::spec::parse(&text, &p.display().to_string(), names.btf.as_ref(), &names.kallsyms).map(Some)
}

fn choose_chain(
    arg: AttachArg,
    caps: &Caps,
    names: &Namer,
    target: &Target,
    specs: &[SyscallSpec],
    custom: Option<Vec<chain::spec::FnSpec>>,
) -> Result<ChainChoice> {
    let none = |why: String| {
        Ok(ChainChoice { setup: None, families: vec![], families_error: None, inetsw: vec![], why_not: Some(why) })
    };
    if custom.is_some() && arg == AttachArg::None {
        return Err(Error::new(Kind::Usage, "--chain needs a function-level tier; drop --attach none"));
    }
    if custom.is_none() && !specs.iter().any(|s| s.name == "socket") {
        return none(
            "the function-level chain is defined for socket() only; socket() is not traced in this run".into(),
        );
    }
    let (attach, fallback) = match arg {
        AttachArg::None => return none("--attach none: syscall boundary only".into()),
        AttachArg::Fentry => (Attach::Fentry, false),
        AttachArg::Kprobe => (Attach::Kprobe, false),
        AttachArg::Auto => match caps.tier {
            Some(caps::Tier::A) => (Attach::Fentry, true),
            Some(caps::Tier::B) => (Attach::Kprobe, false),
            _ if custom.is_some() => {
                return Err(Error::new(
                    Kind::Bpf,
                    format!(
                        "--chain needs fentry or kprobes, and this kernel offers neither: {}",
                        caps.chain_unavailable_reason().unwrap_or_default()
                    ),
                )
                .hint("run it in the lab: syswalk lab run --kernel 6.1 -- syswalk trace --chain FILE -- CMD"))
            }
            _ => return none(caps.chain_unavailable_reason().unwrap_or_else(|| "no fentry or kprobe here".into())),
        },
    };
    let (families, inetsw, families_error) = match chain::read_tables(&names.kallsyms) {
        Ok((f, sw)) => (f, sw, None),
        Err(e) => (vec![], vec![], Some(e.message)),
    };
    let create_of =
        |fam: usize| families.iter().find(|(i, _, _)| *i == fam).and_then(|(_, _, c)| names.kallsyms.symbolize(*c));
    let mut creates: Vec<String> = match target {
        Target::Builtin { family, .. } => create_of(*family as usize).into_iter().collect(),
        _ => families.iter().filter_map(|(i, _, _)| create_of(*i)).collect(),
    };
    creates.dedup();
    let mut fnames: Vec<String> = Vec::new();
    for f in chain::DEFAULT_CHAIN {
        if *f == "{create}" {
            // For the built-in target the one create goes in its place; for other targets all registered
            // families' creates go after the core chain (slots are limited).
            if matches!(target, Target::Builtin { .. }) {
                fnames.extend(creates.iter().cloned());
            }
        } else {
            fnames.push(f.to_string());
        }
    }
    if !matches!(target, Target::Builtin { .. }) {
        fnames.extend(creates.iter().cloned());
    }
    let plan = match custom {
        Some(specs) => {
            let fnames: Vec<String> = specs.iter().map(|s| s.name().to_string()).collect();
            let mut plan = chain::plan(&fnames, names.btf.as_ref(), &names.kallsyms, attach);
            for (p, s) in plan.iter_mut().zip(&specs) {
                p.snapshot = s.snapshot().map(|v| v.to_vec());
            }
            plan
        }
        None => {
            let mut plan = chain::plan(&fnames, names.btf.as_ref(), &names.kallsyms, attach);
            for p in plan.iter_mut() {
                p.snapshot = Some(chain::default_snapshots(&p.name, creates.contains(&p.name)));
            }
            plan
        }
    };
    Ok(ChainChoice {
        setup: Some(session::ChainSetup {
            plan,
            attach,
            fallback,
            root_calls: 0,
            rethook: chain::kretprobe_trampoline(&names.kallsyms),
        }),
        families,
        families_error,
        inetsw,
        why_not: None,
    })
}

/// What one traced run produced, before rendering.
pub struct Collected {
    pub report: Report,
    pub ending: Ending,
}

fn investigate(
    target: Target,
    specs: Vec<SyscallSpec>,
    duration: Option<Duration>,
    out: &OutputArgs,
    names: Namer,
    how: &TraceArgs,
    custom: Option<Vec<chain::spec::FnSpec>>,
) -> Result<i32> {
    let opts = Options {
        follow_forks: !how.no_follow,
        duration,
        quiet: out.quiet,
        report_on_stdout: out.output.is_none(),
        chain_calls: how.chain_calls,
        bpf_stats: how.bpf_stats,
    };
    let got = collect(target, specs, &opts, &names, how.attach, custom)?;
    let report = got.report;
    let text = match out.format {
        Format::Text => render::text(&report, &Style { color: color_wanted(out) }),
        Format::Md => render::markdown(&report),
        Format::Json => render::json(&report),
        Format::Summary => render::summary(&report),
    };
    emit(&text, &out.output)?;
    if let Ending::Signaled(s) = got.ending {
        return Err(Error::new(
            Kind::TargetKilled,
            format!(
                "the target was killed by {} (the report above has what was captured)",
                crate::probes::target::signal_name(s)
            ),
        ));
    }
    if report.claims.iter().any(|c| c.verdict == Verdict::Refuted) {
        eprintln!("syswalk: {} claim(s) refuted by the evidence", report.summary.refuted);
        return Ok(Kind::Refuted.exit_code());
    }
    Ok(0)
}

/// Traces the target and judges what it did: the report, not yet rendered.
pub fn collect(
    target: Target,
    specs: Vec<SyscallSpec>,
    opts: &Options,
    names: &Namer,
    attach: AttachArg,
    custom: Option<Vec<chain::spec::FnSpec>>,
) -> Result<Collected> {
    let is_pid = matches!(target, Target::Pid(_));
    let caps = if attach == AttachArg::None {
        caps::Caps {
            kernel_release: caps::uname().0,
            machine: caps::uname().1,
            checks: vec![],
            tier: Some(caps::Tier::C),
            tier_reason: "--attach none".into(),
        }
    } else {
        caps::probe_chain()
    };
    let mut choice = choose_chain(attach, &caps, names, &target, &specs, custom)?;
    if let Some(s) = choice.setup.as_mut() {
        s.root_calls = opts.chain_calls;
    }
    let session = session::trace(&target, &specs, opts, choice.setup.as_ref())?;
    let mut calls = model::calls_from(&session.events, &specs, names);
    let plan: Vec<chain::FnPlan> = choice.setup.as_ref().map(|s| s.plan.clone()).unwrap_or_default();
    let used_attach = session.chain_attach.as_ref().map(|(a, _)| *a);
    if let Some(a) = used_attach {
        let probe = match a {
            Attach::Fentry => "fentry/fexit",
            Attach::Kprobe => "kprobe/kretprobe",
        };
        // Name return addresses with the BPF trampolines that existed while tracing.
        let mut ks = names.kallsyms.clone();
        ks.extend(session.bpf_syms.iter().cloned());
        let live = Namer { kallsyms: ks, btf: names.btf.clone() };
        let frames = crate::model::frame::frames(&session.chain_events, &plan, probe, &live);
        crate::model::frame::attach_to_calls(&mut calls, &frames);
    }
    let socket_calls = calls.iter().filter(|c| c.syscall == "socket").count();
    let traced_socket = specs.iter().any(|s| s.name == "socket");

    if calls.is_empty() || (traced_socket && socket_calls == 0 && specs.len() == 1) {
        let what = specs.iter().map(|s| s.name).collect::<Vec<_>>().join("/");
        return Err(match session.ending {
            Ending::Signaled(s) => Error::new(
                Kind::TargetKilled,
                format!("the target was killed by {} before any {what}() call", crate::probes::target::signal_name(s)),
            ),
            Ending::Exited(c) if c != 0 => Error::new(
                Kind::TargetExitedEarly,
                format!("the target exited with status {c} before any {what}() call"),
            )
            .hint("check that the program runs on its own; its output is shown above"),
            _ if is_pid => Error::new(
                Kind::TargetExitedEarly,
                format!("process {} ended (or tracing stopped) before any {what}() call", session.root_pid),
            ),
            _ => Error::new(Kind::NoCall, format!("the target ran to completion without calling {what}()")).hint(
                "syswalk traces the target and the processes it forks; check the program actually makes the call",
            ),
        });
    }

    let create_for = |c: &model::Call| {
        let fam = c.args.first().map(|a| a.value.raw).unwrap_or(-1);
        choice.families.iter().find(|(i, _, _)| *i as i64 == fam).and_then(|(_, _, cr)| names.kallsyms.symbolize(*cr))
    };
    let mut claims: Vec<Claim> = Vec::new();
    let tables = crate::syscalls::socket::claims::SharedTables::new(&calls);
    for c in calls.iter().filter(|c| c.syscall == "socket") {
        claims.extend(crate::syscalls::socket::claims::judge_socket_in(c, &tables, names));
        // Under an evidence budget, calls past it were counted, not streamed: they have no chain to judge.
        let budgeted_out = opts.chain_calls > 0 && c.chain.is_empty();
        if used_attach.is_some() && c.ret.is_some_and(|r| r >= 0) && !budgeted_out {
            claims.extend(crate::syscalls::socket::chain::judge(c, create_for(c).as_deref(), &plan));
        }
    }
    match (&choice.why_not, used_attach) {
        (Some(why), _) => claims.extend(crate::syscalls::socket::claims::chain_not_observable(why)),
        (None, None) => {
            claims.extend(crate::syscalls::socket::claims::chain_not_observable("the chain tracer did not attach"))
        }
        _ => {}
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
    let tinfo = TargetInfo {
        description: target.describe(),
        pid: session.root_pid,
        ending: session.ending,
        forks: session.forks.clone(),
    };
    let mut report = Report::new(command_line(), &caps, ks, tinfo, &specs, session.stats.clone(), calls, claims);
    report.kernel.tier = match used_attach {
        Some(Attach::Fentry) => "A".into(),
        Some(Attach::Kprobe) => "B".into(),
        None => "C".into(),
    };
    if let Some((_, why)) = &session.chain_attach {
        report.kernel.tier_reason = format!("{}; chain: {why}", report.kernel.tier_reason);
    }
    if opts.chain_calls > 0 && used_attach.is_none() && !opts.quiet {
        eprintln!(
            "syswalk: --chain-calls has no effect here: no function-level chain is traced on this kernel (tier C)"
        );
    }
    if opts.chain_calls > 0 && used_attach.is_some() {
        let b = crate::claims::budget::budget(&report.calls, &plan, &session.chain_counted, opts.chain_calls);
        report.claims.push(b.1.clone());
        report.summary = crate::report::Report::summarize(&report.claims);
        report.chain_budget = Some(b.0);
    }
    report.chain_plan = plan;
    report.dispatch = crate::report::dispatch(&choice.families, &choice.inetsw, choice.families_error.clone(), names);
    Ok(Collected { report, ending: session.ending })
}

fn lab(cmd: LabCmd) -> Result<i32> {
    use crate::lab;
    match cmd {
        LabCmd::Kernels => {
            let mut o = String::from("id    suite               cached version                 qemu\n");
            for r in lab::list()? {
                o.push_str(&format!(
                    "{:<5} {:<19} {:<31} {}\n",
                    r.id,
                    r.suite,
                    r.cached.as_deref().unwrap_or("(not fetched)"),
                    r.qemu
                ));
            }
            o.push_str("Any other kernel: --kernel /path/to/vmlinuz-<version> (modules from ../lib/modules/<version> or /lib/modules).\n");
            emit(&o, &None)?;
            Ok(0)
        }
        LabCmd::Fetch { kernel, dbg } => {
            let k = lab::fetch(&kernel)?;
            if dbg {
                lab::fetch_dbg(&k)?;
            }
            lab::new_qemu()?;
            emit(&format!("{} {} {}\n", k.id, k.version, k.image.display()), &None)?;
            Ok(0)
        }
        LabCmd::Run { kernel, timeout, accel, mem, cpus, append, env, console, dbg, no_boot_trace, qemu, command } => {
            if timeout == 0 {
                return Err(Error::new(Kind::Usage, "--timeout must be at least 1 second"));
            }
            let k = lab::resolve_kernel(&kernel)?;
            if dbg {
                lab::fetch_dbg(&k)?;
            }
            let q = match qemu {
                QemuArg::Auto | QemuArg::Backports => lab::new_qemu()?,
                QemuArg::System => lab::vm::Qemu::system()?,
            };
            let opts = lab::vm::RunOpts {
                timeout: Duration::from_secs(timeout),
                accel,
                mem,
                cpus,
                append,
                env,
                verbose: console,
                boot_trace: !no_boot_trace,
                dbg,
            };
            let out = lab::vm::run(&q, &k, &command, &opts)?;
            eprintln!(
                "lab: {} exited {} ({}; boot to exit {:.2} s)",
                k.version,
                out.code,
                out.accel,
                out.boot_to_exit.as_secs_f64()
            );
            Ok(out.code)
        }
    }
}
