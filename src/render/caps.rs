//! `syswalk caps` as text.
use crate::probes::caps::Caps;

pub fn text(c: &Caps) -> String {
    let mut o = format!("syswalk caps — kernel {} {}\n", c.kernel_release, c.machine);
    for k in &c.checks {
        o.push_str(&format!("  {} {:<16} {}\n", if k.ok { "✓" } else { "✗" }, k.name, k.detail));
    }
    match c.tier {
        Some(t) => o.push_str(&format!("∴ tier {} — {}\n", t.describe(), c.tier_reason)),
        None => o.push_str(&format!("∴ no usable tier — {}\n", c.tier_reason)),
    }
    if let Some(why) = c.chain_unavailable_reason() {
        o.push_str(&format!("  function-level chain: not observable here ({why})\n"));
    }
    o
}
