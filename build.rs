//! Builds each BPF C program beside the Rust module that owns it and generates its skeleton (with the Rust types of
//! the events it sends) into OUT_DIR. Needs clang (Debian's `clang`); fails with a message that says so.
use std::env;
use std::path::PathBuf;
use std::process::Command;

use libbpf_cargo::SkeletonBuilder;

/// The headers every BPF program shares: vmlinux.h, the interface enums, the event layouts, the object readers.
const INCLUDE: &str = "src/probes/include";

/// Each program and its skeleton; `intf.bpf.c` is never loaded: its skeleton's types are the one Rust copy of the
/// shared layouts (`probes::intf`).
const PROGRAMS: &[(&str, &str)] = &[
    ("src/probes/include/intf.bpf.c", "intf.skel.rs"),
    ("src/probes/boundary/boundary.bpf.c", "boundary.skel.rs"),
    ("src/probes/caps/probe.bpf.c", "caps.skel.rs"),
    ("src/probes/chain/chain.bpf.c", "chain.skel.rs"),
];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let clang = env::var("SYSWALK_CLANG").unwrap_or_else(|_| "clang".to_string());
    if Command::new(&clang).arg("--version").output().is_err() {
        println!(
            "cargo::error=syswalk needs clang to compile its BPF programs: run scripts/setup.sh \
             (or apt-get install clang libelf-dev zlib1g-dev pkg-config), or set SYSWALK_CLANG"
        );
        return;
    }
    println!("cargo:rerun-if-changed={INCLUDE}");
    println!("cargo:rerun-if-env-changed=SYSWALK_CLANG");
    for (src, skel) in PROGRAMS {
        println!("cargo:rerun-if-changed={src}");
        let dir = PathBuf::from(src).parent().map(|p| p.to_path_buf()).unwrap_or_default();
        // Headers beside the program and the shared ones (include/).
        for entry in [dir, PathBuf::from(INCLUDE)].iter().flat_map(std::fs::read_dir).flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "h") {
                println!("cargo:rerun-if-changed={}", entry.path().display());
            }
        }
        if let Err(e) = SkeletonBuilder::new()
            .source(src)
            .clang(&clang)
            .clang_args([format!("-I{INCLUDE}").as_str(), "-Wall", "-Wno-unused-function"])
            .build_and_generate(out.join(skel))
        {
            println!("cargo::error=building BPF program {src} failed: {e:#}");
        }
    }
}
