//! `syswalk caps`: what this kernel lets syswalk observe, each attach type tried for real.
use super::emit;
use crate::error::{Kind, Result};
use crate::probes::caps;
use crate::render::{self, Format};

pub fn run(format: Format) -> Result<i32> {
    let format = format.only_for_reports("caps")?;
    let c = caps::probe();
    let text = match format {
        Format::Json => render::json(&c),
        _ => render::caps::text(&c),
    };
    emit(&text, &None)?;
    // Without the privileges to load BPF, every attach check fails for the same reason: that is a permission
    // problem (exit 10, as every other command), not a kernel that refuses BPF.
    let privileged = c.get("privileges").is_none_or(|p| p.ok);
    Ok(match (c.tier.is_some(), privileged) {
        (true, _) => 0,
        (false, false) => Kind::Permission.exit_code(),
        (false, true) => Kind::Bpf.exit_code(),
    })
}
