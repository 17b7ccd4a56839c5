//! syswalk: prove, with live eBPF evidence, what the Linux kernel does for a system call.
pub mod app;
pub mod boundary;
pub mod btf;
pub mod caps;
pub mod chain;
pub mod claims;
pub mod cli;
pub mod error;
pub mod headers;
pub mod kallsyms;
pub mod lab;
pub mod model;
pub mod render;
pub mod report;
pub mod run;
pub mod target;
