//! `prove` and `trace`: trace, judge, render the report, choose the exit code.
use std::time::Duration;

use super::collect::{collect, Request};
use super::{Ctx, Output};
use crate::claims::Verdict;
use crate::cli::{OutputArgs, TraceArgs};
use crate::error::{Error, Kind, Result};
use crate::model::Namer;
use crate::probes::chain;
use crate::probes::session::{Options, Target};
use crate::probes::target::Ending;
use crate::render::{self, Format, Style};
use crate::syscalls::SyscallSpec;

/// Colour only for a person at a terminal: stdout is a terminal that is not TERM=dumb (the lab's serial console
/// is a terminal too; the lab sets TERM=dumb unless its own stdout is a terminal), and NO_COLOR is not set.
pub fn color_wanted(out: &OutputArgs) -> bool {
    out.output.is_none() && color_wanted_on_stdout()
}

/// Colour for text written to stdout: a terminal that has colour, and NO_COLOR unset.
pub fn color_wanted_on_stdout() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var("TERM").is_ok_and(|t| !t.is_empty() && t != "dumb")
        && std::io::stdout().is_terminal()
}

/// What `prove` and `trace` ask for: a target, its syscalls, how long, and a `--chain` file's functions if given.
pub struct Job {
    pub target: Target,
    pub specs: Vec<SyscallSpec>,
    pub duration: Option<Duration>,
    pub custom: Option<Vec<chain::spec::FnSpec>>,
    /// Only calls that touch a socket count and are shown (prove's read/write/close of a program's other files
    /// are noise); see `Request::sockets_only`.
    pub sockets_only: bool,
}

pub fn run(ctx: &Ctx, job: Job, out: &OutputArgs, names: Namer, how: &TraceArgs) -> Result<i32> {
    let Job { target, specs, duration, custom, sockets_only } = job;
    let sink = Output::check(&out.output)?;
    let opts = Options {
        follow_forks: !how.no_follow,
        duration,
        quiet: out.quiet,
        report_on_stdout: out.output.is_none(),
        chain_calls: how.chain_calls,
        bpf_stats: how.bpf_stats,
        hist: how.hist || matches!(out.format, Format::Hist | Format::HistSvg),
        launch: ctx.launch,
    };
    let got = collect(
        Request { target, specs, opts, attach: how.attach, custom, keep: how.keep_calls, sockets_only },
        &names,
    )?;
    let report = got.report;
    let text = match out.format {
        Format::Text => render::text(&report, &Style { color: color_wanted(out) }),
        Format::Md => render::markdown(&report),
        Format::Json => render::json(&report),
        Format::Summary => render::summary(&report),
        Format::Hist => render::hist::text(&render::hist::view(&report)),
        Format::HistSvg => render::hist::svg(&render::hist::view(&report)),
        Format::Perfetto => render::perfetto::render_report(&report),
        Format::Svg => render::svg::render_report(&report),
    };
    sink.write(&text)?;
    if let Ending::StoppedBySyswalk(why) = &got.ending {
        if !out.quiet {
            eprintln!("syswalk: syswalk stopped the target {why}; the report has what was captured until then");
        }
    }
    if let Ending::Signaled(s) = got.ending {
        return Err(Error::new(
            Kind::TargetKilled,
            format!("the target was killed by {} (the report above has what was captured)", crate::signals::name(s)),
        ));
    }
    if report.claims.iter().any(|c| c.verdict == Verdict::Refuted) {
        eprintln!("syswalk: {} claim(s) refuted by the evidence", report.summary.refuted);
        return Ok(Kind::Refuted.exit_code());
    }
    Ok(0)
}
