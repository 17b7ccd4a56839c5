//! Kernel machine code from the vmlinux of the running build: which instructions of a function address a given
//! kernel variable, and how (RIP-relative, or an absolute 32-bit displacement the boot-time KASLR relocation patched).
use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter, OpKind};
use object::{Object, ObjectSection, ObjectSymbol};
use serde::Serialize;

use crate::error::{Error, Kind, Result};

use crate::claims::ids;
use crate::claims::{ev, global_claim, Claim, Evidence, Verdict};

/// How an instruction addresses a variable: relative to the instruction pointer, or by its absolute address.
pub const RIP_RELATIVE: &str = "RIP-relative";
pub const ABSOLUTE: &str = "absolute disp32 (sign-extended; patched by the KASLR relocation at boot)";
/// The `dispatch.code` evidence that counts sock_register's instructions addressing net_families, and where each
/// listed instruction was read.
const REFS: &str = "instructions of sock_register addressing net_families";
const DISASM: &str = "iced-x86 disassembly of the vmlinux";
/// How many of the instructions `dispatch.code` lists in its evidence (the count says how many there are).
const LISTED: usize = 3;

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Ref {
    /// Link-time address of the instruction.
    pub addr: u64,
    pub text: String,
    /// "RIP-relative" or "absolute disp32".
    pub form: String,
    /// The link-time address the operand resolves to.
    pub target: u64,
}

/// Decodes `func` in the vmlinux ELF at `path` and returns its memory operands that resolve to `var`.
pub fn refs(path: &str, func: &str, var: &str) -> Result<(u64, u64, Vec<Ref>)> {
    let f = std::fs::File::open(path).map_err(|e| Error::with_source(Kind::Io, format!("{path}: {e}"), e))?;
    // SAFETY: read-only mapping of a file syswalk does not modify; see kaslr::StaticMap::from_elf.
    let map = unsafe { memmap2::Mmap::map(&f) }
        .map_err(|e| Error::with_source(Kind::Io, format!("mapping {path}: {e}"), e))?;
    let obj = object::File::parse(&*map).map_err(|e| Error::with_source(Kind::Io, format!("{path}: {e}"), e))?;
    let mut fsym = None;
    let mut vaddr = None;
    for s in obj.symbols() {
        match s.name() {
            Ok(n) if n == func && s.size() > 0 => fsym = Some((s.address(), s.size())),
            Ok(n) if n == var => vaddr = Some(s.address()),
            _ => {}
        }
    }
    let (start, size) =
        fsym.ok_or_else(|| Error::new(Kind::Io, format!("{func} is not a function symbol of {path}")))?;
    let vaddr = vaddr.ok_or_else(|| Error::new(Kind::Io, format!("{var} is not a symbol of {path}")))?;
    let sec = obj
        .sections()
        .find(|s| s.address() <= start && start + size <= s.address() + s.size())
        .ok_or_else(|| Error::new(Kind::Io, format!("no section of {path} holds {func}")))?;
    let data = sec.data().map_err(|e| Error::with_source(Kind::Io, format!("{path}: {e}"), e))?;
    let off = (start - sec.address()) as usize;
    let bytes = data
        .get(off..off + size as usize)
        .ok_or_else(|| Error::new(Kind::Io, format!("{func}'s bytes are not in the file (NOBITS?)")))?;
    let mut d = Decoder::with_ip(64, bytes, start, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    fmt.options_mut().set_hex_prefix("0x");
    fmt.options_mut().set_hex_suffix("");
    fmt.options_mut().set_uppercase_hex(false);
    let mut out = Vec::new();
    for ins in &mut d {
        let has_mem = (0..ins.op_count()).any(|i| ins.op_kind(i) == OpKind::Memory);
        if !has_mem {
            continue;
        }
        let (target, form) = if ins.is_ip_rel_memory_operand() {
            (ins.ip_rel_memory_address(), RIP_RELATIVE)
        } else if ins.memory_base() == iced_x86::Register::None && ins.memory_displ_size() > 0 {
            (ins.memory_displacement64(), ABSOLUTE)
        } else {
            continue;
        };
        if target == vaddr {
            let mut t = String::new();
            fmt.format(&ins, &mut t);
            out.push(Ref { addr: ins.ip(), text: t, form: form.into(), target });
        }
    }
    Ok((start, vaddr, out))
}

/// What a `dispatch.code` claim's evidence says of sock_register's instructions that address net_families: how many
/// there are, and the form (`RIP_RELATIVE` or `ABSOLUTE`) of each it lists (at most `LISTED`, in address order).
/// None when its evidence has no such instruction (not read, or none found).
pub fn listed_forms(c: &Claim) -> Option<(usize, Vec<&'static str>)> {
    let n = c.evidence.iter().find(|e| e.what == REFS && e.source == DISASM)?.value.parse().ok()?;
    let forms = c
        .evidence
        .iter()
        .filter(|e| e.source == DISASM && e.what != REFS)
        .filter_map(|e| [RIP_RELATIVE, ABSOLUTE].into_iter().find(|f| e.value.ends_with(&format!("[{f}]"))))
        .collect();
    Some((n, forms))
}

/// Where sock_register and net_families are in the vmlinux at `path`, how many of its instructions address it, and
/// the first `LISTED` of them with their form (what `listed_forms` reads back).
pub fn code_evidence(path: &str, start: u64, vaddr: u64, refs: &[Ref]) -> Vec<Evidence> {
    let mut evidence = vec![
        ev("sock_register", format!("{start:#x} (link time)"), path),
        ev("net_families", format!("{vaddr:#x} (link time)"), path),
    ];
    if !refs.is_empty() {
        evidence.push(ev(REFS, refs.len().to_string(), DISASM));
    }
    for r in refs.iter().take(LISTED) {
        evidence.push(ev(format!("{:#x}", r.addr), format!("{}  [{}]", r.text, r.form), DISASM));
    }
    evidence
}

/// `dispatch.code`: sock_register's own instructions address net_families (link time), and moved by the measured
/// KASLR offset that is the live net_families.
pub fn claim(vmlinux: Option<&str>, offset: Option<u64>, live_var: Option<u64>) -> Claim {
    let st =
        "sock_register's machine code addresses net_families, and link-time address + KASLR offset = the live address";
    let not = |why: String| global_claim(ids::DISPATCH_CODE, Verdict::NotObservable, st, vec![], Some(why));
    let Some(path) = vmlinux else {
        return not("no vmlinux with symbols of this build (the -dbg package; the lab: `lab run --dbg`)".into());
    };
    let (start, vaddr, refs) = match refs(path, "sock_register", "net_families") {
        Ok(r) => r,
        Err(e) => return not(e.message),
    };
    let mut evidence = code_evidence(path, start, vaddr, &refs);
    if refs.is_empty() {
        return global_claim(
            ids::DISPATCH_CODE,
            Verdict::Refuted,
            "no instruction of sock_register addresses net_families",
            evidence,
            None,
        );
    }
    let (Some(off), Some(live)) = (offset, live_var) else {
        return global_claim(
            ids::DISPATCH_CODE,
            Verdict::NotObservable,
            st,
            evidence,
            Some("the KASLR offset or the live net_families address is unknown".into()),
        );
    };
    evidence.push(ev(
        "link-time + offset",
        format!("{vaddr:#x} + {off:#x} = {:#x}", vaddr.wrapping_add(off)),
        ids::KASLR_OFFSET_CONSTANT.id,
    ));
    evidence.push(ev("live net_families", format!("{live:#x}"), "/proc/kallsyms"));
    let forms: Vec<&str> = refs.iter().map(|r| r.form.split(' ').next().unwrap_or("")).collect();
    if vaddr.wrapping_add(off) == live {
        let st = format!("{} instruction(s) of sock_register address net_families ({}), and {vaddr:#x} + {off:#x} is its live address", refs.len(), forms.join(", "));
        global_claim(ids::DISPATCH_CODE, Verdict::Proved, st, evidence, None)
    } else {
        global_claim(
            ids::DISPATCH_CODE,
            Verdict::Refuted,
            "link-time net_families + offset is not the live address",
            evidence,
            None,
        )
    }
}
