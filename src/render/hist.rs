//! `--format hist`: per chain function, the log2 histogram of the inclusive time of every call, in the style of
//! bpftrace's `hist()`. Works on the report's JSON form (`histograms`), so a saved report renders the same.
use serde_json::Value;

use super::escape::text as esc;

/// A bucket's lower bound as bpftrace writes it: 0, 1, 2, 4, …, 1K, 2K, …, 1M, … (ns).
fn bound(v: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (u, s) in UNITS {
        if v >= u && v % u == 0 {
            return format!("{}{s}", v / u);
        }
    }
    v.to_string()
}

pub fn text(r: &Value) -> String {
    let h = &r["histograms"];
    let mut o = format!(
        "latency histograms · kernel {} · tier {} · {}\n",
        esc(r["kernel"]["release"].as_str().unwrap_or("?")),
        esc(r["kernel"]["tier"].as_str().unwrap_or("?")),
        esc(r["target"]["description"].as_str().unwrap_or("?"))
    );
    if h.is_null() {
        o += "no histograms in this report: trace with --hist (or --format hist)\n";
        return o;
    }
    if let Some(why) = h["not_observable"].as_str() {
        o += &format!("not observable here: {}\n", esc(why));
        return o;
    }
    o += "inclusive time per call of each chain function, in ns: [lo, hi) buckets, every call counted in the kernel\n";
    for f in h["funcs"].as_array().into_iter().flatten() {
        let calls = f["calls"].as_u64().unwrap_or(0);
        let b: Vec<(u64, u64)> = f["buckets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| Some((x[0].as_u64()?, x[1].as_u64()?)))
            .collect();
        let word = if calls == 1 { "call" } else { "calls" };
        o += &format!("\n@{}: {calls} {word}\n", esc(f["func"].as_str().unwrap_or("?")));
        let Some(max) = b.iter().map(|x| x.1).max() else {
            o += "  (no call)\n";
            continue;
        };
        // Every bucket from the first to the last non-empty one, as bpftrace shows them.
        let (first, last) = (b[0].0, b[b.len() - 1].0);
        let mut lo = first;
        loop {
            let n = b.iter().find(|x| x.0 == lo).map_or(0, |x| x.1);
            let hi = if lo == 0 { 2 } else { lo * 2 };
            let bar = "@".repeat(((n * 52).div_ceil(max)) as usize);
            o += &format!("{:<16} {:>8} |{:<52}|\n", format!("[{}, {})", bound(lo), bound(hi)), n, bar);
            if lo >= last {
                break;
            }
            lo = if lo == 0 { 2 } else { lo * 2 };
        }
    }
    let missed = h["missed"].as_u64().unwrap_or(0);
    if missed > 0 {
        o += &format!("\n{missed} exits had no entry time (they entered before tracing began) and are in no bucket\n");
    }
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn buckets_are_drawn_from_first_to_last_with_bpftrace_bounds() {
        let r = serde_json::json!({"kernel": {"release": "k", "tier": "A"}, "target": {"description": "t"},
            "histograms": {"funcs": [{"func": "sock_alloc", "calls": 5, "buckets": [[1024, 4], [4096, 1]]}], "missed": 0}});
        let t = super::text(&r);
        assert!(t.contains("@sock_alloc: 5 calls"), "{t}");
        assert!(t.contains("[1K, 2K)"), "{t}");
        let line = |lo: &str| t.lines().find(|l| l.starts_with(lo)).unwrap_or_default().to_string();
        assert!(line("[2K, 4K)").contains(" 0 |  "), "an empty bucket between is shown: {t}");
        assert!(line("[4K, 8K)").contains(" 1 |@@@@@@@@@@@@@ "), "13 of 52 marks for 1 of 4: {t}");
        assert!(line("[1K, 2K)").contains(&"@".repeat(52)), "{t}");
        assert_eq!(super::bound(1 << 20), "1M");
        let none = serde_json::json!({"kernel": {}, "target": {}, "histograms": {"not_observable": "tier C: x"}});
        assert!(super::text(&none).contains("not observable here: tier C: x"));
    }
}
