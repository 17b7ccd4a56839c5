//! Boots a kernel under QEMU with the host root filesystem shared read-only (virtiofs, or 9p where the kernel has
//! it) under a tmpfs overlay, runs one command in the same directory with the same PATH, streams its stdout and
//! stderr, and returns its exit code. A panic, an oops or a hang ends with an error and the console tail.
use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cpio::Cpio;
use super::{cache_dir, lab_err, progress, Kernel};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Qemu {
    pub bin: PathBuf,
    pub data_dirs: Vec<PathBuf>,
}

impl Qemu {
    pub fn new(bin: PathBuf) -> Self {
        Qemu { bin, data_dirs: Vec::new() }
    }
    pub fn system() -> Result<Self> {
        let bin = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join("qemu-system-x86_64"))
            .find(|p| p.exists())
            .ok_or_else(|| {
                lab_err("qemu-system-x86_64 not found").hint("run scripts/setup.sh (apt-get install qemu-system-x86)")
            })?;
        Ok(Qemu::new(bin))
    }
    pub fn version(&self) -> String {
        Command::new(&self.bin)
            .arg("--version")
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").replace("QEMU emulator version ", "")
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Accel {
    Auto,
    Kvm,
    Tcg,
}

pub struct RunOpts {
    pub timeout: Duration,
    pub accel: Accel,
    pub mem: String,
    pub cpus: u32,
    pub append: String,
    /// Environment variables passed into the guest (names; values from this process).
    pub env: Vec<String>,
    pub verbose: bool,
    /// Record every sock_register() from boot on into the trace buffer (crate::machine::boottrace::BOOT_TRACE).
    pub boot_trace: bool,
    /// Show the -dbg files (fetched beforehand) to the guest.
    pub dbg: bool,
    /// A host folder shared read-write at the same path (canonical, checked by `out_dir`).
    pub out_dir: Option<PathBuf>,
}

/// The virtiofs/9p tag of the `--out-dir` share.
const OUT_TAG: &str = "syswalkout";
/// What the guest logs when the `--out-dir` share does not mount (before the command runs).
const OUT_MOUNT_FAILED: &str = "syswalk-lab(cmd): the --out-dir share did not mount";

/// `--out-dir DIR` checked: an existing folder, as a canonical absolute path with no byte the guest's mount
/// command line would need quoting for beyond what `shell_quote` does.
pub fn out_dir(d: &Path) -> Result<PathBuf> {
    let bad = |why: String| {
        Error::new(crate::error::Kind::Usage, format!("--out-dir {}: {why}", d.display()))
            .hint("give an existing folder on the host: the guest writes there at the same path (mkdir -p it first)")
    };
    let c = std::fs::canonicalize(d).map_err(|e| bad(e.to_string()))?;
    if !c.is_dir() {
        return Err(bad("is not a folder".into()));
    }
    if c == Path::new("/") {
        return Err(bad("the whole root would be writable by the guest; give a folder".into()));
    }
    if c.to_str().is_none() || c.as_os_str().as_bytes().iter().any(|b| *b == b',' || *b < 0x20) {
        return Err(bad(
            "holds a comma, a control character or bytes that are not UTF-8, which qemu's option syntax cannot carry"
                .into(),
        ));
    }
    Ok(c)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Share {
    NineP,
    Virtiofs,
}

/// Module path (relative to the modules dir) for `name`, from modules.dep; None when built in or absent.
fn modpath(dep: &str, name: &str) -> Option<String> {
    for n in [name.replace('-', "_"), name.replace('_', "-")] {
        for l in dep.lines() {
            let path = l.split(':').next().unwrap_or("");
            let file = path.rsplit('/').next().unwrap_or("");
            let stem = file.split(".ko").next().unwrap_or("");
            if stem == n && file.contains(".ko") {
                return Some(path.to_string());
            }
        }
    }
    None
}

fn deps_of<'a>(dep: &'a str, path: &str) -> Vec<&'a str> {
    dep.lines()
        .find(|l| l.split(':').next() == Some(path))
        .map(|l| l.split(':').nth(1).unwrap_or("").split_whitespace().collect())
        .unwrap_or_default()
}

fn read_module(dir: &Path, rel: &str) -> Result<Vec<u8>> {
    let p = dir.join(rel);
    let tool = if rel.ends_with(".xz") {
        Some("xz")
    } else if rel.ends_with(".zst") {
        Some("zstd")
    } else if rel.ends_with(".gz") {
        Some("gzip")
    } else {
        None
    };
    match tool {
        None => std::fs::read(&p).map_err(|e| Error::io(format!("reading {}", p.display()), e)),
        Some(t) => {
            let o = Command::new(t)
                .arg("-dc")
                .arg(&p)
                .output()
                .map_err(|e| lab_err(format!("{t} is needed to unpack {}: {e}", p.display())))?;
            if !o.status.success() {
                return Err(lab_err(format!("{t} -dc {} failed", p.display())));
            }
            Ok(o.stdout)
        }
    }
}

const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
. /vm.conf
log() { echo "syswalk-lab(init): $*" > /dev/console; }
fail() { log "$*"; echo 125 > /dev/ttyS2; poweroff -f; sleep 5; echo o > /proc/sysrq-trigger; }
for m in $(cat /modules.list); do insmod /mods/$m || log "insmod $m failed"; done
if [ "$SHARE" = 9p ]; then
  mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /lower || fail "9p mount failed"
else
  mount -t virtiofs -o ro hostroot /lower || fail "virtiofs mount failed"
fi
mount -t tmpfs -o mode=0755 rw /rw; mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail "overlay mount failed"
R=/newroot
mount -t proc proc $R/proc; mount -t sysfs sysfs $R/sys; mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts; mount -t tmpfs tmpfs $R/dev/shm; mount -t tmpfs tmpfs $R/run
mount -t debugfs debugfs $R/sys/kernel/debug; mount -t tracefs tracefs $R/sys/kernel/tracing
mount -t bpf bpf $R/sys/fs/bpf; mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
mkdir -p $R/run/vm; cp /bin/busybox /cmd.sh $R/run/vm/
if [ -d "$R$MODDIR" ] && [ "$MODDIR" != "/lib/modules/$KVER" ]; then
  mkdir -p "$R/lib/modules/$KVER" && mount --bind "$R$MODDIR" "$R/lib/modules/$KVER"
fi
echo vm > /proc/sys/kernel/hostname
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up || log "could not bring lo up"
stty -F /dev/ttyS1 raw -echo 2>/dev/null; stty -F /dev/ttyS3 raw -echo 2>/dev/null
SH=/bin/sh; [ -x $R/bin/bash ] && SH=/bin/bash
log "starting the command"
chroot $R $SH /run/vm/cmd.sh < /dev/null > /dev/ttyS1 2> /dev/ttyS3
echo $? > /dev/ttyS2
sync
poweroff -f
"#;

/// A TERM value that needs no quoting.
fn shell_safe_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
}

/// The child dies with syswalk (SIGKILL when syswalk goes away, however it goes): no VM or virtiofsd left running.
fn die_with_syswalk(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs between fork and exec and only calls async-signal-safe functions (prctl, getppid).
    unsafe {
        cmd.pre_exec(move || {
            // Its own process group: a Ctrl-C at the terminal reaches syswalk (which shuts the VM down and says
            // so), not qemu directly.
            libc::setpgid(0, 0);
            if crate::signals::die_with_parent(parent) {
                Ok(())
            } else {
                Err(std::io::Error::other("syswalk exited before the child started"))
            }
        });
    }
}

/// `s` as one single-quoted shell word, byte for byte (UTF-8 or not: the guest gets exactly these bytes).
fn shell_quote(s: &[u8]) -> Vec<u8> {
    let mut o = vec![b'\''];
    for &b in s {
        if b == b'\'' {
            o.extend_from_slice(b"'\\''");
        } else {
            o.push(b);
        }
    }
    o.push(b'\'');
    o
}

/// The base initramfs (busybox, modules, init) for a kernel: built once, cached.
fn base_initramfs(k: &Kernel) -> Result<(Vec<u8>, Share)> {
    let dep =
        std::fs::read_to_string(k.modules.join("modules.dep")).map_err(|e| Error::io("reading modules.dep", e))?;
    let builtin = std::fs::read_to_string(k.modules.join("modules.builtin")).unwrap_or_default();
    let share = if modpath(&dep, "9p").is_some() || builtin.lines().any(|l| l.ends_with("/9p.ko")) {
        Share::NineP
    } else {
        Share::Virtiofs
    };
    let cache = cache_dir()?.join("initramfs");
    std::fs::create_dir_all(&cache).map_err(|e| Error::io("creating the initramfs cache", e))?;
    // Keyed by what goes in: kernel, share, and the init script itself (a changed init must not reuse a stale image).
    let mut h: u64 = 0xcbf29ce484222325;
    for b in INIT.bytes().chain(k.modules.as_os_str().as_bytes().iter().copied()) {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    let f = cache.join(format!("{}-{:?}-{h:016x}.cpio", k.version, share));
    if let Ok(b) = std::fs::read(&f) {
        return Ok((b, share));
    }
    let busybox =
        ["/bin/busybox", "/usr/bin/busybox"].iter().map(PathBuf::from).find(|p| p.exists()).ok_or_else(|| {
            lab_err("busybox not found").hint("run scripts/setup.sh (apt-get install busybox-static)")
        })?;
    let want: &[&str] = match share {
        Share::NineP => &["virtio_pci", "9pnet_virtio", "9p", "overlay"],
        Share::Virtiofs => &["virtio_pci", "virtiofs", "overlay"],
    };
    let mut order: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    fn add(dep: &str, p: &str, seen: &mut HashSet<String>, order: &mut Vec<String>) {
        if !seen.insert(p.to_string()) {
            return;
        }
        for d in deps_of(dep, p) {
            add(dep, d, seen, order);
        }
        order.push(p.to_string());
    }
    for m in want {
        if let Some(p) = modpath(&dep, m) {
            add(&dep, &p, &mut seen, &mut order);
        }
    }
    let mut c = Cpio::default();
    for d in ["bin", "mods", "proc", "sys", "dev", "lower", "rw", "newroot"] {
        c.dir(d);
    }
    c.file("bin/busybox", 0o755, &std::fs::read(&busybox).map_err(|e| Error::io("reading busybox", e))?);
    let mut list = String::new();
    for p in &order {
        let file = p.rsplit('/').next().unwrap_or(p);
        let stem = file.split(".ko").next().unwrap_or(file);
        c.file(&format!("mods/{stem}.ko"), 0o644, &read_module(&k.modules, p)?);
        list.push_str(&format!("{stem}.ko\n"));
    }
    c.file("modules.list", 0o644, list.as_bytes());
    c.file("init", 0o755, INIT.as_bytes());
    let conf = format!(
        "SHARE={}\nKVER={}\nMODDIR={}\n",
        if share == Share::NineP { "9p" } else { "virtiofs" },
        k.version,
        k.modules.display()
    );
    c.file("vm.conf", 0o644, conf.as_bytes());
    let b = c.finish();
    let tmp = f.with_extension("tmp");
    std::fs::write(&tmp, &b)
        .and_then(|_| std::fs::rename(&tmp, &f))
        .map_err(|e| Error::io("caching the initramfs", e))?;
    Ok((b, share))
}

/// The guest's command script, as bytes: paths, arguments and values reach the guest exactly as given.
fn cmd_script(argv: &[OsString], env: &[String], k: &Kernel, dbg: bool, out: Option<(&Path, Share)>) -> Vec<u8> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let mut s: Vec<u8> = Vec::new();
    // The --out-dir share, writable, over the overlay at the same path; its path for syswalk's -o check.
    if let Some((d, share)) = out {
        let q = shell_quote(d.as_os_str().as_bytes());
        let how: &[u8] = match share {
            Share::Virtiofs => b"/run/vm/busybox mount -t virtiofs ",
            Share::NineP => b"/run/vm/busybox mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 ",
        };
        s.extend_from_slice(how);
        s.extend_from_slice(OUT_TAG.as_bytes());
        s.push(b' ');
        s.extend(q.clone());
        s.extend_from_slice(b" || { echo \"");
        s.extend_from_slice(OUT_MOUNT_FAILED.as_bytes());
        s.extend_from_slice(b"\" > /dev/console; exit 125; }\nexport SYSWALK_LAB_OUT=");
        s.extend(q);
        s.push(b'\n');
    }
    // The kernel's own files at the places tools look for them (the guest root is a writable overlay).
    if let Some(root) = &k.root {
        s.extend_from_slice(b"R=");
        s.extend(shell_quote(root.as_os_str().as_bytes()));
        s.extend_from_slice(b"; V=");
        s.extend(shell_quote(k.version.as_bytes()));
        s.extend_from_slice(b"; mkdir -p /boot\n[ -e \"$R/boot/config-$V\" ] && ln -sf \"$R/boot/config-$V\" /boot/\n");
        if dbg {
            s.extend_from_slice(
                b"mkdir -p /usr/lib/debug/boot\n\
                 for f in \"$R/usr/lib/debug/boot/\"*-\"$V\"; do [ -e \"$f\" ] && ln -sf \"$f\" /usr/lib/debug/boot/; done\n\
                 [ -e \"$R/usr/lib/debug/boot/System.map-$V\" ] && ln -sf \"$R/usr/lib/debug/boot/System.map-$V\" /boot/\n",
            );
        }
        s.extend_from_slice(b"unset R V\n");
    }
    s.extend_from_slice(b"cd ");
    s.extend(shell_quote(cwd.as_os_str().as_bytes()));
    s.extend_from_slice(b" 2>/dev/null || cd /\n");
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    s.extend_from_slice(b"export PATH=");
    s.extend(shell_quote(path.as_bytes()));
    s.extend_from_slice(b" HOME=");
    s.extend(shell_quote(home.as_bytes()));
    // The guest's stdout is a serial line that looks like a terminal: colour only when the host's stdout, where the
    // output ends up, really is one.
    use std::io::IsTerminal;
    let term = std::env::var("TERM").ok().filter(|t| std::io::stdout().is_terminal() && shell_safe_word(t));
    s.extend_from_slice(
        format!(" TERM={} LANG=C.UTF-8 SYSWALK_IN_LAB=1\n", term.as_deref().unwrap_or("dumb")).as_bytes(),
    );
    for name in env {
        let (k, v) = match name.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(OsString::from(v))),
            None => (name.clone(), std::env::var_os(name)),
        };
        if let Some(v) = v {
            s.extend_from_slice(b"export ");
            s.extend_from_slice(k.as_bytes());
            s.push(b'=');
            s.extend(shell_quote(v.as_bytes()));
            s.push(b'\n');
        }
    }
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            s.push(b' ');
        }
        s.extend(shell_quote(a.as_bytes()));
    }
    s.push(b'\n');
    s
}

fn mkfifo(p: &Path) -> Result<()> {
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(|_| lab_err("NUL in path"))?;
    // SAFETY: c is a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(Error::io(format!("mkfifo {}", p.display()), std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Opens a FIFO for reading without blocking on the open, then makes reads blocking.
fn open_fifo_reader(p: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(p)
        .map_err(|e| Error::io(format!("opening {}", p.display()), e))?;
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on an fd we own; clearing O_NONBLOCK.
    unsafe {
        let fl = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(f.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
    }
    Ok(f)
}

/// Copies a FIFO to stdout/stderr until `done` is set and the FIFO is empty. A FIFO read returns 0 whenever no
/// writer has it open (before qemu opens it, and after qemu exits), so 0 only ends the copy once qemu is gone.
fn pump(mut from: std::fs::File, to_stderr: bool, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) => {
                    if done.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(n) => {
                    let r = if to_stderr {
                        std::io::stderr().write_all(&buf[..n])
                    } else {
                        std::io::stdout().write_all(&buf[..n]).and_then(|_| std::io::stdout().flush())
                    };
                    if r.is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    })
}

struct Work {
    /// Removed when dropped (after the children are stopped: fields drop after `drop`).
    _dir: tempfile::TempDir,
    children: Vec<Child>,
}

impl Drop for Work {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn virtiofsd() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SYSWALK_VIRTIOFSD") {
        return Ok(PathBuf::from(p));
    }
    ["/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"].iter().map(PathBuf::from).find(|p| p.exists()).ok_or_else(
        || {
            lab_err("this kernel has no 9p, and no virtiofsd was found")
                .hint("run scripts/setup.sh (qemu-system-x86 ships /usr/lib/qemu/virtiofsd)")
        },
    )
}

/// The outcome of a guest run.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub boot_to_exit: Duration,
    pub accel: &'static str,
}

fn console_tail(con: &Path) -> String {
    let t = std::fs::read_to_string(con).unwrap_or_default();
    let lines: Vec<&str> = t.lines().collect();
    if let Some(i) = lines.iter().position(|l| {
        l.contains("Kernel panic") || l.contains("BUG:") || l.contains("Oops") || l.contains("general protection")
    }) {
        let start = i.saturating_sub(3);
        return lines[start..(i + 30).min(lines.len())].join("\n");
    }
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn kvm_usable(q: &Qemu, k: &Kernel, opts: &RunOpts) -> bool {
    if std::fs::OpenOptions::new().read(true).write(true).open("/dev/kvm").is_err() {
        return false;
    }
    let key = format!("{}-{}", crate::machine::uname().0, q.version()).replace(['/', ' '], "_");
    let f = cache_dir().map(|d| d.join(format!("kvm-{key}"))).ok();
    if let Some(v) = f.as_ref().and_then(|f| std::fs::read_to_string(f).ok()) {
        return v.trim() == "yes";
    }
    progress("checking whether KVM works here (one short boot, result cached)…");
    let probe = RunOpts {
        timeout: Duration::from_secs(30),
        accel: Accel::Kvm,
        mem: opts.mem.clone(),
        cpus: 1,
        append: String::new(),
        env: vec![],
        verbose: false,
        boot_trace: false,
        dbg: false,
        out_dir: None,
    };
    let ok = boot(q, k, &[OsString::from("true")], &probe, true).map(|o| o.code == 0).unwrap_or(false);
    if let Some(f) = f {
        let _ = std::fs::write(f, if ok { "yes\n" } else { "no\n" });
    }
    progress(if ok { "KVM works: using it" } else { "KVM does not boot guests here: using TCG (software emulation)" });
    ok
}

pub fn run(q: &Qemu, k: &Kernel, argv: &[OsString], opts: &RunOpts) -> Result<Outcome> {
    let use_kvm = match opts.accel {
        Accel::Kvm => true,
        Accel::Tcg => false,
        Accel::Auto => kvm_usable(q, k, opts),
    };
    let o = RunOpts { accel: if use_kvm { Accel::Kvm } else { Accel::Tcg }, ..clone_opts(opts) };
    boot(q, k, argv, &o, false)
}

fn clone_opts(o: &RunOpts) -> RunOpts {
    RunOpts {
        timeout: o.timeout,
        accel: o.accel,
        mem: o.mem.clone(),
        cpus: o.cpus,
        append: o.append.clone(),
        env: o.env.clone(),
        verbose: o.verbose,
        boot_trace: o.boot_trace,
        dbg: o.dbg,
        out_dir: o.out_dir.clone(),
    }
}

/// Boots, and boots once more if QEMU itself crashed (killed by a signal) before the guest started the
/// command: QEMU 10.0's TCG can abort early in boot (`iotlb_to_section: Assertion … failed`, seen once in
/// ~200 boots of the lab tests). Nothing of the command has run or printed then, so a second boot is the
/// same run. A crash after the command started is reported, never retried.
fn boot(q: &Qemu, k: &Kernel, argv: &[OsString], opts: &RunOpts, silent: bool) -> Result<Outcome> {
    match boot_once(q, k, argv, opts, silent)? {
        Boot::Done(o) => Ok(o),
        Boot::EarlyCrash(e) => {
            progress(&format!("{e}\nqemu crashed before the guest started the command: booting once more…"));
            match boot_once(q, k, argv, opts, silent)? {
                Boot::Done(o) => Ok(o),
                Boot::EarlyCrash(e) => Err(e.hint(
                    "qemu crashed twice before the guest started the command: try another qemu (--qemu) or --accel",
                )),
            }
        }
    }
}

/// QEMU was killed by a signal and the guest's init had not yet logged that it starts the command.
fn crashed_before_the_command(qemu_signal: Option<i32>, console: &str) -> bool {
    qemu_signal.is_some() && !console.contains(STARTING)
}

const STARTING: &str = "syswalk-lab(init): starting the command";

/// Starts a virtiofsd serving `source` on `sock` (dies with syswalk) and waits up to 5 s for its socket.
fn start_virtiofsd(work: &mut Work, sock: &Path, source: &Path, cache: &str, log: &Path) -> Result<()> {
    let vlog = std::fs::File::create(log).map_err(|e| Error::io("virtiofsd log", e))?;
    let mut d = Command::new(virtiofsd()?);
    die_with_syswalk(&mut d);
    let d = d
        .arg(format!("--socket-path={}", sock.display()))
        .arg("-o")
        .arg(format!("source={}", source.display()))
        .args(["-o", &format!("cache={cache}"), "-o", "sandbox=chroot", "-o", "log_level=err"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(vlog)
        .spawn()
        .map_err(|e| lab_err(format!("starting virtiofsd for {}: {e}", source.display())))?;
    work.children.push(d);
    let t0 = Instant::now();
    while !sock.exists() {
        if t0.elapsed() > Duration::from_secs(5) {
            let l = std::fs::read_to_string(log).unwrap_or_default();
            return Err(lab_err(format!("virtiofsd ({}) did not create its socket: {}", source.display(), l.trim())));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

enum Boot {
    Done(Outcome),
    /// QEMU died by a signal before the guest's init logged "starting the command".
    EarlyCrash(Error),
}

fn boot_once(q: &Qemu, k: &Kernel, argv: &[OsString], opts: &RunOpts, silent: bool) -> Result<Boot> {
    crate::signals::install();
    let (base, share) = base_initramfs(k)?;
    let tmp = tempfile::Builder::new()
        .prefix("syswalk-lab-")
        .tempdir()
        .map_err(|e| Error::io("creating the VM work dir", e))?;
    let dir = tmp.path().to_path_buf();
    let mut work = Work { _dir: tmp, children: Vec::new() };
    let mut c = Cpio::default();
    c.file("cmd.sh", 0o755, &cmd_script(argv, &opts.env, k, opts.dbg, opts.out_dir.as_deref().map(|d| (d, share))));
    let mut initrd = base;
    initrd.extend_from_slice(&c.finish());
    std::fs::write(dir.join("initrd"), &initrd).map_err(|e| Error::io("writing the initrd", e))?;
    for f in ["out", "err"] {
        mkfifo(&dir.join(format!("{f}.out")))?;
        mkfifo(&dir.join(format!("{f}.in")))?;
    }
    let out_r = open_fifo_reader(&dir.join("out.out"))?;
    let err_r = open_fifo_reader(&dir.join("err.out"))?;
    let con = dir.join("console.log");
    let rcf = dir.join("rc");
    let accel = if opts.accel == Accel::Kvm { "kvm" } else { "tcg" };
    let mut cmd = Command::new(&q.bin);
    for d in &q.data_dirs {
        cmd.arg("-L").arg(d);
    }
    cmd.args(["-nodefaults", "-no-user-config", "-no-reboot", "-display", "none", "-vga", "none", "-machine", "q35"]);
    cmd.args(["-accel", accel, "-cpu", if accel == "kvm" { "host" } else { "max" }]);
    cmd.args(["-smp", &opts.cpus.to_string(), "-m", &opts.mem]);
    cmd.arg("-kernel").arg(&k.image).arg("-initrd").arg(dir.join("initrd"));
    let trace = if opts.boot_trace { crate::machine::boottrace::BOOT_TRACE } else { "" };
    cmd.arg("-append").arg(format!("console=ttyS0 loglevel=5 panic=-1 oops=panic softlockup_panic=1 softlockup_all_cpu_backtrace=1 rdinit=/init 8250.nr_uarts=4 {trace} {}", opts.append));
    cmd.arg("-chardev").arg(format!("file,id=con,path={}", con.display()));
    cmd.arg("-chardev").arg(format!("pipe,id=out,path={}", dir.join("out").display()));
    cmd.arg("-chardev").arg(format!("file,id=rc,path={}", rcf.display()));
    cmd.arg("-chardev").arg(format!("pipe,id=err,path={}", dir.join("err").display()));
    cmd.args(["-serial", "chardev:con", "-serial", "chardev:out", "-serial", "chardev:rc", "-serial", "chardev:err"]);
    match share {
        Share::NineP => {
            cmd.args([
                "-fsdev",
                "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap",
                "-device",
                "virtio-9p-pci,fsdev=root,mount_tag=hostroot",
            ]);
            if let Some(d) = &opts.out_dir {
                cmd.arg("-fsdev").arg(format!("local,id=out,path={},security_model=none,multidevs=remap", d.display()));
                cmd.args(["-device", &format!("virtio-9p-pci,fsdev=out,mount_tag={OUT_TAG}")]);
            }
        }
        Share::Virtiofs => {
            let sock = dir.join("vfs.sock");
            start_virtiofsd(&mut work, &sock, Path::new("/"), "always", &dir.join("virtiofsd.log"))?;
            cmd.arg("-object").arg(format!("memory-backend-memfd,id=mem,size={},share=on", opts.mem));
            cmd.args(["-numa", "node,memdev=mem"]);
            cmd.arg("-chardev").arg(format!("socket,id=vfs,path={}", sock.display()));
            cmd.args(["-device", "vhost-user-fs-pci,chardev=vfs,tag=hostroot"]);
            if let Some(d) = &opts.out_dir {
                let osock = dir.join("out.sock");
                start_virtiofsd(&mut work, &osock, d, "none", &dir.join("virtiofsd-out.log"))?;
                cmd.arg("-chardev").arg(format!("socket,id=vfsout,path={}", osock.display()));
                cmd.args(["-device", &format!("vhost-user-fs-pci,chardev=vfsout,tag={OUT_TAG}")]);
            }
        }
    }
    let qlog = std::fs::File::create(dir.join("qemu.log")).map_err(|e| Error::io("qemu log", e))?;
    let qlog2 = qlog.try_clone().map_err(|e| Error::io("qemu log", e))?;
    if !silent {
        progress(&format!(
            "booting {} under qemu {} ({accel}, {} share)…",
            k.version,
            q.version(),
            if share == Share::NineP { "9p" } else { "virtiofs" }
        ));
    }
    let t0 = Instant::now();
    die_with_syswalk(&mut cmd);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(qlog)
        .stderr(qlog2)
        .spawn()
        .map_err(|e| lab_err(format!("starting {}: {e}", q.bin.display())))?;
    work.children.push(child);
    let done = Arc::new(AtomicBool::new(false));
    let (po, pe) = if silent {
        (None, None)
    } else {
        (Some(pump(out_r, false, done.clone())), Some(pump(err_r, true, done.clone())))
    };
    let mut timed_out = false;
    let mut stopped = None;
    let status = loop {
        let ch = work.children.last_mut().ok_or_else(|| lab_err("qemu process lost"))?;
        if let Some(st) = ch.try_wait().map_err(|e| Error::io("waiting for qemu", e))? {
            break Some(st);
        }
        if t0.elapsed() > opts.timeout {
            timed_out = true;
            let _ = ch.kill();
            let _ = ch.wait();
            break None;
        }
        if let Some(sig) = crate::signals::received() {
            stopped = Some(sig);
            let _ = ch.kill();
            let _ = ch.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = t0.elapsed();
    done.store(true, Ordering::SeqCst);
    for h in [po, pe].into_iter().flatten() {
        let _ = h.join();
    }
    let rc =
        std::fs::read_to_string(&rcf).unwrap_or_default().chars().filter(|c| c.is_ascii_digit()).collect::<String>();
    if opts.verbose {
        eprintln!("{}", std::fs::read_to_string(&con).unwrap_or_default());
    }
    let console = std::fs::read_to_string(&con).unwrap_or_default();
    if let Some(sig) = stopped {
        return Err(lab_err(format!("stopped on {}: the VM was shut down", crate::signals::name(sig))));
    }
    if timed_out {
        return Err(lab_err(format!(
            "the guest did not finish within {} s; console tail:\n{}",
            opts.timeout.as_secs(),
            console_tail(&con)
        ))
        .hint("raise --timeout, or check the command does not wait for input"));
    }
    if let Some(line) = console.lines().find(|l| l.contains("Kernel panic")) {
        return Err(lab_err(format!("the guest kernel panicked: {}\n{}", line.trim(), console_tail(&con))));
    }
    match rc.parse::<i32>() {
        Ok(125) if console.contains(OUT_MOUNT_FAILED) => {
            Err(lab_err(format!("the --out-dir share did not mount in the guest:\n{}", console_tail(&con))))
        }
        Ok(125) if !console.contains(STARTING) => {
            Err(lab_err(format!("the lab's init failed in the guest:\n{}", console_tail(&con))))
        }
        Ok(code) => Ok(Boot::Done(Outcome { code, boot_to_exit: elapsed, accel })),
        Err(_) => {
            let ql = std::fs::read_to_string(dir.join("qemu.log")).unwrap_or_default();
            let e = lab_err(format!(
                "the VM ended without reporting an exit code (qemu {}); qemu said: {}\nconsole tail:\n{}",
                status.map(|s| s.to_string()).unwrap_or_default(),
                ql.trim(),
                console_tail(&con)
            ));
            let sig = status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s));
            if crashed_before_the_command(sig, &console) {
                Ok(Boot::EarlyCrash(e))
            } else {
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const DEP: &str = "kernel/fs/overlayfs/overlay.ko:\nkernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz\nkernel/net/9p/9pnet.ko.xz:\nkernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz\n";
    #[test]
    fn only_a_qemu_crash_before_the_command_is_booted_again() {
        let early = "[    0.71] mtrr: your CPUs had inconsistent fixed MTRR settings\n";
        assert!(crashed_before_the_command(Some(6), early));
        assert!(!crashed_before_the_command(None, early), "qemu exited by itself: not a crash");
        let late = format!("{early}{STARTING}\n[   3.2] something\n");
        assert!(!crashed_before_the_command(Some(6), &late), "the command had started: never run twice");
        assert!(INIT.contains(&format!("log \"{}\"", STARTING.trim_start_matches("syswalk-lab(init): "))));
    }

    #[test]
    fn module_lookup_and_deps() {
        assert_eq!(modpath(DEP, "9p").as_deref(), Some("kernel/fs/9p/9p.ko.xz"));
        assert_eq!(modpath(DEP, "9pnet_virtio").as_deref(), Some("kernel/net/9p/9pnet_virtio.ko.xz"));
        assert_eq!(modpath(DEP, "virtiofs"), None);
        assert_eq!(
            deps_of(DEP, "kernel/fs/9p/9p.ko.xz"),
            vec!["kernel/net/9p/9pnet.ko.xz", "kernel/fs/netfs/netfs.ko.xz"]
        );
    }
    #[test]
    fn quoting_survives_the_shell() {
        let k = Kernel {
            id: "x".into(),
            version: "1.2'3".into(),
            image: "/i".into(),
            modules: "/m".into(),
            root: Some("/tmp/it's".into()),
        };
        let s = cmd_script(&["printf".into(), "%s|".into(), "it's $HOME".into(), "é—✓".into()], &[], &k, true, None);
        let s = String::from_utf8(s).expect("UTF-8 in, UTF-8 out");
        assert!(s.contains("R='/tmp/it'\\''s'; V='1.2'\\''3'"), "{s}");
        assert!(s.contains("/usr/lib/debug/boot"));
        let plain = String::from_utf8(cmd_script(&["true".into()], &[], &k, false, None)).expect("utf-8");
        assert!(!plain.contains("/usr/lib/debug/boot"), "no -dbg files unless asked");
        assert!(!plain.contains("SYSWALK_LAB_OUT"), "no share unless asked");
        let shared = cmd_script(&["true".into()], &[], &k, false, Some((Path::new("/tmp/a b"), Share::Virtiofs)));
        let shared = String::from_utf8(shared).expect("utf-8");
        assert!(shared.contains("mount -t virtiofs syswalkout '/tmp/a b' ||"), "{shared}");
        assert!(shared.contains("export SYSWALK_LAB_OUT='/tmp/a b'"), "{shared}");
        let last = s.lines().last().expect("command line");
        let o = Command::new("sh").arg("-c").arg(last).output().expect("sh");
        assert_eq!(String::from_utf8_lossy(&o.stdout), "it's $HOME|é—✓|", "non-ASCII arguments arrive unmangled");
    }
}
