//! The kernel side: small CO-RE BPF programs (`*.bpf.c`, built by build.rs) beside the Rust that loads them, the
//! headers they share (`include/`), and the session that attaches them to a target and collects what they send.
pub mod boundary;
pub mod caps;
pub mod chain;
pub mod intf;
pub mod selfcost;
pub mod session;
pub mod target;
