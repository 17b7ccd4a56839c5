//! `syswalk diff A.json B.json` (see `crate::diff`) and `syswalk render REPORT.json`: the commands that read saved
//! reports instead of tracing.
use std::path::PathBuf;

use crate::cli::{DiffFormat, RenderFormat};
use crate::diff::{diff, load};
use crate::error::Result;

pub fn run(a: PathBuf, b: PathBuf, format: DiffFormat, out: Option<PathBuf>) -> Result<i32> {
    let output = super::Output::check(&out)?;
    let (ra, rb) = (load(&a)?, load(&b)?);
    typed(&ra, &a, "diff")?;
    typed(&rb, &b, "diff")?;
    let d = diff(&ra, &rb, &a, &b);
    let text = match format {
        DiffFormat::Json => crate::render::json(&d),
        DiffFormat::Md => crate::render::diff::markdown(&d),
        DiffFormat::Text => crate::render::diff::text(&d),
    };
    output.write(&text)?;
    Ok(0)
}

/// The saved report read back into the evidence model the text and Markdown renderers take.
fn typed(r: &serde_json::Value, p: &std::path::Path, command: &str) -> Result<crate::report::Report> {
    // Deserialized from the Value in place (no copy of a report that may be large).
    <crate::report::Report as serde::Deserialize>::deserialize(r).map_err(|e| {
        crate::error::Error::new(
            crate::error::Kind::Usage,
            format!("{} does not hold a whole report of this schema: {e}", p.display()),
        )
        .hint(format!("{command} reads reports written by this syswalk version (`prove --format json -o FILE`)"))
    })
}

/// `syswalk render REPORT.json`: a saved report in another format.
pub fn render(report: PathBuf, format: RenderFormat, out: Option<PathBuf>) -> Result<i32> {
    let output = super::Output::check(&out)?;
    let r = load(&report)?;
    // Every format reads the report's fields: check it is a whole report of this schema first (a field of the
    // wrong type would otherwise draw as an empty picture).
    let rep = typed(&r, &report, "render")?;
    let text = match format {
        RenderFormat::Perfetto => crate::render::perfetto::render(&r),
        RenderFormat::Hist => crate::render::hist::text(&r),
        RenderFormat::HistSvg => crate::render::hist::svg(&r),
        RenderFormat::Svg => crate::render::svg::render(&r),
        RenderFormat::Text | RenderFormat::Md => {
            if format == RenderFormat::Md {
                crate::render::markdown(&rep)
            } else {
                let color = out.is_none() && super::investigate::color_wanted_on_stdout();
                crate::render::text(&rep, &crate::render::Style { color })
            }
        }
        RenderFormat::Json => crate::render::json(&r),
    };
    output.write(&text)?;
    Ok(0)
}
