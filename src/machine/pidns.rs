//! The PID namespace syswalk runs in. Its BPF programs see the kernel's own (initial namespace) ids; the user,
//! `fork()` and `/proc` speak in this namespace's. Inside a container the two differ, and the initial namespace's
//! process N is some other program: every program translates to this namespace (`src/probes/include/ids.h`).
use std::os::unix::fs::MetadataExt;

use crate::error::{Error, Kind, Result};

/// PROC_PID_INIT_INO (include/linux/proc_ns.h): the inode number of the initial PID namespace.
pub const INIT_INO: u64 = 0xEFFF_FFFC;

/// Which PID namespace this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidNs {
    /// The inode number of /proc/self/ns/pid.
    pub ino: u64,
}

impl PidNs {
    pub fn is_initial(&self) -> bool {
        self.ino == INIT_INO
    }

    /// What the BPF programs are given: 0 for the initial namespace (no translation), else the inode number.
    pub fn bpf_ino(&self) -> Result<u32> {
        if self.is_initial() {
            return Ok(0);
        }
        u32::try_from(self.ino).map_err(|_| {
            Error::new(Kind::Internal, format!("PID namespace inode {} does not fit the kernel's 32 bits", self.ino))
        })
    }
}

/// syswalk's PID namespace, after checking that /proc numbers processes as this namespace does (a /proc mounted
/// for another namespace would name other processes by the PIDs syswalk has).
pub fn current() -> Result<PidNs> {
    let ino = std::fs::metadata("/proc/self/ns/pid")
        .map_err(|e| {
            Error::new(Kind::Io, format!("cannot read /proc/self/ns/pid ({e}): syswalk needs its PID namespace"))
                .hint("mount /proc (mount -t proc proc /proc)")
        })?
        .ino();
    check_proc(std::process::id(), std::fs::read_link("/proc/self").ok().and_then(|p| p.to_str()?.parse().ok()))?;
    Ok(PidNs { ino })
}

/// `own`: getpid(); `proc_self`: the PID /proc/self names. They differ when /proc belongs to another namespace.
fn check_proc(own: u32, proc_self: Option<u32>) -> Result<()> {
    match proc_self {
        Some(p) if p == own => Ok(()),
        Some(p) => Err(Error::new(
            Kind::Usage,
            format!(
                "syswalk runs in a PID namespace whose /proc belongs to another one (it is PID {own} here, /proc says \
                 {p}): the PIDs it would trace and the processes /proc shows would not be the same"
            ),
        )
        .hint("give the namespace its own /proc: `unshare -p -f --mount-proc …`, or run syswalk outside it")),
        None => Err(Error::new(Kind::Io, "cannot read /proc/self: syswalk needs /proc to find its processes")
            .hint("mount /proc (mount -t proc proc /proc)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proc_of_another_namespace_is_refused() {
        assert!(check_proc(7, Some(7)).is_ok());
        let e = check_proc(1, Some(4242)).unwrap_err();
        assert_eq!(e.kind, Kind::Usage);
        assert!(e.message.contains("PID 1 here, /proc says 4242"), "{}", e.message);
        assert_eq!(check_proc(1, None).unwrap_err().kind, Kind::Io);
    }

    #[test]
    fn only_the_initial_namespace_skips_translation() {
        assert_eq!(PidNs { ino: INIT_INO }.bpf_ino().unwrap(), 0);
        assert_eq!(PidNs { ino: 4026532175 }.bpf_ino().unwrap(), 4026532175);
        assert!(PidNs { ino: 1 << 40 }.bpf_ino().is_err());
    }

    #[test]
    fn this_process_has_a_namespace() {
        let ns = current().unwrap();
        assert!(ns.ino > 0);
    }
}
