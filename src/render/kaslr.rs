//! `syswalk kaslr` as text.
use crate::claims::kaslr::Kaslr;

pub fn text(k: &Kaslr) -> String {
    let mut o = format!(
        "syswalk kaslr — kernel {}\n\nlive addresses: {}\nlink-time addresses: {}\n",
        k.release,
        k.live_source,
        k.static_source.as_deref().unwrap_or("none found")
    );
    for t in &k.tried {
        o.push_str(&format!("  tried: {t}\n"));
    }
    if !k.compared.is_empty() {
        o.push_str(&format!("\n{:<32} {:<18}   {:<18}   {}\n", "symbol", "live", "link-time", "live − link-time"));
        for c in &k.compared {
            o.push_str(&format!("{:<32} {} − {} = {}\n", c.name, c.live, c.link, c.offset));
        }
    }
    o.push('\n');
    for c in &k.claims {
        o.push_str(&format!("{} {}: {}\n", c.verdict.symbol(), c.id, c.conclusion()));
        if let Some(r) = &c.reason {
            o.push_str(&format!("    not observable here: {r}\n"));
        }
    }
    o
}
