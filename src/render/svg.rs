//! The memory graph (`--format svg`): the linkage map of the objects a run created, as an SVG picture. One record
//! per object — the fd table, each struct file, socket and sock, and the tables they point into (file_operations,
//! proto_ops, proto) — with its fields and live addresses; one arrow per pointer field; a backlink's arrow carries
//! the verdict (✓/✗) of the claim that checked it; the two ends of a TCP connection are joined by a dashed arrow.
//!
//! Layout: layout-rs, a pure-Rust Sugiyama-style layered layout (as graphviz's dot does it), embedded rather than
//! running graphviz: no runtime dependency, the same picture for the same evidence on every machine, and nothing
//! to install in the lab guest. Drawing: this module's own backend, so every string (kernel strings, symbols,
//! argv in the caption) is escaped for XML here, the picture is black on white, and text stays text (selectable).
//!
//! Works on the report's JSON form, so a saved report — a lab run's — renders the same on the host.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use layout::core::base::Orientation;
use layout::core::format::{ClipHandle, RenderBackend};
use layout::core::geometry::Point;
use layout::core::style::{LineStyleKind, StyleAttr};
use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, RecordDef, ShapeKind};
use layout::topo::layout::VisualGraph;
use serde_json::Value;

use super::escape::text as esc;
use crate::claims::ids;

/// At most this many calls' linkage maps are drawn (the first calls that made an fd: socket(), accept4()).
pub const MAX_MAPS: usize = 8;

/// Layout units per character (layout-rs sizes a label as characters × font size).
const LAYOUT_FONT: usize = 9;
/// Layout units per character of an arrow's label: differs from LAYOUT_FONT only to tell labels apart.
const LABEL_FONT: usize = 8;
/// The drawn font size: a monospace character is ~0.6 em wide (7.2 px), inside the 9 px per character laid out.
const DRAWN_FONT: f64 = 12.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// "socket:0xffff…": the object's kind and address (tables: their address).
    pub key: String,
    pub title: String,
    /// The object's address as the report has it ("0xffff…").
    pub addr: String,
    /// Field lines, each with the port an arrow leaves from (pointer fields).
    pub fields: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: String,
    /// The field of `from` the pointer is in (None: the peer arrow).
    pub port: Option<String>,
    pub to: String,
    pub label: String,
    /// The claim that checked this pointer in this call, and its verdict.
    pub claim: Option<(String, String)>,
    /// The two ends of one connection (dashed, not a pointer).
    pub peer: bool,
}

#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// The calls whose maps are drawn.
    pub calls: Vec<u64>,
    /// What is not drawn, and why.
    pub notes: Vec<String>,
}

/// A pointer's value as the report has it ("0xffff…"), None when absent or NULL.
fn addr_of(v: &Value) -> Option<String> {
    let a = v.as_str().or_else(|| v["addr"].as_str())?;
    let n = u64::from_str_radix(a.strip_prefix("0x").unwrap_or(a), 16).ok();
    (n != Some(0)).then(|| a.to_string())
}

fn named(v: &Value) -> String {
    match v {
        Value::Object(_) => v["name"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| v["raw"].as_i64().map(|r| r.to_string()).unwrap_or_else(|| "?".into())),
        Value::String(s) => s.clone(),
        Value::Null => "?".into(),
        v => v.to_string(),
    }
}

fn sym(v: &Value) -> String {
    v["symbol"].as_str().map(String::from).or_else(|| v["addr"].as_str().map(String::from)).unwrap_or("?".into())
}

impl Graph {
    fn node(&mut self, n: Node) {
        if !self.nodes.iter().any(|x| x.key == n.key) {
            self.nodes.push(n);
        }
    }

    /// An arrow from `from`.`port` to the object at `to_addr` of kind `kind`: to its node when the map walked it,
    /// else to a node saying the pointer leads to something this map did not walk.
    fn pointer(&mut self, from: &str, port: &str, kind: &str, to_addr: &str, claim: Option<(String, String)>) {
        self.pointer_labelled(from, port, port, kind, to_addr, claim)
    }

    /// The same pointer seen again in a later call (an address reused, or one object in two maps) keeps one arrow,
    /// marked with the worse verdict of the two.
    fn pointer_labelled(
        &mut self,
        from: &str,
        port: &str,
        label: &str,
        kind: &str,
        to_addr: &str,
        claim: Option<(String, String)>,
    ) {
        let mut to = format!("{kind}:{to_addr}");
        if !self.nodes.iter().any(|n| n.key == to) {
            to = format!("unwalked:{to_addr}");
            self.node(Node {
                key: to.clone(),
                title: format!("not walked (a {kind} was expected)"),
                addr: to_addr.to_string(),
                fields: vec![],
            });
        }
        let rank = |c: &Option<(String, String)>| match c.as_ref().map(|c| c.1.as_str()) {
            Some("refuted") => 3,
            Some("not_observable") => 2,
            Some(_) => 1,
            None => 0,
        };
        let e = Edge { from: from.into(), port: Some(port.into()), to, label: label.into(), claim, peer: false };
        match self.edges.iter_mut().find(|x| x.from == e.from && x.port == e.port && x.to == e.to) {
            Some(x) => {
                if rank(&e.claim) > rank(&x.claim) {
                    x.claim = e.claim;
                }
            }
            None => self.edges.push(e),
        }
    }
}

/// The graph of a report: the linkage maps of the first calls that made an fd, merged by address (one node per
/// object, one fd table with a slot per fd), and the connections' pairs.
#[cfg(test)]
pub fn graph(r: &Value) -> Graph {
    let calls = r["calls"].as_array().map(Vec::as_slice).unwrap_or_default();
    // A call that made an fd returned it, and its exit walk read that fd (socket(), accept4(); not a write
    // returning 4 bytes on fd 4: its entry walk read the same fd).
    let made: Vec<&Value> = calls
        .iter()
        .filter(|c| {
            c["after"]["file"].is_object()
                && c["after"]["fd"].as_i64().is_some()
                && c["after"]["fd"] == c["ret"]
                && c["before"]["fd"] != c["after"]["fd"]
        })
        .collect();
    let maps: Vec<&Value> = if made.is_empty() {
        calls.iter().filter(|c| c["after"]["file"].is_object()).take(1).collect()
    } else {
        made.iter().copied().take(MAX_MAPS).collect()
    };
    graph_of(r, &maps, made.len(), calls.len())
}

/// The graph of a report read back (or made live): the calls it draws chosen as `graph` chooses them, and only
/// those (and their claims) as JSON — never the whole report.
pub fn graph_report(r: &crate::report::Report) -> Graph {
    let made = |c: &&crate::model::Call| {
        c.after.file.is_some()
            && c.after.fd.is_some()
            && c.after.fd.map(i64::from) == c.ret
            && c.before.fd != c.after.fd
    };
    let n_made = r.calls.iter().filter(made).count();
    let chosen: Vec<&crate::model::Call> = if n_made == 0 {
        r.calls.iter().filter(|c| c.after.file.is_some()).take(1).collect()
    } else {
        r.calls.iter().filter(made).take(MAX_MAPS).collect()
    };
    fn j<T: serde::Serialize>(v: T) -> Value {
        serde_json::to_value(v).unwrap_or_default()
    }
    let maps: Vec<Value> = chosen.iter().map(j).collect();
    let seqs: std::collections::HashSet<usize> = chosen.iter().map(|c| c.seq).collect();
    let claims: Vec<Value> = r
        .claims
        .iter()
        .filter(|c| c.call.is_some_and(|s| seqs.contains(&s)))
        .map(|c| serde_json::json!({"id": c.id, "call": c.call, "verdict": j(c.verdict)}))
        .collect();
    let v = serde_json::json!({
        "claims": claims,
        "totals": {"calls": r.totals.calls},
        "connections": {"pairs": j(r.connections.as_ref().map(|c| &c.pairs))},
    });
    graph_of(&v, &maps.iter().collect::<Vec<_>>(), n_made, r.calls.len())
}

/// The graph of the calls `maps` (`made` of the report's `calls` made an fd), with the claims, totals and
/// connections of `r`.
fn graph_of(r: &Value, maps: &[&Value], made: usize, calls: usize) -> Graph {
    let mut g = Graph::default();
    let verdicts: BTreeMap<(String, u64), String> = r["claims"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| {
                    Some(((c["id"].as_str()?.to_string(), c["call"].as_u64()?), c["verdict"].as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    if made > MAX_MAPS {
        let total = r["totals"]["calls"].as_u64().unwrap_or(calls as u64);
        g.notes.push(format!(
            "the graph shows the first {MAX_MAPS} calls that made an fd; {} more of the {} calls this report keeps in full made one ({total} calls in the run)",
            made - MAX_MAPS,
            calls
        ));
    }
    for c in maps.iter().copied() {
        let seq = c["seq"].as_u64().unwrap_or(0);
        g.calls.push(seq);
        let claim = |id: &str| verdicts.get(&(id.to_string(), seq)).map(|v| (id.to_string(), v.clone()));
        let a = &c["after"];
        let (f, so, sk) = (&a["file"], &a["socket"], &a["sock"]);
        let fdt = addr_of(&a["fdtable"]["fdt"]).unwrap_or_else(|| "?".into());
        let fd = a["fd"].as_i64();
        // The nodes first (so that pointers find them), then the pointers.
        let Some(file) = addr_of(f) else { continue };
        let fdt_key = format!("fdtable:{fdt}");
        if let Some(fd) = fd {
            let slot = (format!("fd[{fd}] = {file}"), Some(format!("fd{fd}")));
            match g.nodes.iter_mut().find(|n| n.key == fdt_key) {
                Some(n) => {
                    if !n.fields.contains(&slot) {
                        n.fields.push(slot);
                    }
                }
                None => g.nodes.push(Node {
                    key: fdt_key.clone(),
                    title: format!("struct fdtable (pid {})", c["pid"].as_i64().unwrap_or(0)),
                    addr: fdt.clone(),
                    fields: vec![slot],
                }),
            }
        }
        let f_op = addr_of(&f["f_op"]);
        g.node(Node {
            key: format!("file:{file}"),
            title: "struct file".into(),
            addr: file.clone(),
            fields: vec![
                (format!("f_op = {}", f_op.as_deref().unwrap_or("NULL")), Some("f_op".into())),
                (
                    format!("private_data = {}", addr_of(&f["private_data"]).as_deref().unwrap_or("NULL")),
                    Some("private_data".into()),
                ),
                (format!("f_flags = {}", named(&f["f_flags"])), None),
                (format!("f_count = {}", named(&f["f_count"])), None),
                (format!("f_inode = {}", addr_of(&f["inode"]).as_deref().unwrap_or("NULL")), None),
            ],
        });
        if let Some(op) = &f_op {
            g.node(Node {
                key: format!("file_operations:{op}"),
                title: "struct file_operations".into(),
                addr: op.clone(),
                fields: vec![
                    (format!("read_iter = {}", sym(&f["f_op_read_iter"])), None),
                    (format!("release = {}", sym(&f["f_op_release"])), None),
                ],
            });
        }
        let socket = addr_of(so);
        if let Some(s) = &socket {
            g.node(Node {
                key: format!("socket:{s}"),
                title: "struct socket".into(),
                addr: s.clone(),
                fields: vec![
                    (format!("state = {}", named(&so["state"])), None),
                    (format!("type = {}", named(&so["type"])), None),
                    (format!("file = {}", addr_of(&so["file"]).as_deref().unwrap_or("NULL")), Some("file".into())),
                    (format!("sk = {}", addr_of(&so["sk"]).as_deref().unwrap_or("NULL")), Some("sk".into())),
                    (format!("ops = {}", addr_of(&so["ops"]).as_deref().unwrap_or("NULL")), Some("ops".into())),
                ],
            });
            if let Some(ops) = addr_of(&so["ops"]) {
                g.node(Node {
                    key: format!("proto_ops:{ops}"),
                    title: format!("struct proto_ops ({})", named(&so["ops_family"])),
                    addr: ops,
                    fields: vec![
                        (format!("release = {}", sym(&so["ops_release"])), None),
                        (format!("bind = {}", sym(&so["ops_bind"])), None),
                        (format!("connect = {}", sym(&so["ops_connect"])), None),
                    ],
                });
            }
        }
        let sock = addr_of(sk);
        if let Some(s) = &sock {
            let fields = vec![
                (format!("sk_family = {}", named(&sk["family"])), None),
                (format!("sk_type = {}", named(&sk["type"])), None),
                (format!("sk_protocol = {}", named(&sk["protocol"])), None),
                (format!("sk_state = {}", named(&sk["state"])), None),
                (
                    format!("sk_socket = {}", addr_of(&sk["sk_socket"]).as_deref().unwrap_or("NULL")),
                    Some("sk_socket".into()),
                ),
                (format!("sk_prot = {}", addr_of(&sk["sk_prot"]).as_deref().unwrap_or("NULL")), Some("sk_prot".into())),
            ];
            g.node(Node { key: format!("sock:{s}"), title: "struct sock".into(), addr: s.clone(), fields });
            if let Some(p) = addr_of(&sk["sk_prot"]) {
                g.node(Node {
                    key: format!("proto:{p}"),
                    title: format!("struct proto ({})", sk["prot_name"].as_str().unwrap_or("?")),
                    addr: p,
                    fields: vec![(format!("close = {}", sym(&sk["prot_close"])), None)],
                });
            }
        }
        if let Some(fd) = fd {
            // provenance.file checks fdt->fd[ret] against the file the chain made (tiers A/B).
            g.pointer_labelled(
                &fdt_key,
                &format!("fd{fd}"),
                &format!("fd[{fd}]"),
                "file",
                &file,
                claim(ids::PROVENANCE_FILE.id),
            );
        }
        let fkey = format!("file:{file}");
        if let Some(op) = &f_op {
            g.pointer(&fkey, "f_op", "file_operations", op, None);
        }
        if let Some(p) = addr_of(&f["private_data"]) {
            g.pointer(&fkey, "private_data", "socket", &p, claim(ids::FILE_PRIVATE_DATA_IS_SOCKET.id));
        }
        if let Some(s) = &socket {
            let skey = format!("socket:{s}");
            if let Some(p) = addr_of(&so["file"]) {
                g.pointer(&skey, "file", "file", &p, claim(ids::SOCKET_FILE_IS_FILE.id));
            }
            if let Some(p) = addr_of(&so["sk"]) {
                g.pointer(&skey, "sk", "sock", &p, claim(ids::SOCKET_SK_IS_SOCK.id));
            }
            if let Some(p) = addr_of(&so["ops"]) {
                g.pointer(&skey, "ops", "proto_ops", &p, claim(ids::SOCKET_OPS_IS_FAMILY_OPS.id));
            }
        }
        if let Some(s) = &sock {
            let kkey = format!("sock:{s}");
            if let Some(p) = addr_of(&sk["sk_socket"]) {
                g.pointer(&kkey, "sk_socket", "socket", &p, claim(ids::SOCK_SK_SOCKET_BACKLINK.id));
            }
            if let Some(p) = addr_of(&sk["sk_prot"]) {
                // No claim checks sk_prot itself (sock.protocol_resolved compares protocol numbers).
                g.pointer(&kkey, "sk_prot", "proto", &p, None);
            }
        }
    }
    for p in r["connections"]["pairs"].as_array().into_iter().flatten().take(MAX_MAPS) {
        let (Some(a), Some(b)) = (p["a"].as_str(), p["b"].as_str()) else { continue };
        let (ka, kb) = (format!("sock:{a}"), format!("sock:{b}"));
        if g.nodes.iter().any(|n| n.key == ka) && g.nodes.iter().any(|n| n.key == kb) {
            let ends = match (p["a_local"].as_str(), p["b_local"].as_str()) {
                (Some(x), Some(y)) => format!(" (later {x} ⇄ {y})"),
                _ => String::new(),
            };
            g.edges.push(Edge {
                from: ka,
                port: None,
                to: kb,
                label: format!("the two ends of one connection{ends}"),
                claim: None,
                peer: true,
            });
        }
    }
    if g.calls.is_empty() {
        g.notes.push("no call in this report made an fd whose file the walk read: nothing to draw".into());
    }
    g
}

/// XML text: control characters shown as escapes (XML 1.0 cannot carry most of them), then the XML specials.
pub fn xml(s: &str) -> String {
    let t = esc(s);
    let mut o = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // Not characters XML 1.0 may carry.
            '\u{fffe}' | '\u{ffff}' => o.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

/// layout-rs's drawing calls, written as black-and-white SVG.
#[derive(Default)]
struct Canvas {
    body: String,
    min: (f64, f64),
    max: (f64, f64),
    clips: usize,
    arrows: usize,
}

impl Canvas {
    fn grow(&mut self, p: Point) {
        self.min = (self.min.0.min(p.x), self.min.1.min(p.y));
        self.max = (self.max.0.max(p.x), self.max.1.max(p.y));
    }
}

impl RenderBackend for Canvas {
    fn draw_rect(&mut self, xy: Point, size: Point, look: &StyleAttr, _p: Option<String>, clip: Option<ClipHandle>) {
        self.grow(xy);
        self.grow(Point::new(xy.x + size.x, xy.y + size.y));
        let fill = if look.fill_color.is_some() { "#fff" } else { "none" };
        let clip = clip.map(|c| format!(" clip-path=\"url(#clip{c})\"")).unwrap_or_default();
        let _ = writeln!(
            self.body,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" stroke=\"#000\" stroke-width=\"{}\"{clip}/>",
            xy.x,
            xy.y,
            size.x,
            size.y,
            look.line_width.max(1)
        );
    }

    fn draw_line(&mut self, a: Point, b: Point, look: &StyleAttr, _p: Option<String>) {
        self.grow(a);
        self.grow(b);
        let _ = writeln!(
            self.body,
            "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#000\" stroke-width=\"{}\"/>",
            a.x,
            a.y,
            b.x,
            b.y,
            look.line_width.max(1)
        );
    }

    fn draw_circle(&mut self, xy: Point, size: Point, look: &StyleAttr, _p: Option<String>) {
        self.grow(Point::new(xy.x - size.x / 2., xy.y - size.y / 2.));
        self.grow(Point::new(xy.x + size.x / 2., xy.y + size.y / 2.));
        let _ = writeln!(
            self.body,
            "<ellipse cx=\"{:.1}\" cy=\"{:.1}\" rx=\"{:.1}\" ry=\"{:.1}\" fill=\"none\" stroke=\"#000\" stroke-width=\"{}\"/>",
            xy.x,
            xy.y,
            size.x / 2.,
            size.y / 2.,
            look.line_width.max(1)
        );
    }

    fn draw_text(&mut self, xy: Point, text: &str, look: &StyleAttr) {
        if text.is_empty() || look.font_size == LABEL_FONT {
            return;
        }
        let _ = writeln!(
            self.body,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" dominant-baseline=\"central\">{}</text>",
            xy.x,
            xy.y,
            xml(text)
        );
    }

    fn draw_arrow(
        &mut self,
        path: &[(Point, Point)],
        dashed: bool,
        head: (bool, bool),
        look: &StyleAttr,
        properties: Option<String>,
        text: &str,
    ) {
        if path.len() < 2 {
            return;
        }
        for p in path {
            self.grow(p.0);
            self.grow(p.1);
        }
        let mut d = format!(
            "M {:.1} {:.1} C {:.1} {:.1}, {:.1} {:.1}, {:.1} {:.1}",
            path[0].0.x, path[0].0.y, path[0].1.x, path[0].1.y, path[1].0.x, path[1].0.y, path[1].1.x, path[1].1.y
        );
        for p in &path[2..] {
            let _ = write!(d, " S {:.1} {:.1}, {:.1} {:.1}", p.0.x, p.0.y, p.1.x, p.1.y);
        }
        let id = self.arrows;
        self.arrows += 1;
        let dash = if dashed { " stroke-dasharray=\"6,4\"" } else { "" };
        let start = if head.0 { " marker-start=\"url(#head-start)\"" } else { "" };
        let end = if head.1 { " marker-end=\"url(#head)\"" } else { "" };
        let props = properties.unwrap_or_default();
        let (class, label) = props.split_once('\t').unwrap_or(("pointer", text));
        let _ = writeln!(
            self.body,
            "<g class=\"{}\"><path id=\"arrow{id}\" d=\"{d}\" fill=\"none\" stroke=\"#000\" stroke-width=\"{}\"{dash}{start}{end}/>",
            xml(class),
            look.line_width.max(1)
        );
        if !label.is_empty() {
            // At the middle of the path's anchor points, on a white halo: plain text (librsvg, like many viewers,
            // draws no textPath).
            let anchors: Vec<Point> = std::iter::once(path[0].0).chain(path[1..].iter().map(|p| p.1)).collect();
            let m = anchors.len() / 2;
            let mid = if anchors.len() % 2 == 1 {
                anchors[m]
            } else {
                Point::new((anchors[m - 1].x + anchors[m].x) / 2., (anchors[m - 1].y + anchors[m].y) / 2.)
            };
            let _ = writeln!(
                self.body,
                "<text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" stroke=\"#fff\" stroke-width=\"4\" paint-order=\"stroke\">{}</text>",
                mid.x,
                mid.y - 6.0,
                xml(label)
            );
        }
        self.body.push_str("</g>\n");
    }

    fn create_clip(&mut self, xy: Point, size: Point, rounded: usize) -> ClipHandle {
        let c = self.clips;
        self.clips += 1;
        let _ = writeln!(
            self.body,
            "<clipPath id=\"clip{c}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"{rounded}\"/></clipPath>",
            xy.x, xy.y, size.x, size.y
        );
        c
    }
}

fn mark(verdict: &str) -> &'static str {
    match verdict {
        "proved" => "✓",
        "refuted" => "✗",
        _ => "–",
    }
}

/// The memory graph of a report, as a whole SVG document.
#[cfg(test)]
pub fn render(r: &Value) -> String {
    draw(graph(r), r["kernel"]["release"].as_str(), r["kernel"]["tier"].as_str(), r["command"].as_str())
}

/// The memory graph of a report read back (or made live), as `render` draws its JSON form.
pub fn render_report(r: &crate::report::Report) -> String {
    let tier = serde_json::to_value(r.kernel.tier).unwrap_or_default();
    draw(graph_report(r), Some(&r.kernel.release), tier.as_str(), Some(&r.command))
}

fn draw(g: Graph, release: Option<&str>, tier: Option<&str>, command: Option<&str>) -> String {
    let mut vg = VisualGraph::new(Orientation::LeftToRight);
    let look = StyleAttr::new(
        layout::core::color::Color::fast("black"),
        1,
        Some(layout::core::color::Color::fast("white")),
        0,
        LAYOUT_FONT,
    );
    let mut handles = BTreeMap::new();
    for n in &g.nodes {
        let mut cells = vec![RecordDef::new_text(&n.title), RecordDef::new_text(&n.addr)];
        cells.extend(n.fields.iter().map(|(t, port)| match port {
            Some(p) => RecordDef::new_text_with_port(t, p),
            None => RecordDef::new_text(t),
        }));
        let shape = ShapeKind::Record(RecordDef::Array(cells));
        let sz = layout::std_shapes::render::get_shape_size(Orientation::TopToBottom, &shape, LAYOUT_FONT, false);
        let e = Element::create(shape, look.clone(), Orientation::TopToBottom, sz);
        handles.insert(n.key.clone(), vg.add_node(e));
    }
    for e in &g.edges {
        let (Some(&a), Some(&b)) = (handles.get(&e.from), handles.get(&e.to)) else { continue };
        let label = match &e.claim {
            Some((_, v)) => format!("{} {}", e.label, mark(v)),
            None => e.label.clone(),
        };
        let mut alook = StyleAttr::simple();
        alook.font_size = LAYOUT_FONT;
        alook.line_width = if e.claim.as_ref().is_some_and(|(_, v)| v == "refuted") { 3 } else { 1 };
        // layout-rs makes an arrow's text a node of its own on the arrow's way (so the layout leaves room for it)
        // and draws it apart from the arrow. The label also travels in the arrow's properties: Canvas::draw_arrow
        // draws it with the arrow, and skips the separate copy (known by its font size).
        alook.font_size = LABEL_FONT;
        let arrow = Arrow::with_properties(
            if e.peer { LineEndKind::Arrow } else { LineEndKind::None },
            LineEndKind::Arrow,
            if e.peer { LineStyleKind::Dashed } else { LineStyleKind::Normal },
            &label,
            &alook,
            format!("{}\t{label}", if e.peer { "peer" } else { "pointer" }),
            // No ports: layout-rs 0.1.3 places a record's port on a row boundary, so an arrow would seem to leave
            // from the neighbouring field. The arrow leaves the object's box; its label names the field.
            &None,
            &None,
        );
        vg.add_edge(arrow, a, b);
    }
    let mut c = Canvas::default();
    if !g.nodes.is_empty() {
        vg.do_it(false, false, false, &mut c);
    }
    let pad = 16.0;
    let mut caption = vec![format!(
        "syswalk memory graph · kernel {} · tier {} · calls {}",
        release.unwrap_or("?"),
        tier.unwrap_or("?"),
        if g.calls.is_empty() {
            "(none)".to_string()
        } else {
            g.calls.iter().map(|s| format!("#{s}")).collect::<Vec<_>>().join(", ")
        }
    )];
    caption.push(format!("command: {}", command.unwrap_or("?")));
    caption.push("each object as the call that made it left it (its fields at that call's exit)".into());
    caption.push("arrows: pointer fields; ✓/✗ the verdict of the claim that checked the pointer in that call (no mark: no claim did); dashed: the two ends of one connection".into());
    caption.extend(g.notes.iter().cloned());
    // Wide enough for the longest caption line (monospace: ~0.6 em per character, escapes included).
    let text_w = caption.iter().map(|l| esc(l).chars().count()).max().unwrap_or(0) as f64 * DRAWN_FONT * 0.62;
    let width = (c.max.0 - c.min.0).max(text_w).max(600.0) + 2.0 * pad;
    let cap_h = 20.0 * caption.len() as f64 + 10.0;
    let height = (c.max.1 - c.min.1).max(0.0) + 2.0 * pad + cap_h;
    let (x0, y0) = (c.min.0 - pad, c.min.1 - pad);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{x0:.1} {y0:.1} {width:.1} {height:.1}\" width=\"{width:.0}\" height=\"{height:.0}\" font-family=\"DejaVu Sans Mono, monospace\" font-size=\"{DRAWN_FONT}\">"
    );
    let _ = writeln!(o, "<title>{}</title>", xml(&caption[0]));
    o.push_str("<defs><marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#000\"/></marker><marker id=\"head-start\" viewBox=\"0 0 10 10\" refX=\"0\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M 10 0 L 0 5 L 10 10 z\" fill=\"#000\"/></marker></defs>\n");
    let _ =
        writeln!(o, "<rect x=\"{x0:.1}\" y=\"{y0:.1}\" width=\"{width:.1}\" height=\"{height:.1}\" fill=\"#fff\"/>");
    o.push_str(&c.body);
    let mut y = c.max.1.max(c.min.1) + pad + 14.0;
    for line in &caption {
        let _ = writeln!(o, "<text class=\"caption\" x=\"{:.1}\" y=\"{y:.1}\">{}</text>", c.min.0, xml(line));
        y += 20.0;
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_report_has_seven_objects_and_eight_pointers_and_a_wrong_backlink_is_marked() {
        let mut r = serde_json::to_value(crate::fixtures::report()).expect("json");
        let g = graph(&r);
        let kinds: Vec<&str> = g.nodes.iter().map(|n| n.key.split(':').next().unwrap_or("")).collect();
        assert_eq!(kinds, ["fdtable", "file", "file_operations", "socket", "proto_ops", "sock", "proto"], "{g:#?}");
        assert_eq!(g.edges.len(), 8, "{:#?}", g.edges);
        let svg = render(&r);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        // A backlink that points elsewhere goes to a node saying so, and its claim's verdict is on the arrow.
        let calls = r["calls"].as_array_mut().expect("calls");
        calls[0]["after"]["sock"]["sk_socket"] = "0xffff888100000040".into();
        let g = graph(&r);
        assert!(g.nodes.iter().any(|n| n.key == "unwalked:0xffff888100000040"), "{:#?}", g.nodes);
        assert!(render(&r).contains("0xffff888100000040"));
    }

    #[test]
    fn a_null_pointer_draws_no_arrow_and_a_reused_address_keeps_one_arrow_with_the_worse_verdict() {
        let mut r = serde_json::to_value(crate::fixtures::report()).expect("json");
        r["calls"][0]["after"]["sock"]["sk_socket"] = "0x0000000000000000".into();
        let g = graph(&r);
        assert_eq!(g.edges.len(), 7, "no arrow for a NULL sk_socket: {:#?}", g.edges);
        assert!(g.nodes.iter().all(|n| !n.key.starts_with("unwalked:")), "{:#?}", g.nodes);
        assert!(g.nodes.iter().any(|n| n.fields.iter().any(|(f, _)| f == "sk_socket = NULL")));
        // The same call again (an address reused by a later socket()): one arrow per pointer, labels kept, and a
        // refutation in the later call shows.
        let mut r = serde_json::to_value(crate::fixtures::report()).expect("json");
        let mut again = r["calls"][0].clone();
        again["seq"] = 99.into();
        r["calls"].as_array_mut().expect("calls").push(again);
        let seq = r["calls"][0]["seq"].clone();
        let mut bad = r["claims"]
            .as_array()
            .expect("claims")
            .iter()
            .find(|c| c["id"] == ids::SOCKET_FILE_IS_FILE.id && c["call"] == seq)
            .expect("claim")
            .clone();
        bad["call"] = 99.into();
        bad["verdict"] = "refuted".into();
        r["claims"].as_array_mut().expect("claims").push(bad);
        let g = graph(&r);
        assert_eq!(g.edges.len(), 8, "{:#?}", g.edges);
        let labels: Vec<&str> = g.edges.iter().map(|e| e.label.as_str()).collect();
        assert!(labels.contains(&"fd[3]") && labels.contains(&"sk_prot"), "{labels:?}");
        let file = g.edges.iter().find(|e| e.label == "file").expect("file arrow");
        assert_eq!(file.claim.as_ref().map(|c| c.1.as_str()), Some("refuted"));
    }

    /// The typed path (a report read back or made live: only the calls drawn become JSON) draws exactly what the
    /// report's JSON form draws: the fixture, a repeated call with a refuted claim, more calls that made an fd than
    /// are drawn, and none that did.
    #[test]
    fn a_report_draws_the_same_as_its_json() {
        let base = serde_json::to_value(crate::fixtures::report()).expect("json");
        let mut many = base.clone();
        let first = many["calls"][0].clone();
        let claims: Vec<Value> = many["claims"].as_array().expect("claims").clone();
        for i in 0..12 {
            let mut c = first.clone();
            c["seq"] = (100 + i).into();
            many["calls"].as_array_mut().expect("calls").push(c);
            for cl in claims.iter().filter(|cl| cl["call"] == first["seq"]) {
                let mut cl = cl.clone();
                cl["call"] = (100 + i).into();
                if i % 3 == 0 {
                    cl["verdict"] = "refuted".into();
                }
                many["claims"].as_array_mut().expect("claims").push(cl);
            }
        }
        let mut none = base.clone();
        for c in none["calls"].as_array_mut().expect("calls") {
            c["ret"] = (-1).into();
        }
        for v in [base, many, none] {
            let r: crate::report::Report = serde_json::from_value(v.clone()).expect("a report");
            assert_eq!(render_report(&r), render(&v));
        }
    }

    #[test]
    fn hostile_strings_are_text_in_the_svg() {
        let mut r = serde_json::to_value(crate::fixtures::report()).expect("json");
        r["command"] = "prove -- ./t '\"><script>alert(1)</script>\u{1b}[2J'".into();
        r["calls"][0]["after"]["sock"]["prot_name"] = "<b>&\u{7}".into();
        let svg = render(&r);
        assert!(!svg.contains("<script>") && !svg.contains("<b>") && !svg.contains('\u{1b}') && !svg.contains('\u{7}'));
        assert!(svg.contains("&lt;script&gt;") && svg.contains("\\x1b") && svg.contains("&lt;b&gt;&amp;\\x07"));
    }
}
