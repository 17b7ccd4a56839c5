//! Names and facts from the machine syswalk runs on: the kernel's BTF, /proc/kallsyms, the installed headers, the
//! target's own binary.
pub mod boottrace;
pub mod btf;
pub mod files;
pub mod headers;
pub mod kallsyms;
pub mod pidns;
pub mod usercall;

/// The running kernel's release and machine (uname(2)).
pub fn uname() -> (String, String) {
    // SAFETY: utsname is plain data (arrays of c_char), for which all-zero bytes are a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: u is a valid, writable utsname that outlives the call.
    if unsafe { libc::uname(&mut u) } != 0 {
        return ("unknown".into(), "unknown".into());
    }
    let f = |b: &[libc::c_char]| {
        let v: Vec<u8> = b.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&v).into_owned()
    };
    (f(&u.release), f(&u.machine))
}
