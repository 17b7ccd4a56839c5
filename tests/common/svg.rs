//! An independent reader of syswalk's SVG pictures: it parses the document as XML (roxmltree) and recovers the
//! memory graph from what is *drawn* — the outermost rectangles are the objects, the text inside a rectangle is
//! its content, and an arrow joins the rectangles its path starts and ends on — not from any tag syswalk adds.
//! Also writes a PNG screenshot with librsvg (rsvg-convert), a second SVG implementation that must accept it.
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    fn contains(&self, x: f64, y: f64, slack: f64) -> bool {
        x >= self.x - slack && x <= self.x + self.w + slack && y >= self.y - slack && y <= self.y + self.h + slack
    }
    fn inside(&self, o: &Rect) -> bool {
        self.x >= o.x - 0.5
            && self.y >= o.y - 0.5
            && self.x + self.w <= o.x + o.w + 0.5
            && self.y + self.h <= o.y + o.h + 0.5
    }
}

#[derive(Debug)]
pub struct Node {
    pub rect: Rect,
    /// The texts drawn inside, top to bottom.
    pub texts: Vec<String>,
}

#[derive(Debug)]
pub struct Arrow {
    /// Indexes into `Drawn::nodes` of the rectangles the path starts and ends on.
    pub from: usize,
    pub to: usize,
    pub label: String,
    pub dashed: bool,
}

#[derive(Debug)]
pub struct Drawn {
    pub nodes: Vec<Node>,
    pub arrows: Vec<Arrow>,
    /// Texts outside every node (captions).
    pub loose: Vec<String>,
}

fn num(n: &roxmltree::Node, a: &str) -> Result<f64, String> {
    n.attribute(a).ok_or(format!("<{}> without {a}", n.tag_name().name()))?.parse().map_err(|e| format!("{a}: {e}"))
}

fn numbers(d: &str) -> Vec<f64> {
    d.split(|c: char| c.is_whitespace() || c == ',' || c.is_ascii_alphabetic()).filter_map(|t| t.parse().ok()).collect()
}

/// Parses the picture and recovers its nodes and arrows.
pub fn read(svg: &str) -> Result<Drawn, String> {
    let doc = roxmltree::Document::parse(svg).map_err(|e| format!("not XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "svg" || root.tag_name().namespace() != Some("http://www.w3.org/2000/svg") {
        return Err(format!("root is <{}>, not an SVG <svg>", root.tag_name().name()));
    }
    let vb = numbers(root.attribute("viewBox").ok_or("no viewBox")?);
    if vb.len() != 4 {
        return Err("viewBox is not 4 numbers".into());
    }
    let mut rects = Vec::new();
    for n in root.descendants().filter(|n| n.has_tag_name("rect")) {
        if n.ancestors().any(|a| a.has_tag_name("clipPath") || a.has_tag_name("defs")) {
            continue;
        }
        let r = Rect { x: num(&n, "x")?, y: num(&n, "y")?, w: num(&n, "width")?, h: num(&n, "height")? };
        // The white page behind everything.
        if (r.x - vb[0]).abs() < 0.5 && (r.y - vb[1]).abs() < 0.5 && (r.w - vb[2]).abs() < 0.5 {
            continue;
        }
        rects.push(r);
    }
    let outer: Vec<Rect> = rects
        .iter()
        .enumerate()
        .filter(|(i, r)| !rects.iter().enumerate().any(|(j, o)| j != *i && r.inside(o) && !(o.inside(r) && j > *i)))
        .map(|(_, r)| *r)
        .collect();
    let mut nodes: Vec<Node> = outer.into_iter().map(|rect| Node { rect, texts: vec![] }).collect();
    let mut loose = Vec::new();
    for t in root.descendants().filter(|n| n.has_tag_name("text")) {
        // Arrow labels belong to their arrow (below), not to the node they happen to cross.
        if t.parent().is_some_and(|g| g.children().any(|c| c.has_tag_name("path"))) {
            continue;
        }
        let s: String = t.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect();
        let (x, y) = (num(&t, "x")?, num(&t, "y")?);
        match nodes.iter_mut().find(|n| n.rect.contains(x, y, 0.0)) {
            Some(n) => n.texts.push(s),
            None => loose.push(s),
        }
    }
    let mut arrows = Vec::new();
    for p in root.descendants().filter(|n| n.has_tag_name("path")) {
        if p.ancestors().any(|a| a.has_tag_name("defs")) {
            continue;
        }
        let v = numbers(p.attribute("d").ok_or("path without d")?);
        if v.len() < 4 {
            return Err(format!("a path of {} numbers", v.len()));
        }
        let (sx, sy, ex, ey) = (v[0], v[1], v[v.len() - 2], v[v.len() - 1]);
        let at = |x: f64, y: f64| -> Result<usize, String> {
            let hits: Vec<usize> =
                nodes.iter().enumerate().filter(|(_, n)| n.rect.contains(x, y, 4.0)).map(|(i, _)| i).collect();
            match hits.as_slice() {
                [i] => Ok(*i),
                _ => Err(format!("an arrow end at ({x:.1}, {y:.1}) is on {} objects", hits.len())),
            }
        };
        // An arrow's label is the text drawn in the same group as its path.
        let label = p
            .parent()
            .and_then(|g| g.children().find(|d| d.has_tag_name("text")))
            .map(|t| t.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect())
            .unwrap_or_default();
        // The arrowhead says which way the pointer goes: a path drawn from its target has its head at the start.
        let (head_start, head_end) = (p.attribute("marker-start").is_some(), p.attribute("marker-end").is_some());
        let (from, to) = if head_start && !head_end { (at(ex, ey)?, at(sx, sy)?) } else { (at(sx, sy)?, at(ex, ey)?) };
        if !head_start && !head_end {
            return Err("an arrow without a head".into());
        }
        arrows.push(Arrow { from, to, label, dashed: p.attribute("stroke-dasharray").is_some() });
    }
    Ok(Drawn { nodes, arrows, loose })
}

impl Drawn {
    /// The node showing `addr` as a text of its own (the object's address line).
    pub fn node_of(&self, addr: &str) -> Option<usize> {
        let hits: Vec<usize> =
            self.nodes.iter().enumerate().filter(|(_, n)| n.texts.iter().any(|t| t == addr)).map(|(i, _)| i).collect();
        (hits.len() == 1).then(|| hits[0])
    }
}

/// Checks the memory graph of a one-socket() report as drawn: one node per object of the first call's linkage map
/// (fd table, file, file_operations, socket, proto_ops, sock, proto), each showing the report's address; one arrow
/// per pointer field, from the holder to the target; backlinks marked with their claim's verdict.
pub fn check_memory_graph(r: &serde_json::Value, svg: &str) -> Drawn {
    use serde_json::Value;
    let d = read(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    // The linkage map of the call, read from the report's own fields.
    let a = &r["calls"][0]["after"];
    let addr = |v: &Value| v.as_str().or_else(|| v["addr"].as_str()).expect("an address").to_string();
    let (fdt, file, fop, socket, ops, sock, prot) = (
        addr(&a["fdtable"]["fdt"]),
        addr(&a["file"]),
        addr(&a["file"]["f_op"]),
        addr(&a["socket"]),
        addr(&a["socket"]["ops"]),
        addr(&a["sock"]),
        addr(&a["sock"]["sk_prot"]),
    );
    let objects = [&fdt, &file, &fop, &socket, &ops, &sock, &prot];
    assert_eq!(d.nodes.len(), objects.len(), "one node per object: {:#?}", d.nodes);
    let node = |x: &str| d.node_of(x).unwrap_or_else(|| panic!("no single node shows {x}: {:#?}", d.nodes));
    let mut seen: Vec<usize> = objects.iter().map(|x| node(x)).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), objects.len(), "each object its own node");
    // Every pointer of the map, as the report has it: the arrow goes from its holder to its target.
    let p = |v: &Value| addr(v);
    let pointers = [
        (&fdt, &file, "fd[3]".to_string()),
        (&file, &p(&a["file"]["f_op"]), "f_op".into()),
        (&file, &p(&a["file"]["private_data"]), "private_data".into()),
        (&socket, &p(&a["socket"]["file"]), "file".into()),
        (&socket, &p(&a["socket"]["sk"]), "sk".into()),
        (&socket, &p(&a["socket"]["ops"]), "ops".into()),
        (&sock, &p(&a["sock"]["sk_socket"]), "sk_socket".into()),
        (&sock, &p(&a["sock"]["sk_prot"]), "sk_prot".into()),
    ];
    assert_eq!(d.arrows.len(), pointers.len(), "one arrow per pointer: {:#?}", d.arrows);
    for (from, to, field) in &pointers {
        let (f, t) = (node(from), node(to));
        let arrow = d
            .arrows
            .iter()
            .find(|x| x.from == f && x.to == t && x.label.split(' ').next() == Some(field.as_str()))
            .unwrap_or_else(|| panic!("no arrow {field} from {from} to {to}: {:#?}", d.arrows));
        assert!(!arrow.dashed);
    }
    // The backlinks carry the verdicts of the claims that checked them.
    for (field, id) in [
        ("fd[3]", "provenance.file"),
        ("sk_socket", "sock.sk_socket_backlink"),
        ("file", "socket.file_is_file"),
        ("private_data", "file.private_data_is_socket"),
        ("sk", "socket.sk_is_sock"),
        ("ops", "socket.ops_is_family_ops"),
    ] {
        let seq = r["calls"][0]["seq"].as_u64();
        // The claim judged for this call (tier C judges the chain's claims run-wide, without a call: no mark).
        let verdict = r["claims"]
            .as_array()
            .expect("claims")
            .iter()
            .find(|c| c["id"] == id && c["call"].as_u64() == seq)
            .and_then(|c| c["verdict"].as_str());
        let a = d.arrows.iter().find(|x| x.label.split(' ').next() == Some(field)).expect("arrow");
        match verdict {
            Some(v) => {
                let mark = match v {
                    "proved" => '✓',
                    "refuted" => '✗',
                    _ => '–',
                };
                assert!(a.label.ends_with(mark), "{field}: {} ({id} {v})", a.label);
            }
            None => assert_eq!(a.label, field, "{field}: no {id} claim for this call, so no mark"),
        }
    }
    // A pointer no claim checks carries no mark.
    for field in ["f_op", "sk_prot"] {
        let a = d.arrows.iter().find(|x| x.label.split(' ').next() == Some(field)).expect("arrow");
        assert_eq!(a.label, field, "{field} is checked by no claim: no mark");
    }
    assert!(d.loose.iter().any(|t| t.starts_with("syswalk memory graph · kernel ")), "the caption: {:?}", d.loose);
    d
}

/// Where pictures are left for a person to look at: `target/tmp/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&d).expect("screenshot dir");
    d
}

/// Renders `svg` to `DIR/name.png` with rsvg-convert and returns the PNG's width and height.
pub fn screenshot(svg: &Path, name: &str) -> (u32, u32) {
    let png = screenshot_dir().join(format!("{name}.png"));
    let o = Command::new("rsvg-convert")
        .arg(svg)
        .arg("-o")
        .arg(&png)
        .output()
        .expect("rsvg-convert (librsvg2-bin, installed by scripts/setup.sh)");
    assert!(o.status.success(), "librsvg refused {}: {}", svg.display(), String::from_utf8_lossy(&o.stderr));
    let b = std::fs::read(&png).expect("png");
    assert_eq!(&b[1..4], b"PNG", "{} is a PNG", png.display());
    let be = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    eprintln!("screenshot: {}", png.display());
    (be(16), be(20))
}
