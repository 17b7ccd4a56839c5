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
    /// follow; a mark written in lower case matches any case, one with capitals — `BTF`, `AF_INET` — only itself).
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
    t("fd table", "given", &["fd table", "fdt", "open_fds", "fdt->fd"]),
    t("struct file", "given", &["struct file", "file->private_data", "file->f_inode"]),
    // Derived by a step.
    t("machine", "uname(2)", &["machine"]),
    t("socket()", "the line the course writes", &["socket()"]),
    t("AF_INET", "the line, then the header", &["AF_INET"]),
    t("SOCK_STREAM", "the line, then the header", &["SOCK_STREAM"]),
    t("IPPROTO_IP", "the line, then the header", &["IPPROTO_IP"]),
    t("header", "the installed C headers", &["header", "headers"]),
    t("libc", "the C library socket() is part of", &["libc"]),
    t("eBPF", "programs the kernel checks (the verifier) and runs at attach points", &["eBPF", "BPF"]),
    t("tracepoint", "a fixed attach point in the kernel", &["tracepoint", "tracepoints"]),
    t("BTF", "the kernel's description of its own types (/sys/kernel/btf/vmlinux)", &["BTF"]),
    t("tp_btf", "a tracepoint program that reads its arguments typed by BTF", &["tp_btf"]),
    t("sys_enter", "the tracepoint at every system call's entry", &["sys_enter"]),
    t("sys_exit", "the tracepoint at every system call's exit", &["sys_exit"]),
    t("pt_regs", "the registers saved at system call entry, as sys_enter sees them", &["pt_regs", "regs->"]),
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
    t("family create function", "net_families[family]->create", &["create function", "->create", ".create"]),
    t("inetsw", "AF_INET's table of socket types", &["inetsw"]),
    t("sock_register", "the function that fills a net_families slot at boot", &["sock_register"]),
    t("displacement", "the address inside an instruction", &["displacement", "disp32"]),
    t("struct socket", "what sock_alloc returns", &["struct socket", "socket->", "sk_socket", "private_data"]),
    t("struct sock", "what sk_alloc returns", &["struct sock", "sk->", "socket->sk"]),
    t(
        "source line",
        "DWARF: which line of the kernel's source an address was compiled from",
        &["source line", "DWARF"],
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
        "the IPv4 part of a struct sock: where it is bound and connected",
        &["inet_sock", "inet_num", "inet_sport", "skc_rcv_saddr", "skc_daddr", "skc_dport"],
    ),
    t("peer", "the other end's address and port", &["peer", "peers"]),
    t(
        "ephemeral port",
        "a port the kernel picks itself from net.ipv4.ip_local_port_range",
        &["ephemeral", "ip_local_port_range"],
    ),
    t("bind bucket", "the kernel's record that a port is taken (icsk_bind_hash)", &["bind bucket", "icsk_bind_hash"]),
    t(
        "TCP state",
        "where a TCP sock is in its life, a state machine the kernel drives (TCP_CLOSE, TCP_LISTEN, …)",
        &["TCP state", "state machine", "state change", "state changes"],
    ),
    t("state tracepoint", "sock:inet_sock_set_state, at every TCP state change", &["inet_sock_set_state"]),
    t(
        "backlog",
        "listen()'s limit on connections waiting to be accepted, capped by net.core.somaxconn",
        &["backlog", "sk_max_ack_backlog", "somaxconn"],
    ),
    t("accept queue", "the connections waiting for accept()", &["accept queue", "sk_ack_backlog"]),
    t("listener", "a sock in TCP_LISTEN: connections to its port wait in its accept queue", &["listener", "listening"]),
    t(
        "handshake",
        "SYN, SYN-ACK, ACK: the three packets that open a TCP connection",
        &["handshake", "SYN_SENT", "SYN_RECV"],
    ),
    t("child sock", "the sock the kernel makes for one accepted connection", &["child"]),
    t(
        "sequence number",
        "TCP's count of the bytes a sock sent (write_seq) and received (rcv_nxt) and the program read (copied_seq)",
        &["sequence number", "rcv_nxt", "copied_seq", "write_seq", "snd_una"],
    ),
    t(
        "deferred release",
        "a file's last fput runs at the return to user space, after sys_exit",
        &["deferred", "fput", "task_work"],
    ),
    t(
        "RCU grace period",
        "the wait after which no CPU can still be reading an object removed from view: the kernel frees such objects then, from a callback",
        &["rcu", "grace period"],
    ),
];

pub fn term(name: &str) -> Option<&'static Term> {
    GLOSSARY.iter().find(|t| t.name.eq_ignore_ascii_case(name))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Does `mark` occur in `text` as a whole (no word character glued to either side, where the mark itself begins
/// or ends with one)?
pub fn occurs(text: &str, mark: &str) -> bool {
    // Lower-case marks match any case: ASCII lower-casing keeps every byte offset where it was.
    let folded;
    let text = if mark.chars().any(|c| c.is_uppercase()) {
        text
    } else {
        folded = text.to_ascii_lowercase();
        folded.as_str()
    };
    let first_word = mark.chars().next().is_some_and(is_word);
    let last_word = mark.chars().last().is_some_and(is_word);
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
            return true;
        }
        from = at + mark.chars().next().map(char::len_utf8).unwrap_or(1);
    }
    false
}

/// The glossary terms `text` uses, in glossary order, each with the first of its marks found.
pub fn uses(text: &str) -> Vec<(&'static str, &'static str)> {
    GLOSSARY.iter().filter_map(|t| t.marks.iter().find(|m| occurs(text, m)).map(|m| (t.name, *m))).collect()
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
        assert!(!occurs("--chain-calls 8", "the chain"));
    }

    #[test]
    fn every_term_is_named_once() {
        let mut names: Vec<String> = GLOSSARY.iter().map(|t| t.name.to_lowercase()).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "a glossary term appears twice");
    }
}
