//! Every term a lesson can introduce: its name, how the lesson derives it, and the marks — words, symbols, field
//! paths — that show a step's text uses it. The axiom checker (`super::check`) scans each step's rendered text for
//! these marks; nobody writes down what a step uses.

/// One term.
#[derive(Debug, Clone, Copy)]
pub struct Term {
    pub name: &'static str,
    /// How the introducing step derives it (for an axiom: what is taken as given).
    pub derived: &'static str,
    /// What marks its use in a step's text (matched whole: no letter, digit or `_` on either side; a plural `s` may
    /// follow; a mark written in lower-case words matches any case, one with capitals — `BTF`, `AF_INET` — or an
    /// identifier's `_`, `->` or `.` — `tcp_close` — only itself).
    pub marks: &'static [&'static str],
}

const fn t(name: &'static str, derived: &'static str, marks: &'static [&'static str]) -> Term {
    Term { name, derived, marks }
}

pub const GLOSSARY: &[Term] = &[
    // Axioms: taken as given.
    t("number", "given", &[]),
    t("byte", "given", &["byte", "bytes"]),
    t("memory", "given", &["memory"]),
    t("address", "given", &["address", "addresses"]),
    t("pointer", "given", &["pointer", "pointers", "points to", "points back"]),
    t("CPU", "given", &["CPU"]),
    t("instruction", "given", &["instruction", "instructions"]),
    t("register", "given", &["register", "registers"]),
    t("call", "given", &["call", "calls", "called"]),
    t("return address", "given", &["return address"]),
    t("stack", "given", &["stack"]),
    t("rdi", "given", &["rdi"]),
    t("rsi", "given", &["rsi"]),
    t("rdx", "given", &["rdx"]),
    t("rax", "given", &["rax"]),
    t("rsp", "given: the stack pointer register", &["rsp"]),
    t("kernel", "given", &["kernel"]),
    t("user space", "given", &["user space", "user stack"]),
    t("system call", "given", &["system call", "syscall"]),
    t("syscall number", "given", &["syscall number", "system call's number"]),
    t("file descriptor", "given", &["file descriptor", "fd"]),
    t(
        "fd table",
        "given: the process's table of open files (fdt), its slots fdt->fd[n], its bitmap of those in use open_fds",
        &["fd table", "fdt", "open_fds", "fdt->fd"],
    ),
    t("struct file", "given: an open file, with its inode (file->f_inode)", &["struct file", "file->f_inode"]),
    // Derived by a step.
    t("machine", "uname(2)", &["machine"]),
    t("socket()", "the line the course writes", &["socket()"]),
    t("AF_INET", "the line, then the header", &["AF_INET"]),
    t("SOCK_STREAM", "the line, then the header", &["SOCK_STREAM"]),
    t("IPPROTO_IP", "the line, then the header", &["IPPROTO_IP"]),
    t("header", "the installed C headers", &["header", "headers"]),
    t("libc", "the C library socket() is part of", &["libc"]),
    t("eBPF", "BPF programs, which the kernel checks (the verifier) and runs at attach points", &["eBPF", "BPF"]),
    t("tracepoint", "a fixed attach point in the kernel", &["tracepoint", "tracepoints"]),
    t("BTF", "the kernel's description of its own types (/sys/kernel/btf/vmlinux)", &["BTF"]),
    t("tp_btf", "a tracepoint program that reads its arguments typed by BTF", &["tp_btf"]),
    t("sys_enter", "the tracepoint at every system call's entry", &["sys_enter"]),
    t("sys_exit", "the tracepoint at every system call's exit", &["sys_exit"]),
    t(
        "pt_regs",
        "the registers saved at system call entry, as sys_enter sees them: one slot per register, named without its r \
         (di holds rdi, si rsi, dx rdx, sp rsp)",
        &["pt_regs", "regs->", "di", "si", "dx", "sp"],
    ),
    t("fentry", "a BPF program on a kernel function's entry (fexit: its return)", &["fentry", "fexit"]),
    t("kprobe", "a breakpoint on a kernel instruction (kretprobe: on the return)", &["kprobe", "kprobes", "kretprobe"]),
    t("tier", "what this kernel lets syswalk attach: A fentry, B kprobe, C tracepoints", &["tier"]),
    t("__NR_socket", "the header's syscall number for socket", &["__NR_socket"]),
    t("call site", "the call instruction in the binary", &["call site"]),
    t("PLT", "the binary's stubs that jump to library functions", &["PLT"]),
    t("GOT", "the table of library addresses the binary calls through", &["GOT"]),
    t("load bias", "where the binary was loaded, minus where it was linked", &["load bias"]),
    t("start_code", "task->mm->start_code: where the program's code starts in memory", &["start_code"]),
    t("kernel symbol", "a named kernel function or variable", &["kernel symbol", "kernel's symbols"]),
    t("kallsyms", "/proc/kallsyms: the live address of each kernel symbol", &["kallsyms"]),
    t("link-time address", "the address a symbol had when the kernel was linked", &["link-time"]),
    t("KASLR offset", "live address − link-time address, the same for every symbol", &["KASLR"]),
    t(
        "creation chain",
        "the kernel functions one socket() call runs through",
        &["creation chain", "function chain", "function-level chain", "the chain"],
    ),
    t("caller", "the function a return address lies in", &["caller", "callers"]),
    t("net_families", "the kernel's table of socket families", &["net_families"]),
    t("inetsw", "AF_INET's table of socket types", &["inetsw"]),
    t("sock_register", "the function that fills a net_families slot at boot", &["sock_register"]),
    t("displacement", "the address inside an instruction", &["displacement", "disp32"]),
    t("struct socket", "what sock_alloc returns", &["struct socket", "socket->"]),
    t("struct sock", "what sk_alloc returns (socket->sk points to it)", &["struct sock", "sk->", "socket->sk", "->sk"]),
    t(
        "source line",
        "which line of the kernel's source an address was compiled from, as DWARF says",
        &["source line"],
    ),
    // The server's life (lesson --life).
    t("sockaddr", "the bytes a program passes as an address: family, port, IPv4 address", &["sockaddr"]),
    t("port", "a 16-bit number that, with an address, names one end of a connection", &["port", "ports"]),
    t(
        "network byte order",
        "most significant byte first, as the wire carries it; ntohs turns it into this CPU's order",
        &["network byte order", "ntohs", "byte order"],
    ),
    t(
        "inet_sock",
        "the IPv4 part of a struct sock: where it is bound (skc_rcv_saddr, and the port as inet_num and as inet_sport \
         in network byte order) and connected (skc_daddr, skc_dport)",
        &["inet_sock", "inet_num", "inet_sport", "skc_rcv_saddr", "skc_daddr", "skc_dport"],
    ),
    t("peer", "the other end's address and port", &["peer", "peers"]),
    t(
        "ephemeral port",
        "a port the kernel picks itself from net.ipv4.ip_local_port_range",
        &["ephemeral", "ip_local_port_range"],
    ),
    t(
        "bind bucket",
        "the kernel's record that a port is taken (a struct inet_bind_bucket; the sock's icsk_bind_hash points to it)",
        &["bind bucket", "icsk_bind_hash", "inet_bind_bucket"],
    ),
    t("state tracepoint", "sock:inet_sock_set_state, at every TCP state change", &["inet_sock_set_state"]),
    t(
        "backlog",
        "listen()'s limit on connections waiting to be accepted (sk_max_ack_backlog), capped by net.core.somaxconn",
        &["backlog", "sk_max_ack_backlog", "somaxconn"],
    ),
    t(
        "accept queue",
        "the connections waiting for accept() (sk_ack_backlog counts them)",
        &["accept queue", "sk_ack_backlog"],
    ),
    t("listener", "a sock in TCP_LISTEN: connections to its port wait in its accept queue", &["listener", "listening"]),
    t(
        "handshake",
        "SYN, SYN-ACK, ACK: the three packets that open a TCP connection (the client waits in SYN_SENT, the \
         listener's new connection in SYN_RECV)",
        &["handshake", "SYN_SENT", "SYN_RECV", "SYN", "ACK"],
    ),
    t("child sock", "the sock the kernel makes for one accepted connection", &["child"]),
    t(
        "sequence number",
        "TCP's count of the bytes a sock sent (write_seq), the peer acknowledged (snd_una), it received (rcv_nxt) \
         and the program read (copied_seq)",
        &["sequence number", "rcv_nxt", "copied_seq", "write_seq", "snd_una"],
    ),
    t(
        "deferred release",
        "a file's last fput runs at the return to user space, after sys_exit (as task_work)",
        &["deferred", "fput", "task_work"],
    ),
    t(
        "RCU grace period",
        "the wait after which no CPU can still be reading an object removed from view: the kernel frees such objects then, from a callback",
        &["rcu", "grace period"],
    ),
];

/// Terms each lesson derives where its text first uses them (`super::place_at_first_use`): names whose first use
/// depends on what the run shows (a chain at tiers A/B names functions before the prose does; a failure chapter
/// names its errno and the functions of its prediction), so the step is computed; the derivation is written here.
pub const AT_FIRST_USE: &[Term] = &[
    // The boundary.
    t(
        "orig_ax",
        "the kernel's saved copy of rax at system call entry: where the entry code keeps the system call's number, \
         since rax itself will carry the return value",
        &["orig_ax"],
    ),
    t(
        "edi",
        "the low 32 bits of rdi (esi of rsi, edx of rdx): an instruction that writes one clears the upper 32 bits, \
         so mov edi, 2 makes rdi = 2",
        &["edi", "esi", "edx"],
    ),
    t(
        "ELF",
        "the file format of Linux programs (and of the kernel): machine code, the program headers that say where to \
         load it, and symbols",
        &["ELF"],
    ),
    t("p_vaddr", "a program header's field: the address its segment was linked at", &["p_vaddr"]),
    t(
        "bpf_probe_read_user",
        "the BPF helper that copies bytes from the traced process's memory",
        &["bpf_probe_read_user"],
    ),
    t(
        "task->mm",
        "the process's memory map (its struct mm_struct): where its code and stack are",
        &["->mm", "struct mm_struct"],
    ),
    t(
        "task->files",
        "the process's open files (struct files_struct): its fd table is files->fdt",
        &["->files", "files->"],
    ),
    t("max_fds", "fdt->max_fds: how many slots the fd table has now; it grows up to RLIMIT_NOFILE", &["max_fds"]),
    t("next_fd", "files->next_fd: the slot where the kernel starts looking for a free fd", &["next_fd"]),
    t("RLIMIT_NOFILE", "the process's limit on open files: no fd at or above it is given out", &["RLIMIT_NOFILE"]),
    t("NULL", "the pointer 0: it points to nothing", &["NULL"]),
    t(
        "general registers",
        "the x86-64 CPU's other registers: rbx, rcx, rbp, r8 … r15, their 32-bit halves (eax, ebx, ecx, ebp, esp, \
         r8d … r15d) and 16-bit ones (ax, bx, cx), places for numbers like rdi; and rip (RIP), the address of the \
         next instruction",
        &[
            "rbx", "rcx", "rbp", "rip", "RIP", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "eax", "ebx",
            "ecx", "ebp", "esp", "eip", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d", "ax", "bx", "cx",
        ],
    ),
    // The line and its constants.
    t("PF_INET", "the protocol-family name the header defines AF_INET as: the same number", &["PF_INET"]),
    t(
        "TCP",
        "the Transmission Control Protocol: the reliable, ordered byte stream AF_INET gives a SOCK_STREAM socket \
         (its protocol number IPPROTO_TCP = 6)",
        &["TCP", "IPPROTO_TCP"],
    ),
    t(
        "IPPROTO_UDP",
        "UDP's protocol number (17): the datagram protocol of AF_INET's SOCK_DGRAM sockets",
        &["IPPROTO_UDP"],
    ),
    t(
        "SOCK_NONBLOCK",
        "flag bits socket() and accept4() take beside the type: SOCK_NONBLOCK (calls on the file do not wait), \
         SOCK_CLOEXEC (the fd is closed at exec)",
        &["SOCK_NONBLOCK", "SOCK_CLOEXEC"],
    ),
    t(
        "AF_MAX",
        "the number of address families the kernel knows (NPROTO is AF_MAX): a family at or above it is out of range",
        &["AF_MAX", "NPROTO"],
    ),
    t(
        "AF_WANPIPE",
        "an address family the header defines (25) whose net_families slot no code of this kernel filled",
        &["AF_WANPIPE"],
    ),
    t("SOCK_MAX", "one more than the largest socket type: a type at or above it is invalid", &["SOCK_MAX"]),
    // Kernel addresses.
    t("_text", "the kernel symbol at the start of the kernel's code: where its text begins", &["_text"]),
    t(
        "CONFIG_KALLSYMS_ALL",
        "the build option (KALLSYMS_ALL in the kernel's config) that lists data symbols (tables such as net_families) \
         in kallsyms, not only functions",
        &["CONFIG_KALLSYMS_ALL", "KALLSYMS_ALL"],
    ),
    t(
        "CONFIG_RANDOMIZE_BASE",
        "the build option (RANDOMIZE_BASE in the kernel's config) that makes the kernel choose a random KASLR \
         offset at each boot (unless booted nokaslr)",
        &["CONFIG_RANDOMIZE_BASE", "RANDOMIZE_BASE"],
    ),
    t(
        "DWARF",
        "the debugging information the compiler writes beside the code: for each instruction address, the source \
         file and line it came from (the -dbg package's vmlinux has it)",
        &["DWARF"],
    ),
    // socket()'s functions and tables.
    t(
        "__sys_socket",
        "the kernel function the socket system call runs: it makes the socket, then its file and fd",
        &["__sys_socket"],
    ),
    t(
        "update_socket_protocol",
        "a hook __sys_socket asks whether a BPF program changes the protocol (without one it returns it unchanged)",
        &["update_socket_protocol"],
    ),
    t(
        "__sock_create",
        "the function that checks the family and type, then has sock_alloc make the struct socket and the family's \
         create function fill it",
        &["__sock_create"],
    ),
    t(
        "security hooks",
        "security_socket_create and security_socket_post_create: where the kernel's security modules are asked \
         before a socket is made (they may refuse) and told after",
        &["security_socket_create", "security_socket_post_create"],
    ),
    t("sock_alloc", "the function that allocates a struct socket (with the inode that carries it)", &["sock_alloc"]),
    t(
        "family create function",
        "the function a socket family provides to fill a new socket (<family>_create: inet_create for AF_INET); \
         net_families[family]->create holds it",
        &["create function", "<family>_create", "->create", ".create", "<create>"],
    ),
    t(
        "inet_create",
        "AF_INET's create function: it finds the type's entry in inetsw, sets socket->ops and has sk_alloc make the \
         struct sock",
        &["inet_create"],
    ),
    t(
        "inet6_create",
        "the create functions of other families: inet6_create (AF_INET6, IPv6), unix_create (AF_UNIX)",
        &["inet6_create", "unix_create"],
    ),
    t(
        "sk_alloc",
        "the function that allocates a struct sock, from the memory cache its protocol's struct proto names",
        &["sk_alloc"],
    ),
    t(
        "sock_init_data",
        "the function that gives a new struct sock its defaults and links it with its struct socket",
        &["sock_init_data"],
    ),
    t(
        "sock_alloc_file",
        "the function that makes a socket's struct file, whose private_data points to the struct socket",
        &["sock_alloc_file"],
    ),
    t("sock_map_fd", "the function socket() uses to reserve an fd and make the socket's file for it", &["sock_map_fd"]),
    t(
        "get_unused_fd_flags",
        "the function that reserves the lowest free fd (or fails with EMFILE at RLIMIT_NOFILE)",
        &["get_unused_fd_flags"],
    ),
    t(
        "fd_install",
        "the function that puts a struct file into a slot of the fd table: from then on the fd names that file",
        &["fd_install"],
    ),
    t("private_data", "the field of struct file where a socket's file keeps its struct socket", &["private_data"]),
    t("sk_socket", "sk->sk_socket: the struct sock's pointer back to its struct socket", &["sk_socket"]),
    t("socket->file", "the struct socket's pointer back to its struct file", &["socket->file", "->file"]),
    t("socket->type", "the struct socket's type (SOCK_STREAM, …), as socket() was asked for it", &["socket->type"]),
    t(
        "socket->state",
        "the struct socket's own state (SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED, SS_DISCONNECTING), beside its \
         sock's TCP state",
        &["socket->state", "SS_UNCONNECTED", "SS_CONNECTING", "SS_CONNECTED", "SS_DISCONNECTING"],
    ),
    t(
        "sk_family",
        "sk->sk_family, sk_type, sk_protocol: the family, type and protocol a struct sock was made for",
        &["sk_family", "sk_type", "sk_protocol"],
    ),
    t(
        "f_op",
        "file->f_op: the struct file's table of functions (read_iter, release, …): what kind of file it is",
        &["f_op", "read_iter"],
    ),
    t(
        "i_mode",
        "the inode's type and permission bits (file->f_inode->i_mode): S_IFSOCK for a socket",
        &["i_mode", "S_IFSOCK"],
    ),
    t(
        "socket_file_ops",
        "the f_op table of every socket's struct file (its read_iter is sock_read_iter, its release sock_close)",
        &["socket_file_ops"],
    ),
    t(
        "struct socket_alloc",
        "the one allocation that holds a struct socket and its inode (vfs_inode) side by side: sock_alloc makes it, \
         sock_free_inode is given the inode and frees the whole",
        &["socket_alloc", "vfs_inode"],
    ),
    t(
        "sk_rcu",
        "sk->sk_rcu: the struct sock's rcu_head, the hook by which the callback that frees the sock after an RCU \
         grace period is handed it",
        &["sk_rcu", "rcu_head"],
    ),
    t(
        "struct proto_accept_arg",
        "what newer kernels pass to a family's accept in place of its flags: the flags, and room for the error",
        &["proto_accept_arg"],
    ),
    t(
        "sock_read_iter",
        "a socket file's read function (its f_op's read_iter): it reads through the socket",
        &["sock_read_iter"],
    ),
    t(
        "proto_ops",
        "struct proto_ops: a family's table of socket functions (release, bind, connect, …) for one type; \
         socket->ops points to it",
        &["proto_ops", "->ops", "ops->family", "->family", "ops->release", "ops->connect", "ops->bind"],
    ),
    t(
        "struct proto",
        "a protocol's table of functions for its socks (close, connect, …) and its name; sk->sk_prot points to it",
        &["struct proto", "sk_prot", "sk_prot->name"],
    ),
    t(
        "struct net_proto_family",
        "a family's entry in net_families: its number and its create function",
        &["struct net_proto_family", "net_proto_family"],
    ),
    t("inet_family_ops", "AF_INET's struct net_proto_family: the entry of net_families[AF_INET]", &["inet_family_ops"]),
    t("tcp_prot", "TCP's struct proto", &["tcp_prot"]),
    t("inet_stream_ops", "the proto_ops of AF_INET's stream sockets", &["inet_stream_ops"]),
    t("inet_release", "AF_INET's release in proto_ops: it closes the sock through its protocol", &["inet_release"]),
    t(
        "inet_stream_connect",
        "AF_INET's connect in proto_ops for stream sockets (__inet_stream_connect does the work: send, then wait)",
        &["inet_stream_connect", "__inet_stream_connect"],
    ),
    t(
        "sock_release",
        "the function that releases a struct socket (sock_release, __sock_release): its family's release, then the \
         socket itself",
        &["sock_release", "__sock_release"],
    ),
    t(
        "tcp_close",
        "TCP's close: it takes the sock through the closing states to TCP_CLOSE and drops the socket's hold on it",
        &["tcp_close"],
    ),
    // The connection's life.
    t(
        "TCP state",
        "where a TCP sock is in its life, a state machine the kernel drives (TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT, \
         TCP_SYN_RECV, TCP_NEW_SYN_RECV, TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_FIN_WAIT1, \
         TCP_FIN_WAIT2, TCP_CLOSING, TCP_TIME_WAIT)",
        &[
            "TCP state",
            "state machine",
            "state change",
            "state changes",
            "TCP_CLOSE",
            "TCP_LISTEN",
            "TCP_SYN_SENT",
            "TCP_SYN_RECV",
            "TCP_NEW_SYN_RECV",
            "TCP_ESTABLISHED",
            "TCP_CLOSE_WAIT",
            "TCP_LAST_ACK",
            "TCP_FIN_WAIT1",
            "TCP_FIN_WAIT2",
            "TCP_CLOSING",
            "TCP_TIME_WAIT",
        ],
    ),
    t(
        "bind's chain",
        "__sys_bind (the system call), inet_bind and inet_bind_sk (AF_INET's bind), __inet_bind (checks the address, \
         then asks the protocol for the port), inet_csk_get_port (finds the port's bind bucket, or takes it)",
        &["__sys_bind", "inet_bind", "inet_bind_sk", "__inet_bind", "inet_csk_get_port"],
    ),
    t(
        "listen's chain",
        "__sys_listen (the system call), inet_listen and __inet_listen_sk (AF_INET's listen: sets the backlog), \
         inet_csk_listen_start (makes the sock a listener, in TCP_LISTEN)",
        &["__sys_listen", "inet_listen", "__inet_listen_sk", "inet_csk_listen_start"],
    ),
    t(
        "connect's chain",
        "__sys_connect (the system call), then proto_ops' connect; tcp_v4_connect: TCP's connect for IPv4, which \
         picks the local port and sends the SYN",
        &["__sys_connect", "tcp_v4_connect"],
    ),
    t(
        "accept4's chain",
        "__sys_accept4 (the system call), do_accept (its work), inet_accept (AF_INET's accept: grafts the child sock \
         onto the new socket), inet_csk_accept (takes a connection off the accept queue), sock_graft (links a sock and \
         a socket)",
        &["__sys_accept4", "do_accept", "inet_accept", "inet_csk_accept", "sock_graft"],
    ),
    t(
        "tcp_sendmsg",
        "TCP's send and receive (tcp_sendmsg, tcp_recvmsg): they copy bytes between the program and the sock's queues",
        &["tcp_sendmsg", "tcp_recvmsg"],
    ),
    t(
        "sock_close",
        "the release function of a socket's struct file: called at the file's last fput, it releases the socket",
        &["sock_close"],
    ),
    t(
        "sock_free_inode",
        "the function that frees a released struct socket's memory (with its inode), after an RCU grace period",
        &["sock_free_inode"],
    ),
    t(
        "inet_init",
        "AF_INET's start at boot: among other things it registers the family with sock_register",
        &["inet_init"],
    ),
    t("__sk_destruct", "the function that frees a struct sock's memory once nothing refers to it", &["__sk_destruct"]),
    t(
        "tcp_time_wait",
        "the function that hands a closing TCP connection to a small TIME_WAIT record, so its struct sock can go",
        &["tcp_time_wait", "TIME_WAIT"],
    ),
    // errno values.
    t("EMFILE", "the errno for no free fd below RLIMIT_NOFILE (\"too many open files\")", &["EMFILE"]),
    t(
        "EAFNOSUPPORT",
        "the errno for an address family the kernel does not support (out of range, or no net_families entry)",
        &["EAFNOSUPPORT"],
    ),
    t("EPROTONOSUPPORT", "the errno for a protocol the family does not have for that type", &["EPROTONOSUPPORT"]),
    t("EINVAL", "the errno for an invalid argument (here: a socket type out of range)", &["EINVAL"]),
    t(
        "ECONNREFUSED",
        "the errno connect() returns when the peer answers the SYN with a reset: nobody listens on that port",
        &["ECONNREFUSED"],
    ),
    t("EADDRINUSE", "the errno bind() returns when another sock holds the address and port", &["EADDRINUSE"]),
];

/// Every term: the glossary, then those derived at first use.
pub fn all() -> impl Iterator<Item = &'static Term> {
    GLOSSARY.iter().chain(AT_FIRST_USE.iter())
}

pub fn term(name: &str) -> Option<&'static Term> {
    all().find(|t| t.name.eq_ignore_ascii_case(name))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Does `mark` occur in `text` as a whole (no word character glued to either side, where the mark itself begins
/// or ends with one)?
pub fn occurs(text: &str, mark: &str) -> bool {
    !occurrences(text, mark).is_empty()
}

/// Where `mark` occurs in `text` as a whole (byte ranges, a plural `s` included): see `occurs`.
pub fn occurrences(text: &str, mark: &str) -> Vec<(usize, usize)> {
    // Lower-case words match any case (ASCII lower-casing keeps every byte offset where it was); a mark with
    // capitals, or an identifier's `_`, `->` or `.`, only itself (`tcp_close` is not `TCP_CLOSE`).
    let folded;
    let text = if mark.chars().any(|c| c.is_uppercase() || c == '_' || c == '>' || c == '.') {
        text
    } else {
        folded = text.to_ascii_lowercase();
        folded.as_str()
    };
    let first_word = mark.chars().next().is_some_and(is_word);
    let last_word = mark.chars().last().is_some_and(is_word);
    let mut out = Vec::new();
    if mark.is_empty() {
        return out;
    }
    let mut from = 0;
    while let Some(i) = text[from..].find(mark) {
        let at = from + i;
        let mut end = at + mark.len();
        // A plural: one `s` more, then the word ends.
        if last_word && text[end..].starts_with('s') && !text[end + 1..].chars().next().is_some_and(is_word) {
            end += 1;
        }
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        let ok_before = !first_word || !before.is_some_and(is_word);
        let ok_after = !last_word || !after.is_some_and(is_word);
        if ok_before && ok_after {
            out.push((at, end));
        }
        from = at + mark.chars().next().map(char::len_utf8).unwrap_or(1);
    }
    out
}

/// The glossary terms `text` uses, in glossary order, each with the first of its marks found.
pub fn uses(text: &str) -> Vec<(&'static str, &'static str)> {
    all().filter_map(|t| t.marks.iter().find(|m| occurs(text, m)).map(|m| (t.name, *m))).collect()
}

/// An identifier-shaped token of a step's text: a candidate term, whether or not the glossary knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The byte range of the name itself: for `struct NAME` the NAME, for `->f` or `.f` the field.
    pub start: usize,
    pub end: usize,
    /// The term it names: `orig_ax`, `struct pt_regs`, `private_data`, `DWARF`, `rdi`.
    pub name: String,
    /// As the text writes it: `->private_data`, `.create`, `struct pt_regs`, `orig_ax`.
    pub shown: String,
}

/// x86-64 register names (64-, 32- and 16-bit): words that are identifiers though they have neither `_` nor
/// capitals. (`ip`/`bp` are left out: too likely to be ordinary text.)
const REGISTERS: &[&str] = &[
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "rip", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
    "r15", "eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d",
    "r14d", "r15d", "ax", "bx", "cx", "dx", "si", "di", "sp",
];

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The byte ranges of `text` that are file paths or URLs — quoted data, not words: a whitespace-separated chunk
/// (brackets and trailing punctuation trimmed) that is absolute (`/proc/kallsyms`, `~/x`, `./a.out`), a URL, or
/// names a source or header file (`net/socket.c:1667`, `asm/unistd_64.h`, `unistd_64.h:45`). A probe such as
/// `tp_btf/sys_enter` is none of these: its words are read.
fn paths(text: &str) -> Vec<(usize, usize)> {
    const EXT: &[&str] = &["h", "c", "S", "rs", "o", "ko", "so", "json", "md", "txt", "map", "gz", "xz", "deb"];
    let mut out = Vec::new();
    let mut at = 0;
    for chunk in text.split(|c: char| c.is_whitespace()) {
        let start = at;
        at += chunk.len() + 1;
        let lead = chunk.len() - chunk.trim_start_matches(['(', '[', '{', '"', '\'', '<', '`']).len();
        let c = chunk[lead..].trim_end_matches([')', ']', '}', '"', '\'', '>', '`', ',', ';', '.']);
        if c.is_empty() {
            continue;
        }
        // A `:line` suffix is part of a citation.
        let bare = match c.rsplit_once(':') {
            Some((p, n)) if !n.is_empty() && n.chars().all(|d| d.is_ascii_digit()) => p,
            _ => c,
        };
        let last = bare.rsplit('/').next().unwrap_or(bare);
        let file = last.rsplit_once('.').is_some_and(|(stem, ext)| {
            !stem.is_empty() && stem.chars().any(|ch| ch.is_ascii_alphabetic()) && EXT.contains(&ext)
        });
        let path = c.starts_with('/')
            || c.starts_with("~/")
            || c.starts_with("./")
            || c.starts_with("../")
            || c.contains("://")
            || file;
        if path {
            out.push((start + lead, start + lead + c.len()));
        }
    }
    out
}

/// Every identifier-shaped token of `text`, in order: a word with `_` and a letter (`orig_ax`, `__NR_socket`), a
/// word with two capitals in a row (`DWARF`, `TCP`, `IPv4`), `struct NAME`, a field after `->` or a `.` that
/// follows no letter or digit (`->private_data`, `.create`), a register name (`rdi`, `edi`, `di`). Numbers (`42`,
/// `0xffff…`, `6.1`), file paths and citations (`/usr/include/…/unistd_64.h:45`, `net/socket.c:1667`, a claim's
/// id) are data, not tokens; a hex number without `0x` has no `_` and no capitals.
pub fn identifiers(text: &str) -> Vec<Ident> {
    let mut skip = paths(text);
    // A claim's id (`kaslr.offset_constant`) cites the claim, as a file:line cites a source.
    for id in crate::claims::ids::ALL {
        skip.extend(occurrences(text, id.id));
    }
    let in_path = |i: usize| skip.iter().any(|&(a, b)| a <= i && i < b);
    // The words: maximal runs of ASCII letters, digits and `_`.
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (ident_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (s, e) = words[i];
        i += 1;
        let w = &text[s..e];
        if in_path(s) || w.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        // `struct NAME`: one token, both words.
        if w == "struct" {
            if let Some(&(s2, e2)) = words.get(i) {
                if &text[e..s2] == " " && !text[s2..e2].starts_with(|c: char| c.is_ascii_digit()) {
                    i += 1;
                    let name = format!("struct {}", &text[s2..e2]);
                    out.push(Ident { start: s2, end: e2, name: name.clone(), shown: name });
                    continue;
                }
            }
        }
        let before = &text[..s];
        let field = if before.ends_with("->") {
            Some("->")
        } else if before.ends_with('.')
            && !before[..before.len() - 1]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            // One letter after a dot is no field name (a byte shown as text, ". B" in data): only a longer word is.
            && w.len() > 1
        {
            Some(".")
        } else {
            None
        };
        let snake = w.contains('_') && w.chars().any(|c| c.is_ascii_alphabetic());
        let caps = w.as_bytes().windows(2).any(|p| p[0].is_ascii_uppercase() && p[1].is_ascii_uppercase());
        let reg = REGISTERS.contains(&w);
        if let Some(f) = field {
            out.push(Ident { start: s, end: e, name: w.to_string(), shown: format!("{f}{w}") });
        } else if snake || caps || reg {
            out.push(Ident { start: s, end: e, name: w.to_string(), shown: w.to_string() });
        }
    }
    out
}

/// Where each glossary term's marks occur in `text`: (start, end, term).
pub fn mark_spans(text: &str) -> Vec<(usize, usize, &'static str)> {
    let mut out = Vec::new();
    for t in all() {
        for m in t.marks {
            out.extend(occurrences(text, m).into_iter().map(|(a, b)| (a, b, t.name)));
        }
    }
    out
}

/// A string the text names without deriving it: quoted data that has an identifier's shape (a value the machine
/// printed, a placeholder of a command line). Reviewed one by one; printed with every lesson that uses one.
#[derive(Debug, Clone, Copy)]
pub struct Named {
    pub name: &'static str,
    pub why: &'static str,
}

/// The reviewed "named, not derived" list. An identifier of the text that is neither a glossary term's mark nor a
/// step's derived term must be here, or the checker reports it.
pub const NAMED: &[Named] = &[
    Named { name: "x86_64", why: "what `uname -m` prints: the machine's own name for its architecture, shown as read" },
    Named { name: "BINARY", why: "a placeholder in a command line: the traced program's file" },
    Named { name: "ADDR", why: "a placeholder in a command line: the address to look up" },
    Named {
        name: "trace_clock",
        why: "a kernel boot parameter of the command line the step quotes (the trace's clock)",
    },
    Named {
        name: "ftrace_filter",
        why: "a kernel boot parameter of the command line the step quotes (which functions the boot trace records)",
    },
    Named {
        name: "kprobe_event",
        why: "a kernel boot parameter of the command line the step quotes (a kprobe set at boot)",
    },
    Named {
        name: "syswalk_sock_register",
        why: "the name the quoted boot command line gives its kprobe event, as it appears in the trace",
    },
];

pub fn named(name: &str) -> Option<&'static Named> {
    NAMED.iter().find(|n| n.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_match_whole_words_only() {
        assert!(occurs("read at tp_btf/sys_enter", "sys_enter"));
        assert!(!occurs("the sys_enter_socket tracepoint", "sys_enter"));
        assert!(occurs("fd = 3", "fd"));
        assert!(!occurs("fdt->max_fds", "fd"));
        assert!(occurs("fdt->fd[3]", "fdt"));
        assert!(occurs("socket->sk = 0x1", "socket->sk"));
        assert!(!occurs("the sockets", "socket->"));
        assert!(!occurs("offsetof", "offset"));
        assert!(occurs("a BPF program", "BPF"));
        assert!(!occurs("tp_btf", "BTF"), "case matters: tp_btf is its own mark");
        assert_eq!(uses("rdi holds AF_INET"), vec![("rdi", "rdi"), ("AF_INET", "AF_INET")]);
        // Case and plurals: "Kernel", "file descriptors", "tiers"; an identifier keeps its case.
        assert!(occurs("Kernel addresses", "kernel"));
        assert!(occurs("two file descriptors", "file descriptor"));
        assert!(occurs("the tiers", "tier"));
        assert!(!occurs("the tierce", "tier"));
        assert!(!occurs("af_inet", "AF_INET"));
        assert!(!occurs("TCP_CLOSE (7)", "tcp_close"), "an identifier keeps its case");
        assert!(!occurs("--chain-calls 8", "the chain"));
    }

    fn names(text: &str) -> Vec<String> {
        identifiers(text).into_iter().map(|i| i.shown).collect()
    }

    #[test]
    fn identifiers_are_found_by_their_shape() {
        assert_eq!(
            names("orig_ax at tp_btf/sys_enter; struct pt_regs; file->private_data, ops → .create; DWARF and rdi, edi"),
            vec![
                "orig_ax",
                "tp_btf",
                "sys_enter",
                "struct pt_regs",
                "->private_data",
                ".create",
                "DWARF",
                "rdi",
                "edi"
            ]
        );
        assert_eq!(
            names("regs->di, si, dx; IPv4 TCP __NR_socket AF_INET"),
            vec!["->di", "si", "dx", "IPv4", "TCP", "__NR_socket", "AF_INET"]
        );
        // A word without `_`, capitals in a row or a register's name is not a candidate.
        assert_eq!(names("the kernel reads memory with bpf and objdump; eBPF"), vec!["eBPF"]);
        // One letter after a dot (bytes shown as text) is not a field: `|.B..|` names nothing.
        assert_eq!(names("bytes |.B..| and ops → .create"), vec![".create"]);
    }

    #[test]
    fn numbers_paths_and_citations_are_data_not_identifiers() {
        let none: Vec<String> = vec![];
        assert_eq!(names("41 0xffff888100d6df80 0o2 6.1.0-57 127.0.0.1 ffffffff8250dfa0"), none);
        assert_eq!(names("[/usr/include/x86_64-linux-gnu/asm/unistd_64.h:45]"), none);
        assert_eq!(
            names("(net/socket.c:1667) unistd_64.h:45, asm/unistd_64.h and /proc/sys/net/ipv4/ip_local_port_range."),
            none
        );
        assert_eq!(
            names(
                "/sys/kernel/btf/vmlinux ~/x_y ./a_b https://elixir.bootlin.com/linux/v6.1/source/net/socket.c#L1667"
            ),
            none
        );
        // A probe or a pair of words with a slash is not a path: its words are read.
        assert_eq!(
            names("fentry/fexit tp_btf/sys_exit sock:inet_sock_set_state"),
            vec!["tp_btf", "sys_exit", "inet_sock_set_state"]
        );
        // An identifier beside a path is still found; a field after a number or a file name is not a field.
        assert_eq!(names("grep -n sk_alloc /proc/kallsyms; vmlinux.h 6.12.x"), vec!["sk_alloc"]);
        assert_eq!(names("offset = 0x0 (kaslr.offset_constant)"), none, "a claim's id is a citation");
    }

    #[test]
    fn every_identifier_a_mark_covers_is_said_by_its_term() {
        // A reader meets the name where the term is derived (tests/common/axioms.rs checks lessons the same way).
        let mut missing = Vec::new();
        for t in all() {
            let said = format!("{} {}", t.name, t.derived);
            for m in t.marks {
                for id in identifiers(m).iter().filter(|i| !i.name.starts_with("struct ")) {
                    let ok = occurrences(&said, &id.name).iter().any(|&(a, b)| b - a == id.name.len())
                        || REGISTERS.contains(&id.name.as_str());
                    if !ok {
                        missing.push(format!("{}: {m:?} covers {:?}", t.name, id.name));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "marks whose identifier the derivation does not say:\n{}", missing.join("\n"));
    }

    #[test]
    fn every_term_is_named_once() {
        let mut names: Vec<String> = all().map(|t| t.name.to_lowercase()).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a glossary term appears twice");
    }
}
