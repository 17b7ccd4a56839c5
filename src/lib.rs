//! syswalk: prove, with live eBPF evidence, what the Linux kernel does for a system call.
//!
//! The data flow, as the folders show it (ARCHITECTURE.md has the whole map):
//! probes (BPF, kernel side) → model (events → calls → typed objects) → syscalls/claims (✓/✗ with evidence) →
//! report / lesson → render (text, Markdown, JSON). `commands` runs one subcommand each; `lab` boots stock kernels.
mod claims;
mod cli;
mod commands;
mod diff;
mod error;
mod escape;
mod lab;
mod lesson;
mod machine;
mod model;
mod pipeline;
mod probes;
mod render;
mod report;
mod saved;
mod signals;
mod syscalls;

#[cfg(test)]
mod fixtures;

/// Runs syswalk with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    commands::main()
}
