//! The evidence model: ring-buffer events paired into calls, each with the objects its walk found, every value
//! named from the running kernel (kallsyms, BTF) or the machine's headers, and every name carrying its origin.
pub mod addr;
pub mod frame;

pub use addr::{Caller, KAddr, ObjKind};

use serde::Serialize;

use crate::machine::btf::Btf;
use crate::machine::headers;
use crate::machine::kallsyms::Kallsyms;
use crate::probes::boundary::{self, EvKind, RawEvent, Walked};

/// Where names come from on this machine.
#[derive(Default)]
pub struct Namer {
    pub kallsyms: Kallsyms,
    pub btf: Option<std::sync::Arc<Btf>>,
    /// Names already looked up (a value is named the same way every time): lookups scan headers and every BTF
    /// enum, far too slow to repeat for every call of a long run.
    pub cache: std::cell::RefCell<std::collections::HashMap<(&'static str, i64), Value>>,
}

pub fn hex(v: u64) -> String {
    format!("{v:#018x}")
}

/// A number and, where the machine names it, its name and where the name came from.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Value {
    pub raw: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

impl Value {
    pub fn plain(raw: i64) -> Self {
        Value { raw, name: None, origin: None }
    }
    pub fn show(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.raw),
            None => self.raw.to_string(),
        }
    }
}

/// A kernel pointer and, where kallsyms names it, the symbol.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Ptr {
    pub addr: KAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
}

impl Ptr {
    pub fn show(&self) -> String {
        match &self.symbol {
            Some(s) => format!("{} <{s}>", self.addr),
            None => self.addr.to_string(),
        }
    }
}

impl Namer {
    pub fn ptr(&self, addr: u64) -> Ptr {
        Ptr { addr: KAddr(addr), symbol: self.kallsyms.exact(addr).map(|s| s.name.clone()) }
    }
    /// A text pointer: exact symbol or symbol+offset.
    pub fn text(&self, addr: u64) -> Ptr {
        Ptr { addr: KAddr(addr), symbol: self.kallsyms.symbolize(addr) }
    }
    fn cached(&self, key: &'static str, v: i64, look: impl FnOnce() -> Value) -> Value {
        if let Some(hit) = self.cache.borrow().get(&(key, v)) {
            return hit.clone();
        }
        let val = look();
        self.cache.borrow_mut().insert((key, v), val.clone());
        val
    }
    pub fn btf_enum(&self, enum_name: &'static str, v: i64) -> Value {
        self.cached(enum_name, v, || match self.btf.as_ref().and_then(|b| b.enum_name(enum_name, v)) {
            Some(n) => Value { raw: v, name: Some(n.name), origin: Some(n.origin) },
            None => Value::plain(v),
        })
    }
    pub fn btf_anchor(&self, anchor: &'static str, prefix: &str, v: i64) -> Value {
        self.cached(anchor, v, || match self.btf.as_ref().and_then(|b| b.enum_name_by_anchor(anchor, prefix, v)) {
            Some(n) => Value { raw: v, name: Some(n.name), origin: Some(n.origin) },
            None => Value::plain(v),
        })
    }
    pub fn family(&self, v: i64) -> Value {
        self.cached("AF_", v, || match headers::family_name(v) {
            Some(c) => Value { raw: v, name: Some(c.name), origin: Some(format!("{}:{}", c.file, c.line)) },
            None => Value::plain(v),
        })
    }
    pub fn sock_type(&self, v: i64) -> Value {
        self.btf_enum("sock_type", v)
    }
    pub fn protocol(&self, v: i64) -> Value {
        self.btf_anchor("IPPROTO_TCP", "IPPROTO_", v)
    }
    pub fn tcp_state(&self, v: i64) -> Value {
        self.btf_anchor("TCP_ESTABLISHED", "TCP_", v)
    }
    /// A setsockopt level: SOL_SOCKET from the headers, else the IPPROTO_* it is (a protocol number).
    pub fn sockopt_level(&self, v: i64) -> Value {
        self.cached("SOL_", v, || match headers::name_in(&headers::asm_socket_h(), "SOL_", v) {
            Some(c) => Value { raw: v, name: Some(c.name), origin: Some(format!("{}:{}", c.file, c.line)) },
            None => self.protocol(v),
        })
    }
    /// A SOL_SOCKET option name (SO_*) from the headers.
    pub fn so_option(&self, v: i64) -> Value {
        self.cached("SO_", v, || match headers::name_in(&headers::asm_socket_h(), "SO_", v) {
            Some(c) => Value { raw: v, name: Some(c.name), origin: Some(format!("{}:{}", c.file, c.line)) },
            None => Value::plain(v),
        })
    }
    pub fn errno(&self, e: i64) -> Value {
        self.cached("errno", e, || self.errno_lookup(e))
    }
    fn errno_lookup(&self, e: i64) -> Value {
        for f in ["/usr/include/asm-generic/errno-base.h", "/usr/include/asm-generic/errno.h"] {
            if let Some(text) = headers::header_text(f) {
                for (i, l) in text.lines().enumerate() {
                    let mut t = l.split_whitespace();
                    if t.next() == Some("#define") {
                        if let (Some(n), Some(v)) = (t.next(), t.next()) {
                            if v.parse::<i64>().ok() == Some(e) && n.starts_with('E') {
                                return Value {
                                    raw: e,
                                    name: Some(n.to_string()),
                                    origin: Some(format!("{f}:{}", i + 1)),
                                };
                            }
                        }
                    }
                }
            }
        }
        Value::plain(e)
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct FdTable {
    pub files: KAddr,
    pub fdt: KAddr,
    /// Slots in use (from fdt->open_fds), within the first `bitmap_bits` fds.
    pub open: Vec<u32>,
    pub bitmap_bits: u32,
    pub max_fds: u32,
    pub next_fd: u32,
    pub rlimit_nofile_cur: u64,
    pub rlimit_nofile_max: u64,
    /// files->count: how many tasks share this fd table (more than 1: threads made with CLONE_FILES, or a
    /// passing reference such as a /proc reader).
    pub files_users: u32,
}

impl FdTable {
    pub fn is_open(&self, fd: u32) -> Option<bool> {
        (fd < self.bitmap_bits).then(|| self.open.contains(&fd))
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct FileObj {
    pub addr: KAddr,
    pub f_op: Ptr,
    pub f_op_read_iter: Ptr,
    pub f_op_release: Ptr,
    pub private_data: KAddr,
    pub f_mode: String,
    pub f_flags: String,
    /// The reference count. Since 6.13 the kernel stores count-1 in f_ref; `f_count_raw` is what memory held.
    pub f_count: i64,
    pub f_count_raw: i64,
    pub f_count_field: String,
    /// file->f_inode, and what its i_mode says the file is ("socket", "pipe (FIFO)", "regular file", …; "anonymous
    /// inode" for eventfd, epoll, timerfd and the like). Only a "socket" is walked further as a struct socket.
    pub inode: KAddr,
    pub i_mode: String,
    #[serde(rename = "type")]
    pub ty: String,
}

impl FileObj {
    pub fn is_socket(&self) -> bool {
        self.ty == "socket"
    }
}

/// A file's f_flags as open(2) names them: "O_RDWR|O_NONBLOCK (0o4002)" (the names and values of the C library's
/// fcntl.h, which are the kernel's uapi ones).
pub fn open_flags(f: u32) -> String {
    let f = f as i32;
    let mut names = vec![match f & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        libc::O_RDWR => "O_RDWR",
        _ => "O_ACCMODE=3",
    }
    .to_string()];
    let mut rest = f & !libc::O_ACCMODE;
    for (bit, name) in [
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_NOCTTY, "O_NOCTTY"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_DSYNC, "O_DSYNC"),
        (libc::O_DIRECT, "O_DIRECT"),
        (libc::O_LARGEFILE, "O_LARGEFILE"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_NOATIME, "O_NOATIME"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_PATH, "O_PATH"),
    ] {
        if rest & bit == bit && bit != 0 {
            names.push(name.into());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#o}"));
    }
    format!("{} ({:#o})", names.join("|"), f)
}

/// The flag bits socket() and accept4() take in their type/flags argument, as names.
pub fn sock_flags(v: i64) -> Option<String> {
    let mut rest = v;
    let mut names = Vec::new();
    for (bit, name) in [(libc::SOCK_NONBLOCK as i64, "SOCK_NONBLOCK"), (libc::SOCK_CLOEXEC as i64, "SOCK_CLOEXEC")] {
        if rest & bit != 0 {
            names.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    (!names.is_empty()).then(|| names.join("|"))
}

/// A user-space pointer argument: its value in hex (NULL for 0).
pub fn user_ptr(raw: u64) -> Value {
    Value { raw: raw as i64, name: Some(if raw == 0 { "NULL".into() } else { format!("{raw:#x}") }), origin: None }
}

/// What an inode's mode says the file is (the S_IFMT bits, named as `ls -l` and stat(2) name them).
pub fn file_type(i_mode: u32, known: bool) -> &'static str {
    if !known {
        return "unknown (the inode was not read)";
    }
    match i_mode & libc::S_IFMT {
        libc::S_IFSOCK => "socket",
        libc::S_IFIFO => "pipe (FIFO)",
        libc::S_IFREG => "regular file",
        libc::S_IFDIR => "directory",
        libc::S_IFCHR => "character device",
        libc::S_IFBLK => "block device",
        libc::S_IFLNK => "symbolic link",
        0 => "anonymous inode (eventfd, epoll, timerfd, signalfd, …)",
        _ => "unknown file type",
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SocketObj {
    pub addr: KAddr,
    pub state: Value,
    #[serde(rename = "type")]
    pub ty: Value,
    pub flags: String,
    pub ops: Ptr,
    pub ops_family: Value,
    pub ops_release: Ptr,
    pub ops_bind: Ptr,
    pub ops_connect: Ptr,
    pub file: KAddr,
    pub sk: KAddr,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SockObj {
    pub addr: KAddr,
    pub family: Value,
    pub protocol: Value,
    #[serde(rename = "type")]
    pub ty: Value,
    pub state: Value,
    pub rcvbuf: i32,
    pub sndbuf: i32,
    pub refcnt: i32,
    pub sk_prot: Ptr,
    pub prot_name: String,
    pub prot_close: Ptr,
    pub sk_socket: KAddr,
    pub max_ack_backlog: u32,
    /// sk_ack_backlog: connections waiting in the accept queue.
    pub ack_backlog: u32,
    /// sk_receive_queue.qlen: buffers waiting to be read.
    pub rcvq_len: u32,
    /// Read only when the family is AF_INET (the sock is then an inet_sock; IPv6 addresses are not read yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inet: Option<InetObj>,
}

/// A sock's inet_sock part: where it is bound and connected (IPv4 addresses).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct InetObj {
    /// skc_rcv_saddr, the bound local address.
    pub rcv_saddr: String,
    /// skc_num (inet_num): the local port, host byte order.
    pub num: u16,
    /// inet_sport as memory holds it (network byte order), and that read as a number on this (little-endian) CPU.
    pub sport_raw: String,
    /// ntohs(inet_sport): equals `num` once the port is set.
    pub sport: u16,
    pub daddr: String,
    /// ntohs(skc_dport): the peer's port.
    pub dport: u16,
    /// Only for a TCP stream sock (an inet_connection_sock / tcp_sock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpObj>,
}

impl InetObj {
    pub fn local(&self) -> String {
        host_port(&self.rcv_saddr, self.num)
    }
    pub fn peer(&self) -> String {
        host_port(&self.daddr, self.dport)
    }
    /// The local address is the wildcard (0.0.0.0, or :: for AF_INET6): every address of the host.
    pub fn any_local(&self) -> bool {
        matches!(self.rcv_saddr.as_str(), "0.0.0.0" | "::")
    }
}

/// address:port as people write it: an IPv6 address in brackets ([::1]:80, [::ffff:127.0.0.1]:80 for a
/// v4-mapped one), an IPv4 address bare.
pub fn host_port(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// An IPv6 address as memory holds it (struct in6_addr as four u32 words in memory order), in its text form
/// (v4-mapped ones as ::ffff:a.b.c.d).
pub fn ipv6(words: &[u32; 4]) -> String {
    let mut b = [0u8; 16];
    for (i, w) in words.iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
    }
    let a = std::net::Ipv6Addr::from(b);
    match a.to_ipv4_mapped() {
        Some(v4) => format!("::ffff:{v4}"),
        None => a.to_string(),
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct TcpObj {
    /// icsk_bind_hash: the bind bucket holding the local port (NULL when unbound), and the port it holds.
    pub bind_bucket: KAddr,
    pub bind_bucket_port: u16,
    pub rcv_nxt: u32,
    pub copied_seq: u32,
    /// rcv_nxt − copied_seq: bytes received and not yet read.
    pub unread: u32,
    pub write_seq: u32,
    pub snd_una: u32,
}

/// An IPv4 address as memory holds it (network byte order) in dotted form.
pub fn ipv4(be: u32) -> String {
    std::net::Ipv4Addr::from(u32::from_be(be)).to_string()
}

/// A sockaddr read from the caller's memory.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct SockAddr {
    /// The length the call gave (bind, connect) or the kernel wrote back (accept4, getsockname).
    pub len: u32,
    pub family: Value,
    /// For AF_INET and AF_INET6: the address and port (the port converted from network byte order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The bytes read, in hex.
    pub bytes: String,
    /// Where they were read: at entry or at exit.
    pub read_at: std::borrow::Cow<'static, str>,
}

impl SockAddr {
    /// address:port as the caller gave or got it (an IPv6 address in brackets); "?" for what was not decoded.
    pub fn told(&self) -> String {
        match (&self.addr, self.port) {
            (Some(a), Some(p)) => host_port(a, p),
            _ => format!(
                "{}:{}",
                self.addr.as_deref().unwrap_or("?"),
                self.port.map(|p| p.to_string()).unwrap_or_default()
            ),
        }
    }
}

/// Decodes a user sockaddr (None when it was not read).
pub fn sockaddr_of(u: &crate::probes::intf::sw_uaddr, read_at: &'static str, n: &Namer) -> Option<SockAddr> {
    if u.err != 0 {
        return None;
    }
    let got = (u.len as usize).min(u.bytes.len());
    let b = &u.bytes[..got];
    let fam = b.get(..2).map(|f| u16::from_ne_bytes([f[0], f[1]]) as i64)?;
    // sockaddr_in: family, port (network order), address at 4; sockaddr_in6: family, port, flowinfo, address at 8.
    let (addr, port) = if fam == libc::AF_INET as i64 && b.len() >= 8 {
        (Some(std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]).to_string()), Some(u16::from_be_bytes([b[2], b[3]])))
    } else if fam == libc::AF_INET6 as i64 && b.len() >= 24 {
        let mut w = [0u32; 4];
        for (i, x) in w.iter_mut().enumerate() {
            *x = u32::from_ne_bytes([b[8 + i * 4], b[9 + i * 4], b[10 + i * 4], b[11 + i * 4]]);
        }
        (Some(ipv6(&w)), Some(u16::from_be_bytes([b[2], b[3]])))
    } else {
        (None, None)
    };
    Some(SockAddr {
        len: u.len,
        family: n.family(fam),
        addr,
        port,
        bytes: b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" "),
        read_at: read_at.into(),
    })
}

/// A TCP state change (tp_btf/inet_sock_set_state).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct StateChange {
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub sock: KAddr,
    pub old: Value,
    pub new: Value,
    pub local: String,
    pub peer: String,
}

/// The end of an object the chain watched (tiers A/B): freed, or (a sock) handed to TIME_WAIT. It runs in whatever
/// context the kernel frees in: an RCU callback, a timer, the peer's packet, so `pid`/`comm` are that context's.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Freed {
    /// "socket" (sock_free_inode), "sock" (__sk_destruct) or "time_wait" (tcp_time_wait).
    pub what: std::borrow::Cow<'static, str>,
    /// The object: the struct socket or struct sock.
    pub addr: KAddr,
    /// The function's first argument as passed: the inode, the rcu_head, or the sock itself.
    pub arg: KAddr,
    pub func: String,
    /// The probe that saw it ("fentry/__sk_destruct", "kprobe/sock_free_inode", …).
    pub probe: String,
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub cpu: u32,
    pub comm: String,
    /// tcp_time_wait's state argument (TCP_TIME_WAIT, or TCP_FIN_WAIT2 for a FIN_WAIT2 timewait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
}

pub fn freed(e: &crate::probes::chain::RawFree, attach: &str, n: &Namer) -> Freed {
    use crate::probes::chain::FreeWhat;
    let (what, func) = match FreeWhat(e.what) {
        FreeWhat::SW_FREE_SOCKET => ("socket", "sock_free_inode"),
        FreeWhat::SW_FREE_SOCK => ("sock", "__sk_destruct"),
        _ => ("time_wait", "tcp_time_wait"),
    };
    // The name from kallsyms when the address resolves there (it should be the function probed).
    let func =
        n.kallsyms.symbolize(e.func_ip).map(|s| s.split('+').next().unwrap_or(&s).to_string()).unwrap_or(func.into());
    let comm: Vec<u8> = e.comm.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    Freed {
        what: what.into(),
        addr: KAddr(e.addr),
        arg: KAddr(e.arg),
        probe: format!("{attach}/{func}"),
        func,
        ts_ns: e.ts_ns,
        pid: e.tgid,
        tid: e.tid,
        cpu: e.cpu,
        comm: String::from_utf8_lossy(&comm).into_owned(),
        state: (what == "time_wait").then(|| n.tcp_state(e.state as i64)),
    }
}

pub fn state_change(e: &RawEvent, n: &Namer) -> StateChange {
    let st = &e.st;
    let v6 = st.family as i32 == libc::AF_INET6;
    StateChange {
        ts_ns: e.ts_ns,
        pid: e.tgid,
        tid: e.tid,
        comm: boundary::comm(e),
        sock: KAddr(st.skaddr),
        old: n.tcp_state(st.oldstate as i64),
        new: n.tcp_state(st.newstate as i64),
        local: if v6 { host_port(&ipv6(&st.saddr6), st.sport) } else { host_port(&ipv4(st.saddr), st.sport) },
        peer: if v6 { host_port(&ipv6(&st.daddr6), st.dport) } else { host_port(&ipv4(st.daddr), st.dport) },
    }
}

/// What one CO-RE walk found, at syscall entry or exit.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Default)]
pub struct Walk {
    pub fd: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fdtable: Option<FdTable>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileObj>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<SocketObj>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sock: Option<SockObj>,
}

fn cstr(b: &[std::ffi::c_char]) -> String {
    let v: Vec<u8> = b.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&v).into_owned()
}

pub fn walk_of(ev: &RawEvent, n: &Namer) -> Walk {
    let has = |w: Walked| ev.walked & w.0 != 0;
    let mut out = Walk { fd: (ev.walk_fd >= 0).then_some(ev.walk_fd), ..Default::default() };
    if has(Walked::SW_W_FDT) {
        let words = (ev.fdt.max_fds / 64).min(ev.fdt.open_fds.len() as u32);
        let mut open = Vec::new();
        for w in 0..words {
            for b in 0..64 {
                if ev.fdt.open_fds[w as usize] >> b & 1 == 1 {
                    open.push(w * 64 + b);
                }
            }
        }
        out.fdtable = Some(FdTable {
            files: KAddr(ev.fdt.files),
            fdt: KAddr(ev.fdt.fdt),
            open,
            bitmap_bits: words * 64,
            max_fds: ev.fdt.max_fds,
            next_fd: ev.fdt.next_fd,
            rlimit_nofile_cur: ev.fdt.rlim_cur,
            rlimit_nofile_max: ev.fdt.rlim_max,
            files_users: ev.fdt.files_users,
        });
    }
    if has(Walked::SW_W_FILE) {
        out.file = Some(file_obj(&ev.file, has(Walked::SW_W_FREF), has(Walked::SW_W_INODE), n));
    }
    if has(Walked::SW_W_SOCKET) {
        out.socket = Some(socket_obj(&ev.socket, has(Walked::SW_W_OPS), n));
    }
    if has(Walked::SW_W_SOCK) {
        out.sock = Some(sock_obj(&ev.sock, has(Walked::SW_W_INET), has(Walked::SW_W_TCP), n));
    }
    out
}

pub fn file_obj(f: &crate::probes::intf::sw_file, fref: bool, inode: bool, n: &Namer) -> FileObj {
    FileObj {
        addr: KAddr(f.addr),
        f_op: n.ptr(f.f_op),
        f_op_read_iter: n.text(f.f_op_read_iter),
        f_op_release: n.text(f.f_op_release),
        private_data: KAddr(f.private_data),
        f_mode: format!("{:#x}", f.f_mode),
        f_flags: open_flags(f.f_flags),
        f_count: if fref { f.count + 1 } else { f.count },
        f_count_raw: f.count,
        f_count_field: if fref { "f_ref.refcnt (stores count-1)".into() } else { "f_count".into() },
        inode: KAddr(f.f_inode),
        i_mode: format!("{:#o}", f.i_mode),
        ty: file_type(f.i_mode, inode).into(),
    }
}

pub fn socket_obj(s: &crate::probes::intf::sw_socket, ops: bool, n: &Namer) -> SocketObj {
    SocketObj {
        addr: KAddr(s.addr),
        state: n.btf_anchor("SS_UNCONNECTED", "SS_", s.state as i64),
        ty: n.sock_type(s.r#type as i64),
        flags: format!("{:#x}", s.flags),
        ops: n.ptr(s.ops),
        ops_family: if ops { n.family(s.ops_family as i64) } else { Value::plain(-1) },
        ops_release: n.text(s.ops_release),
        ops_bind: n.text(s.ops_bind),
        ops_connect: n.text(s.ops_connect),
        file: KAddr(s.file),
        sk: KAddr(s.sk),
    }
}

pub fn sock_obj(k: &crate::probes::intf::sw_sock, inet: bool, tcp: bool, n: &Namer) -> SockObj {
    let tcp = tcp.then(|| TcpObj {
        bind_bucket: KAddr(k.bind_hash),
        bind_bucket_port: k.bind_port,
        rcv_nxt: k.rcv_nxt,
        copied_seq: k.copied_seq,
        unread: k.rcv_nxt.wrapping_sub(k.copied_seq),
        write_seq: k.write_seq,
        snd_una: k.snd_una,
    });
    let v6 = k.family as i32 == libc::AF_INET6;
    let inet = inet.then(|| InetObj {
        rcv_saddr: if v6 { ipv6(&k.rcv_saddr6) } else { ipv4(k.rcv_saddr) },
        num: k.num,
        sport_raw: format!("{:#06x}", k.sport),
        sport: u16::from_be(k.sport),
        daddr: if v6 { ipv6(&k.daddr6) } else { ipv4(k.daddr) },
        dport: u16::from_be(k.dport),
        tcp,
    });
    SockObj {
        addr: KAddr(k.addr),
        family: n.family(k.family as i64),
        // IPPROTO_* names an inet sock's protocol only: another family's sk_protocol is its own number.
        protocol: if matches!(k.family as i32, libc::AF_INET | libc::AF_INET6) {
            n.protocol(k.protocol as i64)
        } else {
            Value::plain(k.protocol as i64)
        },
        ty: n.sock_type(k.r#type as i64),
        state: n.tcp_state(k.state as i64),
        rcvbuf: k.rcvbuf,
        sndbuf: k.sndbuf,
        refcnt: k.refcnt,
        sk_prot: n.ptr(k.sk_prot),
        prot_name: cstr(&k.prot_name),
        prot_close: n.text(k.prot_close),
        sk_socket: KAddr(k.sk_socket),
        max_ack_backlog: k.max_ack_backlog,
        ack_backlog: k.ack_backlog,
        rcvq_len: k.rcvq_len,
        inet,
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Arg {
    pub name: String,
    pub value: Value,
}

/// One system call, paired from its entry and exit events.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Call {
    pub seq: usize,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub syscall: String,
    pub nr: i64,
    pub args: Vec<Arg>,
    /// Registers at entry as the tracepoint saw them (rdi, rsi, rdx, r10, r8, r9; orig_ax = nr).
    pub regs: Vec<String>,
    /// The user side at entry: instruction pointer, stack pointer, the word on top of the stack, text load address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRegs>,
    pub enter_ns: Option<u64>,
    pub exit_ns: Option<u64>,
    pub latency_ns: Option<u64>,
    pub ret: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<Value>,
    pub before: Walk,
    pub after: Walk,
    /// The sockaddr the call named (bind, connect: read at entry) or got back (accept, accept4, getsockname: at exit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockaddr: Option<SockAddr>,
    pub probes: Vec<String>,
    /// The function-level chain inside this call (tiers A/B), in entry order with depths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<crate::model::frame::Frame>,
    /// Tiers A/B: every object the call's chain allocated, what in the call was given it to release, and the free
    /// seen after it (filled in when the free arrives: the kernel frees after an RCU grace period).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allocations: Vec<Allocation>,
    /// Boundary events lost in the run (a full ring buffer) before this call's exit was recorded: 0 when the
    /// evidence up to this call is complete. A claim does not refute on evidence that may be among them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lost_before: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One object a call allocated (tiers A/B), followed to its release and its free, matched by pointer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Allocation {
    /// "struct socket", "struct sock" or "struct file".
    pub object: String,
    pub addr: KAddr,
    /// The function whose return value it was (sock_alloc, sk_alloc, sock_alloc_file).
    pub allocated_by: String,
    /// The functions of the same call that were given it to release (sock_release, __sock_release, tcp_close), in
    /// the order they ran; empty when the call kept it (a successful call installs what it made).
    pub released_by: Vec<String>,
    /// The function that gave its memory back (sock_free_inode, __sk_destruct), seen after the call; None when no
    /// free was seen while tracing (a kept object is freed at its close, followed by `close.freed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freed_by: Option<String>,
    /// When the free came, in ns after the call returned: negative when it came inside the call (a sock whose
    /// last reference the call dropped is destructed before the call returns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freed_after_ns: Option<i64>,
}

/// User-space registers at syscall entry (tp_btf/sys_enter), raw.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct UserRegs {
    pub ip: u64,
    pub sp: u64,
    /// The 8 bytes at sp (0 when unreadable).
    pub sp0: u64,
    /// task->mm->start_code: load address of the executable's text segment.
    pub start_code: u64,
}

/// How the model pairs and names one syscall's events: its number and how its arguments are named. Each syscall's
/// module (`crate::syscalls`) gives its own.
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    pub name: &'static str,
    pub nr: i64,
    pub args: &'static [&'static str],
    pub name_arg: fn(usize, u64, &[u64], &Namer) -> Value,
}

/// The argument naming of a syscall with no special one: argument 0 is an int (an fd), the rest raw.
pub fn plain_arg(idx: usize, raw: u64, _all: &[u64], _: &Namer) -> Value {
    match idx {
        0 => Value::plain(raw as i64 as i32 as i64),
        _ => Value::plain(raw as i64),
    }
}

impl Call {
    /// A call with only its identity filled in (the rest is added as its events arrive).
    fn bare(seq: usize, e: &RawEvent, syscall: String) -> Call {
        Call {
            seq,
            pid: e.tgid,
            tid: e.tid,
            comm: boundary::comm(e),
            syscall,
            nr: e.nr,
            args: Vec::new(),
            regs: Vec::new(),
            user: None,
            enter_ns: None,
            exit_ns: None,
            latency_ns: None,
            ret: None,
            errno: None,
            before: Walk::default(),
            after: Walk::default(),
            sockaddr: None,
            probes: Vec::new(),
            chain: Vec::new(),
            allocations: Vec::new(),
            lost_before: e.lost_seen,
        }
    }
}

/// Pairs entry and exit events per thread into calls as the events arrive: only the open call of each thread is
/// held, so memory does not grow with the run. Calls are numbered in the order they entered.
pub struct Pairer {
    sigs: Vec<Signature>,
    open: std::collections::HashMap<u32, Call>,
    next_seq: usize,
}

impl Pairer {
    pub fn new(sigs: Vec<Signature>) -> Self {
        Pairer { sigs, open: std::collections::HashMap::new(), next_seq: 1 }
    }

    fn seq(&mut self) -> usize {
        self.next_seq += 1;
        self.next_seq - 1
    }

    /// One boundary event (in per-thread order); the calls it completes go to `done`.
    pub fn push(&mut self, e: &RawEvent, n: &Namer, done: &mut Vec<Call>) {
        let spec = self.sigs.iter().find(|s| s.nr == e.nr).copied();
        let sname = || spec.map(|s| s.name.to_string()).unwrap_or_else(|| format!("syscall_{}", e.nr));
        if e.kind == EvKind::SW_ENTER.0 {
            let argn: &[&str] = spec.map(|s| s.args).unwrap_or(&[]);
            let name_arg = spec.map_or(plain_arg as fn(usize, u64, &[u64], &Namer) -> Value, |s| s.name_arg);
            let args = argn
                .iter()
                .enumerate()
                .map(|(i, a)| Arg { name: a.to_string(), value: name_arg(i, e.args[i], &e.args, n) })
                .collect();
            let mut call = Call::bare(self.seq(), e, sname());
            call.args = args;
            call.regs = ["rdi", "rsi", "rdx", "r10", "r8", "r9"]
                .iter()
                .zip(e.args.iter())
                .map(|(r, v)| format!("{r}={v:#x}"))
                .chain(std::iter::once(format!("orig_ax={}", e.nr)))
                .collect();
            call.user = Some(UserRegs { ip: e.user_ip, sp: e.user_sp, sp0: e.user_sp0, start_code: e.start_code });
            call.enter_ns = Some(e.ts_ns);
            call.before = walk_of(e, n);
            call.sockaddr = sockaddr_of(&e.uaddr, "entry", n);
            call.probes = vec!["tp_btf/sys_enter".into()];
            // An entry while another call of the thread is open: that one's exit was lost; it ends here as it is.
            if let Some(prev) = self.open.insert(e.tid, call) {
                done.push(prev);
            }
        } else if e.kind == EvKind::SW_EXIT.0 {
            let mut c = match self.open.remove(&e.tid) {
                Some(c) if c.nr == e.nr => c,
                other => {
                    done.extend(other);
                    // Exit without a matching entry: the call began before syswalk attached.
                    Call::bare(self.seq(), e, sname())
                }
            };
            c.exit_ns = Some(e.ts_ns);
            c.lost_before = e.lost_seen;
            c.latency_ns = c.enter_ns.map(|t| e.ts_ns.saturating_sub(t));
            c.ret = Some(e.ret);
            if e.ret < 0 && e.ret > -4096 {
                c.errno = Some(n.errno(-e.ret));
            }
            c.after = walk_of(e, n);
            if let Some(a) = sockaddr_of(&e.uaddr, "exit", n) {
                c.sockaddr = Some(a);
            }
            c.probes.push("tp_btf/sys_exit".into());
            done.push(c);
        }
    }

    /// When the earliest open call of a syscall `which` names entered, ignoring calls open for more than `stale_ns`
    /// before `now` (a call whose exit was lost must not hold back everything after it).
    pub fn oldest_open_where(&self, which: impl Fn(&str) -> bool, now: u64, stale_ns: u64) -> Option<u64> {
        self.open
            .values()
            .filter(|c| which(&c.syscall))
            .filter_map(|c| c.enter_ns)
            .filter(|t| now.saturating_sub(*t) <= stale_ns)
            .min()
    }

    /// When the earliest open call of any syscall entered (as `oldest_open_where`).
    pub fn oldest_open(&self, now: u64, stale_ns: u64) -> Option<u64> {
        self.open.values().filter_map(|c| c.enter_ns).filter(|t| now.saturating_sub(*t) <= stale_ns).min()
    }

    /// When the call `tid` has open entered.
    pub fn open_enter(&self, tid: u32) -> Option<u64> {
        self.open.get(&tid).and_then(|c| c.enter_ns)
    }

    /// The calls still open when tracing stopped, as they are (no exit), in entry order.
    pub fn finish(&mut self) -> Vec<Call> {
        let mut v: Vec<Call> = self.open.drain().map(|(_, c)| c).collect();
        v.sort_by_key(|c| c.seq);
        v
    }
}

/// Pairs a whole list of events (sorted by time first): what `Pairer` does for a finished run.
#[cfg(test)]
pub fn calls_from(events: &[RawEvent], specs: &[Signature], n: &Namer) -> Vec<Call> {
    let mut evs: Vec<&RawEvent> = events.iter().collect();
    evs.sort_by_key(|e| e.ts_ns);
    let mut p = Pairer::new(specs.to_vec());
    let mut calls = Vec::new();
    for e in evs {
        p.push(e, n, &mut calls);
    }
    calls.extend(p.finish());
    calls.sort_by_key(|c| c.seq);
    calls
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn spec_socket() -> Signature {
        Signature { name: "socket", nr: 41, args: &["family", "type", "protocol"], name_arg: plain_arg }
    }

    pub fn enter(tid: u32, ts: u64, args: [u64; 3]) -> RawEvent {
        let mut e =
            RawEvent { kind: EvKind::SW_ENTER.0, tgid: tid, tid, nr: 41, ts_ns: ts, walk_fd: -1, ..Default::default() };
        e.args[..3].copy_from_slice(&args);
        e.walked = Walked::SW_W_FDT.0;
        e.fdt.max_fds = 64;
        e.fdt.open_fds[0] = 0b111;
        e
    }

    #[test]
    fn pairs_interleaved_threads() {
        let mut x1 = enter(2, 25, [2, 1, 0]);
        x1.kind = EvKind::SW_EXIT.0;
        x1.ret = 3;
        let mut x2 = enter(3, 30, [10, 2, 0]);
        x2.kind = EvKind::SW_EXIT.0;
        x2.ret = -97;
        let evs = vec![x2, enter(2, 10, [2, 1, 0]), x1, enter(3, 20, [10, 2, 0])];
        let calls = calls_from(&evs, &[spec_socket()], &Namer::default());
        assert_eq!(calls.len(), 2);
        assert_eq!((calls[0].tid, calls[0].ret, calls[0].latency_ns), (2, Some(3), Some(15)));
        assert_eq!((calls[1].tid, calls[1].ret, calls[1].latency_ns), (3, Some(-97), Some(10)));
        assert_eq!(calls[1].errno.as_ref().map(|e| e.raw), Some(97));
        assert_eq!(calls[0].before.fdtable.as_ref().map(|f| f.open.clone()), Some(vec![0, 1, 2]));
    }

    #[test]
    fn exit_without_entry_is_kept() {
        let mut x = enter(9, 5, [0; 3]);
        x.kind = EvKind::SW_EXIT.0;
        x.ret = 4;
        let calls = calls_from(&[x], &[spec_socket()], &Namer::default());
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].enter_ns, None);
        assert_eq!(calls[0].ret, Some(4));
    }

    #[test]
    fn file_ref_count_is_decoded() {
        let mut x = enter(1, 1, [2, 1, 0]);
        x.walked |= Walked::SW_W_FILE.0 | Walked::SW_W_FREF.0;
        x.file.count = 0;
        let w = walk_of(&x, &Namer::default());
        assert_eq!(w.file.map(|f| (f.f_count, f.f_count_raw)), Some((1, 0)));
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    pub fn empty_call() -> Call {
        Call {
            seq: 1,
            pid: 1,
            tid: 1,
            comm: String::new(),
            syscall: "socket".into(),
            nr: 41,
            args: vec![],
            regs: vec![],
            user: None,
            enter_ns: Some(0),
            exit_ns: Some(1000),
            latency_ns: Some(1000),
            ret: Some(3),
            errno: None,
            before: Walk::default(),
            after: Walk::default(),
            sockaddr: None,
            probes: vec![],
            chain: vec![],
            allocations: vec![],
            lost_before: 0,
        }
    }
}
