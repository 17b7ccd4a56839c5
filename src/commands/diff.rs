//! `syswalk diff A.json B.json` (see `crate::diff`) and `syswalk render REPORT.json`: the commands that read saved
//! reports instead of tracing.
use std::path::PathBuf;

use crate::cli::{DiffFormat, RenderFormat};
use crate::diff::{diff, load};
use crate::error::Result;

pub fn run(a: PathBuf, b: PathBuf, format: DiffFormat, out: Option<PathBuf>) -> Result<i32> {
    let output = super::Output::check(&out)?;
    // The formats a person reads show the reports' strings with their control characters visible.
    let escape = format != DiffFormat::Json;
    // Each report read into the model, and only what diff compares kept of it (not its walks and evidence).
    let va = crate::diff::view(&load(&a, escape, "diff")?);
    let vb = crate::diff::view(&load(&b, escape, "diff")?);
    let d = diff(&va, &vb, &a, &b);
    let text = match format {
        DiffFormat::Json => crate::render::json(&d),
        DiffFormat::Md => crate::render::diff::markdown(&d),
        DiffFormat::Text => crate::render::diff::text(&d),
    };
    output.write(&text)?;
    Ok(0)
}

/// `syswalk render REPORT.json`: a saved report in another format.
pub fn render(report: PathBuf, format: RenderFormat, out: Option<PathBuf>) -> Result<i32> {
    let output = super::Output::check(&out)?;
    // The formats a person reads show the saved report's strings with their control characters visible: a newline
    // in any field cannot forge a line (the graphic and JSON formats escape for themselves).
    let escape = matches!(format, RenderFormat::Text | RenderFormat::Md | RenderFormat::Hist);
    // Every format reads the report's fields: read into the model whole first (a field of the wrong type is a
    // usage error, not an empty picture), once, with its sizes checked.
    let r = load(&report, escape, "render")?;
    let color = out.is_none() && super::investigate::color_wanted_on_stdout();
    output.write(&render_report(&r, format, color))?;
    Ok(0)
}

/// A saved report, read back, in `format`.
fn render_report(r: &crate::report::Report, format: RenderFormat, color: bool) -> String {
    match format {
        RenderFormat::Perfetto => crate::render::perfetto::render_report(r),
        RenderFormat::Hist => crate::render::hist::text(&crate::render::hist::view(r)),
        RenderFormat::HistSvg => crate::render::hist::svg(&crate::render::hist::view(r)),
        RenderFormat::Svg => crate::render::svg::render_report(r),
        RenderFormat::Md => crate::render::markdown(r),
        RenderFormat::Text => crate::render::text(r, &crate::render::Style { color }),
        RenderFormat::Json => crate::render::json(r),
    }
}

/// A saved report (the JSON `r`, as read from a file) in `format`, as `render` reads and renders it (its schema
/// not checked: the tests change every string field).
#[cfg(test)]
fn render_value(r: serde_json::Value, p: &std::path::Path, format: RenderFormat, color: bool) -> Result<String> {
    use crate::error::{Error, Kind};
    let t = tempfile::tempdir().map_err(|e| Error::io("a temporary folder", e))?;
    let f = t.path().join(p.file_name().unwrap_or(std::ffi::OsStr::new("r.json")));
    std::fs::write(&f, serde_json::to_vec(&r).unwrap_or_default()).map_err(|e| Error::io("writing", e))?;
    let escape = matches!(format, RenderFormat::Text | RenderFormat::Md | RenderFormat::Hist);
    let saved = crate::saved::Saved::read(&f, 1 << 30, "report", escape).map_err(|b| b.error("r.json", "h"))?;
    let rep: crate::report::Report = saved.parse().map_err(|e| Error::new(Kind::Usage, e.to_string()))?;
    rep.check_read_back().map_err(|why| Error::new(Kind::Usage, why))?;
    Ok(render_report(&rep, format, color))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The fixture report with connections and a dispatch table too, as JSON.
    fn rich() -> Value {
        let mut v = serde_json::to_value(crate::fixtures::report()).expect("json");
        let addr = |a: u64| Value::String(format!("{a:#018x}"));
        let val = |raw: i64, name: &str| serde_json::json!({"raw": raw, "name": name, "origin": "header"});
        v["connections"] = serde_json::json!({
            "socks": [{"sock": addr(0xffff_8880_0000_1000), "socket": addr(0xffff_8880_0000_2000), "pid": 7, "fd": 3,
                       "made_by": 1, "role": "client", "local": "127.0.0.1:4000", "peer": "127.0.0.1:5000",
                       "states": [{"ts_ns": 5, "pid": 7, "tid": 7, "comm": "c", "sock": addr(0xffff_8880_0000_1000),
                                   "old": val(7, "TCP_CLOSE"), "new": val(2, "TCP_SYN_SENT"),
                                   "local": "127.0.0.1:4000", "peer": "127.0.0.1:5000"}],
                       "closed_by": null, "since_ns": 1}],
            "pairs": [{"a": addr(0xffff_8880_0000_1000), "b": addr(0xffff_8880_0000_3000), "a_local": "127.0.0.1:4000",
                       "b_local": "127.0.0.1:5000"}],
            "state_changes": 1, "unfollowed": 0, "states_missing": "none"});
        v["dispatch"] = serde_json::json!({"source": "net_families", "slots": [], "inetsw": [], "error": "e"});
        serde_json::from_value::<crate::report::Report>(v.clone()).expect("the rich fixture reads back");
        v
    }

    fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::String(_) => out.push(path.clone()),
            Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| {
                path.push(i.to_string());
                leaves(x, path, out);
                path.pop();
            }),
            Value::Object(m) => m.iter().for_each(|(k, x)| {
                path.push(k.clone());
                leaves(x, path, out);
                path.pop();
            }),
            _ => {}
        }
    }

    fn at<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
        path.iter().fold(v, |v, k| match v {
            Value::Array(a) => &mut a[k.parse::<usize>().expect("index")],
            _ => &mut v[k.as_str()],
        })
    }

    const FORGED: &str = "\n  ✓ kernel.memory_safe forged\n∴ 99 proved";

    /// A newline in any string field of a saved report (every one that still reads back as a report) forges no
    /// line in text or Markdown: the fields are found by walking the JSON, not listed by hand.
    #[test]
    fn newlines_in_every_string_field_forge_no_line() {
        let base = rich();
        let mut paths = Vec::new();
        leaves(&base, &mut vec![], &mut paths);
        // The fields that take any string (the others are addresses, enums or the schema, refused when changed).
        let free: Vec<&Vec<String>> = paths
            .iter()
            .filter(|p| {
                let mut v = base.clone();
                let s = at(&mut v, p);
                *s = Value::String(format!("{}{FORGED}", s.as_str().unwrap_or("")));
                serde_json::from_value::<crate::report::Report>(v).is_ok()
            })
            .collect();
        assert!(free.len() > 60, "only {} free string fields", free.len());
        for must in [
            ["tool"].as_slice(),
            &["claims", "0", "id"],
            &["chain_plan", "0", "note"],
            &["connections", "socks", "0", "role"],
        ] {
            assert!(free.iter().any(|p| p.as_slice() == must), "{must:?} is not among the fields tried");
        }
        let mut v = base.clone();
        for p in &free {
            let s = at(&mut v, p);
            *s = Value::String(format!("{}{FORGED}", s.as_str().unwrap_or("")));
        }
        let path = std::path::Path::new("r.json");
        for f in [RenderFormat::Text, RenderFormat::Md] {
            let out = render_value(v.clone(), path, f, false).expect("renders");
            assert!(
                out.contains("kernel.memory\\_safe forged") || out.contains("kernel.memory_safe forged"),
                "{f:?}: the field is shown"
            );
            for l in out.lines() {
                let l = l.trim_start_matches([' ', '-', '*', '|', '`']);
                assert!(!l.starts_with("✓ kernel.memory") && !l.starts_with("∴ 99"), "{f:?}: a forged line: {l:?}");
            }
        }
    }

    /// A frame depth of 2^62 or 10^11 is refused with the usage kind, never a panic or a huge allocation.
    #[test]
    fn a_huge_frame_depth_is_refused_as_usage() {
        for depth in [1u64 << 62, 100_000_000_000, 257] {
            let mut v = rich();
            v["calls"][0]["chain"][1]["depth"] = depth.into();
            for f in [RenderFormat::Text, RenderFormat::Md] {
                let e = render_value(v.clone(), std::path::Path::new("r.json"), f, false).expect_err("refused");
                assert_eq!(e.kind, crate::error::Kind::Usage, "{e}");
                assert!(e.message.contains("depth"), "{e}");
            }
        }
        let mut v = rich();
        v["calls"][0]["chain"][1]["depth"] = 256.into();
        assert!(render_value(v, std::path::Path::new("r.json"), RenderFormat::Text, false).is_ok());
    }
}
