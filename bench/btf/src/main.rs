//! Times `machine::btf` (syswalk's own file, compiled in here as it is in the tree) loading the kernel's BTF and
//! answering the lookups a run makes. Built with the `baseline` feature (bench/btf.sh BASELINE=REV), also another
//! revision's reader, side by side, and checks that both give the same answers for every struct, function and enum.
//! With `libs`, also the raw libraries (libbpf-rs's `btf` module, btf-rs) alone.

// syswalk's modules are compiled in whole; the bench uses a few of their items.
#![allow(dead_code)]

#[cfg(feature = "baseline")]
#[path = "../../../target/bench-btf/baseline_btf.rs"]
mod baseline;
#[path = "../../../src/machine/btf.rs"]
mod btf;
#[path = "../../../src/error.rs"]
mod error;
#[path = "../../../src/machine/files.rs"]
mod files;

use std::time::{Duration, Instant};

const STRUCTS: &[&str] = &[
    "files_struct",
    "fdtable",
    "file",
    "socket",
    "socket_alloc",
    "sock",
    "sock_common",
    "proto_ops",
    "proto",
    "net_proto_family",
    "inet_protosw",
    "inet_bind_bucket",
];
const FUNCS: &[&str] = &[
    "__sys_socket",
    "__sock_create",
    "inet_create",
    "sock_alloc",
    "sock_alloc_file",
    "fd_install",
    "__sys_connect",
    "inet_stream_connect",
    "__inet_stream_connect",
    "tcp_v4_connect",
    "__sys_listen",
    "inet_listen",
    "__inet_listen_sk",
    "inet_csk_listen_start",
    "__sys_bind",
    "inet_bind",
    "inet_bind_sk",
    "__inet_bind",
    "inet_csk_get_port",
    "sock_close",
    "__sock_release",
    "inet_release",
    "tcp_close",
    "tcp_recvmsg",
    "tcp_sendmsg",
    "sock_free_inode",
    "__sk_destruct",
    "tcp_time_wait",
];

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn time<T>(n: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut v = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        std::hint::black_box(f());
        v.push(t.elapsed());
    }
    let min = *v.iter().min().expect("runs");
    (median(v), min)
}

fn report(what: &str, (med, min): (Duration, Duration)) {
    println!("{what:<60} median {:>10}   min {:>10}", ms(med), ms(min));
}

/// Every lookup a traced run of the socket course makes, once each (Namer caches enum names per value).
macro_rules! lookups {
    ($b:expr) => {{
        let b = $b;
        let mut n = 0;
        for s in STRUCTS {
            n += b.struct_layout(s).map_or(0, |l| l.members.len());
        }
        for f in FUNCS {
            n += b.has_func(f) as usize;
            n += b.func_sig(f).map_or(0, |s| s.params.len());
        }
        for v in [1, 2, 3, 5] {
            n += b.enum_name("sock_type", v).is_some() as usize;
        }
        for v in [0, 6, 17] {
            n += b.enum_name_by_anchor("IPPROTO_TCP", "IPPROTO_", v).is_some() as usize;
        }
        for v in 1..=12 {
            n += b.enum_name_by_anchor("TCP_ESTABLISHED", "TCP_", v).is_some() as usize;
        }
        for v in 0..=4 {
            n += b.enum_name_by_anchor("SS_UNCONNECTED", "SS_", v).is_some() as usize;
        }
        for e in ["SOCK_STREAM", "IPPROTO_IP", "IPPROTO_TCP", "BPF_FUNC_get_attach_cookie"] {
            n += b.enumerator(e).is_some() as usize;
        }
        n
    }};
}

/// Times one reader module in this process (`Btf::load` again, the lookups).
macro_rules! bench_reader {
    ($m:ident, $runs:expr) => {{
        let runs = $runs;
        let l = stringify!($m);
        report(
            &format!("{l}  Btf::load() (warm: not the first in the process)"),
            time(runs, || $m::Btf::load().expect("load")),
        );
        let b = $m::Btf::load().expect("load");
        println!("  lookups answered: {}", lookups!(&b));
        report(&format!("{l}  all lookups of a run (lookups! in main.rs)"), time(runs, || lookups!(&b)));
        report(&format!("{l}  struct_layout(\"sock\")"), time(runs, || b.struct_layout("sock")));
        report(&format!("{l}  func_sig(\"inet_create\")"), time(runs, || b.func_sig("inet_create")));
        report(&format!("{l}  has_func(\"tcp_v4_connect\")"), time(runs, || b.has_func("tcp_v4_connect")));
        report(&format!("{l}  has_func(\"no_such_function\")"), time(runs, || b.has_func("no_such_function")));
        report(&format!("{l}  enum_name(\"sock_type\", 1)"), time(runs, || b.enum_name("sock_type", 1)));
        report(
            &format!("{l}  enum_name_by_anchor(\"TCP_ESTABLISHED\", 7)"),
            time(runs, || b.enum_name_by_anchor("TCP_ESTABLISHED", "TCP_", 7)),
        );
        report(
            &format!("{l}  enumerator(\"BPF_FUNC_get_attach_cookie\")"),
            time(runs, || b.enumerator("BPF_FUNC_get_attach_cookie")),
        );
        report(&format!("{l}  enumerator(\"NO_SUCH_ENUMERATOR\")"), time(runs, || b.enumerator("NO_SUCH_ENUMERATOR")));
    }};
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(w) = args.iter().skip_while(|a| *a != "once").nth(1) {
        return once(w);
    }
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(15);
    let path = btf::vmlinux_path();
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!("BTF {path} ({size} bytes), {runs} runs each, release build");
    cold(runs);
    bench_reader!(btf, runs);
    #[cfg(feature = "baseline")]
    {
        bench_reader!(baseline, runs);
        compare();
    }
    if args.iter().any(|a| a == "libs") {
        raw_libs(runs, &path);
    }
}

/// One `Btf::load()` in a fresh process, as syswalk makes it (once a run): prints its nanoseconds and the
/// resident memory it holds (KiB).
fn once(which: &str) {
    let rss = || -> u64 {
        let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4
    };
    let before = rss();
    let t = Instant::now();
    let (d, held) = match which {
        #[cfg(feature = "baseline")]
        "baseline" => {
            let _b = std::hint::black_box(baseline::Btf::load().expect("baseline"));
            (t.elapsed(), rss())
        }
        _ => {
            let _b = std::hint::black_box(btf::Btf::load().expect("btf"));
            (t.elapsed(), rss())
        }
    };
    println!("{} {}", d.as_nanos(), held.saturating_sub(before));
}

/// `Btf::load()`, each the first and only load of a fresh process (the baseline's too, alternately).
fn cold(runs: usize) {
    let exe = std::env::current_exe().expect("exe");
    let one = |w: &str| -> (Duration, u64) {
        let o = std::process::Command::new(&exe).args(["once", w]).output().expect("run");
        let v: Vec<u64> =
            String::from_utf8_lossy(&o.stdout).split_whitespace().filter_map(|x| x.parse().ok()).collect();
        (Duration::from_nanos(v[0]), v[1])
    };
    let which: &[&str] = if cfg!(feature = "baseline") { &["btf", "baseline"] } else { &["btf"] };
    let mut got = vec![Vec::new(); which.len()];
    for _ in 0..runs {
        for (i, w) in which.iter().enumerate() {
            got[i].push(one(w));
        }
    }
    for (w, v) in which.iter().zip(got) {
        let t: Vec<Duration> = v.iter().map(|x| x.0).collect();
        let min = *t.iter().min().expect("runs");
        report(&format!("{w}  Btf::load(), cold: the first in a fresh process"), (median(t), min));
        let mut held: Vec<u64> = v.iter().map(|x| x.1).collect();
        held.sort();
        println!("  resident memory held by the loaded Btf: {} KiB (median)", held[held.len() / 2]);
    }
}

/// Every struct layout, function signature, type name and enum lookup of the kernel's BTF: baseline against this.
#[cfg(feature = "baseline")]
fn compare() {
    use libbpf_rs::btf::{BtfKind, BtfType};
    let new = btf::Btf::load().expect("btf");
    let old = baseline::Btf::load().expect("baseline");
    let lib = libbpf_rs::btf::Btf::from_path(btf::vmlinux_path()).expect("lib");
    let same = |a: String, b: String, what: &str, n: &mut usize| {
        if a != b {
            *n += 1;
            if *n < 20 {
                println!("  differs: {what}: baseline {a} this {b}");
            }
        }
    };
    let (mut n, mut named_only, mut structs, mut funcs, mut enums) = (0, 0, 0, 0, Vec::new());
    for id in 1..lib.len() as u32 {
        let Some(t) = lib.type_by_id::<BtfType>(id.into()) else { continue };
        let (a, b) = (old.type_name(id), new.type_name(id));
        if a != b
            && a.is_empty()
            && matches!(t.kind(), BtfKind::Var | BtfKind::DataSec | BtfKind::DeclTag | BtfKind::Float)
        {
            named_only += 1; // the baseline kept no name for these kinds
        } else {
            same(a, b, &format!("type_name({id})"), &mut n);
        }
        let name = t.name().and_then(|s| s.to_str()).unwrap_or("").to_string();
        match t.kind() {
            BtfKind::Struct if !name.is_empty() => {
                structs += 1;
                same(
                    format!("{:?}", old.struct_layout(&name)),
                    format!("{:?}", new.struct_layout(&name)),
                    &name,
                    &mut n,
                );
            }
            BtfKind::Func => {
                funcs += 1;
                same(
                    format!("{:?}", (old.func_sig(&name), old.has_func(&name))),
                    format!("{:?}", (new.func_sig(&name), new.has_func(&name))),
                    &name,
                    &mut n,
                );
            }
            BtfKind::Enum | BtfKind::Enum64 => enums.push(id),
            _ => {}
        }
    }
    let mut enumerators = 0;
    for &id in &enums {
        let t = lib.type_by_id::<BtfType>(id.into()).expect("enum");
        let e = t.name().and_then(|s| s.to_str()).unwrap_or("");
        let members: Vec<String> = if let Ok(x) = libbpf_rs::btf::types::Enum::try_from(t) {
            x.iter().filter_map(|m| m.name.and_then(|s| s.to_str()).map(String::from)).collect()
        } else if let Ok(x) = libbpf_rs::btf::types::Enum64::try_from(t) {
            x.iter().filter_map(|m| m.name.and_then(|s| s.to_str()).map(String::from)).collect()
        } else {
            Vec::new()
        };
        for m in &members {
            enumerators += 1;
            same(format!("{:?}", old.enumerator(m)), format!("{:?}", new.enumerator(m)), m, &mut n);
            let v = new.enumerator(m).unwrap_or(0);
            same(format!("{:?}", old.enum_name(e, v)), format!("{:?}", new.enum_name(e, v)), e, &mut n);
        }
        if let Some(m) = members.first() {
            let p: String = m.chars().take_while(|c| *c != '_').collect();
            for v in -1..70 {
                same(
                    format!("{:?}", old.enum_name_by_anchor(m, &p, v)),
                    format!("{:?}", new.enum_name_by_anchor(m, &p, v)),
                    m,
                    &mut n,
                );
            }
        }
    }
    println!(
        "compare: {} types, {structs} struct layouts, {funcs} function signatures, {} enums, {enumerators} enumerators: \
         {n} differences ({named_only} type_name()s of VAR/DATASEC/DECL_TAG/FLOAT named here, empty in the baseline)",
        lib.len() - 1,
        enums.len()
    );
}

/// The libraries alone: loading, and the lookups they answer directly (nothing built around them).
fn raw_libs(runs: usize, path: &str) {
    use libbpf_rs::btf::types;
    report("libbpf-rs  Btf::from_path()", time(runs, || libbpf_rs::btf::Btf::from_path(path).expect("libbpf")));
    let l = libbpf_rs::btf::Btf::from_path(path).expect("libbpf");
    report(
        "libbpf-rs  type_by_name::<Struct>(\"sock\")",
        time(runs, || l.type_by_name::<types::Struct>("sock").map(|s| s.len())),
    );
    report(
        "libbpf-rs  type_by_name::<Func>(\"tcp_v4_connect\")",
        time(runs, || l.type_by_name::<types::Func>("tcp_v4_connect").is_some()),
    );
    report(
        "libbpf-rs  type_by_name::<Func>(\"no_such_function\")",
        time(runs, || l.type_by_name::<types::Func>("no_such_function").is_some()),
    );
    report(
        "libbpf-rs  every type by id, with its name (one pass)",
        time(runs, || {
            (1..l.len() as u32)
                .filter_map(|i| l.type_by_id::<libbpf_rs::btf::BtfType>(i.into()))
                .filter(|t| t.name().is_some())
                .count()
        }),
    );
    drop(l);
    let bytes = std::fs::read(path).expect("read");
    report("btf-rs  Btf::from_file() (Cache backend)", time(runs, || btf_rs::Btf::from_file(path).expect("btf-rs")));
    report(
        "btf-rs  Btf::from_bytes() (Cache backend)",
        time(runs, || btf_rs::Btf::from_bytes(&bytes).expect("btf-rs")),
    );
    report(
        "btf-rs  Btf::from_file_with_backend(Mmap)",
        time(runs, || btf_rs::Btf::from_file_with_backend(path, btf_rs::Backend::Mmap).expect("btf-rs")),
    );
    let r = btf_rs::Btf::from_file(path).expect("btf-rs");
    report(
        "btf-rs  resolve_types_by_name(\"tcp_v4_connect\") (Cache)",
        time(runs, || r.resolve_types_by_name("tcp_v4_connect").map(|v| v.len())),
    );
    let m = btf_rs::Btf::from_file_with_backend(path, btf_rs::Backend::Mmap).expect("btf-rs");
    report(
        "btf-rs  resolve_types_by_name(\"tcp_v4_connect\") (Mmap)",
        time(runs, || m.resolve_types_by_name("tcp_v4_connect").map(|v| v.len())),
    );
}
