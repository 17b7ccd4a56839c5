//! `prove` and `trace`: trace, judge, render the report, choose the exit code.
use std::time::Duration;

use super::collect::{collect, Request};
use super::{emit, Ctx};
use crate::claims::Verdict;
use crate::cli::{OutputArgs, TraceArgs};
use crate::error::{Error, Kind, Result};
use crate::model::Namer;
use crate::probes::chain;
use crate::probes::session::{Options, Target};
use crate::probes::target::Ending;
use crate::render::{self, Format, Style};
use crate::syscalls::SyscallSpec;

pub fn color_wanted(out: &OutputArgs) -> bool {
    use std::io::IsTerminal;
    out.output.is_none() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// What `prove` and `trace` ask for: a target, its syscalls, how long, and a `--chain` file's functions if given.
pub struct Job {
    pub target: Target,
    pub specs: Vec<SyscallSpec>,
    pub duration: Option<Duration>,
    pub custom: Option<Vec<chain::spec::FnSpec>>,
}

pub fn run(ctx: &Ctx, job: Job, out: &OutputArgs, names: Namer, how: &TraceArgs) -> Result<i32> {
    let Job { target, specs, duration, custom } = job;
    let opts = Options {
        follow_forks: !how.no_follow,
        duration,
        quiet: out.quiet,
        report_on_stdout: out.output.is_none(),
        chain_calls: how.chain_calls,
        bpf_stats: how.bpf_stats,
        launch: ctx.launch,
    };
    let got = collect(Request { target, specs, opts, attach: how.attach, custom }, &names)?;
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
