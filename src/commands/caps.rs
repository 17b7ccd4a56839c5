//! `syswalk caps`: what this kernel lets syswalk observe, each attach type tried for real.
use super::emit;
use crate::error::{Kind, Result};
use crate::probes::caps;
use crate::render::{self, Format};

pub fn run(format: Format) -> Result<i32> {
    let c = caps::probe();
    let text = match format {
        Format::Json => render::json(&c),
        Format::Text | Format::Md | Format::Summary => render::caps::text(&c),
    };
    emit(&text, &None)?;
    Ok(if c.tier.is_some() { 0 } else { Kind::Bpf.exit_code() })
}
