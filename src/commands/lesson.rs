//! `syswalk lesson`: the Part-1 lesson for socket(), built from one traced run.

use super::collect::{collect, load_chain, Request};
use super::{course_target, kaslr_named, namer, specs_for, Ctx, Output};
use crate::cli::OutputArgs;
use crate::error::{Error, Kind, Result};
use crate::probes::session::{Options, Target};
use crate::render::{self, Format};
use crate::syscalls::{self, socket};

pub fn run(
    ctx: &Ctx,
    system_map: Option<std::path::PathBuf>,
    life: bool,
    fail: Option<crate::cli::Fail>,
    how: crate::cli::TraceArgs,
    out: OutputArgs,
    command: Vec<std::ffi::OsString>,
) -> Result<i32> {
    out.format.only_for_reports("lesson")?;
    let sink = Output::check(&out.output)?;
    let l = match fail {
        Some(f) if super::prove::scenario(f).is_some() => {
            connection_failure(ctx, f, system_map.as_deref(), how, out.quiet, out.output.is_none())?
        }
        Some(f) => puzzle(ctx, f, system_map.as_deref(), how, out.quiet, out.output.is_none())?,
        None => build(ctx, system_map.as_deref(), life, how, out.quiet, out.output.is_none(), command)?,
    };
    let text = match out.format {
        Format::Json => render::json(&l),
        Format::Md => render::lesson::markdown(&l),
        Format::Text | Format::Summary | Format::Perfetto | Format::Hist | Format::Svg | Format::HistSvg => {
            render::lesson::text(&l)
        }
    };
    sink.write(&text)?;
    if l.count(crate::lesson::Status::Refuted) > 0 {
        eprintln!("syswalk: {} lesson step(s) refuted by the evidence", l.count(crate::lesson::Status::Refuted));
        return Ok(Kind::Refuted.exit_code());
    }
    Ok(0)
}

/// Traces one run of the course's target (or `command`) and builds its lesson, with the run's whole report in
/// `report`: what `lesson` prints and `site` publishes.
pub fn build(
    ctx: &Ctx,
    system_map: Option<&std::path::Path>,
    life: bool,
    how: crate::cli::TraceArgs,
    quiet: bool,
    report_on_stdout: bool,
    command: Vec<std::ffi::OsString>,
) -> Result<crate::lesson::Lesson> {
    use crate::syscalls::socket::lesson as build;
    let names = namer();
    let (target, binary) = match command.first() {
        None if life => {
            (Target::Life, std::env::current_exe().map_err(|e| Error::io("finding syswalk's own executable", e))?)
        }
        None => {
            (course_target(), std::env::current_exe().map_err(|e| Error::io("finding syswalk's own executable", e))?)
        }
        Some(prog) => {
            let path = crate::probes::target::resolve(prog)?;
            (Target::Command(command.clone()), path)
        }
    };
    let chain = load_chain(how.chain.as_deref(), &names)?;
    let opts = options(ctx, &how, quiet, report_on_stdout);
    let traced = if life { syscalls::life() } else { vec![socket::DEF.name.into()] };
    let specs = specs_for(&traced)?;
    let got = collect(
        Request { target, specs, opts, attach: how.attach, custom: chain, keep: how.keep_calls, sockets_only: life },
        &names,
    )?;
    let call = build::course_call(&got.report);
    if call.is_none() {
        let seen: Vec<String> = got
            .report
            .calls
            .iter()
            .filter(|c| socket::DEF.is(c))
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
    let kaslr = crate::claims::kaslr::live(&names.kallsyms, system_map, &kaslr_named())?;
    let (boot, boot_source) = match std::fs::read_to_string(crate::machine::boottrace::TRACE_FILE) {
        Ok(t) => (crate::machine::boottrace::parse_boot_trace(&t), crate::machine::boottrace::TRACE_FILE.to_string()),
        Err(e) => (vec![], format!("{} ({e}; tracefs not mounted?)", crate::machine::boottrace::TRACE_FILE)),
    };
    let mut sources = crate::claims::srcline::claims(
        call,
        &kaslr,
        &names,
        &crate::syscalls::socket::chain_symbols().collect::<Vec<_>>(),
        // Every function the run traced (bind's, accept4's, close's chains …): the site links each to its line.
        &got.report.chain_plan.iter().filter(|p| p.traced).map(|p| p.name.clone()).collect::<Vec<_>>(),
    );
    let vmlinux = crate::claims::srcline::dwarf_vmlinux(&kaslr.release);
    let offset = kaslr.offset;
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
    let mut l = l;
    l.report = Some(Box::new(got.report));
    Ok(l)
}

/// `lesson --fail KIND`: the failure target traced, and the puzzle's chapter built from it.
fn puzzle(
    ctx: &Ctx,
    fail: crate::cli::Fail,
    system_map: Option<&std::path::Path>,
    how: crate::cli::TraceArgs,
    quiet: bool,
    report_on_stdout: bool,
) -> Result<crate::lesson::Lesson> {
    let (family, ty, protocol, nofile) = super::prove::fail_call(fail);
    let target = Target::Builtin { family, ty, protocol, nofile };
    let (names, got) = trace_failure(ctx, target, &[socket::DEF.name.into()], false, &how, quiet, report_on_stdout)?;
    let call = crate::syscalls::socket::lesson::failed_call(&got.report);
    if call.is_none() {
        return Err(Error::new(Kind::NoCall, "the failure target's socket() did not fail: there is no puzzle to show")
            .hint("run `syswalk prove --fail KIND` to see what the calls returned"));
    }
    let funcs: Vec<&str> = crate::syscalls::socket::chain_symbols().collect();
    let sources = source_lines(&names, system_map, call, &funcs)?;
    let mut l = crate::syscalls::socket::lesson::puzzle(&got.report, &sources, question(fail));
    l.report = Some(Box::new(got.report));
    Ok(l)
}

/// `lesson --fail connrefused|addrinuse|accept-emfile`: the connection's failure target traced, and its chapter
/// built from it (the failing syscall's module says what the chapter is about).
fn connection_failure(
    ctx: &Ctx,
    fail: crate::cli::Fail,
    system_map: Option<&std::path::Path>,
    how: crate::cli::TraceArgs,
    quiet: bool,
    report_on_stdout: bool,
) -> Result<crate::lesson::Lesson> {
    use crate::probes::target::Scenario;
    use crate::syscalls::{accept4, bind, connect};
    let sc = super::prove::scenario(fail).ok_or_else(|| Error::new(Kind::Internal, "not a connection's failure"))?;
    let (f, chain_funcs) = match sc {
        Scenario::ConnRefused => (connect::refused_failure(), connect::DEF.chain),
        Scenario::AddrInUse => (bind::in_use_failure(), bind::DEF.chain),
        Scenario::AcceptEmfile => (accept4::emfile_failure(), accept4::DEF.chain),
    };
    let (names, got) =
        trace_failure(ctx, Target::Scenario(sc), &syscalls::life(), true, &how, quiet, report_on_stdout)?;
    let call = crate::lesson::failure::failed(&got.report, f.syscall);
    if call.is_none() {
        return Err(Error::new(
            Kind::NoCall,
            format!("the failure target's {}() did not fail: there is no failure to show", f.syscall),
        )
        .hint(format!("run `syswalk prove --fail {}` to see what the calls returned", sc.arg())));
    }
    let sources = source_lines(&names, system_map, call, chain_funcs)?;
    let mut l = crate::lesson::failure::chapter(&got.report, &sources, f);
    l.report = Some(Box::new(got.report));
    Ok(l)
}

/// Traces a failure target for its chapter (`syscalls` traced; `sockets_only`: other files' calls counted, not
/// shown): the names it was read with, and the run.
fn trace_failure(
    ctx: &Ctx,
    target: Target,
    syscalls: &[String],
    sockets_only: bool,
    how: &crate::cli::TraceArgs,
    quiet: bool,
    report_on_stdout: bool,
) -> Result<(crate::model::Namer, super::collect::Collected)> {
    let names = namer();
    let chain = load_chain(how.chain.as_deref(), &names)?;
    let opts = options(ctx, how, quiet, report_on_stdout);
    let specs = specs_for(syscalls)?;
    let req = Request { target, specs, opts, attach: how.attach, custom: chain, keep: how.keep_calls, sockets_only };
    let got = collect(req, &names)?;
    Ok((names, got))
}

/// `source.lines` for the failed call's chain functions and callers (DWARF; not observable without it).
fn source_lines(
    names: &crate::model::Namer,
    system_map: Option<&std::path::Path>,
    call: Option<&crate::model::Call>,
    funcs: &[&str],
) -> Result<Vec<crate::claims::Claim>> {
    let kaslr = crate::claims::kaslr::live(&names.kallsyms, system_map, &kaslr_named())?;
    Ok(crate::claims::srcline::claims(call, &kaslr, names, funcs, &[]))
}

/// The puzzle's question for each socket() failure target (what the target does, asked before the evidence).
fn question(fail: crate::cli::Fail) -> crate::syscalls::socket::lesson::Question {
    use crate::cli::Fail;
    use crate::syscalls::socket::lesson::{Question, AFTER_SOCK_ALLOC};
    match fail {
        Fail::FamilyRange => Question {
            ask: "ask: what if socket() names a family past the end of net_families (family ≥ NPROTO)?",
            wonder: "is anything allocated before the family is checked, and if so, is it given back?",
        },
        Fail::FamilyUnregistered => Question {
            ask: "ask: what if socket() names a family inside net_families that nothing registered?",
            wonder: "is a socket allocated before the family is looked up, and if so, is it given back?",
        },
        Fail::Protocol => Question {
            ask: "ask: what if the family takes the type but not the protocol (AF_INET, SOCK_STREAM, IPPROTO_UDP)?",
            wonder: "is a socket allocated before the family's create refuses, and if so, is it given back?",
        },
        Fail::Type => Question {
            ask: "ask: what if socket() names a type past the kernel's last one (type ≥ SOCK_MAX)?",
            wonder: "is anything allocated before the type is checked, and if so, is it given back?",
        },
        _ => AFTER_SOCK_ALLOC,
    }
}

/// How a lesson's run is traced (both the course's and the puzzle's).
fn options(ctx: &Ctx, how: &crate::cli::TraceArgs, quiet: bool, report_on_stdout: bool) -> Options {
    Options {
        follow_forks: !how.no_follow,
        duration: None,
        quiet,
        report_on_stdout,
        chain_calls: how.chain_calls,
        hist: false,
        bpf_stats: how.bpf_stats,
        launch: ctx.launch,
    }
}
