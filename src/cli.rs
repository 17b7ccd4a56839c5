//! The one definition of syswalk's command line: help, man page and shell completions are all generated from it.
use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::render::Format;

/// The text after the top-level help: the exit-code table (error.rs holds the one table).
pub fn help_after() -> String {
    format!("Exit codes: {}", crate::error::exit_code_table())
}

#[derive(Parser, Debug)]
#[command(
    name = "syswalk",
    version,
    about = "Prove, with live eBPF evidence, what the Linux kernel does for a system call",
    long_about = "syswalk traces system calls with verifier-checked eBPF programs (they cannot crash the kernel and \
detach when syswalk exits), walks the kernel objects each call created — fd table, struct file, struct socket, \
struct sock — and judges every claim about them as proved (✓), refuted (✗) or not observable on this kernel, always \
with the evidence: probe, address, value.\n\nStart with `syswalk caps` to see what this kernel lets syswalk observe, \
then `syswalk prove`.",
    after_help = help_after()
)]
pub struct Cli {
    /// Show libbpf's own diagnostics on stderr.
    #[arg(long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// How to trace: shared by `prove` and `trace`.
#[derive(Args, Debug, Clone)]
pub struct TraceArgs {
    /// Do not follow processes the target forks.
    #[arg(long)]
    pub no_follow: bool,
    /// How to trace the function-level chain: auto picks fentry (tier A), else kprobe (tier B), else none
    /// (tier C, syscall boundary only), and falls back from fentry to kprobe if fentry fails to load.
    #[arg(long, value_enum, default_value = "auto")]
    pub attach: AttachArg,
    /// Trace your own list of kernel functions instead of the default socket() chain (TOML:
    /// `functions = ["__sys_socket", { name = "sock_map_fd", optional = true }, { name = "sock_alloc_file",
    /// snapshot = ["exit:return"] }]`; see examples/socket-file.toml). A snapshot names an argument or "return":
    /// "NAME" reads the object at entry and at exit, "entry:NAME" / "exit:NAME" at one of them; without
    /// `snapshot`, every socket/sock/file argument is read at both. The first function is the root: the others are
    /// recorded inside its calls (or in calls of their own when they run outside it).
    #[arg(long, value_name = "FILE")]
    pub chain: Option<std::path::PathBuf>,
    /// Evidence budget for long runs and benchmarks: stream the function-level chain of only the first N calls
    /// (of the chain's first function) in full — callers, arguments, object snapshots — and count every later call
    /// in the kernel (entries and exits per function, checked against the syscalls seen at the boundary).
    /// 0 = every call in full.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub chain_calls: u32,
    /// Measure what syswalk's own BPF programs cost the kernel: turns on the kernel's BPF run-time statistics for
    /// this session only (off again when syswalk exits) and reports, per program, how often it ran and the time
    /// spent in it. Without it the report still counts recursion misses (events the kernel skipped), as lost.
    #[arg(long)]
    pub bpf_stats: bool,
    /// Keep a log2 histogram of the inclusive time of every call of every chain function in the kernel (calls past
    /// --chain-calls included) and put it in the report (`histograms` in JSON); `--format hist` prints them.
    #[arg(long)]
    pub hist: bool,
    /// Calls shown with their full evidence: the first N of each syscall (and up to 100 more with a refuted claim).
    /// Every call is judged and counted as it arrives whatever N is (`totals` in JSON), so memory does not grow
    /// with the run; 0 keeps every call in full (memory then grows with it).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub keep_calls: usize,
}

/// What `diff` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Text,
    Md,
    Json,
}

/// What `render` makes from a saved report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RenderFormat {
    /// A timeline (Chrome trace-event JSON for ui.perfetto.dev).
    Perfetto,
    /// Latency histograms (from a run made with --hist).
    Hist,
    /// Latency histograms as an SVG picture.
    HistSvg,
    /// The memory graph (fd table, file, socket, sock and their tables, an arrow per pointer) as an SVG picture.
    Svg,
    /// The report as the text prove and trace print.
    Text,
    /// The report as Markdown.
    Md,
    /// The report as read.
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Make (or watch) socket() calls and prove what they created: fd, struct file, socket, sock and their links.
    #[command(
        after_help = "Examples:\n  syswalk prove                         built-in target: socket(AF_INET, SOCK_STREAM, 0), fds 0,1,2 open → fd 3\n  \
syswalk prove --family inet6 --type dgram\n  syswalk prove --life                  built-in TCP server + client on loopback: bind, listen, connect, accept4, read/write, close\n  \
syswalk prove -- ./my_server 8080      run a program; prove every socket-life call it (and its children) makes\n  \
syswalk prove --format json -o r.json"
    )]
    Prove {
        /// Family for the built-in target: a name from this machine's headers (inet, inet6, unix, …) or a number.
        #[arg(long, default_value = "inet", conflicts_with = "command")]
        family: String,
        /// Socket type for the built-in target: a name from the kernel's BTF (stream, dgram, raw, …) or a number.
        #[arg(long = "type", default_value = "stream", conflicts_with = "command")]
        ty: String,
        /// Protocol for the built-in target: a name from the kernel's BTF (ip, tcp, udp, …) or a number.
        #[arg(long, default_value = "0", conflicts_with = "command")]
        protocol: String,
        /// A built-in target that fails on purpose (the course's puzzle: does the kernel release what it already
        /// allocated?): emfile — RLIMIT_NOFILE 3, so no fd is free after sock_alloc; family-range — a family past
        /// the kernel's table (rejected before anything is allocated); family-unregistered — a family inside it
        /// that nothing registered (25); protocol — AF_INET, SOCK_STREAM, IPPROTO_UDP; type — type SOCK_MAX (the kernel rejects type ≥ SOCK_MAX);
        /// connrefused — connect() to a port held by a socket that does not listen (ECONNREFUSED); addrinuse —
        /// bind() to a listener's address (EADDRINUSE); accept-emfile — accept4() with no fd free (EMFILE), then
        /// again with room.
        #[arg(long, value_enum, conflicts_with_all = ["command", "family", "ty", "protocol"])]
        fail: Option<Fail>,
        /// The built-in TCP life target instead of one socket(): a server and a client on 127.0.0.1 from one thread
        /// — socket, setsockopt(SO_REUSEADDR), bind(port 0), getsockname, listen(8), socket, connect, accept4,
        /// write/read both ways, close ×3 — every call proved, both ends of the connection linked.
        #[arg(long, conflicts_with_all = ["command", "family", "ty", "protocol", "fail"])]
        life: bool,
        #[command(flatten)]
        how: TraceArgs,
        #[command(flatten)]
        out: OutputArgs,
        /// Program to run (held before exec until every probe is attached), with its arguments. Its stdout goes to
        /// stderr while the report is written to stdout.
        #[arg(last = true, value_name = "CMD")]
        command: Vec<OsString>,
    },
    /// Trace socket-life syscalls (socket, bind, listen, accept, accept4, connect, close) of a program or a PID.
    #[command(
        after_help = "Examples:\n  syswalk trace -p 4242                 attach to a running process and all its threads; Ctrl-C to stop\n  \
syswalk trace --syscalls socket,bind,listen -- ./server\n  syswalk trace -p 4242 --duration 10\n  \
syswalk trace --chain my_chain.toml -- ./prog"
    )]
    Trace {
        /// Attach to this running process (a thread ID selects its whole process).
        #[arg(short, long, conflicts_with = "command")]
        pid: Option<u32>,
        /// Comma-separated syscalls to trace.
        #[arg(long, value_delimiter = ',', default_value = "socket,bind,listen,accept,accept4,connect,close")]
        syscalls: Vec<String>,
        /// Stop after this many seconds (default: when the target exits, or on Ctrl-C).
        #[arg(long, value_name = "SECS")]
        duration: Option<f64>,
        #[command(flatten)]
        how: TraceArgs,
        #[command(flatten)]
        out: OutputArgs,
        /// Program to run (held before exec until every probe is attached), with its arguments; its children are
        /// followed too. Its stdout goes to stderr while the report is written to stdout.
        #[arg(last = true, value_name = "CMD")]
        command: Vec<OsString>,
    },
    /// The Part-1 lesson for socket(), built from live evidence: one step per line, each with the command behind
    /// it, the values captured and its verdict; closing sections (terms used before being derived, forward
    /// references, rejection status) are computed.
    #[command(
        after_help = "Examples:\n  syswalk lesson                        built-in target, text (wide lines)\n  \
syswalk lesson --format md -o part1.md\n  syswalk lesson --life                 the whole course: socket(), then bind, listen, connect, accept4, write/read, close\n  syswalk lesson --fail emfile          the harder puzzle: a socket() that fails after sock_alloc leaks nothing\n  syswalk lesson --fail accept-emfile   accept4() with no fd free: the connection waits for the next accept4\n  syswalk lesson -- ./my_prog          the first socket() your program makes\n  \
syswalk lab run --kernel 6.12 -- syswalk lesson   the same lesson on a stock kernel, every step observable\n\n\
Marks: ✓ proved · ✗ refuted · – not observable here (with why) · · shown · ≡ axiom (taken as given)"
    )]
    Lesson {
        /// A System.map or vmlinux of the running kernel for the KASLR steps (default: /boot, /usr/lib/debug/boot).
        #[arg(long, value_name = "FILE")]
        system_map: Option<PathBuf>,
        /// The whole course: after socket(), one chapter per call of a TCP connection's life (bind, listen,
        /// connect, accept4, write/read, close), from the built-in life target (see `prove --life`).
        #[arg(long, conflicts_with = "command")]
        life: bool,
        /// The course's harder puzzle instead of Part 1: a built-in socket() that fails (emfile — after
        /// sock_alloc, no fd free; family-range, family-unregistered, protocol, type — see `prove --fail`), as a
        /// chapter: the question, the prediction from the source lines (DWARF: `lab run --dbg`), the observations
        /// (the socket released, the fd table and the socket count unchanged, the memory freed), the verdict.
        /// A connection's failure (connrefused, addrinuse, accept-emfile) gets a chapter of the same shape, its
        /// prediction from the failing call's chain (where the connect is sent, the port asked for, the fd asked
        /// for).
        #[arg(long, value_enum, conflicts_with_all = ["command", "life"])]
        fail: Option<Fail>,
        #[command(flatten)]
        how: TraceArgs,
        #[command(flatten)]
        out: OutputArgs,
        /// A program to follow instead of the built-in target: the lesson takes its first
        /// socket(AF_INET, SOCK_STREAM, 0) call and disassembles the call site in its binary.
        #[arg(last = true, value_name = "CMD")]
        command: Vec<OsString>,
    },
    /// The course as a static site: Part 1 (the lesson, in a split view), Part 2: the proof, one chapter per
    /// system call, claims with their evidence, questions and confusions (three panes), common mistakes judged,
    /// and a comparison when several kernels' evidence is given. Plain HTML and one stylesheet: open
    /// DIR/index.html from disk. The same evidence gives the same bytes.
    #[command(
        after_help = "Examples:\n  syswalk site -o site                  trace the whole course here, then write the site\n  \
syswalk lab run --kernel 6.12 --dbg --out-dir ev -- syswalk lesson --life --format json -o ev/6.12.json\n  \
syswalk site -o site --here --from ev/6.1.json --from ev/6.12.json   this machine beside two stock kernels\n  \
syswalk site -o site --from ev/6.12.json                            saved evidence only: nothing is traced\n  \
syswalk site -o site -- ./my_prog                                   the first socket() of your program\n\n\
Evidence files: `lesson --format json` (the lesson with its run's report: every page) or `prove`/`trace \
--format json` (a report: every page but Part 1)."
    )]
    Site {
        /// The folder to write the site into: new, empty, or one a previous `syswalk site` wrote (its files are
        /// replaced). Checked before anything is traced.
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        out: PathBuf,
        /// Saved evidence to publish (repeatable): lesson or report JSON, from this host or from lab runs.
        #[arg(long = "from", value_name = "FILE")]
        from: Vec<PathBuf>,
        /// Also trace a run here (the default when no --from is given).
        #[arg(long)]
        here: bool,
        /// A System.map or vmlinux of the running kernel for the KASLR steps of the run here.
        #[arg(long, value_name = "FILE")]
        system_map: Option<PathBuf>,
        /// No progress lines on stderr.
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        how: TraceArgs,
        /// A program to follow in the run here instead of the built-in life target (its first
        /// socket(AF_INET, SOCK_STREAM, 0) call).
        #[arg(last = true, value_name = "CMD")]
        command: Vec<OsString>,
    },
    /// KASLR from evidence: live addresses (kallsyms) minus link-time addresses (System.map or vmlinux symbols).
    #[command(
        after_help = "Examples:\n  syswalk kaslr\n  syswalk kaslr --system-map /usr/lib/debug/boot/vmlinux-$(uname -r)\n  \
syswalk lab run --kernel 6.1 --dbg -- syswalk kaslr\n  syswalk lab run --kernel 6.1 --dbg --append nokaslr -- syswalk kaslr"
    )]
    Kaslr {
        /// A System.map or vmlinux (with symbols) of the running kernel build.
        #[arg(long, value_name = "FILE")]
        system_map: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// The numbers behind socket(AF_INET, SOCK_STREAM, 0): installed headers (file:line), the kernel's BTF, and
    /// the registers of a traced call made by the built-in target.
    Constants {
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// What this kernel lets syswalk observe: each attach type tried for real, BTF, tracefs, kallsyms, System.map.
    Caps {
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// What differs between two saved reports (`prove`/`trace` `--format json`): the chain's functions (present,
    /// absent or inlined; signatures from BTF), claims whose verdict differs, and per function the ratio of median
    /// inclusive times. A report against itself shows no difference.
    #[command(after_help = "Examples:\n  syswalk lab run --kernel 6.1 -- syswalk prove --format json > 6.1.json\n  \
syswalk lab run --kernel 6.12 -- syswalk prove --format json > 6.12.json\n  syswalk diff 6.1.json 6.12.json\n  \
syswalk diff 6.1.json 6.12.json --format md -o diff.md")]
    Diff {
        /// The first report (a JSON file written by prove or trace).
        #[arg(value_name = "A.json")]
        a: PathBuf,
        /// The second report.
        #[arg(value_name = "B.json")]
        b: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
        /// Write the diff here instead of stdout (checked before anything is read).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Render a saved report (`prove`/`trace --format json`) again without tracing: a lab run's evidence on the
    /// host. Formats: text and md (the report as prove prints it), svg (the memory graph), perfetto (a timeline),
    /// hist and hist-svg (latency histograms, from a run made with --hist) and json (the report as read). The
    /// report is checked to be a whole report of this schema first.
    #[command(
        after_help = "Examples:\n  syswalk lab run --kernel 6.12 --out-dir out -- syswalk prove --format json -o out/6.12.json\n  \
syswalk render out/6.12.json                                        # as text, as prove prints it\n  \
syswalk render out/6.12.json --format svg -o 6.12.svg               # the memory graph\n  \
syswalk render out/6.12.json --format perfetto -o 6.12.trace.json   # open in ui.perfetto.dev"
    )]
    Render {
        /// The report (a JSON file written by prove or trace).
        #[arg(value_name = "REPORT.json")]
        report: PathBuf,
        #[arg(long, value_enum, default_value = "text")]
        format: RenderFormat,
        /// Write here instead of stdout (checked before anything is read).
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The kernel lab: run a command (syswalk itself, its tests, anything) on a stock Debian kernel under QEMU.
    Lab {
        #[command(subcommand)]
        cmd: LabCmd,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): syswalk(1), or with a command's name its own page (syswalk-prove(1), …).
    #[command(after_help = "Examples:\n  syswalk man | man -l -\n  syswalk man prove > syswalk-prove.1")]
    Man {
        /// The command whose page to print (prove, trace, lesson, diff, render, kaslr, constants, caps, lab, completions, man).
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LabCmd {
    /// Known and cached kernels.
    Kernels,
    /// Download and unpack a known kernel (Debian package, via apt-get download + dpkg-deb -x) into the cache.
    Fetch {
        /// A known kernel: 6.1 (bookworm cloud, alias oldest), 6.12 (bookworm-backports cloud) or 7.3
        /// (trixie-backports cloud, alias newest). `syswalk lab kernels` shows the version each resolved to.
        kernel: String,
        /// Also fetch its -dbg package (≈280–360 MB): link-time System.map and DWARF vmlinux, for `kaslr` and the
        /// lesson's source lines.
        #[arg(long)]
        dbg: bool,
        /// Drop the cached kernel (and its -dbg files) and fetch the suite's newest build of the same series
        /// again. Without it a fetched kernel is kept as it is: the lab does not change under you.
        #[arg(long)]
        refresh: bool,
    },
    /// Boot a kernel, run CMD inside (same directory, same PATH, host root read-only under a tmpfs overlay),
    /// stream its output, and exit with its exit code.
    #[command(
        after_help = "Examples:\n  syswalk lab run --kernel 6.1 -- uname -r\n  syswalk lab run --kernel 6.12 -- syswalk prove\n  \
syswalk lab run --kernel /boot/vmlinuz-6.1.0-26-amd64 -- sh -c 'cat /proc/version'\n\n\
Exit status: the command's own; 40 when the lab itself failed (panic, timeout, missing qemu…)."
    )]
    Run {
        /// A known kernel id (6.1 = oldest, 6.12, 7.3 = newest; fetched on first use) or a path to a
        /// vmlinuz-<version> image.
        #[arg(long, short)]
        kernel: String,
        /// Give up (and stop the VM) after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Accelerator: auto tries KVM once (cached) and falls back to TCG when guests cannot run under it.
        #[arg(long, value_enum, default_value = "auto")]
        accel: crate::lab::vm::Accel,
        /// Guest memory.
        #[arg(long, default_value = "2G")]
        mem: String,
        /// Guest CPUs.
        #[arg(long, default_value_t = 2)]
        cpus: u32,
        /// Extra kernel command line (e.g. nokaslr).
        #[arg(long, default_value = "")]
        append: String,
        /// Pass an environment variable into the guest (NAME or NAME=VALUE; repeatable).
        #[arg(long = "env", short = 'e')]
        env: Vec<String>,
        /// Print the guest console log after the run.
        #[arg(long)]
        console: bool,
        /// Fetch the kernel's -dbg package first and show it to the guest at /usr/lib/debug/boot and as
        /// /boot/System.map-<version> (link-time addresses and DWARF for `kaslr` and `lesson`).
        #[arg(long)]
        dbg: bool,
        /// Do not record sock_register() calls from boot on. By default the guest boots with the function tracer
        /// filtered to sock_register and a boot-time kprobe event on it, so `lesson` can show who filled
        /// net_families[] (note: set_ftrace_filter then starts as "sock_register").
        #[arg(long)]
        no_boot_trace: bool,
        /// A host folder the guest may write, shared read-write at the same path: what the command writes there
        /// (`syswalk prove -o DIR/a.json`) is kept. Everything else the guest writes goes to a throwaway overlay.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Which qemu: auto and backports = qemu ≥ 10 from bookworm-backports (fetched into the lab cache on first
        /// use; Debian's 7.2 crashes or hangs these kernels under TCG now and then), system = the one on PATH
        /// (Debian's qemu-system-x86).
        #[arg(long, value_enum, default_value = "auto")]
        qemu: QemuArg,
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<OsString>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum QemuArg {
    Auto,
    System,
    Backports,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AttachArg {
    Auto,
    Fentry,
    Kprobe,
    None,
}

/// The built-in failure targets (`prove --fail`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fail {
    Emfile,
    FamilyRange,
    FamilyUnregistered,
    Protocol,
    Type,
    Connrefused,
    Addrinuse,
    AcceptEmfile,
}
