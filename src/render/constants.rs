//! `syswalk constants` as text.
use crate::claims::constants::Constants;

pub fn text(c: &Constants) -> String {
    let mut o = format!(
        "syswalk constants — socket(AF_INET, SOCK_STREAM, 0) on this machine\n\nmachine = {}  ({})\n\n",
        c.machine.value, c.machine.source
    );
    for (r, cl) in c.rows.iter().zip(&c.claims) {
        o.push_str(&format!("{} {} — {}\n", cl.verdict.symbol(), r.name, r.meaning));
        for e in &cl.evidence {
            o.push_str(&format!("    {:<28} {:<10} {}\n", e.what, e.value, e.source));
        }
        if let Some(why) = &cl.reason {
            o.push_str(&format!("    not observable here: {why}\n"));
        }
        if cl.verdict != crate::claims::Verdict::NotObservable {
            o.push_str(&format!("    ∴ {}\n", cl.conclusion()));
        }
    }
    o
}
