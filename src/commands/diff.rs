//! `syswalk diff A.json B.json` (see `crate::diff`) and `syswalk render REPORT.json`: the commands that read saved
//! reports instead of tracing.
use std::path::PathBuf;

use crate::diff::{diff, load};
use crate::error::{Error, Kind, Result};
use crate::render::Format;

pub fn run(a: PathBuf, b: PathBuf, format: Format, out: Option<PathBuf>) -> Result<i32> {
    let fmt_ok = matches!(format, Format::Text | Format::Json | Format::Md);
    if !fmt_ok {
        return Err(Error::new(Kind::Usage, "diff writes --format text, md or json")
            .hint("syswalk diff A.json B.json --format json"));
    }
    let output = super::Output::check(&out)?;
    let (ra, rb) = (load(&a)?, load(&b)?);
    let d = diff(&ra, &rb, &a, &b);
    let text = match format {
        Format::Json => crate::render::json(&d),
        Format::Md => crate::render::diff::markdown(&d),
        _ => crate::render::diff::text(&d),
    };
    output.write(&text)?;
    Ok(0)
}

/// `syswalk render REPORT.json`: a saved report in another format.
pub fn render(report: PathBuf, format: Format, out: Option<PathBuf>) -> Result<i32> {
    let text_like = matches!(format, Format::Text | Format::Md | Format::Summary);
    if text_like {
        return Err(Error::new(
            Kind::Usage,
            "render makes --format perfetto, hist or json from a saved report; text, md and summary are written by the run itself",
        )
        .hint("run `syswalk prove --format text` (or md) where the evidence is made, or render a timeline: --format perfetto"));
    }
    let output = super::Output::check(&out)?;
    let r = load(&report)?;
    let text = match format {
        Format::Perfetto => crate::render::perfetto::render(&r),
        Format::Hist => crate::render::hist::text(&r),
        _ => crate::render::json(&r),
    };
    output.write(&text)?;
    Ok(0)
}
