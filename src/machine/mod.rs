//! Names and facts from the machine syswalk runs on: the kernel's BTF, /proc/kallsyms, the installed headers, the
//! target's own binary.
pub mod btf;
pub mod headers;
pub mod kallsyms;
pub mod usercall;
