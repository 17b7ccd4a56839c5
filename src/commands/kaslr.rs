//! `syswalk kaslr`: live (kallsyms) − link-time (System.map / vmlinux) addresses, one offset?
use std::path::PathBuf;

use super::{emit, kaslr_named};
use crate::claims::Verdict;
use crate::error::{Kind, Result};
use crate::render::{self, Format};

pub fn run(system_map: Option<PathBuf>, format: Format) -> Result<i32> {
    let format = format.only_for_reports("kaslr")?;
    let ks = crate::machine::kallsyms::Kallsyms::load()?;
    let k = crate::claims::kaslr::live(&ks, system_map.as_deref(), &kaslr_named())?;
    let text = match format {
        Format::Json => render::json(&k),
        _ => render::kaslr::text(&k),
    };
    emit(&text, &None)?;
    Ok(if k.claims.iter().any(|c| c.verdict == Verdict::Refuted) { Kind::Refuted.exit_code() } else { 0 })
}
