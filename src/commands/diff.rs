//! `syswalk diff A.json B.json`: see `crate::diff`.
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
