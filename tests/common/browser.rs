//! A real headless Chromium (Debian's chromium-headless-shell) driven over the DevTools protocol: pages loaded from
//! disk, console errors, exceptions and failed requests collected, the DOM queried, real mouse input, screenshots.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium-headless-shell";

pub struct Browser {
    child: Child,
    ws: tungstenite::WebSocket<TcpStream>,
    next: u64,
    session: String,
    /// Events seen while waiting for replies (console errors, failed requests, load events), in order.
    pub events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    pub fn launch() -> Browser {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium-headless-shell"
        );
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(CHROMIUM)
            .args([
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--allow-file-access-from-files",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium-headless-shell");
        let err = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(i) = l.find("ws://") {
                    let _ = tx.send(l[i..].trim().to_string());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).expect("chromium printed no DevTools URL in 30 s");
        let hostport = url.trim_start_matches("ws://").split('/').next().expect("host:port").to_string();
        let stream = TcpStream::connect(&hostport).expect("connect to DevTools");
        stream.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
        let (ws, _) = tungstenite::client::client(url.as_str(), stream).expect("DevTools websocket");
        let mut b = Browser { child, ws, next: 0, session: String::new(), events: vec![], _profile: profile };
        let target = b.call_browser("Target.createTarget", json!({"url": "about:blank"}));
        let id = target["targetId"].as_str().expect("targetId").to_string();
        let att = b.call_browser("Target.attachToTarget", json!({"targetId": id, "flatten": true}));
        b.session = att["sessionId"].as_str().expect("sessionId").to_string();
        for m in ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"] {
            b.call(m, json!({}));
        }
        b
    }

    fn send(&mut self, method: &str, params: Value, session: bool) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if session {
            msg["sessionId"] = json!(self.session);
        }
        self.ws.send(tungstenite::Message::Text(msg.to_string().into())).expect("send to DevTools");
        loop {
            let m = self.ws.read().expect("read from DevTools");
            let tungstenite::Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).expect("DevTools JSON");
            if v["id"].as_u64() == Some(id) {
                assert!(v["error"].is_null(), "{method}: {}", v["error"]);
                return v["result"].clone();
            }
            if v["method"].is_string() {
                self.events.push(v);
            }
        }
    }

    fn call_browser(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, false)
    }

    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.send(method, params, true)
    }

    /// Waits for an event of this method (already seen since `mark`, or arriving within 30 s).
    fn wait_event(&mut self, method: &str, mark: usize) {
        let t0 = Instant::now();
        while !self.events[mark..].iter().any(|e| e["method"] == method) {
            assert!(t0.elapsed() < Duration::from_secs(30), "no {method} within 30 s");
            // A cheap round trip drains the events that arrived meanwhile.
            self.call("Runtime.evaluate", json!({"expression": "1"}));
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn viewport(&mut self, width: u32, height: u32) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
    }

    /// Loads a page and waits for its load event; returns what went wrong while loading: console errors,
    /// uncaught exceptions and failed requests.
    pub fn open(&mut self, url: &str) -> Vec<String> {
        let mark = self.events.len();
        let r = self.call("Page.navigate", json!({"url": url}));
        assert!(r["errorText"].is_null(), "navigating to {url}: {}", r["errorText"]);
        self.wait_event("Page.loadEventFired", mark);
        self.problems(mark)
    }

    pub fn problems(&self, mark: usize) -> Vec<String> {
        let mut p = Vec::new();
        for e in &self.events[mark..] {
            let p_ = &e["params"];
            match e["method"].as_str().unwrap_or("") {
                "Runtime.exceptionThrown" => p.push(format!("exception: {}", p_["exceptionDetails"])),
                "Runtime.consoleAPICalled" if p_["type"] == "error" => p.push(format!("console.error: {}", p_["args"])),
                "Log.entryAdded" if p_["entry"]["level"] == "error" => p.push(format!("log error: {}", p_["entry"])),
                "Network.loadingFailed" => p.push(format!("failed request: {p_}")),
                _ => {}
            }
        }
        p
    }

    /// Evaluates a JS expression in the page and returns its value (JSON).
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call("Runtime.evaluate", json!({"expression": expr, "returnByValue": true}));
        assert!(r["exceptionDetails"].is_null(), "{expr}: {}", r["exceptionDetails"]);
        r["result"]["value"].clone()
    }

    /// A real left click at page coordinates (mouse moved, pressed, released).
    pub fn click(&mut self, x: f64, y: f64) {
        for ty in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": ty, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// A real mouse-wheel scroll at page coordinates.
    pub fn wheel(&mut self, x: f64, y: f64, dy: f64) {
        self.call("Input.dispatchMouseEvent", json!({"type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": dy}));
    }

    /// The page as a PNG at `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64(r["data"].as_str().expect("screenshot data"));
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("write screenshot");
    }
}

fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
