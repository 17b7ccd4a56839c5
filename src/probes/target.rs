//! The traced process: a command started stopped (it blocks before exec until every probe is attached), the
//! built-in target, or a live PID.
use std::ffi::CString;
use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Kind, Result};

/// Finds `prog` the way execvp would, with errors that say which case it is.
pub fn resolve(prog: &OsString) -> Result<PathBuf> {
    let p = Path::new(prog);
    let candidates: Vec<PathBuf> = if p.components().count() > 1 || prog.to_string_lossy().contains('/') {
        vec![p.to_path_buf()]
    } else {
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        std::env::split_paths(&path).map(|d| d.join(p)).collect()
    };
    let mut not_exec = None;
    for c in candidates {
        if let Ok(md) = std::fs::metadata(&c) {
            if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                return Ok(c);
            }
            not_exec.get_or_insert(c);
        }
    }
    match not_exec {
        Some(c) => {
            Err(Error::new(Kind::NotExecutable, format!("{} exists but is not an executable file", c.display()))
                .hint(format!("make it executable (chmod +x {}) or name the program that runs it", c.display())))
        }
        None => Err(Error::new(Kind::CommandNotFound, format!("command not found: {}", prog.to_string_lossy()))
            .hint("give a path (./prog) or a program on PATH")),
    }
}

/// A child process forked and held before exec until [`Gated::release`], so that every probe is attached before
/// the target runs its first instruction. (std's `Command::spawn` waits for exec, so the fork is done here.)
pub struct Gated {
    pid: libc::pid_t,
    gate: Option<OwnedFd>,
    exec_err: Option<OwnedFd>,
    reaped: Option<Ending>,
}

/// What the child needs, prepared before fork (the child may only make async-signal-safe calls).
pub struct Spec {
    pub path: PathBuf,
    pub argv: Vec<OsString>,
    /// Replace stdout with /dev/null.
    pub null_stdout: bool,
    pub null_stdin: bool,
    /// Send the target's stdout to stderr (when syswalk's report owns stdout).
    pub stdout_to_stderr: bool,
}

fn pipe_cloexec() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid array of two c_ints for pipe2 to fill.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if rc != 0 {
        return Err(Error::io("creating the start gate pipe", std::io::Error::last_os_error()));
    }
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn cstring(s: &std::ffi::OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| Error::new(Kind::Usage, format!("argument {s:?} contains a NUL byte")))
}

impl Gated {
    pub fn spawn(spec: Spec) -> Result<Self> {
        let path = cstring(spec.path.as_os_str())?;
        let argv_c: Vec<CString> = spec.argv.iter().map(|a| cstring(a)).collect::<Result<_>>()?;
        let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let devnull = CString::new("/dev/null").map_err(|_| Error::new(Kind::Internal, "NUL in /dev/null"))?;
        let (grd, gwr) = pipe_cloexec()?;
        let (erd, ewr) = pipe_cloexec()?;
        let (g_r, g_w, e_w) = (grd.as_raw_fd(), gwr.as_raw_fd(), ewr.as_raw_fd());
        // The child only calls async-signal-safe functions (close, read, open, dup2, execv, write, _exit) on data
        // prepared before the fork.
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: fork has no memory-safety preconditions; the child's restrictions are kept as said above.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(Error::io("forking the target", std::io::Error::last_os_error()));
        }
        if pid == 0 {
            // SAFETY: see above; every pointer passed points into CStrings/arrays that live until exec or _exit.
            unsafe {
                libc::close(g_w);
                // A target syswalk launched dies with syswalk (even SIGKILLed), never runs on untraced.
                if !crate::signals::die_with_parent(parent) {
                    libc::_exit(126);
                }
                let mut b = 0u8;
                loop {
                    let n = libc::read(g_r, (&mut b as *mut u8).cast(), 1);
                    if n == 1 {
                        break;
                    }
                    // n == 0: the parent went away without releasing us: never run untraced.
                    if n == 0 || *libc::__errno_location() != libc::EINTR {
                        libc::_exit(126);
                    }
                }
                if spec.null_stdout || spec.null_stdin {
                    let fd = libc::open(devnull.as_ptr(), libc::O_RDWR);
                    if fd >= 0 {
                        if spec.null_stdout {
                            libc::dup2(fd, 1);
                        }
                        if spec.null_stdin {
                            libc::dup2(fd, 0);
                        }
                        if fd > 2 {
                            libc::close(fd);
                        }
                    }
                }
                if spec.stdout_to_stderr && !spec.null_stdout {
                    libc::dup2(2, 1);
                }
                libc::execv(path.as_ptr(), argv.as_ptr());
                let err: i32 = *libc::__errno_location();
                libc::write(e_w, (&err as *const i32).cast(), 4);
                libc::_exit(127);
            }
        }
        drop(grd);
        drop(ewr);
        Ok(Gated { pid, gate: Some(gwr), exec_err: Some(erd), reaped: None })
    }

    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Lets the child exec, and reports an exec failure as an error.
    pub fn release(&mut self) -> Result<()> {
        if let Some(g) = self.gate.take() {
            let b = [1u8];
            // SAFETY: g is an open pipe write end owned by us; b is a valid 1-byte buffer.
            let n = unsafe { libc::write(g.as_raw_fd(), b.as_ptr().cast(), 1) };
            if n != 1 {
                return Err(Error::io("releasing the target", std::io::Error::last_os_error()));
            }
        }
        if let Some(e) = self.exec_err.take() {
            let mut buf = [0u8; 4];
            // SAFETY: e is our read end; buf is 4 writable bytes. EOF (0) means exec succeeded (CLOEXEC closed it).
            let n = unsafe { libc::read(e.as_raw_fd(), buf.as_mut_ptr().cast(), 4) };
            if n == 4 {
                let errno = i32::from_ne_bytes(buf);
                let _ = self.wait();
                let io = std::io::Error::from_raw_os_error(errno);
                return Err(match errno {
                    libc::ENOENT => Error::new(Kind::CommandNotFound, format!("cannot start the target: {io}")),
                    libc::EACCES | libc::ENOEXEC | libc::EPERM => {
                        Error::new(Kind::NotExecutable, format!("cannot execute the target: {io}"))
                    }
                    _ => Error::io("executing the target", io),
                });
            }
        }
        Ok(())
    }

    fn waitpid(&mut self, flags: i32) -> Result<Option<Ending>> {
        if let Some(e) = self.reaped.clone() {
            return Ok(Some(e));
        }
        let mut st = 0i32;
        // SAFETY: st is a valid out-pointer; pid is our own child.
        let r = unsafe { libc::waitpid(self.pid, &mut st, flags) };
        if r == 0 {
            return Ok(None);
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                return Ok(None);
            }
            return Err(Error::io("waiting for the target", e));
        }
        let end = if libc::WIFEXITED(st) {
            Ending::Exited(libc::WEXITSTATUS(st))
        } else if libc::WIFSIGNALED(st) {
            Ending::Signaled(libc::WTERMSIG(st))
        } else {
            Ending::Unknown
        };
        self.reaped = Some(end.clone());
        Ok(Some(end))
    }

    pub fn try_wait(&mut self) -> Result<Option<Ending>> {
        self.waitpid(libc::WNOHANG)
    }

    pub fn wait(&mut self) -> Result<Ending> {
        loop {
            if let Some(e) = self.waitpid(0)? {
                return Ok(e);
            }
        }
    }

    pub fn kill(&mut self) {
        if self.reaped.is_none() {
            // The processes the target started go too (deepest first), then the target; unreaped, so its pid is
            // not reused and the /proc walk sees its own children.
            for p in descendants(self.pid as u32).into_iter().rev() {
                // SAFETY: kill takes a pid and a signal; a pid that ended meanwhile only fails with ESRCH.
                unsafe { libc::kill(p as i32, libc::SIGKILL) };
            }
            // SAFETY: kill on our own unreaped child's pid.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }
}

/// Every process below `pid` (children, their children, …) from /proc/PID/task/*/children, parents first.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else { continue };
        for t in tasks.flatten() {
            let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for k in kids.split_whitespace().filter_map(|k| k.parse::<u32>().ok()) {
                if !out.contains(&k) && out.len() < 100_000 {
                    out.push(k);
                    todo.push(k);
                }
            }
        }
    }
    out
}

impl Drop for Gated {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            // Never leave a held (or running) target behind.
            self.kill();
            let _ = self.wait();
        }
    }
}

/// How a process ended (or how syswalk stopped watching it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "how", content = "value")]
pub enum Ending {
    Exited(i32),
    /// Killed by a signal syswalk did not send.
    Signaled(i32),
    /// syswalk stopped the target it had launched (why: "on SIGINT", "after --duration 5 s").
    StoppedBySyswalk(String),
    /// `-p`: syswalk stopped tracing (why) and left the process running.
    Detached(String),
    /// A `-p` process ended; its exit status belongs to its parent.
    Ended,
    Unknown,
}

impl Ending {
    /// As the report's target line says it.
    pub fn describe(&self) -> String {
        match self {
            Ending::Exited(c) => format!("exited {c}"),
            Ending::Signaled(s) => format!("killed by {}", crate::signals::name(*s)),
            Ending::StoppedBySyswalk(why) => format!("stopped by syswalk {why}"),
            Ending::Detached(why) => format!("still running: syswalk detached {why}"),
            Ending::Ended => "ended".into(),
            Ending::Unknown => "ending not observed".into(),
        }
    }
}

/// A live process to attach to.
pub struct Pid {
    pub pid: u32,
    pidfd: OwnedFd,
}

impl Pid {
    pub fn open(pid: u32) -> Result<Self> {
        if pid == 0 || !Path::new(&format!("/proc/{pid}")).exists() {
            return Err(Error::new(Kind::PidNotFound, format!("no process with PID {pid}"))
                .hint("check the PID with `ps -e` (a thread ID works too: its whole process is traced)"));
        }
        if pid == std::process::id() {
            return Err(Error::new(Kind::Usage, format!("PID {pid} is syswalk itself"))
                .hint("give the PID of the program to watch, e.g. `syswalk trace -p $(pidof my_server)`"));
        }
        // /proc/PID/stat field 9 is the task's flags; PF_KTHREAD (0x00200000) marks a kernel thread.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let flags = stat.rsplit_once(") ").and_then(|(_, rest)| rest.split_whitespace().nth(6)?.parse::<u64>().ok());
        if flags.is_some_and(|f| f & 0x0020_0000 != 0) {
            let comm = stat.split_once(" (").and_then(|(_, r)| r.rsplit_once(") ")).map(|(c, _)| c).unwrap_or("?");
            return Err(Error::new(
                Kind::Usage,
                format!("PID {pid} ({}) is a kernel thread: it makes no system calls from user space", comm.escape_debug()),
            )
            .hint("give the PID of a user-space program (`ps -e -o pid,comm` lists them; kernel threads are in [brackets])"));
        }
        // A thread ID is accepted: trace its whole thread group.
        let tgid = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Tgid:").map(|v| v.trim().parse::<u32>().ok())))
            .flatten()
            .unwrap_or(pid);
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no pointers involved.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, tgid as libc::c_int, 0) };
        if fd < 0 {
            return Err(Error::new(
                Kind::PidNotFound,
                format!("cannot open process {tgid}: {}", std::io::Error::last_os_error()),
            ));
        }
        // SAFETY: pidfd_open returned a fresh fd that we now own.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        Ok(Pid { pid: tgid, pidfd })
    }

    /// True once the process has exited.
    pub fn exited(&self) -> bool {
        let mut p = libc::pollfd { fd: self.pidfd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: p is one valid pollfd; timeout 0 makes this non-blocking.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        n > 0 && p.revents & libc::POLLIN != 0
    }
}

/// The built-in target: `syswalk` re-executed as `__target`, which makes one call from a process whose only open
/// fds are 0, 1 and 2.
pub fn builtin_spec(family: i32, ty: i32, protocol: i32, nofile: Option<u32>) -> Result<Spec> {
    let exe = std::env::current_exe().map_err(|e| Error::io("finding syswalk's own executable", e))?;
    let mut argv = vec![
        OsString::from("syswalk"),
        TARGET_ARG.into(),
        family.to_string().into(),
        ty.to_string().into(),
        protocol.to_string().into(),
    ];
    argv.extend(nofile.map(|n| n.to_string().into()));
    Ok(Spec { path: exe, argv, null_stdout: true, null_stdin: true, stdout_to_stderr: false })
}

/// Body of the built-in target (runs in the child after exec). Closes every fd above 2 so the call sees the fd
/// table a fresh C program has, makes the call, and exits 0 (or 1 if the call failed).
/// The course's line, `socket(AF_INET, SOCK_STREAM, 0)`, with the constants compiled in (as a C compiler would),
/// so `syswalk lesson` can show them as immediates in this binary's own machine code and check them against the
/// headers and the registers the kernel saw.
#[inline(never)]
#[no_mangle]
pub extern "C" fn syswalk_course_socket() -> i32 {
    // SAFETY: socket takes three ints and returns an fd or -1.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    // Used after the call, so the compiler cannot turn it into a tail jump: the return address libc's wrapper
    // sees must point back into this function.
    std::hint::black_box(fd)
}

fn course_line() -> i32 {
    syswalk_course_socket()
}

/// The first argument that makes syswalk the built-in target (see `builtin_spec`).
pub const TARGET_ARG: &str = "__target";

/// The built-in life target (`syswalk __target life`): see `life_main`.
pub fn life_spec() -> Result<Spec> {
    let exe = std::env::current_exe().map_err(|e| Error::io("finding syswalk's own executable", e))?;
    let argv = vec![OsString::from("syswalk"), TARGET_ARG.into(), LIFE_ARG.into()];
    Ok(Spec { path: exe, argv, null_stdout: true, null_stdin: true, stdout_to_stderr: false })
}

pub const LIFE_ARG: &str = "life";

/// The built-in failure targets of a connection's calls (`prove --fail connrefused|addrinuse|accept-emfile`), each
/// a short program from one thread, like the life target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// socket A bound to 127.0.0.1:0 (not listening: the port is held, nobody accepts); socket B connect()s to it
    /// → ECONNREFUSED. fds: A 3, B 4.
    ConnRefused,
    /// socket A bound to 127.0.0.1:0 and listening; socket B bind()s the same address → EADDRINUSE. fds: A 3, B 4.
    AddrInUse,
    /// a listener (3) and a client (4) connected to it; RLIMIT_NOFILE lowered to 5 (fds 0-4 open), accept4 →
    /// EMFILE; the limit raised again, accept4 → fd 5 with the same connection.
    AcceptEmfile,
}

impl Scenario {
    pub fn arg(self) -> &'static str {
        match self {
            Scenario::ConnRefused => "connrefused",
            Scenario::AddrInUse => "addrinuse",
            Scenario::AcceptEmfile => "accept-emfile",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scenario::ConnRefused => "built-in: connect() to 127.0.0.1:P, a port a bound, not listening socket holds (socket, bind, getsockname; socket, connect → ECONNREFUSED; close ×2)",
            Scenario::AddrInUse => "built-in: bind() to the address a listener holds (socket, bind, getsockname, listen; socket, bind → EADDRINUSE; close ×2)",
            Scenario::AcceptEmfile => "built-in: accept4() with no fd free (socket, bind, getsockname, listen; socket, connect; RLIMIT_NOFILE 5: accept4 → EMFILE; RLIMIT_NOFILE back: accept4; close ×3)",
        }
    }
}

/// A failure scenario's target (`syswalk __target connrefused|addrinuse|accept-emfile`).
pub fn scenario_spec(s: Scenario) -> Result<Spec> {
    let exe = std::env::current_exe().map_err(|e| Error::io("finding syswalk's own executable", e))?;
    let argv = vec![OsString::from("syswalk"), TARGET_ARG.into(), s.arg().into()];
    Ok(Spec { path: exe, argv, null_stdout: true, null_stdin: true, stdout_to_stderr: false })
}

/// The errno of the last failed call.
fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Body of a failure scenario. Exit 0 when the call failed as intended, else the step number that did not go so.
pub fn scenario_main(s: Scenario) -> i32 {
    // SAFETY: close_range only closes descriptors; none above 2 is used by Rust code here.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    // SAFETY: socket calls on fds this function owns; every buffer outlives its call and its length is its own.
    unsafe {
        let a = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        if a < 0 {
            return 10;
        }
        let sin = match bind_loopback(a) {
            Ok(sin) => sin,
            Err(step) => return 11 + i32::from(step),
        };
        let slen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if s != Scenario::ConnRefused && libc::listen(a, LIFE_BACKLOG) != 0 {
            return 13;
        }
        let b = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        if b < 0 {
            return 14;
        }
        let addr = (&sin as *const libc::sockaddr_in).cast();
        match s {
            Scenario::ConnRefused => {
                if libc::connect(b, addr, slen) == 0 || errno() != libc::ECONNREFUSED {
                    return 15;
                }
            }
            Scenario::AddrInUse => {
                if libc::bind(b, addr, slen) == 0 || errno() != libc::EADDRINUSE {
                    return 15;
                }
            }
            Scenario::AcceptEmfile => {
                if libc::connect(b, addr, slen) != 0 {
                    return 15;
                }
                let mut old: libc::rlimit = std::mem::zeroed();
                if libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) != 0 {
                    return 16;
                }
                let low = libc::rlimit { rlim_cur: 5, rlim_max: old.rlim_max };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &low) != 0 {
                    return 17;
                }
                if libc::accept4(a, std::ptr::null_mut(), std::ptr::null_mut(), 0) >= 0 || errno() != libc::EMFILE {
                    return 18;
                }
                if libc::setrlimit(libc::RLIMIT_NOFILE, &old) != 0 {
                    return 19;
                }
                let c = libc::accept4(a, std::ptr::null_mut(), std::ptr::null_mut(), 0);
                if c < 0 || libc::close(c) != 0 {
                    return 20;
                }
            }
        }
        if libc::close(b) != 0 || libc::close(a) != 0 {
            return 21;
        }
    }
    0
}

/// The bytes the life target's client sends and the server answers.
pub const LIFE_PING: &[u8] = b"ping";
pub const LIFE_PONG: &[u8] = b"pong!";
/// The listen() backlog of the life target.
pub const LIFE_BACKLOG: i32 = 8;

/// Binds `fd` to 127.0.0.1 on a port the kernel picks, and reads that address back: Err(0) when bind failed,
/// Err(1) when getsockname did.
///
/// # Safety
/// `fd` must be an AF_INET socket the caller owns.
unsafe fn bind_loopback(fd: i32) -> std::result::Result<libc::sockaddr_in, u8> {
    // SAFETY: sin is a zeroed sockaddr_in (a valid value of it) that outlives both calls; the lengths are its own.
    unsafe {
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let slen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::bind(fd, (&sin as *const libc::sockaddr_in).cast(), slen) != 0 {
            return Err(0);
        }
        let mut len = slen;
        if libc::getsockname(fd, (&mut sin as *mut libc::sockaddr_in).cast(), &mut len) != 0 {
            return Err(1);
        }
        Ok(sin)
    }
}

/// A TCP connection's whole life on loopback, from one thread so the order is the same every run: the server's
/// socket, setsockopt(SO_REUSEADDR), bind(127.0.0.1:0), getsockname, listen(8); the client's socket and connect (on
/// loopback the handshake completes inside connect); accept4(SOCK_CLOEXEC); the client writes "ping", the server
/// reads it and writes "pong!", the client reads that; the client closes first, then the server's connection, then
/// the listener. fds: listener 3, client 4, accepted 5. Exit 0, or the step number that failed.
pub fn life_main() -> i32 {
    // SAFETY: close_range only closes descriptors; none above 2 is used by Rust code here.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    // SAFETY: socket calls on fds this function owns; every buffer outlives its call and its length is its own.
    unsafe {
        let lsn = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        if lsn < 0 {
            return 10;
        }
        let one: libc::c_int = 1;
        let olen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        if libc::setsockopt(lsn, libc::SOL_SOCKET, libc::SO_REUSEADDR, (&one as *const libc::c_int).cast(), olen) != 0 {
            return 11;
        }
        let sin = match bind_loopback(lsn) {
            Ok(sin) => sin,
            Err(step) => return 12 + i32::from(step),
        };
        let slen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::listen(lsn, LIFE_BACKLOG) != 0 {
            return 14;
        }
        let cli = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        if cli < 0 {
            return 15;
        }
        if libc::connect(cli, (&sin as *const libc::sockaddr_in).cast(), slen) != 0 {
            return 16;
        }
        let mut peer: libc::sockaddr_in = std::mem::zeroed();
        let mut plen = slen;
        let acc = libc::accept4(lsn, (&mut peer as *mut libc::sockaddr_in).cast(), &mut plen, libc::SOCK_CLOEXEC);
        if acc < 0 {
            return 17;
        }
        let mut buf = [0u8; 64];
        if libc::write(cli, LIFE_PING.as_ptr().cast(), LIFE_PING.len()) != LIFE_PING.len() as isize {
            return 18;
        }
        if libc::read(acc, buf.as_mut_ptr().cast(), buf.len()) != LIFE_PING.len() as isize {
            return 19;
        }
        if libc::write(acc, LIFE_PONG.as_ptr().cast(), LIFE_PONG.len()) != LIFE_PONG.len() as isize {
            return 20;
        }
        if libc::read(cli, buf.as_mut_ptr().cast(), buf.len()) != LIFE_PONG.len() as isize {
            return 21;
        }
        if libc::close(cli) != 0 || libc::close(acc) != 0 || libc::close(lsn) != 0 {
            return 22;
        }
    }
    0
}

/// `syswalk __target FAMILY TYPE PROTOCOL [NOFILE]` or `syswalk __target life` (as `builtin_spec` and `life_spec`
/// write them); 2 on anything else.
pub fn target_main(args: &[OsString]) -> i32 {
    if args.len() == 1 && args[0] == LIFE_ARG {
        return life_main();
    }
    for sc in [Scenario::ConnRefused, Scenario::AddrInUse, Scenario::AcceptEmfile] {
        if args.len() == 1 && args[0] == sc.arg() {
            return scenario_main(sc);
        }
    }
    let nums: Vec<i32> = args.iter().filter_map(|a| a.to_str()?.parse().ok()).collect();
    match nums[..] {
        [family, ty, protocol] if args.len() == 3 => builtin_main(family, ty, protocol, None),
        [family, ty, protocol, n] if args.len() == 4 && n >= 0 => builtin_main(family, ty, protocol, Some(n as u64)),
        _ => {
            eprintln!(
                "syswalk: __target is internal (the built-in target): it takes FAMILY TYPE PROTOCOL [NOFILE] as numbers"
            );
            2
        }
    }
}

pub fn builtin_main(family: i32, ty: i32, protocol: i32, nofile: Option<u64>) -> i32 {
    // SAFETY: close_range only closes descriptors; we own none above 2 that Rust code still uses.
    unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
    if let Some(n) = nofile {
        // The EMFILE target: no fd free for the call, which still runs sock_alloc before it finds out.
        let lim = libc::rlimit { rlim_cur: n, rlim_max: n };
        // SAFETY: lim is a valid rlimit for the duration of the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return 3;
        }
    }
    let fd = if (family, ty, protocol) == (libc::AF_INET, libc::SOCK_STREAM, 0) {
        course_line()
    } else {
        // SAFETY: socket takes three ints and returns an fd or -1.
        unsafe { libc::socket(family, ty, protocol) }
    };
    if fd < 0 {
        return 1;
    }
    // SAFETY: fd is the socket we just created.
    unsafe { libc::close(fd) };
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn resolve_errors() {
        let e = resolve(&"definitely-not-a-command-syswalk".into()).expect_err("missing");
        assert_eq!(e.kind, Kind::CommandNotFound);
        let tmp = tempfile::tempdir().expect("temp dir");
        let f = tmp.path().join("noexec");
        std::fs::write(&f, "data").expect("temp file");
        let e = resolve(&f.clone().into_os_string()).expect_err("not exec");
        assert_eq!(e.kind, Kind::NotExecutable);
        assert!(resolve(&"sh".into()).is_ok());
    }
    #[test]
    fn pid_not_found() {
        let e = Pid::open(0).err().expect("pid 0");
        assert_eq!(e.kind, Kind::PidNotFound);
        let e = Pid::open(u32::MAX - 1).err().expect("huge pid");
        assert_eq!(e.kind, Kind::PidNotFound);
    }
    #[test]
    fn gate_holds_child_until_released() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("gate");
        let spec = Spec {
            path: "/bin/sh".into(),
            argv: vec!["sh".into(), "-c".into(), format!("touch {}", dir.display()).into()],
            null_stdout: false,
            null_stdin: true,
            stdout_to_stderr: false,
        };
        let mut g = Gated::spawn(spec).expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!dir.exists(), "child ran before release");
        g.release().expect("release");
        assert_eq!(g.wait().expect("wait"), Ending::Exited(0));
        assert!(dir.exists(), "child did not run after release");
    }
}

#[cfg(test)]
mod exec_tests {
    use super::*;
    #[test]
    fn exec_failure_is_reported_on_release() {
        let spec = Spec {
            path: "/nonexistent/prog".into(),
            argv: vec!["prog".into()],
            null_stdout: false,
            null_stdin: true,
            stdout_to_stderr: false,
        };
        let mut g = Gated::spawn(spec).expect("fork works");
        let e = g.release().expect_err("exec must fail");
        assert_eq!(e.kind, Kind::CommandNotFound);
    }
    #[test]
    fn dropping_a_held_child_kills_it() {
        let spec = Spec {
            path: "/bin/sleep".into(),
            argv: vec!["sleep".into(), "30".into()],
            null_stdout: false,
            null_stdin: true,
            stdout_to_stderr: false,
        };
        let g = Gated::spawn(spec).expect("fork");
        let pid = g.pid();
        drop(g);
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "child {pid} left behind");
    }
}
