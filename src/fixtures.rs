//! Fixed evidence for snapshot tests of the renderers and the lesson: one socket() call at tier A with its chain,
//! judged by the real claim code, in a report that never changes (no machine, no clock, no addresses from a run).
use crate::claims::Claim;
use crate::model::frame::{FArg, Frame, ObjSnap};
use crate::model::{Arg, Call, Caller, FdTable, FileObj, KAddr, Namer, ObjKind, Ptr, SockObj, SocketObj, Value, Walk};
use crate::probes::caps::{Caps, Tier};
use crate::probes::chain::FnPlan;
use crate::probes::session::Stats;
use crate::probes::target::Ending;
use crate::report::{Report, SyscallInfo, TargetInfo};

const FILE: u64 = 0xffff_8881_21c5_c9c0;
const SOCKET: u64 = 0xffff_8882_9af1_3740;
const SOCK: u64 = 0xffff_8881_031c_5c80;

pub fn named(v: i64, name: &str, origin: &str) -> Value {
    Value { raw: v, name: Some(name.into()), origin: Some(origin.into()) }
}

fn ptr(a: u64, s: &str) -> Ptr {
    Ptr { addr: KAddr(a), symbol: Some(s.into()) }
}

fn socket_obj(ops: u64, sk: u64) -> SocketObj {
    SocketObj {
        addr: KAddr(SOCKET),
        state: named(1, "SS_UNCONNECTED", "BTF enum socket_state"),
        ty: named(1, "SOCK_STREAM", "BTF enum sock_type"),
        flags: "0x8".into(),
        ops: if ops == 0 { Ptr { addr: KAddr(0), symbol: None } } else { ptr(ops, "inet_stream_ops") },
        ops_family: named(2, "AF_INET", "/usr/include/x86_64-linux-gnu/bits/socket.h:97"),
        ops_release: ptr(0xffff_ffff_81e7_1000, "inet_release"),
        ops_bind: ptr(0xffff_ffff_81e7_2000, "inet_bind"),
        ops_connect: ptr(0xffff_ffff_81e7_3000, "inet_stream_connect"),
        file: KAddr(FILE),
        sk: KAddr(sk),
    }
}

fn sock_obj() -> SockObj {
    SockObj {
        addr: KAddr(SOCK),
        family: named(2, "AF_INET", "/usr/include/x86_64-linux-gnu/bits/socket.h:97"),
        protocol: named(6, "IPPROTO_TCP", "BTF anonymous enum (IPPROTO_TCP)"),
        ty: named(1, "SOCK_STREAM", "BTF enum sock_type"),
        state: named(7, "TCP_CLOSE", "BTF anonymous enum (TCP_ESTABLISHED)"),
        rcvbuf: 131072,
        sndbuf: 16384,
        refcnt: 1,
        sk_prot: ptr(0xffff_ffff_8320_8ae0, "tcp_prot"),
        prot_name: "TCP".into(),
        prot_close: ptr(0xffff_ffff_81e8_0000, "tcp_close"),
        sk_socket: KAddr(SOCKET),
        max_ack_backlog: 0,
        ack_backlog: 0,
        rcvq_len: 0,
        inet: None,
    }
}

pub fn frame(func: &str, depth: usize, parent: Option<usize>, t: (u64, u64), caller: (&str, u64)) -> Frame {
    Frame {
        func: func.into(),
        depth,
        parent,
        tid: 4242,
        enter_ns: Some(t.0),
        exit_ns: Some(t.1),
        inclusive_ns: Some(t.1 - t.0),
        exclusive_ns: Some(t.1 - t.0),
        args: vec![],
        ret: Some(0),
        caller: Some(Caller {
            addr: KAddr(0xffff_ffff_81e3_0000 + caller.1),
            symbol: caller.0.into(),
            offset: caller.1,
        }),
        entry_objects: vec![],
        exit_objects: vec![],
        probe: "fentry/fexit".into(),
    }
}

fn snap(from: &str, kind: ObjKind, addr: u64) -> ObjSnap {
    ObjSnap { from: from.into(), kind, addr: KAddr(addr), socket: None, sock: None, file: None }
}

/// socket(AF_INET, SOCK_STREAM, 0) = 3, walked at exit, with its function chain.
pub fn socket_call() -> Call {
    let mut chain = vec![
        frame("__sys_socket", 0, None, (1_000, 41_000), ("__x64_sys_socket", 0x1a)),
        frame("__sock_create", 1, Some(0), (2_000, 30_000), ("__sys_socket", 0x5e)),
        frame("sock_alloc", 2, Some(1), (3_000, 6_000), ("__sock_create", 0x7f)),
        frame("inet_create", 2, Some(1), (7_000, 25_000), ("__sock_create", 0x14c)),
        frame("sk_alloc", 3, Some(3), (8_000, 12_000), ("inet_create", 0xa5)),
        frame("sock_alloc_file", 1, Some(0), (31_000, 36_000), ("__sys_socket", 0x9d)),
        frame("fd_install", 1, Some(0), (37_000, 38_000), ("__sys_socket", 0xc1)),
    ];
    chain[0].ret = Some(3);
    chain[2].exit_objects = vec![snap("return", ObjKind::Socket, SOCKET)];
    chain[3].entry_objects = vec![ObjSnap { socket: Some(socket_obj(0, 0)), ..snap("sock", ObjKind::Socket, SOCKET) }];
    chain[3].exit_objects = vec![ObjSnap {
        socket: Some(socket_obj(0xffff_ffff_8250_dfa0, SOCK)),
        ..snap("sock", ObjKind::Socket, SOCKET)
    }];
    chain[4].exit_objects = vec![snap("return", ObjKind::Sock, SOCK)];
    chain[5].exit_objects = vec![snap("return", ObjKind::File, FILE)];
    chain[6].args = vec![
        FArg { name: "fd".into(), raw: 3, ty: "unsigned int".into(), value: "3".into() },
        FArg { name: "file".into(), raw: FILE, ty: "struct file *".into(), value: KAddr(FILE).to_string() },
    ];
    chain[6].entry_objects = vec![snap("file", ObjKind::File, FILE)];
    let fdt = FdTable {
        files: KAddr(0xffff_8881_0447_b700),
        fdt: KAddr(0xffff_8881_00d6_df80),
        open: vec![0, 1, 2],
        bitmap_bits: 256,
        max_fds: 256,
        next_fd: 3,
        rlimit_nofile_cur: 1024,
        rlimit_nofile_max: 4096,
        files_users: 1,
    };
    Call {
        seq: 1,
        pid: 4242,
        tid: 4242,
        comm: "syswalk".into(),
        syscall: "socket".into(),
        nr: 41,
        args: vec![
            Arg { name: "family".into(), value: named(2, "AF_INET", "/usr/include/x86_64-linux-gnu/bits/socket.h:97") },
            Arg { name: "type".into(), value: named(1, "SOCK_STREAM", "BTF enum sock_type") },
            Arg { name: "protocol".into(), value: named(0, "IPPROTO_IP", "BTF anonymous enum (IPPROTO_TCP)") },
        ],
        regs: vec!["rdi=0x2".into(), "rsi=0x1".into(), "rdx=0x0".into(), "orig_ax=41".into()],
        user: None,
        enter_ns: Some(500),
        exit_ns: Some(42_000),
        latency_ns: Some(41_500),
        ret: Some(3),
        errno: None,
        before: Walk { fd: None, fdtable: Some(fdt.clone()), ..Default::default() },
        after: Walk {
            fd: Some(3),
            fdtable: Some(FdTable { open: vec![0, 1, 2, 3], next_fd: 4, ..fdt }),
            file: Some(FileObj {
                addr: KAddr(FILE),
                f_op: Ptr { addr: KAddr(0xffff_ffff_824e_9120), symbol: None },
                f_op_read_iter: ptr(0xffff_ffff_81e7_de10, "sock_read_iter"),
                f_op_release: ptr(0xffff_ffff_81e7_e000, "sock_close"),
                private_data: KAddr(SOCKET),
                f_mode: "0xc2e0003".into(),
                f_flags: "0o2".into(),
                f_count: 1,
                f_count_raw: 0,
                f_count_field: "f_ref.refcnt (stores count-1)".into(),
                inode: KAddr(0xffff_8881_0a0b_0c00),
                i_mode: "0o140777".into(),
                ty: "socket".into(),
            }),
            socket: Some(socket_obj(0xffff_ffff_8250_dfa0, SOCK)),
            sock: Some(sock_obj()),
        },
        sockaddr: None,
        probes: vec!["tp_btf/sys_enter".into(), "tp_btf/sys_exit".into()],
        chain,
        allocations: Vec::new(),
        lost_before: 0,
    }
}

/// The report of one run of the built-in target at tier A, every claim judged by the real code.
pub fn report() -> Report {
    let call = socket_call();
    let btf = crate::machine::btf::Btf::parse(&crate::machine::btf::tests::fixture(), "fixture")
        .ok()
        .map(std::sync::Arc::new);
    let names = Namer { btf, ..Default::default() };
    let mut claims: Vec<Claim> = crate::syscalls::socket::claims::judge_socket(&call, &names);
    let funcs: Vec<&str> = call.chain.iter().map(|f| f.func.as_str()).collect();
    let plan = plan_of(&funcs);
    claims.extend(crate::syscalls::socket::chain::judge(&call, Some("inet_create"), &plan));
    let caps = Caps {
        kernel_release: "6.12.57+deb12-cloud-amd64".into(),
        machine: "x86_64".into(),
        checks: vec![],
        tier: Some(Tier::A),
        tier_reason: "fentry/fexit attach".into(),
    };
    let stats = Stats {
        attach_ms: 812.5,
        launch_to_attached_ms: Some(2904.1),
        events: 24,
        lost: 0,
        undecodable: 0,
        traced_ms: 51.0,
        bpf_stats: false,
        programs: vec![],
        sockets_used: None,
        tcp_sockets: None,
    };
    let target = TargetInfo {
        description: "built-in: socket(2, 1, 0) from a process with only fds 0, 1, 2 open".into(),
        pid: 4242,
        host_pid: None,
        ending: Ending::Exited(0),
        forks: vec![],
    };
    let syscalls = vec![SyscallInfo {
        name: "socket".into(),
        nr: 41,
        nr_origin: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h:45".into(),
    }];
    let mut r = Report::new(
        "syswalk prove".into(),
        &caps,
        "/proc/kallsyms: text and data symbols (48210 data)".into(),
        target,
        syscalls,
        stats,
        vec![call],
        claims,
    );
    r.kernel.tier = Tier::A;
    r.chain_plan = plan;
    r
}

/// The lesson built from `report()`, with a fixed KASLR measurement and nothing read from this machine.
pub fn lesson() -> crate::lesson::Lesson {
    use crate::claims::constants::{Constants, Source2};
    use crate::machine::kallsyms::Kallsyms;
    let r = report();
    let (mut live, mut link) = (String::new(), String::new());
    let names: Vec<String> = ["_text", "__sys_socket", "__sock_create", "sock_alloc", "inet_create"]
        .iter()
        .map(|s| s.to_string())
        .chain((1..=30).map(|i| format!("fn_{i}")))
        .collect();
    for (i, name) in names.iter().enumerate() {
        let a = 0xffff_ffff_8100_0000u64 + (i as u64) * 0x1000;
        live.push_str(&format!("{:016x} T {name}\n", a + 0x2a0_0000));
        link.push_str(&format!("{a:016x} T {name}\n"));
    }
    let ks = Kallsyms::parse(&live, "/proc/kallsyms");
    let st = crate::claims::kaslr::StaticMap::parse_system_map(&link, "System.map-fixture");
    let kaslr = crate::claims::kaslr::measure(&ks, Some(&st), vec![], "fixture", "console=ttyS0", &["__sys_socket"]);
    let constants = Constants {
        machine: Source2 { value: "x86_64".into(), source: "uname(2)".into() },
        rows: vec![],
        claims: vec![],
    };
    let inputs = crate::syscalls::socket::lesson::Inputs {
        report: &r,
        constants: &constants,
        user: Err(crate::error::Error::new(crate::error::Kind::Io, "fixture: no binary")),
        kaslr: &kaslr,
        boot: vec![],
        boot_source: "/sys/kernel/tracing/trace".into(),
        sources: vec![],
    };
    crate::syscalls::socket::lesson::lesson(&inputs)
}

/// A plan tracing these functions, in slots 0, 1, … (no BTF signatures).
pub fn plan_of(names: &[&str]) -> Vec<FnPlan> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| FnPlan {
            name: n.to_string(),
            in_kallsyms: true,
            in_btf: true,
            params: None,
            ret: None,
            traced: true,
            note: "traced".into(),
            snapshot: None,
            slot: Some(i),
        })
        .collect()
}

/// One chain entry or exit as a record decodes to.
pub fn chain_event(
    kind: crate::probes::chain::ChKind,
    slot: u32,
    tid: u32,
    ts: u64,
    ret: i64,
) -> crate::probes::chain::RawChainEvent {
    crate::probes::chain::RawChainEvent {
        kind: kind.0,
        slot,
        tid,
        tgid: tid,
        ts_ns: ts,
        ret,
        nargs: 0,
        ..Default::default()
    }
}

/// A bind(3, 127.0.0.1:0) made on the socket that `socket_call` installed at fd 3: its walks before and after,
/// the sockaddr it was given. The bound port is `port`.
pub fn bind_call(port: u16) -> Call {
    use crate::model::{InetObj, SockAddr, TcpObj};
    let inet = |num: u16, tb: u64| InetObj {
        rcv_saddr: if num == 0 { "0.0.0.0".into() } else { "127.0.0.1".into() },
        num,
        sport_raw: format!("{:#06x}", num.to_be()),
        sport: num,
        daddr: "0.0.0.0".into(),
        dport: 0,
        tcp: Some(TcpObj {
            bind_bucket: KAddr(tb),
            bind_bucket_port: num,
            rcv_nxt: 0,
            copied_seq: 0,
            unread: 0,
            write_seq: 0,
            snd_una: 0,
        }),
    };
    let mut c = socket_call();
    c.seq = 2;
    c.syscall = "bind".into();
    c.nr = 49;
    c.args = vec![Arg { name: "fd".into(), value: Value::plain(3) }];
    // After socket() returned (42 µs): the fd's installation precedes the call.
    c.enter_ns = Some(50_000);
    c.exit_ns = Some(60_000);
    c.ret = Some(0);
    c.chain = vec![];
    let w = c.after.clone();
    c.before = w.clone();
    c.before.fd = Some(3);
    if let Some(s) = c.before.sock.as_mut() {
        s.inet = Some(inet(0, 0));
    }
    c.after = w;
    if let Some(s) = c.after.sock.as_mut() {
        s.inet = Some(inet(port, 0xffff_8881_0250_0000));
    }
    c.sockaddr = Some(SockAddr {
        len: 16,
        family: named(2, "AF_INET", "/usr/include/x86_64-linux-gnu/bits/socket.h:97"),
        addr: Some("127.0.0.1".into()),
        port: Some(0),
        bytes: "02 00 00 00 7f 00 00 01 00 00 00 00 00 00 00 00".into(),
        read_at: "entry".into(),
    });
    c
}

/// The sysctls of a typical host (the port range, somaxconn), for the connection's claims.
pub fn sysctls() -> crate::syscalls::conn::Sysctls {
    crate::syscalls::conn::Sysctls {
        port_range: Some((32768, 60999)),
        port_range_text: "32768 60999".into(),
        somaxconn: Some(4096),
        somaxconn_text: "4096".into(),
    }
}
