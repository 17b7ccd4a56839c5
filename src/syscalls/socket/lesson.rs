//! Builds the Part-1 lesson for socket() from the evidence of one run. The step list is fixed, so two lessons (two
//! kernels, two tiers) compare line by line; what a kernel cannot show is a "not observable here" step, not a gap.

use crate::claims::constants::Constants;
use crate::claims::ids;
use crate::claims::kaslr::Kaslr;
use crate::claims::{ev, global_claim as claim, Claim, Verdict};
use crate::lesson::{Lesson, Step};
use crate::machine::boottrace::{BootReg, BOOT_TRACE, TRACE_FILE};
use crate::machine::usercall::UserSide;
use crate::model::Call;
use crate::report::Report;

fn not(id: ids::ClaimId, statement: &str, why: impl Into<String>) -> Claim {
    claim(id, Verdict::NotObservable, statement, vec![], Some(why.into()))
}

/// The claims tying the binary's machine code to what the kernel saw at entry.
pub fn user_claims(call: Option<&Call>, user: &crate::error::Result<UserSide>, constants: &Constants) -> Vec<Claim> {
    let mut out = Vec::new();
    let header =
        |name: &str| constants.rows.iter().find(|r| r.name == name).and_then(|r| r.header.as_ref()).map(|h| h.value);
    // user.call_site: the immediates loaded before the call are the headers' constants.
    let st = "the binary loads rdi, rsi, rdx with AF_INET, SOCK_STREAM, 0 right before calling socket()";
    match user {
        Err(e) => out.push(not(ids::USER_CALL_SITE, st, e.message.clone())),
        Ok(u) if u.sites.is_empty() => out.push(not(ids::USER_CALL_SITE, st, u.notes.join("; "))),
        Ok(u) => {
            let want = [("rdi", header("AF_INET")), ("rsi", header("SOCK_STREAM")), ("rdx", header("IPPROTO_IP"))];
            // The site the run actually returned to, when known; else the first with constant set-up.
            let site = call
                .and_then(|c| c.user)
                .and_then(|r| crate::machine::usercall::site_for_return(u, r.start_code, r.sp0).map(|(s, _)| s))
                .or_else(|| u.sites.iter().find(|s| s.setup.iter().any(|x| x.constant.is_some())))
                .unwrap_or(&u.sites[0]);
            let mut evidence = vec![ev(
                "call",
                format!("{:#x}: {}", site.addr, site.text),
                format!("{} ({})", u.binary, site.function.as_deref().unwrap_or("no symbol")),
            )];
            let mut ok = Some(true);
            for (reg, h) in want {
                let s = site.setup.iter().find(|x| x.reg == reg);
                match s {
                    // The value too: `xor edx, edx` loads 0 without writing it.
                    Some(x) => evidence.push(ev(
                        reg,
                        format!(
                            "{}: {}{}",
                            x.addr,
                            x.text,
                            x.constant.map(|v| format!(" ({reg} = {v})")).unwrap_or_default()
                        ),
                        "disassembly (iced-x86)",
                    )),
                    None => evidence.push(ev(reg, "not set in the calling function", "disassembly (iced-x86)")),
                }
                match (s.and_then(|x| x.constant), h) {
                    (Some(v), Some(h)) if v == h => {}
                    (Some(_), Some(_)) => ok = Some(false),
                    _ => ok = ok.and(None),
                }
            }
            out.push(match ok {
                Some(true) => {
                    let vals: Vec<String> = site.setup.iter().map(|x| x.constant.unwrap_or_default().to_string()).collect();
                    let how = if site.via.starts_with("PLT") { "PLT" } else { "GOT" };
                    let f = site.function.as_deref().unwrap_or("the calling function");
                    claim(ids::USER_CALL_SITE, Verdict::Proved, format!("{f} loads {} into rdi, rsi, rdx (the headers' values) and calls socket through the {how}", vals.join(", ")), evidence, None)
                }
                Some(false) => claim(ids::USER_CALL_SITE, Verdict::Refuted, "the constants loaded before the call differ from the headers'", evidence, None),
                None => claim(ids::USER_CALL_SITE, Verdict::NotObservable, st, evidence, Some("the arguments are not loaded as constants at this call site (they come from variables), or a header is absent".into())),
            });
        }
    }
    // user.return_address: the word on the user stack at entry is the address right after that call.
    let st = "the return address on the user stack at syscall entry points right after the call site in the binary";
    match (call.and_then(|c| c.user), user) {
        (None, _) => out.push(not(ids::USER_RETURN_ADDRESS, st, "no sys_enter registers for the call")),
        (_, Err(e)) => out.push(not(ids::USER_RETURN_ADDRESS, st, e.message.clone())),
        (Some(r), Ok(u)) => {
            let evidence = vec![
                ev("user rsp", format!("{:#x}", r.sp), "pt_regs at tp_btf/sys_enter"),
                ev("[rsp]", format!("{:#x}", r.sp0), "bpf_probe_read_user at tp_btf/sys_enter"),
                ev("mm->start_code", format!("{:#x}", r.start_code), "task->mm at tp_btf/sys_enter"),
                ev("text p_vaddr", format!("{:#x}", u.exec_vaddr), format!("{} program headers", u.binary)),
            ];
            match crate::machine::usercall::site_for_return(u, r.start_code, r.sp0) {
                Some((s, bias)) => {
                    let mut e = evidence;
                    e.push(ev("load bias", format!("{bias:#x}"), "start_code − p_vaddr"));
                    e.push(ev("[rsp] − bias", format!("{:#x}", r.sp0 - bias), format!("= end of the call at {:#x} in {}", s.addr, s.function.as_deref().unwrap_or("?"))));
                    out.push(claim(ids::USER_RETURN_ADDRESS, Verdict::Proved, format!("[rsp] − load bias = {:#x}, the instruction after the call at {:#x}: this call site made the syscall", r.sp0 - bias, s.addr), e, None));
                }
                None => out.push(claim(
                    ids::USER_RETURN_ADDRESS,
                    Verdict::NotObservable,
                    st,
                    evidence,
                    Some("[rsp] does not point after any call to socket in the binary: the libc wrapper may keep a stack frame, or the call came from a library".into()),
                )),
            }
        }
    }
    out
}

/// The dispatch claims: net_families[family] names the create function the chain saw called; and (lab) who put it
/// there at boot.
pub fn dispatch_claims(report: &Report, call: Option<&Call>, boot: &[BootReg], boot_source: &str) -> Vec<Claim> {
    let mut out = Vec::new();
    let st = "net_families[family]->create is the function __sock_create called";
    let family = call.and_then(|c| c.args.first()).map(|a| a.value.raw);
    let slot = report.dispatch.as_ref().and_then(|d| d.slots.iter().find(|s| Some(s.family.raw) == family));
    match (&report.dispatch, slot) {
        (None, _) => out.push(not(
            ids::DISPATCH_CREATE,
            st,
            "net_families was not read: the table is read by the function-level tier (A/B) only",
        )),
        (Some(d), None) => out.push(not(
            ids::DISPATCH_CREATE,
            st,
            d.error.clone().unwrap_or_else(|| format!("no net_families slot for family {family:?}")),
        )),
        (Some(d), Some(s)) => {
            let create = s.create.symbol.clone().unwrap_or_default();
            let called = call.and_then(|c| c.chain.iter().find(|f| f.func == create));
            let mut e = vec![
                ev(format!("net_families[{}]", s.family.raw), s.net_proto_family.show(), d.source.clone()),
                ev("->create", s.create.show(), "read live with the slot"),
            ];
            match called {
                Some(f) => {
                    e.push(ev(
                        "called",
                        format!(
                            "{} (depth {}, caller {})",
                            f.func,
                            f.depth,
                            f.caller.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "?".into())
                        ),
                        f.probe.clone(),
                    ));
                    out.push(claim(
                        ids::DISPATCH_CREATE,
                        Verdict::Proved,
                        format!(
                            "net_families[{}] → {} → .create = {create}, and {create} is what ran",
                            s.family.raw,
                            s.net_proto_family.symbol.as_deref().unwrap_or("ops"),
                        ),
                        e,
                        None,
                    ));
                }
                None if call.is_some_and(|c| c.chain.is_empty()) => out.push(claim(
                    ids::DISPATCH_CREATE,
                    Verdict::NotObservable,
                    st,
                    e,
                    Some("the chain was not traced".into()),
                )),
                None => out.push(claim(
                    ids::DISPATCH_CREATE,
                    Verdict::Refuted,
                    format!("the slot names {create} but the chain shows no call to it"),
                    e,
                    None,
                )),
            }
        }
    }
    // inetsw[type]: the entry inet_create takes for protocol 0 is the proto and ops the new socket carries.
    let st = "inetsw[type]'s first entry holds the protocol, struct proto and proto_ops the new socket got";
    let ty = call.and_then(|c| c.args.get(1)).map(|a| a.value.raw & 0xf);
    let row = report.dispatch.as_ref().and_then(|d| d.inetsw.iter().find(|r| Some(r.ty.raw) == ty));
    let (sock, socket) = (call.and_then(|c| c.after.sock.as_ref()), call.and_then(|c| c.after.socket.as_ref()));
    match (row, sock, socket) {
        (None, _, _) => out.push(not(
            ids::DISPATCH_INETSW,
            st,
            match &report.dispatch {
                None => "inetsw was not read: the tables are read by the function-level tier (A/B) only".to_string(),
                Some(d) if d.inetsw.is_empty() => {
                    "inetsw is not in kallsyms here (no CONFIG_KALLSYMS_ALL), or AF_INET is not built in".to_string()
                }
                Some(_) => format!("inetsw has no entry for type {ty:?}"),
            },
        )),
        (Some(_), None, _) | (Some(_), _, None) => {
            out.push(not(ids::DISPATCH_INETSW, st, "the sys_exit walk did not reach the socket and sock"))
        }
        (Some(r), Some(k), Some(s)) => {
            let e = vec![
                ev(
                    format!("inetsw[{}] first entry", r.ty.show()),
                    format!("protocol {}, prot {}, ops {}", r.protocol.show(), r.prot.show(), r.ops.show()),
                    "read live by the tp_btf reader",
                ),
                ev(
                    "sk->sk_protocol, sk->sk_prot",
                    format!("{}, {}", k.protocol.show(), k.sk_prot.show()),
                    "tp_btf/sys_exit walk",
                ),
                ev("socket->ops", s.ops.show(), "tp_btf/sys_exit walk"),
            ];
            let ok = r.protocol.raw == k.protocol.raw && r.prot.addr == k.sk_prot.addr && r.ops.addr == s.ops.addr;
            let name = |p: &crate::model::Ptr| p.symbol.clone().unwrap_or_else(|| p.addr.to_string());
            out.push(if ok {
                claim(
                    ids::DISPATCH_INETSW,
                    Verdict::Proved,
                    format!(
                        "inetsw[{}] → {} / {} / {}: exactly what the new sock and socket carry",
                        r.ty.show(),
                        r.protocol.show(),
                        name(&r.prot),
                        name(&r.ops)
                    ),
                    e,
                    None,
                )
            } else {
                claim(
                    ids::DISPATCH_INETSW,
                    Verdict::Refuted,
                    "the socket's protocol, proto or ops differ from inetsw[type]'s first entry",
                    e,
                    None,
                )
            });
        }
    }
    let st =
        "the pointer in net_families[family] was registered at boot by sock_register(), called from the family's init";
    let reg = boot.iter().find(|b| b.family == family && family.is_some());
    match (reg, slot) {
        (None, _) if boot.is_empty() => out.push(not(
            ids::DISPATCH_REGISTERED_AT_BOOT,
            st,
            format!("{boot_source} holds no boot-time sock_register() trace: boot with `{BOOT_TRACE}` (the lab does)"),
        )),
        (None, _) => out.push(not(
            ids::DISPATCH_REGISTERED_AT_BOOT,
            st,
            format!("the boot trace has {} sock_register() calls, none for family {family:?}", boot.len()),
        )),
        (Some(_), None) => out.push(not(ids::DISPATCH_REGISTERED_AT_BOOT, st, "the live slot was not read (tier C)")),
        (Some(b), Some(s)) => {
            let e = vec![
                ev("boot", b.line.clone(), boot_source.to_string()),
                ev("caller", b.caller.clone().unwrap_or_else(|| "?".into()), "function tracer: sock_register <-caller"),
                ev(format!("net_families[{}] now", s.family.raw), s.net_proto_family.show(), "live read"),
            ];
            let same = b.ops.map(crate::model::KAddr) == Some(s.net_proto_family.addr);
            out.push(if same {
                claim(
                    ids::DISPATCH_REGISTERED_AT_BOOT,
                    Verdict::Proved,
                    format!(
                        "{} called sock_register({}) at boot; that pointer is in the slot now",
                        b.caller.as_deref().unwrap_or("?"),
                        s.net_proto_family.show()
                    ),
                    e,
                    None,
                )
            } else {
                claim(
                    ids::DISPATCH_REGISTERED_AT_BOOT,
                    Verdict::Refuted,
                    "the pointer registered at boot is not the one in the slot now",
                    e,
                    None,
                )
            });
        }
    }
    out
}

/// The first successful call of the course's line, socket(AF_INET, SOCK_STREAM[|flags], 0).
pub fn course_call(r: &Report) -> Option<&Call> {
    r.calls.iter().find(|c| {
        let a = |i: usize| c.args.get(i).map(|x| x.value.raw);
        super::DEF.is(c)
            && c.ret.is_some_and(|v| v >= 0)
            && a(0) == Some(libc::AF_INET as i64)
            && a(1).map(|t| t & 0xf) == Some(libc::SOCK_STREAM as i64)
            && a(2) == Some(0)
    })
}

pub struct Inputs<'a> {
    pub report: &'a Report,
    pub constants: &'a Constants,
    pub user: crate::error::Result<UserSide>,
    pub kaslr: &'a Kaslr,
    pub boot: Vec<BootReg>,
    pub boot_source: String,
    pub sources: Vec<Claim>,
}

/// The lesson for the first socket() call of the report.
pub fn lesson(inp: &Inputs) -> Lesson {
    let r = inp.report;
    let call = course_call(r).or_else(|| r.calls.iter().find(|c| super::DEF.is(c) && c.ret.is_some_and(|v| v >= 0)));
    let mut claims: Vec<Claim> = Vec::new();
    claims.extend(inp.constants.claims.iter().cloned());
    claims.extend(user_claims(call, &inp.user, inp.constants));
    claims.extend(inp.kaslr.claims.iter().cloned());
    claims.extend(dispatch_claims(r, call, &inp.boot, &inp.boot_source));
    claims.extend(inp.sources.iter().cloned());
    let seq = call.map(|c| c.seq);
    claims.extend(r.claims.iter().filter(|c| c.call.is_none() || c.call == seq).cloned());
    let c = &claims;

    let mut steps =
        vec![
        Step::new("axioms", "count slots: memory is a row of numbered bytes", "")
            .introduces(&["number", "byte", "memory", "address", "pointer"])
            .axiom("a byte holds 0..255; an address is a byte's number; a pointer is an address kept in memory"),
        Step::new("axioms", "the CPU runs instructions and keeps numbers in registers", "")
            .introduces(&["CPU", "instruction", "register", "call", "return address", "stack", "rsp"])
            .axiom(
                "call pushes the return address (the next instruction's address) on the stack, whose top rsp points \
                 to, and jumps",
            ),
        Step::new("axioms", "x86-64 calling convention and the syscall instruction", "")
            .introduces(&["rdi", "rsi", "rdx", "rax", "kernel", "user space", "system call", "syscall number"])
            .axiom(
                "arguments 1..3 go in rdi, rsi, rdx; `syscall` enters the kernel with the system call's number in rax",
            ),
        Step::new("axioms", "a process's open files are numbered", "")
            .introduces(&["file descriptor", "fd table", "struct file"])
            .axiom("fd n indexes the process's fd table, whose slot n points to a struct file"),
        Step::new("the machine", "ask the machine what it is", "uname -m")
            .introduces(&["machine"])
            .evidence(format!("{} ({})", inp.constants.machine.value, inp.constants.machine.source))
            .result(format!("machine = {}", inp.constants.machine.value)),
        Step::new(
            "watching",
            "attach verifier-checked eBPF programs to the system call tracepoints",
            "syswalk caps; tp_btf/sys_enter + tp_btf/sys_exit",
        )
        .introduces(&["eBPF", "tracepoint", "BTF", "tp_btf", "sys_enter", "sys_exit", "tier", "fentry", "kprobe"])
        .evidence(format!(
            "tier {} ({}) — A: fentry/fexit programs on kernel functions; B: kprobe/kretprobe; C: only the \
             tracepoints sys_enter/sys_exit, read typed through BTF (/sys/kernel/btf/vmlinux, the kernel's own \
             description of its types) by tp_btf programs",
            r.kernel.tier,
            // The chain's own attach result belongs to the chain step.
            r.kernel.tier_reason.split("; chain:").next().unwrap_or_default()
        ))
        .result(format!("{} events, {} lost", r.stats.events, r.stats.lost)),
        Step::new("the line", "write the line: int fd = socket(AF_INET, SOCK_STREAM, 0);", r.target.description.clone())
            .introduces(&["socket()", "AF_INET", "SOCK_STREAM", "IPPROTO_IP", "header", "libc"])
            .result("socket() is a libc function; the names are defined in the installed headers"),
        Step::new(
            "the line",
            "look AF_INET up in the installed header",
            format!("grep -n AF_INET {}", crate::machine::headers::socket_h()),
        )
        .judged_by(&[ids::CONSTANTS_AF_INET], c),
        Step::new(
            "the line",
            "look SOCK_STREAM up",
            format!("grep -n SOCK_STREAM {}", crate::machine::headers::socket_type_h()),
        )
        .judged_by(&[ids::CONSTANTS_SOCK_STREAM], c),
        Step::new(
            "the line",
            "look IPPROTO_IP up",
            format!("grep -n IPPROTO_IP {}", crate::machine::headers::NETINET_IN_H),
        )
        .judged_by(&[ids::CONSTANTS_IPPROTO_IP], c),
        Step::new(
            "the line",
            "look the system call's number up",
            format!("grep -n __NR_socket {}", crate::machine::headers::unistd_path()),
        )
        .introduces(&["__NR_socket"])
        .judged_by(&[ids::CONSTANTS_NR_SOCKET], c),
        Step::new(
            "the binary",
            "disassemble the call site in the program",
            "syswalk lesson (iced-x86 over the ELF; objdump -d --no-show-raw-insn BINARY)",
        )
        .introduces(&["call site", "PLT", "GOT"])
        .judged_by(&[ids::USER_CALL_SITE], c),
        Step::new(
            "the boundary",
            "read the registers at syscall entry (pt_regs: the user registers the kernel saved on entry)",
            "tp_btf/sys_enter: regs->di, si, dx, orig_ax",
        )
        .introduces(&["pt_regs"])
        .judged_by(
            &[ids::CONSTANTS_NR_SOCKET, ids::CONSTANTS_AF_INET, ids::CONSTANTS_SOCK_STREAM, ids::CONSTANTS_IPPROTO_IP],
            c,
        )
        .only_evidence(
            call.map(|c| {
                c.regs.iter().take(3).cloned().chain(c.regs.last().cloned()).collect::<Vec<_>>().join(" ")
                    + " (tp_btf/sys_enter)"
            })
            .unwrap_or_default(),
        )
        .result("rdi, rsi, rdx, orig_ax hold AF_INET, SOCK_STREAM, IPPROTO_IP, __NR_socket as the headers define them"),
        Step::new(
            "the boundary",
            "follow the return address on the user stack back into the binary: subtract the load bias (start_code, \
             where the code was loaded, minus p_vaddr, where it was linked)",
            "tp_btf/sys_enter: bpf_probe_read_user(regs->sp); task->mm->start_code; readelf -l BINARY",
        )
        .introduces(&["start_code", "load bias"])
        .judged_by(&[ids::USER_RETURN_ADDRESS], c),
        Step::new(
            "kernel addresses",
            "list the kernel's symbols and their live addresses",
            "grep -w __sys_socket /proc/kallsyms",
        )
        .introduces(&["kernel symbol", "kallsyms"])
        .evidence(r.kernel.kallsyms.clone())
        .result("every kernel function has a live address"),
        Step::new("kernel addresses", "subtract the link-time addresses (System.map / vmlinux)", "syswalk kaslr")
            .introduces(&["link-time address", "KASLR offset"])
            .judged_by(&[ids::KASLR_OFFSET_CONSTANT], c),
        Step::new(
            "kernel addresses",
            "compare the offset with how the kernel was booted",
            "cat /proc/cmdline; grep RANDOMIZE_BASE /boot/config-$(uname -r)",
        )
        .judged_by(&[ids::KASLR_OFFSET_MATCHES_BOOT], c),
        Step::new(
            "the chain",
            "trace each kernel function the call runs through (sock_alloc makes the struct socket, sk_alloc the \
             struct sock it points to)",
            "syswalk prove (fentry/fexit = tier A, kprobe/kretprobe = tier B)",
        )
        .introduces(&["creation chain", "caller", "struct socket", "struct sock"])
        .judged_by(&[ids::CHAIN_ORDER, ids::CHAIN_PARENTAGE], c),
        Step::new(
            "dispatch",
            "read the family table slot, its create function, and the type switch inetsw[type]",
            match &r.dispatch {
                Some(d) => {
                    format!("net_families[AF_INET] → ops → .create; inetsw[SOCK_STREAM] → prot, ops ({})", d.source)
                }
                None => {
                    "net_families[AF_INET] → ops → .create; inetsw[SOCK_STREAM] → prot, ops (not read on this run: \
                         syswalk reads them at tiers A/B only)"
                        .to_string()
                }
            },
        )
        .introduces(&["net_families", "inetsw"])
        .judged_by(&[ids::DISPATCH_CREATE, ids::DISPATCH_INETSW], c),
        Step::new(
            "dispatch",
            "find who registered the slot at boot",
            format!("grep sock_register {TRACE_FILE} (boot with {BOOT_TRACE})"),
        )
        .introduces(&["sock_register"])
        .judged_by(&[ids::DISPATCH_REGISTERED_AT_BOOT], c),
        Step::new(
            "dispatch",
            "find the instructions of sock_register that address the slot",
            "objdump -d --disassemble=sock_register /usr/lib/debug/boot/vmlinux-$(uname -r)",
        )
        .introduces(&["displacement"])
        .judged_by(&[ids::DISPATCH_CODE], c),
        Step::new(
            "objects",
            "follow the struct socket from sock_alloc into the family create, private_data and sk_socket",
            "fexit sock_alloc; fentry <create>; sys_exit walk",
        )
        .judged_by(&[ids::PROVENANCE_SOCKET, ids::SOCKET_FILLED_BY_CREATE], c),
        Step::new("objects", "follow the struct sock from sk_alloc into socket->sk", "fexit sk_alloc; fexit <create>")
            .judged_by(&[ids::PROVENANCE_SOCK], c),
        Step::new(
            "objects",
            "follow the struct file from sock_alloc_file into fd_install",
            "fexit sock_alloc_file; fentry fd_install",
        )
        .judged_by(&[ids::PROVENANCE_FILE, ids::FD_INSTALL_FD_IS_RETURN], c),
        Step::new(
            "the result",
            "check the returned fd is the lowest free slot",
            "tp_btf/sys_enter + sys_exit: open_fds bitmap",
        )
        .judged_by(&[ids::FD_LOWEST_FREE], c),
        Step::new(
            "the result",
            "walk fd → file → socket and back",
            "tp_btf/sys_exit: task->files->fdt->fd[n]->private_data",
        )
        .judged_by(&[ids::FILE_PRIVATE_DATA_IS_SOCKET, ids::SOCKET_FILE_IS_FILE], c),
        Step::new("the result", "walk socket → sock and back", "tp_btf/sys_exit: socket->sk; sk->sk_socket")
            .judged_by(&[ids::SOCKET_SK_IS_SOCK, ids::SOCK_SK_SOCKET_BACKLINK], c),
        Step::new(
            "the result",
            "check the type, ops, family and protocol the objects carry",
            "tp_btf/sys_exit: socket->type, ->ops; sk->sk_family, sk_protocol",
        )
        .judged_by(
            &[
                ids::SOCKET_TYPE_MATCHES_ARG,
                ids::SOCKET_OPS_IS_FAMILY_OPS,
                ids::SOCK_FAMILY_MATCHES_ARG,
                ids::SOCK_PROTOCOL_RESOLVED,
            ],
            c,
        ),
        Step::new("cost", "time each function, inclusive and exclusive", "fentry/fexit timestamps")
            .judged_by(&[ids::LATENCY_PER_FUNCTION], c),
        Step::new(
            "source",
            "map each chain function to the running kernel's source line",
            "DWARF of the -dbg vmlinux (addr2line -e vmlinux ADDR)",
        )
        .introduces(&["source line"])
        .judged_by(&[ids::SOURCE_LINES], c),
    ];
    // What came from outside is the learner's, not the lesson's words (see Step::quoted).
    // The rest of the course, when the run made a connection's life (lesson --life): one chapter per call.
    let (more, more_claims) = super::super::course::chapters(r);
    steps.extend(more);
    claims.extend(more_claims);
    let mut quoted = vec![r.target.description.clone(), r.command.clone()];
    if let Ok(u) = &inp.user {
        quoted.push(u.binary.clone());
        // The names of the program's own functions (its ELF symbols) are its words, not the lesson's.
        for f in u.sites.iter().filter_map(|s| s.function.as_ref()) {
            if !crate::lesson::glossary::identifiers(f).is_empty() && !quoted.contains(f) {
                quoted.push(f.clone());
            }
        }
    }
    for s in steps.iter_mut() {
        s.evidence.retain(|e| !e.is_empty());
        s.quoted = quoted.clone();
    }
    // The names derived where the text first uses them (which step that is depends on what the run shows), then
    // the functions the run's chains went through that no line of the glossary derives.
    crate::lesson::place_at_first_use(&mut steps);
    crate::lesson::derive_at_first_use(&mut steps, &crate::lesson::chain_functions(r));
    crate::lesson::derive_at_first_use(&mut steps, &crate::lesson::source_functions(&claims));
    let title = "What happens when you write socket() — Part 1, from this machine".to_string();
    // Keep only the claims the steps rest on.
    let used: std::collections::HashSet<String> = steps.iter().flat_map(|s| s.claims.iter().cloned()).collect();
    let claims: Vec<Claim> = claims.into_iter().filter(|c| used.contains(&c.id)).collect();
    Lesson::new(
        title,
        format!("{} {}", r.kernel.release, r.kernel.machine),
        r.kernel.tier,
        r.command.clone(),
        steps,
        claims,
    )
}

/// The socket() call of a failure target: the first that failed.
pub fn failed_call(r: &Report) -> Option<&Call> {
    r.calls.iter().find(|c| super::DEF.is(c) && c.ret.is_some_and(|v| v < 0))
}

/// The course's harder puzzle as a chapter of its own (`lesson --fail KIND`): the question, the prediction from the
/// source lines, the observation, the verdict. It builds on Part 1: the terms Part 1 derives are taken as given by
/// its first step (computed from what the other steps say, and said so).
/// The puzzle's question for one failure target: what to ask, and what it wonders.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    pub ask: &'static str,
    pub wonder: &'static str,
}

/// The course's own question: a failure after sock_alloc (`--fail emfile`).
pub const AFTER_SOCK_ALLOC: Question = Question {
    ask: "ask: what if socket() fails after sock_alloc, before fd_install?",
    wonder: "a socket is allocated first; if no fd can be had, does the kernel give it back?",
};

pub fn puzzle(r: &Report, sources: &[Claim], q: Question) -> Lesson {
    let call = failed_call(r);
    let seq = call.map(|c| c.seq);
    let mut claims: Vec<Claim> = sources.to_vec();
    claims.extend(r.claims.iter().filter(|c| c.call.is_none() || c.call == seq).cloned());
    let c = &claims;
    let part = "the harder puzzle";
    let errno = call.and_then(|c| c.errno.as_ref()).map(|e| e.show()).unwrap_or_else(|| "no error".into());
    let shown = call
        .map(|c| {
            format!(
                "socket({}) = {} {errno}",
                c.args.iter().map(|a| a.value.show()).collect::<Vec<_>>().join(", "),
                c.ret.unwrap_or(0)
            )
        })
        .unwrap_or_else(|| "no failed socket() in this run".into());
    let table = call.and_then(|c| c.before.fdtable.as_ref()).map(|t| {
        format!(
            "open {:?} of max_fds {} · RLIMIT_NOFILE {}/{}",
            t.open, t.max_fds, t.rlimit_nofile_cur, t.rlimit_nofile_max
        )
    });
    // Where the source says the release happens: the call site of sock_release (or __sock_release) in this call,
    // mapped to its line by DWARF (the source.lines claim looked the failed call's callers up).
    let rel = call.and_then(|c| c.chain.iter().find(|f| f.func == "sock_release" || f.func == "__sock_release"));
    let site = rel.and_then(|f| f.caller.as_ref()).map(|k| k.to_string());
    let line = site.as_ref().and_then(|s| {
        c.iter()
            .filter(|k| k.id == ids::SOURCE_LINES.id)
            .flat_map(|k| k.evidence.iter())
            .find(|e| &e.what == s)
            .map(|e| e.value.clone())
    });
    let mut steps = vec![
        Step::new(part, "take as given what Part 1 derived", "syswalk lesson (Part 1)")
            .axiom("Part 1 derives these terms from live evidence; this chapter uses them"),
        Step::new(part, q.ask, "")
            .evidence(format!("the call: {shown} (tp_btf/sys_exit)"))
            .evidence(format!(
                "fd table at entry: {} (tp_btf/sys_enter walk)",
                table.clone().unwrap_or_else(|| "not walked".into())
            ))
            .result(q.wonder),
        {
            let s = Step::new(
                part,
                "predict from the source: where the failed call releases the socket",
                "the caller of sock_release in the chain, mapped by DWARF (lab run --dbg)",
            );
            match (&site, &line) {
                (Some(site), Some(line)) => s
                    .evidence(format!("sock_release called from {site} (the return address at its entry)"))
                    .evidence(format!("{site} = {line} (DWARF)"))
                    .result(format!("the source releases the socket at {line}, on the failure path"))
                    .judged_by(&[ids::SOURCE_LINES], c),
                (Some(site), None) => {
                    let mut s = s
                        .evidence(format!("sock_release called from {site} (the return address at its entry)"))
                        .judged_by(&[ids::SOURCE_LINES], c);
                    if s.status != crate::lesson::Status::NotObservable {
                        s.status = crate::lesson::Status::NotObservable;
                        s.why_not = Some(format!("DWARF gave no line for {site}"));
                    }
                    s
                }
                _ => {
                    let mut s = s.judged_by(&[ids::RELEASE_SAME_SOCKET], c);
                    if s.status == crate::lesson::Status::Proved {
                        // Rejected before sock_alloc: there is no release to find in the source.
                        s.status = crate::lesson::Status::Shown;
                        s.result = format!("no release to predict: {}", s.result);
                    } else {
                        s.status = crate::lesson::Status::NotObservable;
                        s.why_not = Some(
                            s.why_not
                                .clone()
                                .unwrap_or_else(|| "sock_release's call site is not in this run's chain".into()),
                        );
                    }
                    s
                }
            }
        },
        Step::new(
            part,
            "observe: the socket sock_alloc returned goes to sock_release",
            "fentry/fexit (or kprobes) on the chain",
        )
        .judged_by(&[ids::RELEASE_SAME_SOCKET], c),
        Step::new(
            part,
            "observe: the sock sk_alloc returned goes to tcp_close",
            "fentry/fexit (or kprobes) on the chain",
        )
        .judged_by(&[ids::RELEASE_SAME_SOCK], c),
        Step::new(part, "observe: the fd table is as the call found it", "tp_btf/sys_enter + sys_exit walks")
            .judged_by(&[ids::FD_UNCHANGED_ON_FAILURE], c),
        Step::new(part, "observe: the kernel's socket count is unchanged", "/proc/net/sockstat before and after")
            .judged_by(&[ids::SOCKETS_NONE_LEFT], c),
        {
            // The count the free claim concludes with, as evidence of its own.
            let n = call
                .map(|c| c.chain.iter().filter(|f| f.func == "sock_alloc" && f.ret.is_some_and(|r| r != 0)).count());
            let s = Step::new(
                part,
                "observe: the released socket's memory is freed",
                "fentry/fexit (or kprobes) on sock_free_inode",
            );
            let s = match n {
                Some(n) if n > 0 => s.evidence(format!("sockets sock_alloc returned in the call: {n} (the chain)")),
                _ => s,
            };
            s.judged_by(&[ids::RELEASE_FREED], c)
        },
    ];
    let allocated = c.iter().any(|k| k.id == ids::RELEASE_FREED.id);
    let mut verdict_ids =
        vec![ids::RELEASE_SAME_SOCKET, ids::RELEASE_SAME_SOCK, ids::FD_UNCHANGED_ON_FAILURE, ids::SOCKETS_NONE_LEFT];
    if allocated {
        verdict_ids.push(ids::RELEASE_FREED);
    }
    let v = Step::new(part, "the verdict: did the failed call leak anything?", "the observations above")
        .judged_by(&verdict_ids, c);
    let v = if v.status == crate::lesson::Status::Proved {
        let res = v.result.clone();
        v.result(format!("nothing leaked ({errno}): {res}"))
    } else {
        v
    };
    steps.push(v);
    // At tier C the chain's claims say why they were not made; the first step takes Part 1's terms as given.
    crate::lesson::place_at_first_use(&mut steps);
    crate::lesson::derive_at_first_use(&mut steps, &crate::lesson::chain_functions(r));
    crate::lesson::derive_at_first_use(&mut steps, &crate::lesson::source_functions(c));
    crate::lesson::failure::settle(&mut steps, r);
    let tier = r.kernel.tier;
    Lesson::new(
        if q.ask == AFTER_SOCK_ALLOC.ask {
            "The harder puzzle: when socket() fails halfway".into()
        } else {
            "The harder puzzle: when socket() fails".into()
        },
        format!("{} {}", r.kernel.release, r.kernel.machine),
        tier,
        r.command.clone(),
        steps,
        claims,
    )
}

#[cfg(test)]
mod puzzle_tests {
    use super::*;
    use crate::lesson::Status;

    /// A report of the EMFILE target: the failed call and the claims on it, `released` saying whether the release
    /// was proved.
    fn report(released: Verdict) -> Report {
        let mut r = crate::fixtures::report();
        let c = &mut r.calls[0];
        c.ret = Some(-24);
        c.errno = Some(crate::fixtures::named(24, "EMFILE", "/usr/include/asm-generic/errno-base.h:28"));
        let seq = c.seq;
        let k = |id: ids::ClaimId, v: Verdict| {
            let mut k = crate::claims::Claim::new(id, Some(seq), v, id.statement.into(), vec![], None);
            if v == Verdict::Refuted {
                k.finding = Some("neither sock_release nor __sock_release was called on 0xffff888100001000".into());
            }
            k
        };
        r.claims = vec![
            k(ids::RELEASE_SAME_SOCKET, released),
            k(ids::RELEASE_SAME_SOCK, Verdict::Proved),
            k(ids::FD_UNCHANGED_ON_FAILURE, Verdict::Proved),
            k(ids::SOCKETS_NONE_LEFT, Verdict::Proved),
            k(ids::RELEASE_FREED, Verdict::Proved),
        ];
        r
    }

    #[test]
    fn the_puzzle_s_verdict_follows_the_release_and_a_missing_release_refutes_it() {
        let l = puzzle(&report(Verdict::Proved), &[], AFTER_SOCK_ALLOC);
        let verdict = l.steps.last().expect("verdict step");
        assert_eq!(verdict.status, Status::Proved, "{verdict:#?}");
        assert!(verdict.result.starts_with("nothing leaked (EMFILE (24))"), "{}", verdict.result);
        assert!(l.axioms.undefined.is_empty() && l.axioms.forward.is_empty(), "{:?}", l.axioms);
        let l = puzzle(&report(Verdict::Refuted), &[], AFTER_SOCK_ALLOC);
        let verdict = l.steps.last().expect("verdict step");
        assert_eq!(verdict.status, Status::Refuted, "the release is missing: {verdict:#?}");
        assert!(
            verdict.result.contains("neither sock_release nor __sock_release"),
            "the missing release named: {}",
            verdict.result
        );
        assert!(!verdict.result.starts_with("nothing leaked"));
    }
}
