//! Tiers A (fentry/fexit) and B (kprobe/kretprobe): the function-level chain inside a syscall. Owns
//! `chain.bpf.c`: generic slot programs pointed at kernel functions at run time, with object snapshots chosen from
//! each function's BTF signature.
use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::rc::Rc;

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, OpenObject, RingBuffer, RingBufferBuilder};
use serde::Serialize;

use crate::error::{Error, Kind, Result};
use crate::machine::btf::{Btf, FuncSig};
use crate::machine::kallsyms::Kallsyms;

#[allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::unwrap_used,
    unused_imports,
    dead_code,
    non_camel_case_types
)]
pub mod skel {
    include!(concat!(env!("OUT_DIR"), "/chain.skel.rs"));
}

pub mod spec;

use crate::probes::intf::{self, sw_chain_item as Item, sw_obj as Obj, sw_obj_hdr as ObjHdr};
pub use crate::probes::intf::{
    sw_chain_event as RawChainEvent, sw_chain_kind as ChKind, sw_free_event as RawFree, sw_free_what as FreeWhat,
    sw_obj_kind as ObjKind,
};

/// The functions that end a watched object, with the stem of their programs in chain.bpf.c (`fr_<stem>_fe` for
/// fentry, `fr_<stem>_kp` for kprobe). Each takes the object (or what holds it) as its first argument.
pub const FREE_FNS: [(&str, &str); 3] =
    [("sock_free_inode", "inode"), ("__sk_destruct", "sk"), ("tcp_time_wait", "tw")];

/// Which of FREE_FNS this kernel has as functions a probe can attach to (kallsyms, and BTF for fentry), and why
/// the others cannot be watched.
pub fn free_fns(btf: Option<&Btf>, ks: &Kallsyms, attach: Attach) -> (Vec<String>, Vec<String>) {
    let (mut ok, mut why) = (Vec::new(), Vec::new());
    for (f, _) in FREE_FNS {
        if ks.by_name(f).is_none() {
            why.push(format!("{f} is not in kallsyms (inlined or absent on this kernel)"));
        } else if attach == Attach::Fentry && !btf.is_some_and(|b| b.has_func(f)) {
            why.push(format!("{f} has no BTF entry (fentry needs one)"));
        } else {
            ok.push(f.to_string());
        }
    }
    (ok, why)
}

/// The record header as laid out in chain.h's struct sw_chain_rec (every field before the arena).
const REC_HDR: usize = std::mem::offset_of!(intf::sw_chain_rec, arena);

/// What one record (one outermost traced call on one thread) decodes to.
#[derive(Debug, Default)]
pub struct Decoded {
    pub events: Vec<RawChainEvent>,
    /// Items the kernel could not fit in the record (also counted in the kernel's lost counter).
    pub dropped: u64,
    /// Bytes that did not decode (a record cut short): never silently ignored.
    pub malformed: bool,
}

/// Decodes one record: header, then items in time order, each followed by its `nobjs` object snapshots.
pub fn decode_record(data: &[u8]) -> Decoded {
    let mut d = Decoded::default();
    let u32_at = |o: usize| data.get(o..o + 4).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes);
    use std::mem::offset_of;
    type R = intf::sw_chain_rec;
    let (Some(tgid), Some(tid), Some(used), Some(items), Some(dropped)) = (
        u32_at(offset_of!(R, tgid)),
        u32_at(offset_of!(R, tid)),
        u32_at(offset_of!(R, used)),
        u32_at(offset_of!(R, items)),
        u32_at(offset_of!(R, dropped)),
    ) else {
        d.malformed = true;
        return d;
    };
    d.dropped = dropped as u64;
    let Some(arena) = data.get(REC_HDR..REC_HDR + used as usize) else {
        d.malformed = true;
        return d;
    };
    let isz = std::mem::size_of::<Item>();
    let mut off = 0;
    while off < arena.len() && d.events.len() < items as usize {
        let mut it = Item::default();
        if plain::copy_from_bytes(&mut it, &arena[off..]).is_err() {
            d.malformed = true;
            break;
        }
        off += isz;
        let mut ev = RawChainEvent {
            kind: it.kind,
            slot: it.slot,
            tgid,
            tid,
            ts_ns: it.ts_ns,
            func_ip: it.func_ip,
            args: it.args,
            ret: it.ret,
            stack: it.stack,
            nargs: it.nargs,
            ..Default::default()
        };
        let Some(objs) = arena.get(off..off + it.obj_bytes as usize) else {
            d.malformed = true;
            return d;
        };
        off += it.obj_bytes as usize;
        match decode_objs(objs, it.nobjs as usize, &mut ev.objs) {
            Some(n) => ev.nobjs = n as u32,
            None => {
                d.malformed = true;
                return d;
            }
        }
        d.events.push(ev);
    }
    if d.events.len() != items as usize {
        d.malformed = true;
    }
    d
}

/// An item's snapshots: `n` headers, each followed by the object its kind names when its address is not 0. None
/// when the bytes do not match what the headers say (sizes, kinds, count).
fn decode_objs(mut b: &[u8], n: usize, out: &mut [Obj]) -> Option<usize> {
    if n > out.len() {
        return None;
    }
    for o in out.iter_mut().take(n) {
        let mut h = ObjHdr::default();
        plain::copy_from_bytes(&mut h, b).ok()?;
        let body = b.get(std::mem::size_of::<ObjHdr>()..h.size as usize)?;
        *o = Obj { addr: h.addr, kind: h.kind, from: h.from, bits: h.bits, ..Default::default() };
        // The body is exactly the object the kind names, or nothing for a NULL pointer or another kind.
        match ObjKind(h.kind) {
            _ if h.addr == 0 => body.is_empty().then_some(())?,
            ObjKind::SW_OBJ_SOCKET => exact(&mut o.socket, body)?,
            ObjKind::SW_OBJ_SOCK => exact(&mut o.sock, body)?,
            ObjKind::SW_OBJ_FILE => exact(&mut o.file, body)?,
            _ => body.is_empty().then_some(())?,
        }
        b = &b[h.size as usize..];
    }
    b.is_empty().then_some(n)
}

/// Fills `dst` from `b` when `b` is exactly its size.
fn exact<T: plain::Plain>(dst: &mut T, b: &[u8]) -> Option<()> {
    (b.len() == std::mem::size_of::<T>()).then_some(())?;
    plain::copy_from_bytes(dst, b).ok()
}

/// Functions one run can trace (interface.h).
pub const SLOTS: usize = intf::sw_limits::SW_SLOTS.0 as usize;
/// Log2 buckets per function of `--format hist` (interface.h).
pub const HIST_BUCKETS: u32 = intf::sw_limits::SW_HIST_BUCKETS.0;
/// The kernel's NPROTO (net_families[] slots) and SOCK_MAX (inetsw[] slots), as interface.h has them.
pub const NPROTO: i32 = intf::sw_limits::SW_NPROTO.0 as i32;
pub const SOCK_MAX: i32 = intf::sw_limits::SW_NSOCKTYPE.0 as i32;
/// How far past a function's start its own fentry return address can lie (interface.h).
pub const FENTRY_RA_MAX: u64 = intf::sw_limits::SW_FENTRY_RA_MAX.0 as u64;
pub(super) const AT_ENTRY: u8 = intf::sw_when::SW_AT_ENTRY.0 as u8;
const AT_EXIT: u8 = intf::sw_when::SW_AT_EXIT.0 as u8;

/// The kretprobe trampoline on this kernel (its name changed across versions), 0 when kallsyms has none.
pub fn kretprobe_trampoline(ks: &Kallsyms) -> u64 {
    ["arch_rethook_trampoline", "__kretprobe_trampoline", "kretprobe_trampoline"]
        .iter()
        .find_map(|n| ks.by_name(n))
        .map(|s| s.addr)
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Attach {
    Fentry,
    Kprobe,
}

/// One function of the chain and what this kernel says about it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct FnPlan {
    pub name: String,
    pub in_kallsyms: bool,
    pub in_btf: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<(String, String)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ret: Option<String>,
    pub traced: bool,
    pub note: String,
    /// Only these arguments ("return" for the return value) are snapshotted; None: every object argument.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Vec<String>>,
    #[serde(skip)]
    pub slot: Option<usize>,
}

/// A snapshot request: "NAME" (at entry and at exit), "entry:NAME" or "exit:NAME"; NAME is an argument or "return".
pub fn split_snapshot(want: &str) -> (u8, &str) {
    match want.split_once(':') {
        Some(("entry", n)) => (AT_ENTRY, n),
        Some(("exit", n)) => (AT_EXIT, n),
        _ => (AT_ENTRY | AT_EXIT, want),
    }
}

/// When to snapshot argument (or "return") `name`: bit 0 at entry, bit 1 at exit. No list: every object, both.
fn snapshot_when(list: Option<&[String]>, name: &str) -> u8 {
    match list {
        None => AT_ENTRY | AT_EXIT,
        Some(l) => l.iter().map(|w| split_snapshot(w)).filter(|(_, n)| *n == name).fold(0, |a, (w, _)| a | w),
    }
}

fn obj_kind(ty: &str) -> u8 {
    match ty {
        "struct socket *" => ObjKind::SW_OBJ_SOCKET.0 as u8,
        "struct sock *" => ObjKind::SW_OBJ_SOCK.0 as u8,
        "struct file *" => ObjKind::SW_OBJ_FILE.0 as u8,
        "struct socket **" => ObjKind::SW_OBJ_SOCKET_PP.0 as u8,
        _ => 0,
    }
}

/// Decides, per function, whether it can be traced with `attach` on this kernel, and why not.
pub fn plan(names: &[String], btf: Option<&Btf>, ks: &Kallsyms, attach: Attach) -> Vec<FnPlan> {
    let mut slot = 0;
    names
        .iter()
        .map(|n| {
            let in_kallsyms = ks.by_name(n).is_some_and(|s| matches!(s.kind, 'T' | 't' | 'W' | 'w'));
            let sig: Option<FuncSig> = btf.and_then(|b| b.func_sig(n));
            let in_btf = btf.is_some_and(|b| b.has_func(n));
            let (traced, note) = match (attach, in_kallsyms, in_btf) {
                (_, false, false) => {
                    (false, "absent from kallsyms and BTF: inlined or renamed on this kernel".to_string())
                }
                (_, false, true) => {
                    (false, "in BTF but not in kallsyms: inlined into its callers (no symbol to attach to)".to_string())
                }
                (Attach::Fentry, true, false) => {
                    (false, "in kallsyms but not in BTF: fentry needs BTF (use --attach kprobe)".to_string())
                }
                _ if slot >= SLOTS => (false, format!("more than {SLOTS} functions: not traced")),
                _ => (true, "traced".to_string()),
            };
            let s = traced.then(|| {
                slot += 1;
                slot - 1
            });
            FnPlan {
                name: n.clone(),
                in_kallsyms,
                in_btf,
                params: sig.as_ref().map(|s| s.params.clone()),
                ret: sig.map(|s| s.ret),
                traced,
                note,
                snapshot: None,
                slot: s,
            }
        })
        .collect()
}

fn bpf_err(what: &str, e: libbpf_rs::Error) -> Error {
    Error::new(Kind::Bpf, format!("{what}: {e:#}"))
        .hint("`syswalk caps` shows which attach types work here; try --attach kprobe or --attach none")
}

/// inetsw[type]'s first entry: (type, protocol, struct proto *, struct proto_ops *).
pub type InetswRow = (usize, i32, u64, u64);

/// net_families[]: (family, struct net_proto_family *, its ->create).
pub type FamilyRow = (usize, u64, u64);

pub fn read_tables(ks: &Kallsyms) -> Result<(Vec<FamilyRow>, Vec<InetswRow>)> {
    let addr = ks.by_name("net_families").map(|s| s.addr).ok_or_else(|| {
        Error::new(
            Kind::Bpf,
            "net_families is not in /proc/kallsyms (no CONFIG_KALLSYMS_ALL): the family table cannot be read",
        )
    })?;
    let mut obj = MaybeUninit::<OpenObject>::uninit();
    let mut open =
        skel::ChainSkelBuilder::default().open(&mut obj).map_err(|e| bpf_err("opening the chain object", e))?;
    for mut p in open.open_object_mut().progs_mut() {
        let keep = p.name() == "read_families";
        p.set_autoload(keep);
    }
    let pidns = crate::machine::pidns::current()?.bpf_ino()?;
    if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
        ro.getpid_nr = libc::SYS_getpid as u32;
        ro.pidns_ino = pidns;
    }
    let mut sk = open.load().map_err(|e| bpf_err("loading the family-table reader", e))?;
    if let Some(b) = sk.maps.bss_data.as_deref_mut() {
        b.net_families_addr = addr;
        b.inetsw_addr = ks.by_name("inetsw").map(|s| s.addr).unwrap_or(0);
        b.reader_tgid = std::process::id();
    }
    let link = sk.progs.read_families.attach().map_err(|e| bpf_err("attaching the family-table reader", e))?;
    // SAFETY: getpid has no preconditions; it is the trigger the reader waits for.
    unsafe { libc::syscall(libc::SYS_getpid) };
    drop(link);
    let b = sk.maps.bss_data.as_deref().ok_or_else(|| Error::new(Kind::Internal, "chain object has no .bss"))?;
    // SAFETY: reading plain integers from the mmapped .bss the kernel wrote; volatile because the kernel wrote them.
    let read = unsafe { std::ptr::read_volatile(&b.fam_read) };
    if read == 0 {
        return Err(Error::new(Kind::Bpf, "the family-table reader did not run"));
    }
    let fams = (0..b.fam_ptr.len())
        // SAFETY: as above.
        .map(|i| unsafe { (i, std::ptr::read_volatile(&b.fam_ptr[i]), std::ptr::read_volatile(&b.fam_create[i])) })
        .filter(|(_, p, _)| *p != 0)
        .collect();
    let sw = (0..b.sw_entry.len())
        // SAFETY: as above.
        .map(|t| unsafe {
            (
                t,
                std::ptr::read_volatile(&b.sw_protocol[t]),
                std::ptr::read_volatile(&b.sw_prot[t]),
                std::ptr::read_volatile(&b.sw_ops[t]),
                std::ptr::read_volatile(&b.sw_entry[t]),
            )
        })
        .filter(|r| r.4 != 0)
        .map(|(t, pr, p, o, _)| (t, pr, p, o))
        .collect();
    Ok((fams, sw))
}

/// The FREE_FNS function a `fr_<stem>_<fe|kp>` program probes, when its suffix is this attach type's.
fn free_prog(idx: &str, attach: Attach) -> Option<&'static str> {
    let (stem, how) = idx.rsplit_once('_')?;
    let want = if attach == Attach::Fentry { "fe" } else { "kp" };
    (how == want).then_some(())?;
    FREE_FNS.iter().find(|(_, s)| *s == stem).map(|(f, _)| *f)
}

pub struct ChainTracer<'obj> {
    skel: skel::ChainSkel<'obj>,
    _links: Vec<libbpf_rs::Link>,
    ring: Option<RingBuffer<'static>>,
    pub events: Rc<RefCell<Vec<RawChainEvent>>>,
    /// Ends of watched objects (FREE_FNS), in the order they arrived.
    pub frees: Rc<RefCell<Vec<RawFree>>>,
    /// Free probes that did not attach (the function named first): their frees are not watched.
    pub free_errors: Vec<String>,
    /// Records that did not decode (items that did not fit are counted in the kernel's `clost`).
    malformed: Rc<std::cell::Cell<u64>>,
}

/// The function-level chain to trace alongside the boundary (tiers A/B).
pub struct ChainSetup {
    pub plan: Vec<FnPlan>,
    pub attach: Attach,
    /// Fall back from fentry to kprobe if fentry cannot be loaded (not when the user forced fentry).
    pub fallback: bool,
    /// Evidence budget: 0 = every call in full; N = the first N calls of the plan's first function (the root) in
    /// full, the rest counted in the kernel (see `ChainTracer::counted`).
    pub root_calls: u32,
    /// The kretprobe trampoline's address (see `kretprobe_trampoline`), for tier B's caller; 0 when unknown.
    pub rethook: u64,
    /// The kernel has BPF attach cookies (its BTF lists BPF_FUNC_get_attach_cookie): kprobes carry their slot as
    /// the attachment's cookie, one program for every function, instead of one program per slot.
    pub cookies: bool,
    /// FREE_FNS present on this kernel: watched for the frees of the objects the chain snapshots (empty: none).
    pub frees: Vec<String>,
    /// Keep latency histograms in the kernel (`--format hist`).
    pub hist: bool,
}

impl<'obj> ChainTracer<'obj> {
    /// Loads and attaches the chain: `plan` and `attach` as given (a fallback changes them), the rest from `cs`.
    pub fn start(
        obj: &'obj mut MaybeUninit<OpenObject>,
        cs: &ChainSetup,
        plan: &[FnPlan],
        attach: Attach,
        tgids: std::os::fd::BorrowedFd<'_>,
    ) -> Result<Self> {
        let cookies = cs.cookies && attach == Attach::Kprobe;
        let mut open =
            skel::ChainSkelBuilder::default().open(obj).map_err(|e| bpf_err("opening the chain object", e))?;
        let by_slot: Vec<Option<&FnPlan>> = (0..SLOTS).map(|i| plan.iter().find(|p| p.slot == Some(i))).collect();
        for mut p in open.open_object_mut().progs_mut() {
            let name = p.name().to_string_lossy().into_owned();
            let (kind, idx) = name.split_once('_').unwrap_or(("", ""));
            let slot: Option<usize> = idx.parse().ok();
            let f = slot.and_then(|s| by_slot.get(s).copied().flatten());
            let want = match (kind, attach) {
                ("fe" | "fx", Attach::Fentry) => f.is_some(),
                ("kp" | "kr", Attach::Kprobe) if idx == "cookie" => cookies,
                ("kp" | "kr", Attach::Kprobe) => !cookies && f.is_some(),
                // The stale-record closer at sys_exit, for both tiers.
                ("cs", _) => true,
                ("fr", _) => free_prog(idx, attach).is_some_and(|f| cs.frees.iter().any(|g| g == f)),
                _ => false,
            };
            p.set_autoload(want);
            if want && matches!(kind, "fe" | "fx") {
                if let Some(f) = f {
                    p.set_attach_target(0, Some(f.name.clone()))
                        .map_err(|e| bpf_err(&format!("targeting {}", f.name), e))?;
                }
            }
        }
        // One process set with the boundary: what it follows at fork, this object follows from the same call.
        open.maps.tgids.reuse_fd(tgids).map_err(|e| bpf_err("sharing the process set with the chain object", e))?;
        let pidns = crate::machine::pidns::current()?.bpf_ino()?;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.pidns_ino = pidns;
            ro.root_calls = cs.root_calls;
            ro.hist_on = cs.hist;
            ro.rethook_tramp = cs.rethook;
            for f in plan.iter().filter(|f| f.traced) {
                let Some(s) = f.slot else { continue };
                let c = &mut ro.cfg[s];
                c.used = 1;
                if let Some(ps) = &f.params {
                    for (j, (pname, ty)) in ps.iter().take(6).enumerate() {
                        let when = snapshot_when(f.snapshot.as_deref(), pname);
                        c.arg_kind[j] = if when != 0 { obj_kind(ty) } else { 0 };
                        c.arg_when[j] = when;
                    }
                }
                c.ret_kind = if snapshot_when(f.snapshot.as_deref(), "return") & AT_EXIT != 0 {
                    f.ret.as_deref().map(obj_kind).unwrap_or(0)
                } else {
                    0
                };
            }
        }
        let skel = open.load().map_err(|e| bpf_err("loading the chain programs", e))?;
        let mut links = Vec::new();
        let mut free_errors = Vec::new();
        // Kretprobes before kprobes: at one address the probe registered last runs first, so each kprobe reads the
        // return address before its kretprobe replaces it with the trampoline.
        let mut progs: Vec<_> = skel.object().progs_mut().collect();
        progs.sort_by_key(|p| !p.name().to_string_lossy().starts_with("kr_"));
        for p in progs {
            let name = p.name().to_string_lossy().into_owned();
            let (kind, idx) = name.split_once('_').unwrap_or(("", ""));
            if idx == "cookie" {
                if !cookies || !matches!(kind, "kp" | "kr") {
                    continue;
                }
                // One program, attached to every traced function with the function's slot as the cookie.
                for (slot, f) in by_slot.iter().enumerate().filter_map(|(s, f)| f.map(|f| (s, f))) {
                    let opts = libbpf_rs::KprobeOpts { cookie: slot as u64, ..Default::default() };
                    let link = p.attach_kprobe_with_opts(kind == "kr", &f.name, opts);
                    links.push(
                        link.map_err(|e| bpf_err(&format!("attaching {name} to {} (cookie {slot})", f.name), e))?,
                    );
                }
                continue;
            }
            if cookies && matches!(kind, "kp" | "kr") {
                continue; // not loaded: the cookie programs stand in for the per-slot ones
            }
            if kind == "cs" {
                links.push(p.attach().map_err(|e| bpf_err("attaching the chain's sys_exit closer", e))?);
                continue;
            }
            if kind == "fr" {
                let Some(f) = free_prog(idx, attach).filter(|f| cs.frees.iter().any(|g| g == f)) else { continue };
                let link = if attach == Attach::Fentry { p.attach() } else { p.attach_kprobe(false, f) };
                // Optional evidence: a free probe that does not attach leaves its frees unwatched, not the chain.
                match link {
                    Ok(l) => links.push(l),
                    Err(e) => free_errors.push(format!("{f}: attaching {name} failed: {e:#}")),
                }
                continue;
            }
            let Some(f) = idx.parse::<usize>().ok().and_then(|s| by_slot.get(s).copied().flatten()) else { continue };
            let link = match (kind, attach) {
                ("fe" | "fx", Attach::Fentry) => p.attach(),
                ("kp", Attach::Kprobe) => p.attach_kprobe(false, &f.name),
                ("kr", Attach::Kprobe) => p.attach_kprobe(true, &f.name),
                _ => continue,
            };
            links.push(link.map_err(|e| bpf_err(&format!("attaching {name} to {}", f.name), e))?);
        }
        let events: Rc<RefCell<Vec<RawChainEvent>>> = Rc::default();
        let malformed: Rc<std::cell::Cell<u64>> = Rc::default();
        let (sink, bad) = (Rc::clone(&events), Rc::clone(&malformed));
        let mut b = RingBufferBuilder::new();
        b.add(&skel.maps.cevents, move |data: &[u8]| {
            let d = decode_record(data);
            sink.borrow_mut().extend(d.events);
            bad.set(bad.get() + u64::from(d.malformed));
            0
        })
        .map_err(|e| bpf_err("chain ring buffer", e))?;
        let frees: Rc<RefCell<Vec<RawFree>>> = Rc::default();
        let fsink = Rc::clone(&frees);
        let fbad = Rc::clone(&malformed);
        b.add(&skel.maps.fevents, move |data: &[u8]| {
            let mut f = RawFree::default();
            match plain::copy_from_bytes(&mut f, data) {
                Ok(()) => fsink.borrow_mut().push(f),
                Err(_) => fbad.set(fbad.get() + 1),
            }
            0
        })
        .map_err(|e| bpf_err("free-event ring buffer", e))?;
        let ring = b.build().map_err(|e| bpf_err("chain ring buffer", e))?;
        Ok(ChainTracer { skel, _links: links, ring: Some(ring), events, frees, malformed, free_errors })
    }

    /// Records still open when tracing stopped (the thread was inside a traced call: killed, or the duration
    /// ended): read from the per-thread map so their items are not lost.
    pub fn open_records(&self) -> Vec<RawChainEvent> {
        let mut out = Vec::new();
        for key in self.skel.maps.recs.keys() {
            let Ok(Some(v)) = self.skel.maps.recs.lookup(&key, MapFlags::ANY) else { continue };
            let m = std::mem::offset_of!(intf::sw_chain_rec, mode);
            let mode = v.get(m..m + 4).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes).unwrap_or(0);
            if mode == intf::sw_rec_mode::SW_REC_RECORDING.0 {
                let d = decode_record(&v);
                self.malformed.set(self.malformed.get() + u64::from(d.malformed));
                out.extend(d.events);
            }
        }
        out
    }

    pub fn drain(&self) -> Result<()> {
        crate::probes::boundary::drain_ring(self.ring.as_ref())
    }

    /// Items lost: no room in the ring buffer or in a record (counted in the kernel), plus records that did not
    /// decode (one each).
    pub fn lost(&self) -> u64 {
        crate::probes::boundary::percpu_sum(&self.skel.maps.clost) + self.malformed.get()
    }

    /// Per slot: (entries, exits) counted in the kernel instead of streamed (evidence budget).
    pub fn counted(&self) -> Vec<(u64, u64)> {
        (0..SLOTS as u32)
            .map(|s| {
                (
                    crate::probes::boundary::percpu_sum_at(&self.skel.maps.ccount, s * 2),
                    crate::probes::boundary::percpu_sum_at(&self.skel.maps.ccount, s * 2 + 1),
                )
            })
            .collect()
    }

    pub fn take_events(&self) -> Vec<RawChainEvent> {
        std::mem::take(&mut *self.events.borrow_mut())
    }

    pub fn take_frees(&self) -> Vec<RawFree> {
        std::mem::take(&mut *self.frees.borrow_mut())
    }

    /// Per slot: the SW_HIST_BUCKETS log2 buckets of inclusive time (summed over CPUs).
    pub fn histograms(&self) -> Vec<Vec<u64>> {
        (0..SLOTS as u32)
            .map(|s| {
                (0..HIST_BUCKETS)
                    .map(|b| crate::probes::boundary::percpu_sum_at(&self.skel.maps.hist, s * HIST_BUCKETS + b))
                    .collect()
            })
            .collect()
    }

    /// Exits the histograms could not place (no entry time).
    pub fn hist_missed(&self) -> u64 {
        crate::probes::boundary::percpu_sum(&self.skel.maps.hmiss)
    }

    /// Free events the kernel could not deliver (their ring buffer was full).
    pub fn frees_lost(&self) -> u64 {
        crate::probes::boundary::percpu_sum(&self.skel.maps.flost)
    }

    /// What the chain's programs cost the kernel so far (see `selfcost`).
    pub fn costs(&self) -> Vec<crate::probes::selfcost::ProgCost> {
        crate::probes::selfcost::read(self.skel.object())
    }
}

impl Drop for ChainTracer<'_> {
    fn drop(&mut self) {
        self.ring.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of<T: plain::Plain>(v: &T) -> Vec<u8> {
        // SAFETY: T is Plain (integers only, repr(C)); viewing it as bytes for a fixture is sound.
        unsafe { std::slice::from_raw_parts(v as *const T as *const u8, std::mem::size_of::<T>()) }.to_vec()
    }

    /// A record as chain.bpf.c lays it out: header, then items each followed by its objects.
    fn record(items: &[(Item, Vec<Obj>)], dropped: u32) -> Vec<u8> {
        let mut arena = Vec::new();
        for (it, objs) in items {
            let mut ob = Vec::new();
            for o in objs {
                let body = match ObjKind(o.kind) {
                    _ if o.addr == 0 => vec![],
                    ObjKind::SW_OBJ_SOCKET => bytes_of(&o.socket),
                    ObjKind::SW_OBJ_SOCK => bytes_of(&o.sock),
                    ObjKind::SW_OBJ_FILE => bytes_of(&o.file),
                    _ => vec![],
                };
                let h = ObjHdr {
                    addr: o.addr,
                    kind: o.kind,
                    from: o.from,
                    bits: o.bits,
                    size: (std::mem::size_of::<ObjHdr>() + body.len()) as u32,
                };
                ob.extend(bytes_of(&h));
                ob.extend(body);
            }
            let it = Item { nobjs: objs.len() as u16, obj_bytes: ob.len() as u16, ..*it };
            arena.extend(bytes_of(&it));
            arena.extend(ob);
        }
        let mut r = Vec::new();
        for v in [7u32, 9, arena.len() as u32, items.len() as u32, dropped, 0, 0, 0] {
            r.extend(v.to_ne_bytes());
        }
        r.extend(0u64.to_ne_bytes()); // root_sp
        assert_eq!(r.len(), REC_HDR, "the fixture's header matches chain.h");
        r.extend(arena);
        r
    }

    #[test]
    fn a_record_decodes_to_items_with_their_objects() {
        let entry = Item { kind: ChKind::SW_CH_ENTRY.0, slot: 0, ts_ns: 10, ..Default::default() };
        let exit = Item { kind: ChKind::SW_CH_EXIT.0, slot: 0, ts_ns: 20, ret: 3, ..Default::default() };
        let mut o1 = Obj { addr: 0xffff_1000, kind: ObjKind::SW_OBJ_SOCKET.0, from: -1, ..Default::default() };
        o1.socket.sk = 0xffff_3000;
        // A NULL pointer travels as a header only; the object after it still lines up.
        let o0 = Obj { addr: 0, kind: ObjKind::SW_OBJ_SOCK.0, from: 1, ..Default::default() };
        let mut o2 = Obj { addr: 0xffff_2000, kind: ObjKind::SW_OBJ_FILE.0, from: 0, ..Default::default() };
        o2.file.private_data = 0xffff_1000;
        let d = decode_record(&record(&[(entry, vec![]), (exit, vec![o1, o0, o2])], 1));
        assert!(!d.malformed);
        assert_eq!(d.dropped, 1);
        assert_eq!(d.events.len(), 2);
        assert_eq!((d.events[0].tgid, d.events[0].tid, d.events[0].ts_ns, d.events[0].nobjs), (7, 9, 10, 0));
        let x = &d.events[1];
        assert_eq!((x.ret, x.nobjs), (3, 3));
        assert_eq!((x.objs[0].addr, x.objs[0].socket.sk), (0xffff_1000, 0xffff_3000));
        assert_eq!((x.objs[1].addr, x.objs[1].from), (0, 1));
        assert_eq!(
            (x.objs[2].addr, x.objs[2].kind, x.objs[2].file.private_data),
            (0xffff_2000, ObjKind::SW_OBJ_FILE.0, 0xffff_1000)
        );
    }

    #[test]
    fn a_short_record_is_malformed_not_silently_shorter() {
        let exit = Item { kind: ChKind::SW_CH_EXIT.0, ..Default::default() };
        let sock = Obj { addr: 0xffff_1000, kind: ObjKind::SW_OBJ_SOCK.0, ..Default::default() };
        let mut r = record(&[(exit, vec![sock])], 0);
        r.truncate(r.len() - 8);
        assert!(decode_record(&r).malformed, "arena shorter than `used`");
        // The header says 2 items but only one is there.
        let mut r = record(&[(Item::default(), vec![])], 0);
        r[12..16].copy_from_slice(&2u32.to_ne_bytes());
        assert!(decode_record(&r).malformed);
        assert!(decode_record(&[0u8; 6]).malformed);
        // A snapshot whose size does not match its kind (a sock read as a file) is malformed, not misread.
        let mut r = record(&[(exit, vec![sock])], 0);
        let kind_at = REC_HDR + std::mem::size_of::<Item>() + std::mem::offset_of!(ObjHdr, kind);
        r[kind_at..kind_at + 4].copy_from_slice(&ObjKind::SW_OBJ_FILE.0.to_ne_bytes());
        assert!(decode_record(&r).malformed);
        // More snapshots announced than the item's bytes hold.
        let mut r = record(&[(exit, vec![sock])], 0);
        let n_at = REC_HDR + std::mem::offset_of!(Item, nobjs);
        r[n_at..n_at + 2].copy_from_slice(&2u16.to_ne_bytes());
        assert!(decode_record(&r).malformed);
    }
}
