//! The user side of a system call: where, in the target's own binary, the libc wrapper is called, and which
//! instructions load the argument registers before that call. Read from the ELF file and disassembled here (iced-x86),
//! then tied to the run by the return address the kernel saw on the user stack at syscall entry.
use std::collections::HashSet;
use std::path::Path;

use iced_x86::{
    Decoder, DecoderOptions, Formatter, Instruction, InstructionInfoFactory, IntelFormatter, Mnemonic, OpAccess,
    OpKind, Register,
};
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, SectionFlags};
use serde::Serialize;

use crate::error::{Error, Kind, Result};

/// An instruction that set up one argument register before the call.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Setup {
    /// rdi, rsi or rdx (the first three integer arguments in the x86-64 System V calling convention).
    pub reg: String,
    pub addr: String,
    pub text: String,
    /// The value loaded, when the instruction loads a constant (mov reg, imm / xor reg, reg).
    pub constant: Option<i64>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct CallSite {
    /// Enclosing function (from the binary's symbol table), when it has one.
    pub function: Option<String>,
    /// File virtual address of the call instruction.
    pub addr: u64,
    /// Address of the instruction after it: the return address the call pushes.
    pub next: u64,
    pub text: String,
    /// How the call reaches the wrapper: "PLT entry @0x…" or "GOT slot @0x…".
    pub via: String,
    pub setup: Vec<Setup>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct UserSide {
    pub binary: String,
    pub symbol: String,
    /// Lowest p_vaddr of the executable PT_LOAD segments (what the kernel adds the load bias to for start_code).
    pub exec_vaddr: u64,
    pub pie: bool,
    pub sites: Vec<CallSite>,
    /// What could not be determined, said plainly.
    pub notes: Vec<String>,
}

fn arg_reg(r: Register) -> Option<&'static str> {
    match r.full_register() {
        Register::RDI => Some("rdi"),
        Register::RSI => Some("rsi"),
        Register::RDX => Some("rdx"),
        _ => None,
    }
}

fn constant_of(ins: &Instruction) -> Option<i64> {
    match ins.mnemonic() {
        Mnemonic::Mov if ins.op_count() == 2 && ins.op0_kind() == OpKind::Register => match ins.op1_kind() {
            OpKind::Immediate8
            | OpKind::Immediate16
            | OpKind::Immediate32
            | OpKind::Immediate64
            | OpKind::Immediate32to64
            | OpKind::Immediate8to32
            | OpKind::Immediate8to64 => Some(ins.immediate(1) as i64),
            _ => None,
        },
        Mnemonic::Xor
            if ins.op0_kind() == OpKind::Register
                && ins.op1_kind() == OpKind::Register
                && ins.op0_register() == ins.op1_register() =>
        {
            Some(0)
        }
        _ => None,
    }
}

/// Finds every call to `symbol` (a dynamically linked function such as libc's `socket`) in the ELF file at `path`.
pub fn find(path: &Path, symbol: &str) -> Result<UserSide> {
    let data = std::fs::read(path)
        .map_err(|e| Error::with_source(Kind::Io, format!("cannot read {}: {e}", path.display()), e))?;
    let obj = object::File::parse(&*data).map_err(|e| {
        Error::with_source(Kind::Io, format!("{} is not an ELF file syswalk can read: {e}", path.display()), e)
    })?;
    if obj.architecture() != object::Architecture::X86_64 {
        return Err(Error::new(
            Kind::Io,
            format!("{} is {:?}; the call-site disassembly knows x86-64 only", path.display(), obj.architecture()),
        ));
    }
    let mut notes = Vec::new();
    let pie = obj.kind() == object::ObjectKind::Dynamic;
    let exec_vaddr = exec_vaddr(&data).unwrap_or_else(|| obj.segments().map(|s| s.address()).min().unwrap_or(0));

    // GOT slots the dynamic linker fills with the address of `symbol`.
    let mut got: HashSet<u64> = HashSet::new();
    if let Some(relocs) = obj.dynamic_relocations() {
        let dynsyms: Vec<_> = obj.dynamic_symbols().collect();
        for (off, r) in relocs {
            if let object::RelocationTarget::Symbol(i) = r.target() {
                if let Some(s) = dynsyms.iter().find(|s| s.index() == i) {
                    let n = s.name().unwrap_or("");
                    if n == symbol || n.split('@').next() == Some(symbol) {
                        got.insert(off);
                    }
                }
            }
        }
    }
    if got.is_empty() {
        return Err(Error::new(Kind::Io, format!("{} has no dynamic relocation for {symbol}: it is not linked against a shared {symbol}() (static binary, or no such call)", path.display())));
    }

    // Function symbols, for naming the enclosing function and decoding it from its start.
    let mut funcs: Vec<(u64, u64, String)> = obj
        .symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text && s.size() > 0)
        // Rust symbols demangled, without their hash (`syswalk::probes::target::target_main`); others as they are.
        .filter_map(|s| Some((s.address(), s.size(), format!("{:#}", rustc_demangle::demangle(s.name().ok()?)))))
        .collect();
    funcs.sort();
    if funcs.is_empty() {
        notes.push(
            "the binary has no symbol table (stripped): enclosing functions and argument set-up are not shown".into(),
        );
    }

    let exec: Vec<_> = obj.sections().filter(|s| matches!(s.flags(), SectionFlags::Elf { sh_flags } if sh_flags & object::elf::SHF_EXECINSTR as u64 != 0)).collect();
    // PLT entries that jump through one of those GOT slots (an entry starts at its endbr64 when it has one).
    let mut plt: Vec<u64> = Vec::new();
    for s in &exec {
        let name = s.name().unwrap_or("");
        if !name.starts_with(".plt") {
            continue;
        }
        let Ok(bytes) = s.data() else { continue };
        let mut d = Decoder::with_ip(64, bytes, s.address(), DecoderOptions::NONE);
        let mut prev: Option<Instruction> = None;
        while d.can_decode() {
            let ins = d.decode();
            if ins.mnemonic() == Mnemonic::Jmp
                && ins.is_ip_rel_memory_operand()
                && got.contains(&ins.ip_rel_memory_address())
            {
                plt.push(ins.ip());
                if let Some(p) = prev.filter(|p| p.mnemonic() == Mnemonic::Endbr64) {
                    plt.push(p.ip());
                }
            }
            prev = Some(ins);
        }
    }

    let mut fmt = IntelFormatter::new();
    fmt.options_mut().set_hex_prefix("0x");
    fmt.options_mut().set_hex_suffix("");
    fmt.options_mut().set_uppercase_hex(false);
    fmt.options_mut().set_space_after_operand_separator(true);
    let show = |f: &mut IntelFormatter, ins: &Instruction| {
        let mut t = String::new();
        f.format(ins, &mut t);
        t
    };
    let mut sites = Vec::new();
    for s in &exec {
        if s.name().unwrap_or("").starts_with(".plt") {
            continue;
        }
        let Ok(bytes) = s.data() else { continue };
        let mut d = Decoder::with_ip(64, bytes, s.address(), DecoderOptions::NONE);
        let mut ins = Instruction::default();
        while d.can_decode() {
            d.decode_out(&mut ins);
            if ins.mnemonic() != Mnemonic::Call {
                continue;
            }
            let via = if ins.op0_kind() == OpKind::NearBranch64 && plt.contains(&ins.near_branch64()) {
                format!("PLT entry @{:#x} (jumps through the GOT slot of {symbol})", ins.near_branch64())
            } else if ins.is_ip_rel_memory_operand() && got.contains(&ins.ip_rel_memory_address()) {
                format!(
                    "GOT slot @{:#x} (filled with {symbol}'s address by the dynamic linker)",
                    ins.ip_rel_memory_address()
                )
            } else {
                continue;
            };
            let func = funcs.iter().rev().find(|(a, sz, _)| *a <= ins.ip() && ins.ip() < a + sz);
            let setup = match func {
                Some((start, _, _)) => setup_before(bytes, s.address(), *start, ins.ip(), &mut fmt),
                None => Vec::new(),
            };
            sites.push(CallSite {
                function: func.map(|f| f.2.clone()),
                addr: ins.ip(),
                next: ins.next_ip(),
                text: format!("{}    ; → {symbol}", show(&mut fmt, &ins)),
                via,
                setup,
            });
        }
    }
    if sites.is_empty() {
        notes.push(format!("no direct call to {symbol} through its PLT entry or GOT slot was found (the call may be through a function pointer)"));
    }
    Ok(UserSide { binary: path.display().to_string(), symbol: symbol.into(), exec_vaddr, pie, sites, notes })
}

/// The last instruction writing each argument register between the function start and the call; a call in between
/// clobbers them (caller-saved), so set-ups before an earlier call are forgotten.
fn setup_before(bytes: &[u8], base: u64, start: u64, call: u64, fmt: &mut IntelFormatter) -> Vec<Setup> {
    let (Some(from), Some(to)) = (start.checked_sub(base), call.checked_sub(base)) else { return Vec::new() };
    let (from, to) = (from as usize, to as usize);
    if from >= to || to > bytes.len() {
        return Vec::new();
    }
    let mut d = Decoder::with_ip(64, &bytes[from..to], start, DecoderOptions::NONE);
    let mut info = InstructionInfoFactory::new();
    let mut last: [Option<Setup>; 3] = [None, None, None];
    let order = ["rdi", "rsi", "rdx"];
    for ins in &mut d {
        if ins.mnemonic() == Mnemonic::Call {
            last = [None, None, None];
            continue;
        }
        let i = info.info(&ins);
        for u in i.used_registers() {
            if !matches!(
                u.access(),
                OpAccess::Write | OpAccess::ReadWrite | OpAccess::CondWrite | OpAccess::ReadCondWrite
            ) {
                continue;
            }
            if let Some(r) = arg_reg(u.register()) {
                let mut t = String::new();
                fmt.format(&ins, &mut t);
                let k = order.iter().position(|o| *o == r).unwrap_or(0);
                last[k] = Some(Setup {
                    reg: r.into(),
                    addr: format!("{:#x}", ins.ip()),
                    text: t,
                    constant: constant_of(&ins),
                });
            }
        }
    }
    last.into_iter().flatten().collect()
}

/// Lowest p_vaddr among PT_LOAD segments with PF_X, read from the ELF64 program headers.
fn exec_vaddr(data: &[u8]) -> Option<u64> {
    use object::read::elf::{FileHeader, ProgramHeader};
    let h = object::elf::FileHeader64::<object::Endianness>::parse(data).ok()?;
    let e = h.endian().ok()?;
    h.program_headers(e, data)
        .ok()?
        .iter()
        .filter(|p| p.p_type(e) == object::elf::PT_LOAD && p.p_flags(e) & object::elf::PF_X != 0)
        .map(|p| p.p_vaddr(e))
        .min()
}

/// The call site a return address points after, given where the kernel loaded the text (mm->start_code).
pub fn site_for_return(u: &UserSide, start_code: u64, ret: u64) -> Option<(&CallSite, u64)> {
    let bias = start_code.checked_sub(u.exec_vaddr)?;
    let file_ret = ret.checked_sub(bias)?;
    u.sites.iter().find(|s| s.next == file_ret).map(|s| (s, bias))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(flags: &[&str]) -> std::path::PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let out = std::env::temp_dir().join(format!(
            "syswalk-course-{}-{n}-{}",
            std::process::id(),
            flags.join("").replace('-', "")
        ));
        let st = std::process::Command::new("cc")
            .args(flags)
            .arg("-o")
            .arg(&out)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/c/course.c"))
            .status()
            .expect("cc (installed by scripts/setup.sh) runs");
        assert!(st.success());
        out
    }

    #[test]
    fn finds_the_course_call_site_at_o0_through_the_plt() {
        let bin = compile(&["-O0"]);
        let u = find(&bin, "socket").expect("readable");
        assert_eq!(u.sites.len(), 1, "{u:#?}");
        let s = &u.sites[0];
        assert_eq!(s.function.as_deref(), Some("main"));
        assert!(s.via.starts_with("PLT entry"), "{}", s.via);
        let c: Vec<(String, Option<i64>)> = s.setup.iter().map(|x| (x.reg.clone(), x.constant)).collect();
        assert_eq!(c, vec![("rdi".into(), Some(2)), ("rsi".into(), Some(1)), ("rdx".into(), Some(0))], "{s:#?}");
        assert!(u.pie || u.exec_vaddr > 0);
        let _ = std::fs::remove_file(bin);
    }

    #[test]
    fn finds_a_got_call_without_plt() {
        let bin = compile(&["-O2", "-fno-plt"]);
        let u = find(&bin, "socket").expect("readable");
        assert_eq!(u.sites.len(), 1, "{u:#?}");
        assert!(u.sites[0].via.starts_with("GOT slot"), "{}", u.sites[0].via);
        let _ = std::fs::remove_file(bin);
    }

    #[test]
    fn return_address_maps_back_through_the_load_bias() {
        let u = UserSide {
            binary: "x".into(),
            symbol: "socket".into(),
            exec_vaddr: 0x1000,
            pie: true,
            sites: vec![CallSite {
                function: Some("main".into()),
                addr: 0x1150,
                next: 0x1155,
                text: String::new(),
                via: String::new(),
                setup: vec![],
            }],
            notes: vec![],
        };
        let (s, bias) = site_for_return(&u, 0x5555_5555_5000, 0x5555_5555_5155).expect("maps");
        assert_eq!((s.addr, bias), (0x1150, 0x5555_5555_4000));
        assert!(site_for_return(&u, 0x5555_5555_5000, 0x5555_5555_5156).is_none());
    }

    #[test]
    fn not_elf_and_no_symbol_are_clear_errors() {
        let e = find(Path::new("/proc/self/status"), "socket").unwrap_err();
        assert!(e.message.contains("not an ELF"), "{e}");
        let bin = compile(&["-O0"]);
        let e = find(&bin, "bind").unwrap_err();
        assert!(e.message.contains("no dynamic relocation for bind"), "{e}");
        let _ = std::fs::remove_file(bin);
    }

    #[test]
    fn a_stripped_binary_still_shows_the_call_but_says_what_is_missing() {
        let bin = compile(&["-O0", "-s"]);
        let u = find(&bin, "socket").expect("readable");
        assert_eq!(u.sites.len(), 1);
        assert_eq!(u.sites[0].function, None);
        assert!(u.sites[0].setup.is_empty());
        assert!(u.notes.iter().any(|n| n.contains("stripped")), "{:?}", u.notes);
        let _ = std::fs::remove_file(bin);
    }
}
