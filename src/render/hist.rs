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

/// Buckets (lo, hi, count).
type Rows = Vec<(u64, u64, u64)>;

/// Per function: its name, calls, and every bucket (lo, hi, count) from the first to the last non-empty one, as
/// bpftrace shows them.
fn funcs(h: &Value) -> Vec<(String, u64, Rows)> {
    let mut out = Vec::new();
    for f in h["funcs"].as_array().into_iter().flatten() {
        let calls = f["calls"].as_u64().unwrap_or(0);
        let b: Vec<(u64, u64)> = f["buckets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| Some((x[0].as_u64()?, x[1].as_u64()?)))
            .collect();
        let mut rows = Vec::new();
        // Each bound's count, the first bucket of a bound as a scan would find it.
        let mut count: std::collections::HashMap<u64, u64> = std::collections::HashMap::with_capacity(b.len());
        for (lo, n) in &b {
            count.entry(*lo).or_insert(*n);
        }
        if let (Some(first), Some(last)) = (b.first(), b.last()) {
            let (mut lo, last) = (first.0, last.0);
            // A bound past 2^62 is not a bucket the kernel side makes: stop rather than overflow (at most 63 rows).
            while lo <= last && lo < 1 << 62 {
                let n = count.get(&lo).copied().unwrap_or(0);
                let hi = if lo == 0 { 2 } else { lo * 2 };
                rows.push((lo, hi, n));
                lo = hi;
            }
        }
        out.push((f["func"].as_str().unwrap_or("?").to_string(), calls, rows));
    }
    out
}

/// What the histogram formats read of a report, as JSON: its kernel and target, and its histograms (a small part
/// of a report: never the calls).
pub fn view(r: &crate::report::Report) -> Value {
    serde_json::json!({
        "kernel": {"release": r.kernel.release, "tier": serde_json::to_value(r.kernel.tier).unwrap_or_default()},
        "target": {"description": r.target.description},
        "histograms": serde_json::to_value(&r.histograms).unwrap_or_default(),
    })
}

/// The histograms as an SVG picture: a panel per function, a bar per bucket with its count, black on white.
pub fn svg(r: &Value) -> String {
    use std::fmt::Write as _;
    let h = &r["histograms"];
    let xml = super::svg::xml;
    let title = format!(
        "latency histograms · kernel {} · tier {} · {}",
        r["kernel"]["release"].as_str().unwrap_or("?"),
        r["kernel"]["tier"].as_str().unwrap_or("?"),
        r["target"]["description"].as_str().unwrap_or("?")
    );
    let (row, bar_w, label_w, count_w) = (18.0, 420.0, 150.0, 80.0);
    let width = 20.0 + label_w + count_w + bar_w + 20.0;
    let mut body = String::new();
    let mut y = 30.0;
    let line = |body: &mut String, y: &mut f64, t: &str| {
        let _ = writeln!(body, "<text x=\"20\" y=\"{y:.1}\">{}</text>", xml(t));
        *y += row + 4.0;
    };
    line(&mut body, &mut y, &title);
    if h.is_null() {
        line(&mut body, &mut y, "no histograms in this report: trace with --hist (or --format hist-svg)");
    } else if let Some(why) = h["not_observable"].as_str() {
        line(&mut body, &mut y, &format!("not observable here: {why}"));
    } else {
        line(&mut body, &mut y, "inclusive time per call of each chain function, in ns: [lo, hi) buckets");
        for (func, calls, rows) in funcs(h) {
            y += 10.0;
            let word = if calls == 1 { "call" } else { "calls" };
            let _ = writeln!(body, "<g class=\"panel\" data-func=\"{}\">", xml(&func));
            let _ = writeln!(
                body,
                "<text class=\"func\" x=\"20\" y=\"{y:.1}\" font-weight=\"bold\">@{}: {calls} {word}</text>",
                xml(&func)
            );
            y += row + 4.0;
            if rows.is_empty() {
                let _ = writeln!(body, "<text x=\"20\" y=\"{y:.1}\">(no call)</text>");
                y += row;
            }
            let max = rows.iter().map(|x| x.2).max().unwrap_or(0).max(1);
            for (lo, hi, n) in rows {
                let w = bar_w * n as f64 / max as f64;
                let _ = writeln!(
                    body,
                    "<text x=\"20\" y=\"{:.1}\">[{}, {})</text><text class=\"count\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{n}</text><rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#fff\" stroke=\"#000\"/><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"url(#hatch)\"/>",
                    y,
                    bound(lo),
                    bound(hi),
                    20.0 + label_w + count_w - 10.0,
                    y,
                    20.0 + label_w + count_w,
                    y - row / 2.0 - 2.0,
                    row - 2.0,
                    20.0 + label_w + count_w,
                    y - row / 2.0 - 2.0,
                    row - 2.0,
                );
                y += row;
            }
            body.push_str("</g>\n");
        }
        let missed = h["missed"].as_u64().unwrap_or(0);
        if missed > 0 {
            y += 10.0;
            line(&mut body, &mut y, &format!("{missed} exits had no entry time and are in no bucket"));
        }
    }
    let height = y + 10.0;
    // Wide enough for the longest line drawn (monospace, ~0.6 em per character at 13 px).
    let width = body
        .lines()
        .filter_map(|l| Some(l.split_once("\">")?.1.split('<').next()?.chars().count()))
        .map(|n| 20.0 + n as f64 * 8.1 + 20.0)
        .fold(width, f64::max);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" font-family=\"DejaVu Sans Mono, monospace\" font-size=\"13\" dominant-baseline=\"central\">\n<title>{}</title>\n<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\"><path d=\"M 0 6 L 6 0\" stroke=\"#000\" stroke-width=\"1\"/></pattern></defs>\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n{body}</svg>\n",
        xml(&title)
    )
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
    for (func, calls, rows) in funcs(h) {
        let word = if calls == 1 { "call" } else { "calls" };
        o += &format!("\n@{}: {calls} {word}\n", esc(&func));
        let Some(max) = rows.iter().map(|x| x.2).max() else {
            o += "  (no call)\n";
            continue;
        };
        for (lo, hi, n) in rows {
            // In u128 and at most 52 marks: a count from a report may be any u64.
            let marks = (u128::from(n) * 52).div_ceil(u128::from(max.max(1))).min(52) as usize;
            let bar = "@".repeat(marks);
            o += &format!("{:<16} {:>8} |{:<52}|\n", format!("[{}, {})", bound(lo), bound(hi)), n, bar);
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
        assert!(super::svg(&none).contains("not observable here: tier C: x"));
        let svg = super::svg(&r);
        let counts: Vec<u64> = svg
            .split("<text class=\"count\"")
            .skip(1)
            .filter_map(|t| t.split_once('>')?.1.split_once('<')?.0.parse().ok())
            .collect();
        assert_eq!(counts, vec![4, 0, 1], "a count per bucket, the empty one between included: {svg}");
    }

    /// Counts near u64::MAX (a hostile saved report) and bounds at the top draw without overflow or panic.
    #[test]
    fn a_hostile_histogram_draws_without_overflow() {
        let r = serde_json::json!({"kernel": {"release": "k", "tier": "A"}, "target": {"description": "t"},
            "histograms": {"funcs": [{"func": "f", "calls": u64::MAX,
                "buckets": [[0, u64::MAX], [1u64 << 61, u64::MAX / 3], [u64::MAX, 1], [5, u64::MAX]]}], "missed": u64::MAX}});
        let t = super::text(&r);
        assert!(t.contains(&format!("{:>8} |{}|", u64::MAX, "@".repeat(52))), "{t}");
        assert!(t.lines().filter(|l| l.starts_with('[')).count() <= 63, "{t}");
        assert!(super::svg(&r).contains("@f:"));
    }
}
