//! The kernel's own BTF (/sys/kernel/btf/vmlinux), read by libbpf through libbpf-rs's `btf` module: enum names and
//! values, function signatures, struct layouts. Used to name values (SS_UNCONNECTED, TCP_CLOSE, SOCK_STREAM,
//! IPPROTO_TCP) from the running kernel, not a book.

use std::os::unix::ffi::OsStrExt;

use libbpf_rs::btf::types::{Array, Composite, DataSec, Enum, Enum64, Float, Func, FuncProto, Int, MemberAttr};
use libbpf_rs::btf::{BtfKind, BtfType, HasSize, ReferencesType};

use crate::error::{Error, Kind, Result};

pub const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// Where syswalk reads the kernel's BTF: `SYSWALK_BTF_PATH` if set, else /sys/kernel/btf/vmlinux.
pub fn vmlinux_path() -> String {
    std::env::var("SYSWALK_BTF_PATH").unwrap_or_else(|_| VMLINUX.to_string())
}

const HINT: &str = "syswalk needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (SYSWALK_BTF_PATH overrides where it looks); try `syswalk lab run --kernel 6.1 -- syswalk prove`";

/// A function's signature from BTF: each parameter's name and C type, and the return type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncSig {
    pub params: Vec<(String, String)>,
    pub ret: String,
}

/// The kernel's BTF as libbpf parsed it, and three indexes of type ids built in one pass at load (libbpf finds a
/// type by name by scanning every type: ~0.7 ms a lookup among a kernel's ~125 000, and a run makes dozens).
pub struct Btf {
    lib: libbpf_rs::btf::Btf<'static>,
    /// Every FUNC, sorted by name, then id: a binary search finds the first FUNC of a name.
    funcs: Vec<u32>,
    /// Every named STRUCT, sorted the same way.
    structs: Vec<u32>,
    /// Every ENUM and ENUM64, in id order.
    enums: Vec<u32>,
}

// SAFETY: libbpf's `struct btf` has no tie to the thread that made it, so a `Btf` may move to, and be freed on,
// another thread (Send). After btf__parse, nothing this module calls through `lib` writes to it: libbpf-rs's `len`,
// `type_by_id`, `BtfType::next_type` and the types' member accessors call only btf__type_cnt, btf__type_by_id and
// btf__name_by_offset, which read it (an id or offset out of range sets the thread's own errno); so `&Btf` may be
// shared between threads (Sync). `lib` is private to this module: calling libbpf-rs's `ptr_size` or `alignment`
// through it (btf__pointer_size caches a value in the struct), or anything that adds types, would void this.
unsafe impl Send for Btf {}
// SAFETY: as for Send above.
unsafe impl Sync for Btf {}

impl std::fmt::Debug for Btf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("types", &self.lib.len())
            .field("funcs", &self.funcs.len())
            .field("structs", &self.structs.len())
            .field("enums", &self.enums.len())
            .finish()
    }
}

/// One member of a struct as this kernel lays it out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    /// The member's name. An anonymous union's or struct's members are listed in its place, with their offsets
    /// from the start of the outer struct (as C code names them).
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    /// Byte offset from the start of the struct.
    pub offset: u32,
    /// Size in bytes (0 for a flexible array).
    pub size: u32,
    /// A bitfield: its bit offset within the struct and its width in bits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<(u32, u32)>,
}

/// A struct's size and members, from BTF.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Layout {
    pub name: String,
    pub size: u32,
    pub members: Vec<Member>,
}

/// A value named by an enum of the kernel's BTF, with where the name came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    pub origin: String,
}

/// A type's name as bytes (empty for an anonymous type).
fn name_of<'b>(t: &BtfType<'b>) -> &'b [u8] {
    t.name().map_or(b"", |n| n.as_bytes())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The size field of the kinds that have one.
fn size_field(t: BtfType<'_>) -> Option<u32> {
    let n = Int::try_from(t)
        .map(|x| x.size())
        .or_else(|t| Composite::try_from(t).map(|x| x.size()))
        .or_else(|t| Enum::try_from(t).map(|x| x.size()))
        .or_else(|t| Enum64::try_from(t).map(|x| x.size()))
        .or_else(|t| Float::try_from(t).map(|x| x.size()))
        .or_else(|t| DataSec::try_from(t).map(|x| x.size()))
        .ok()?;
    u32::try_from(n).ok()
}

/// The id a PTR, TYPEDEF, CONST, VOLATILE, RESTRICT, TYPE_TAG, FUNC, … refers to.
fn next_id(t: &BtfType<'_>) -> Option<u32> {
    t.next_type().map(|n| n.type_id().into())
}

impl Btf {
    pub fn load() -> Result<Self> {
        let path = vmlinux_path();
        let f = super::files::open_limited(
            std::path::Path::new(&path),
            super::files::BTF_MAX,
            "the kernel's BTF",
            Kind::NoBtf,
        )
        .map_err(|e| e.hint(HINT))?;
        Self::read(&f, &path).map_err(|e| e.hint(HINT))
    }

    /// Parses raw BTF held in memory (the tests' fixtures; `load` hands libbpf the file itself). libbpf-rs reads
    /// BTF only from a path, so the bytes go to a memory-backed file first.
    #[cfg(test)]
    pub fn parse(b: &[u8], source: &str) -> Result<Self> {
        use std::io::Write;
        let fail = |e: std::io::Error| {
            Error::with_source(Kind::NoBtf, format!("{source}: cannot hand the BTF to libbpf (a memfd): {e}"), e)
        };
        let fd =
            rustix::fs::memfd_create("syswalk-btf", rustix::fs::MemfdFlags::CLOEXEC).map_err(|e| fail(e.into()))?;
        let mut f = std::fs::File::from(fd);
        f.write_all(b).map_err(fail)?;
        Self::read(&f, source)
    }

    /// libbpf parses `f` (raw BTF, or an ELF file's .BTF section) through this process's link to it,
    /// /proc/self/fd/N: the file that was opened and checked, whatever its path names now.
    fn read(f: &std::fs::File, source: &str) -> Result<Self> {
        use std::os::fd::AsRawFd;
        let link = format!("/proc/self/fd/{}", f.as_raw_fd());
        if !std::path::Path::new(&link).exists() {
            return Err(Error::new(Kind::NoBtf, format!("{source}: libbpf reads it as {link}, which is missing"))
                .hint("mount /proc (`mount -t proc proc /proc`): syswalk needs it"));
        }
        let lib = libbpf_rs::btf::Btf::from_path(&link)
            .map_err(|e| Error::with_source(Kind::NoBtf, format!("{source}: not valid BTF (libbpf: {e:#})"), e))?;
        Ok(Self::index(lib))
    }

    fn index(lib: libbpf_rs::btf::Btf<'static>) -> Self {
        let (mut funcs, mut structs, mut enums) = (Vec::new(), Vec::new(), Vec::new());
        for id in 1..lib.len() as u32 {
            let Some(t) = lib.type_by_id::<BtfType<'_>>(id.into()) else { continue };
            match t.kind() {
                BtfKind::Func => funcs.push((name_of(&t), id)),
                BtfKind::Struct if t.name().is_some() => structs.push((name_of(&t), id)),
                BtfKind::Enum | BtfKind::Enum64 => enums.push(id),
                _ => {}
            }
        }
        // By name, then by id (pushed in id order; the sort is stable).
        funcs.sort_by(|a, b| a.0.cmp(b.0));
        structs.sort_by(|a, b| a.0.cmp(b.0));
        let funcs = funcs.into_iter().map(|(_, id)| id).collect();
        let structs = structs.into_iter().map(|(_, id)| id).collect();
        Btf { lib, funcs, structs, enums }
    }

    fn ty(&self, id: u32) -> Option<BtfType<'_>> {
        self.lib.type_by_id(id.into())
    }

    fn name(&self, id: u32) -> &[u8] {
        self.ty(id).map_or(b"", |t| name_of(&t))
    }

    /// The first id of `ids` (sorted by name) named `name`.
    fn find(&self, ids: &[u32], name: &str) -> Option<u32> {
        let i = ids.partition_point(|&id| self.name(id) < name.as_bytes());
        ids.get(i).copied().filter(|&id| self.name(id) == name.as_bytes())
    }

    /// The members (name, value) of ENUM or ENUM64 `id`; an ENUM64's values as the bits of an i64.
    fn members(&self, id: u32) -> impl Iterator<Item = (&[u8], i64)> + '_ {
        let t = self.ty(id);
        let e32 = t.and_then(|t| Enum::try_from(t).ok());
        let e64 = t.and_then(|t| Enum64::try_from(t).ok());
        let m32 = e32.into_iter().flat_map(|e| (0..e.len()).filter_map(move |i| e.get(i)).map(|m| (m.name, m.value)));
        let m64 =
            e64.into_iter().flat_map(|e| (0..e.len()).filter_map(move |i| e.get(i)).map(|m| (m.name, m.value as i64)));
        m32.chain(m64).map(|(n, v)| (n.map_or(&b""[..], |n| n.as_bytes()), v))
    }

    /// The member of enum `enum_name` with value `v`.
    pub fn enum_name(&self, enum_name: &str, v: i64) -> Option<Named> {
        let &id = self.enums.iter().find(|&&id| self.name(id) == enum_name.as_bytes())?;
        let (n, _) = self.members(id).find(|(_, mv)| *mv == v)?;
        Some(Named { name: text(n), origin: format!("BTF enum {enum_name}") })
    }

    /// The member named `prefix*` with value `v`, in the enum (named or anonymous) that defines `anchor`.
    /// Anonymous enums (like the uapi IPPROTO_* one) are found through one of their members.
    pub fn enum_name_by_anchor(&self, anchor: &str, prefix: &str, v: i64) -> Option<Named> {
        let &id = self.enums.iter().find(|&&id| self.members(id).any(|(n, _)| n == anchor.as_bytes()))?;
        let (n, _) = self.members(id).find(|(n, mv)| *mv == v && n.starts_with(prefix.as_bytes()))?;
        let e = self.name(id);
        let label = if e.is_empty() { format!("anonymous enum with {anchor}") } else { format!("enum {}", text(e)) };
        Some(Named { name: text(n), origin: format!("BTF {label}") })
    }

    /// The value of enumerator `name`, in any enum.
    pub fn enumerator(&self, name: &str) -> Option<i64> {
        self.enums.iter().flat_map(|&id| self.members(id)).find(|(n, _)| *n == name.as_bytes()).map(|(_, v)| v)
    }

    /// The C spelling of type `id` (e.g. "struct socket *", "int", "struct socket **").
    pub fn type_name(&self, id: u32) -> String {
        self.type_name_d(id, 0)
    }

    fn type_name_d(&self, id: u32, depth: u32) -> String {
        fn starred(base: String, stars: &str) -> String {
            if stars.is_empty() {
                base
            } else {
                format!("{base} {stars}")
            }
        }
        if depth > 8 {
            return "?".into();
        }
        let mut stars = String::new();
        let mut id = id;
        for _ in 0..16 {
            if id == 0 {
                return starred("void".into(), &stars);
            }
            let Some(t) = self.ty(id) else { return "?".into() };
            match t.kind() {
                BtfKind::Ptr | BtfKind::Volatile | BtfKind::Const | BtfKind::Restrict | BtfKind::TypeTag => {
                    if t.kind() == BtfKind::Ptr {
                        stars.push('*');
                    }
                    let Some(next) = next_id(&t) else { return "?".into() };
                    id = next;
                }
                BtfKind::Array => {
                    let Ok(a) = Array::try_from(t) else { return "?".into() };
                    let base = format!("{}[{}]", self.type_name_d(a.ty().into(), depth + 1), a.capacity());
                    return starred(base, &stars);
                }
                k => {
                    let n = text(name_of(&t));
                    let base = match k {
                        BtfKind::Struct => format!("struct {n}"),
                        BtfKind::Union => format!("union {n}"),
                        BtfKind::Enum | BtfKind::Enum64 => format!("enum {n}"),
                        BtfKind::FuncProto => "fn".into(),
                        _ => n,
                    };
                    return starred(base, &stars);
                }
            }
        }
        "?".into()
    }

    /// The signature of kernel function `name`.
    pub fn func_sig(&self, name: &str) -> Option<FuncSig> {
        let f = Func::try_from(self.ty(self.find(&self.funcs, name)?)?).ok()?;
        let proto = FuncProto::try_from(self.ty(f.referenced_type_id().into())?).ok()?;
        let params = (0..proto.len()).filter_map(|i| proto.get(i));
        Some(FuncSig {
            params: params
                .map(|p| (text(p.name.map_or(&b""[..], |n| n.as_bytes())), self.type_name(p.ty.into())))
                .collect(),
            ret: self.type_name(proto.referenced_type_id().into()),
        })
    }

    pub fn has_func(&self, name: &str) -> bool {
        self.find(&self.funcs, name).is_some()
    }

    /// The size in bytes of type `id` (pointers 8: x86-64 only, like the rest of syswalk).
    fn type_size(&self, id: u32) -> u32 {
        self.type_size_d(id, 0)
    }

    fn type_size_d(&self, id: u32, depth: u32) -> u32 {
        if depth > 8 {
            return 0;
        }
        let mut id = id;
        for _ in 0..32 {
            let Some(t) = self.ty(id) else { return 0 };
            match t.kind() {
                BtfKind::Ptr => return 8,
                BtfKind::Array => {
                    let Ok(a) = Array::try_from(t) else { return 0 };
                    let n = u32::try_from(a.capacity()).unwrap_or(u32::MAX);
                    return self.type_size_d(a.ty().into(), depth + 1).saturating_mul(n);
                }
                BtfKind::Typedef | BtfKind::Volatile | BtfKind::Const | BtfKind::Restrict | BtfKind::TypeTag => {
                    let Some(next) = next_id(&t) else { return 0 };
                    id = next;
                }
                _ => return size_field(t).unwrap_or(0),
            }
        }
        0
    }

    /// The layout of `struct name` (the first STRUCT of that name): its size and members, anonymous unions and
    /// structs flattened in place as C code names their members.
    pub fn struct_layout(&self, name: &str) -> Option<Layout> {
        let id = self.find(&self.structs, name)?;
        let size = size_field(self.ty(id)?)?;
        let mut members = Vec::new();
        self.push_members(id, 0, &mut members, 0);
        Some(Layout { name: text(self.name(id)), size, members })
    }

    fn push_members(&self, id: u32, base_bits: u32, out: &mut Vec<Member>, depth: u32) {
        let Some(c) = self.ty(id).and_then(|t| Composite::try_from(t).ok()) else { return };
        if depth > 8 {
            return;
        }
        for m in (0..c.len()).filter_map(|i| c.get(i)) {
            let (bit_off, bit_size) = match m.attr {
                MemberAttr::Normal { offset } => (offset, 0),
                MemberAttr::BitField { size, offset } => (offset, u32::from(size)),
            };
            let bit_off = base_bits + bit_off;
            let ty = u32::from(m.ty);
            let Some(name) = m.name else {
                // An anonymous struct or union: its members are the outer struct's (through typedef/const).
                let mut inner = ty;
                for _ in 0..8 {
                    match self.ty(inner) {
                        Some(t) if t.kind() == BtfKind::Typedef || t.is_mod() => match next_id(&t) {
                            Some(next) => inner = next,
                            None => break,
                        },
                        _ => break,
                    }
                }
                self.push_members(inner, bit_off, out, depth + 1);
                continue;
            };
            out.push(Member {
                name: text(name.as_bytes()),
                ty: self.type_name(ty),
                offset: bit_off / 8,
                size: if bit_size > 0 { bit_size.div_ceil(8) } else { self.type_size(ty) },
                bits: (bit_size > 0).then_some((bit_off, bit_size)),
            });
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a tiny BTF blob: enum sock_type {SOCK_STREAM=1, SOCK_DGRAM=2}, an anonymous enum {IPPROTO_IP=0,
    /// IPPROTO_TCP=6}, FUNC __sys_socket, struct socket {state, sk}.
    pub fn fixture() -> Vec<u8> {
        let mut strs = vec![0u8];
        let mut s = |t: &str| {
            let off = strs.len() as u32;
            strs.extend_from_slice(t.as_bytes());
            strs.push(0);
            off
        };
        let names: Vec<u32> = [
            "sock_type",
            "SOCK_STREAM",
            "SOCK_DGRAM",
            "IPPROTO_IP",
            "IPPROTO_TCP",
            "__sys_socket",
            "socket",
            "state",
            "sk",
        ]
        .iter()
        .map(|t| s(t))
        .collect();
        let mut t = Vec::new();
        let mut w = |v: u32| t.extend_from_slice(&v.to_le_bytes());
        // [1] INT (kind 1) "": size 4, extra u32
        w(0);
        w(1 << 24);
        w(4);
        w(32);
        // [2] ENUM sock_type, vlen 2
        w(names[0]);
        w(6 << 24 | 2);
        w(4);
        w(names[1]);
        w(1);
        w(names[2]);
        w(2);
        // [3] ENUM anonymous, vlen 2
        w(0);
        w(6 << 24 | 2);
        w(4);
        w(names[3]);
        w(0);
        w(names[4]);
        w(6);
        // [4] FUNC_PROTO returning int [1], vlen 1: (struct socket **sk) via [7] PTR -> [8] PTR -> [6]
        w(0);
        w(13 << 24 | 1);
        w(1);
        w(names[8]);
        w(7);
        // [5] FUNC __sys_socket -> [4]
        w(names[5]);
        w(12 << 24);
        w(4);
        // [6] STRUCT socket, vlen 2
        w(names[6]);
        w(4 << 24 | 2);
        w(16);
        w(names[7]);
        w(1);
        w(0);
        w(names[8]);
        w(1);
        w(64);
        // [7] PTR -> [8]; [8] PTR -> [6]
        w(0);
        w(2 << 24);
        w(8);
        w(0);
        w(2 << 24);
        w(6);
        let mut b = Vec::new();
        b.extend_from_slice(&[0x9f, 0xeb, 1, 0]);
        b.extend_from_slice(&24u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(t.len() as u32).to_le_bytes());
        b.extend_from_slice(&(t.len() as u32).to_le_bytes());
        b.extend_from_slice(&(strs.len() as u32).to_le_bytes());
        b.extend_from_slice(&t);
        b.extend_from_slice(&strs);
        b
    }

    #[test]
    fn parses_fixture() {
        let btf = Btf::parse(&fixture(), "fixture").expect("valid fixture");
        assert_eq!(btf.enum_name("sock_type", 1).map(|n| n.name), Some("SOCK_STREAM".into()));
        assert_eq!(btf.enum_name("sock_type", 9), None);
        let p = btf.enum_name_by_anchor("IPPROTO_TCP", "IPPROTO_", 6).expect("anon enum");
        assert_eq!(p.name, "IPPROTO_TCP");
        assert!(p.origin.contains("anonymous"));
        assert!(btf.has_func("__sys_socket"));
        assert!(!btf.has_func("inet_create"));
        assert_eq!(btf.enumerator("IPPROTO_TCP"), Some(6));
        let sig = btf.func_sig("__sys_socket").expect("sig");
        assert_eq!(sig.ret, "");
        assert_eq!(sig.params, vec![("sk".to_string(), "struct socket **".to_string())]);
        let l = btf.struct_layout("socket").expect("struct socket");
        assert_eq!(l.size, 16);
        let got: Vec<(&str, u32, u32)> = l.members.iter().map(|m| (m.name.as_str(), m.offset, m.size)).collect();
        assert_eq!(got, vec![("state", 0, 4), ("sk", 8, 4)]);
        assert!(btf.struct_layout("sock").is_none());
    }

    #[test]
    fn rejects_garbage() {
        assert!(Btf::parse(b"not btf at all, really not", "x").is_err());
        let mut f = fixture();
        f.truncate(40);
        assert!(Btf::parse(&f, "x").is_err());
    }

    #[test]
    fn libbpf_s_refusal_is_the_crate_s_error_with_its_cause() {
        let mut f = fixture();
        f.truncate(40);
        let e = Btf::parse(&f, "short.btf").expect_err("truncated");
        assert_eq!(e.kind, Kind::NoBtf);
        assert!(e.message.starts_with("short.btf: not valid BTF (libbpf: "), "{e}");
        assert!(std::error::Error::source(&e).is_some(), "{e:?}");
    }
}
