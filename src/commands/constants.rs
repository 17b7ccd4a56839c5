//! `syswalk constants`: the numbers behind socket(AF_INET, SOCK_STREAM, 0), from headers, BTF and registers.
use super::collect::{collect, Request};
use super::{course_target, emit, namer, specs_for, Ctx};
use crate::claims::Verdict;
use crate::cli::AttachArg;
use crate::error::{Kind, Result};
use crate::probes::session::Options;
use crate::render::{self, Format};

pub fn run(ctx: &Ctx, format: Format) -> Result<i32> {
    let format = format.only_for_reports("constants")?;
    let names = namer();
    let opts = Options {
        follow_forks: false,
        duration: None,
        quiet: true,
        report_on_stdout: true,
        chain_calls: 0,
        hist: false,
        bpf_stats: false,
        launch: ctx.launch,
    };
    let req = Request {
        target: course_target(),
        specs: specs_for(&[crate::syscalls::socket::DEF.name.to_string()])?,
        opts,
        attach: AttachArg::None,
        custom: None,
        keep: 1,
        sockets_only: false,
    };
    let got = collect(req, &names)?;
    let call = got.report.calls.iter().find(|c| crate::syscalls::socket::DEF.is(c));
    let k = crate::claims::constants::build(call, &names);
    let text = match format {
        Format::Json => render::json(&k),
        _ => render::constants::text(&k),
    };
    emit(&text, &None)?;
    Ok(if k.claims.iter().any(|c| c.verdict == Verdict::Refuted) { Kind::Refuted.exit_code() } else { 0 })
}
