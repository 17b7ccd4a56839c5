//! The signals that stop syswalk cleanly (SIGINT, SIGTERM, SIGHUP): a handler that only records which one came, so
//! the work in progress can stop at a safe point, report what it has, and let go of what it started. A second one
//! of them while stopping ends syswalk at once (the default action).
use std::sync::atomic::{AtomicI32, Ordering};

static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    if RECEIVED.swap(sig, Ordering::SeqCst) != 0 {
        // The second stop signal: the user means it. Restore the default action and take it.
        // SAFETY: signal and raise are async-signal-safe; sig is the number we were called with.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP — except for a signal already ignored (`nohup`, a
/// background job of a non-interactive shell): that one stays ignored, for syswalk and what it starts.
pub fn install() {
    for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // The previous disposition returned by signal() is put back when it was SIG_IGN.
        // SAFETY: the handler only touches an atomic and calls async-signal-safe functions (signal, raise).
        unsafe {
            let old = libc::signal(s, on_signal as *const () as libc::sighandler_t);
            if old == libc::SIG_IGN {
                libc::signal(s, libc::SIG_IGN);
            }
        }
    }
}

/// The stop signal received so far, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// "signal 2 (Interrupt)": the number and the C library's description.
pub fn name(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a static or thread-local string (never freed by us); we copy it at once.
    let p = unsafe { libc::strsignal(sig) };
    if p.is_null() {
        return format!("signal {sig}");
    }
    // SAFETY: p is a valid NUL-terminated C string per strsignal's contract.
    let s = unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned();
    format!("signal {sig} ({s})")
}

/// In a child between fork and exec (or in `pre_exec`): die with SIGKILL when the parent dies, so nothing syswalk
/// started outlives it. Returns false when the parent is already gone (the caller should _exit).
/// Only async-signal-safe calls, so it may run between fork and exec; `parent` is the pid read before the fork.
pub fn die_with_parent(parent: libc::pid_t) -> bool {
    // SAFETY: prctl(PR_SET_PDEATHSIG) and getppid are async-signal-safe and take no pointers.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) == 0 && libc::getppid() == parent }
}
