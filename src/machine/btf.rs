//! A small reader of the kernel's own BTF (/sys/kernel/btf/vmlinux): enum names and values, function names.
//! Used to name values (SS_UNCONNECTED, TCP_CLOSE, SOCK_STREAM, IPPROTO_TCP) from the running kernel, not a book.

use crate::error::{Error, Kind, Result};

pub const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// Where syswalk reads the kernel's BTF: `SYSWALK_BTF_PATH` if set, else /sys/kernel/btf/vmlinux.
pub fn vmlinux_path() -> String {
    std::env::var("SYSWALK_BTF_PATH").unwrap_or_else(|_| VMLINUX.to_string())
}

#[derive(Debug, Clone)]
pub struct Enum {
    /// Empty for an anonymous enum.
    pub name: String,
    pub members: Vec<(String, i64)>,
}

/// One BTF type, kept for resolving function signatures: 16 bytes, names as offsets into the string section (the
/// kernel's BTF has ~150 000 types; Strings for each made the index several times the size of the BTF itself).
#[derive(Debug, Clone, Copy, Default)]
pub struct RawType {
    pub kind: u32,
    /// Offset of the name in the string section (only for the kinds that are named in a C spelling).
    pub name: u32,
    /// size_or_type: the referenced type id for PTR/TYPEDEF/CONST/VOLATILE/RESTRICT/FUNC/TYPE_TAG, else size.
    pub ty: u32,
    /// FUNC_PROTO parameters: index of the first in `Btf::params`; their number is in `nparams`.
    pub params: u32,
    pub nparams: u16,
}

/// A function's signature from BTF: each parameter's name and C type, and the return type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncSig {
    pub params: Vec<(String, String)>,
    pub ret: String,
}

#[derive(Debug, Clone, Default)]
pub struct Btf {
    /// The string section, kept whole: names are resolved from it when asked for.
    strs: Vec<u8>,
    types: Vec<RawType>,
    /// FUNC_PROTO parameters of every type: (name offset, type id).
    params: Vec<(u32, u32)>,
    /// (name offset, type id) of every FUNC, sorted by name: the first id of each name is the one used.
    funcs: Vec<(u32, u32)>,
    /// STRUCT/UNION members of every type: (name offset, type id, offset word as in BTF).
    members: Vec<(u32, u32, u32)>,
    /// (name offset, type id) of every named STRUCT, sorted by name.
    structs: Vec<(u32, u32)>,
    pub enums: Vec<Enum>,
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

/// The NUL-terminated string at `off` of a string section (empty when out of range).
fn cstr_at(strs: &[u8], off: u32) -> &[u8] {
    let s = strs.get(off as usize..).unwrap_or(&[]);
    &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

impl Btf {
    pub fn load() -> Result<Self> {
        let path = vmlinux_path();
        let data = super::files::read_limited(
            std::path::Path::new(&path),
            super::files::BTF_MAX,
            "the kernel's BTF",
            Kind::NoBtf,
        )
        .map_err(|e| {
            e.hint("syswalk needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (SYSWALK_BTF_PATH overrides where it looks); try `syswalk lab run --kernel 6.1 -- syswalk prove`")
        })?;
        Self::parse(&data, &path)
    }

    /// Parses raw BTF (little-endian, as on x86_64).
    pub fn parse(b: &[u8], source: &str) -> Result<Self> {
        let bad = |why: &str| Error::new(Kind::NoBtf, format!("{source}: not valid BTF ({why})"));
        if b.len() < 24 || b[0..2] != [0x9f, 0xeb] {
            return Err(bad("bad magic"));
        }
        let hdr_len = u32_at(b, 4).ok_or_else(|| bad("short header"))? as usize;
        let type_off = u32_at(b, 8).ok_or_else(|| bad("short header"))? as usize;
        let type_len = u32_at(b, 12).ok_or_else(|| bad("short header"))? as usize;
        let str_off = u32_at(b, 16).ok_or_else(|| bad("short header"))? as usize;
        let str_len = u32_at(b, 20).ok_or_else(|| bad("short header"))? as usize;
        let types =
            b.get(hdr_len + type_off..hdr_len + type_off + type_len).ok_or_else(|| bad("type section out of range"))?;
        let strs =
            b.get(hdr_len + str_off..hdr_len + str_off + str_len).ok_or_else(|| bad("string section out of range"))?;
        let name = |off: u32| -> String { String::from_utf8_lossy(cstr_at(strs, off)).into_owned() };
        let _ = source;
        let mut out = Btf::default();
        let mut p = 0usize;
        while p + 12 <= types.len() {
            let name_off = u32_at(types, p).ok_or_else(|| bad("truncated type"))?;
            let info = u32_at(types, p + 4).ok_or_else(|| bad("truncated type"))?;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let kflag = info >> 31;
            p += 12;
            let extra = match kind {
                1 => 4,
                3 => 12,
                4 | 5 => 12 * vlen,
                6 => 8 * vlen,
                13 => 8 * vlen,
                14 => 4,
                15 => 12 * vlen,
                17 => 4,
                19 => 12 * vlen,
                2 | 7 | 8 | 9 | 10 | 11 | 12 | 16 | 18 => 0,
                k => return Err(bad(&format!("unknown kind {k}"))),
            };
            let body = types.get(p..p + extra).ok_or_else(|| bad("truncated type body"))?;
            let size_or_type = u32_at(types, p - 4).unwrap_or(0);
            let mut raw = RawType { kind, name: 0, ty: size_or_type, params: 0, nparams: 0 };
            if matches!(kind, 4 | 5 | 7 | 8 | 12 | 1 | 6 | 19) {
                raw.name = name_off;
            }
            if kind == 13 {
                raw.params = out.params.len() as u32;
                raw.nparams = vlen as u16;
                out.params.extend(
                    (0..vlen).map(|i| (u32_at(body, i * 8).unwrap_or(0), u32_at(body, i * 8 + 4).unwrap_or(0))),
                );
            }
            if kind == 12 {
                out.funcs.push((name_off, out.types.len() as u32 + 1));
            }
            if kind == 4 || kind == 5 {
                raw.params = out.members.len() as u32;
                raw.nparams = vlen as u16;
                out.members.extend((0..vlen).map(|i| {
                    (
                        u32_at(body, i * 12).unwrap_or(0),
                        u32_at(body, i * 12 + 4).unwrap_or(0),
                        u32_at(body, i * 12 + 8).unwrap_or(0) | kflag << 31,
                    )
                }));
                if kind == 4 && name_off != 0 {
                    out.structs.push((name_off, out.types.len() as u32 + 1));
                }
            }
            if kind == 3 {
                // ARRAY: element type and number of elements (for sizes).
                raw.ty = u32_at(body, 0).unwrap_or(0);
                raw.params = u32_at(body, 8).unwrap_or(0);
            }
            out.types.push(raw);
            match kind {
                6 | 19 => {
                    let step = if kind == 6 { 8 } else { 12 };
                    let mut members = Vec::with_capacity(vlen);
                    for i in 0..vlen {
                        let m = &body[i * step..];
                        let mname = name(u32_at(m, 0).unwrap_or(0));
                        let lo = u32_at(m, 4).unwrap_or(0);
                        let v = if kind == 6 {
                            if kflag == 1 {
                                lo as i32 as i64
                            } else {
                                lo as i64
                            }
                        } else {
                            let hi = u32_at(m, 8).unwrap_or(0);
                            ((hi as u64) << 32 | lo as u64) as i64
                        };
                        members.push((mname, v));
                    }
                    out.enums.push(Enum { name: name(name_off), members });
                }
                _ => {}
            }
            p += extra;
        }
        out.strs = strs.to_vec();
        let st = &out.strs;
        // By name, then by id: a binary search finds the first FUNC of a name.
        out.funcs.sort_by(|a, b| cstr_at(st, a.0).cmp(cstr_at(st, b.0)).then(a.1.cmp(&b.1)));
        out.structs.sort_by(|a, b| cstr_at(st, a.0).cmp(cstr_at(st, b.0)).then(a.1.cmp(&b.1)));
        Ok(out)
    }

    fn name(&self, off: u32) -> String {
        String::from_utf8_lossy(cstr_at(&self.strs, off)).into_owned()
    }

    /// The type id of the (first) FUNC named `name`.
    fn func_type(&self, name: &str) -> Option<u32> {
        let i = self.funcs.partition_point(|(off, _)| cstr_at(&self.strs, *off) < name.as_bytes());
        self.funcs.get(i).filter(|(off, _)| cstr_at(&self.strs, *off) == name.as_bytes()).map(|(_, id)| *id)
    }

    /// The member of enum `enum_name` with value `v`.
    pub fn enum_name(&self, enum_name: &str, v: i64) -> Option<Named> {
        let e = self.enums.iter().find(|e| e.name == enum_name)?;
        let (n, _) = e.members.iter().find(|(_, mv)| *mv == v)?;
        Some(Named { name: n.clone(), origin: format!("BTF enum {enum_name}") })
    }

    /// The member named `prefix*` with value `v`, in the enum (named or anonymous) that defines `anchor`.
    /// Anonymous enums (like the uapi IPPROTO_* one) are found through one of their members.
    pub fn enum_name_by_anchor(&self, anchor: &str, prefix: &str, v: i64) -> Option<Named> {
        let e = self.enums.iter().find(|e| e.members.iter().any(|(n, _)| n == anchor))?;
        let (n, _) = e.members.iter().find(|(n, mv)| *mv == v && n.starts_with(prefix))?;
        let label =
            if e.name.is_empty() { format!("anonymous enum with {anchor}") } else { format!("enum {}", e.name) };
        Some(Named { name: n.clone(), origin: format!("BTF {label}") })
    }

    /// The value of enumerator `name`, in any enum.
    pub fn enumerator(&self, name: &str) -> Option<i64> {
        self.enums.iter().flat_map(|e| e.members.iter()).find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    fn get(&self, id: u32) -> Option<&RawType> {
        id.checked_sub(1).and_then(|i| self.types.get(i as usize))
    }

    /// The C spelling of type `id` (e.g. "struct socket *", "int", "struct socket **").
    pub fn type_name(&self, id: u32) -> String {
        self.type_name_d(id, 0)
    }

    fn type_name_d(&self, id: u32, depth: u32) -> String {
        if depth > 8 {
            return "?".into();
        }
        let mut stars = String::new();
        let mut id = id;
        for _ in 0..16 {
            if id == 0 {
                return format!("void{}", if stars.is_empty() { String::new() } else { format!(" {stars}") });
            }
            let Some(t) = self.get(id) else { return "?".into() };
            match t.kind {
                2 => {
                    stars.push('*');
                    id = t.ty;
                }
                9 | 10 | 11 | 18 => id = t.ty,
                3 => {
                    let base = format!("{}[{}]", self.type_name_d(t.ty, depth + 1), t.params);
                    return if stars.is_empty() { base } else { format!("{base} {stars}") };
                }
                _ => {
                    let n = self.name(t.name);
                    let base = match t.kind {
                        4 => format!("struct {n}"),
                        5 => format!("union {n}"),
                        6 | 19 => format!("enum {n}"),
                        13 => "fn".into(),
                        _ => n,
                    };
                    return if stars.is_empty() { base } else { format!("{base} {stars}") };
                }
            }
        }
        "?".into()
    }

    /// The signature of kernel function `name`.
    pub fn func_sig(&self, name: &str) -> Option<FuncSig> {
        let f = self.get(self.func_type(name)?)?;
        let proto = self.get(f.ty)?;
        if proto.kind != 13 {
            return None;
        }
        let ps = self.params.get(proto.params as usize..proto.params as usize + proto.nparams as usize)?;
        Some(FuncSig {
            params: ps.iter().map(|(n, t)| (self.name(*n), self.type_name(*t))).collect(),
            ret: self.type_name(proto.ty),
        })
    }

    pub fn has_func(&self, name: &str) -> bool {
        self.func_type(name).is_some()
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
            let Some(t) = self.get(id) else { return 0 };
            match t.kind {
                2 => return 8,
                1 | 4 | 5 | 6 | 19 | 15 | 16 => return t.ty,
                3 => return self.type_size_d(t.ty, depth + 1).saturating_mul(t.params),
                8 | 9 | 10 | 11 | 18 => id = t.ty,
                _ => return 0,
            }
        }
        0
    }

    /// The layout of `struct name` (the first STRUCT of that name): its size and members, anonymous unions and
    /// structs flattened in place as C code names their members.
    pub fn struct_layout(&self, name: &str) -> Option<Layout> {
        let i = self.structs.partition_point(|(off, _)| cstr_at(&self.strs, *off) < name.as_bytes());
        let &(off, id) = self.structs.get(i).filter(|(off, _)| cstr_at(&self.strs, *off) == name.as_bytes())?;
        let t = self.get(id)?;
        let mut members = Vec::new();
        self.push_members(id, 0, &mut members, 0);
        Some(Layout { name: self.name(off), size: t.ty, members })
    }

    fn push_members(&self, id: u32, base_bits: u32, out: &mut Vec<Member>, depth: u32) {
        let Some(t) = self.get(id) else { return };
        if depth > 8 || !matches!(t.kind, 4 | 5) {
            return;
        }
        let Some(ms) = self.members.get(t.params as usize..t.params as usize + t.nparams as usize) else { return };
        for &(name, ty, word) in ms {
            let kflag = word >> 31 == 1;
            let word = word & 0x7fff_ffff;
            let (bit_off, bit_size) = if kflag { (word & 0xff_ffff, word >> 24) } else { (word, 0) };
            let bit_off = base_bits + bit_off;
            if name == 0 {
                // An anonymous struct or union: its members are the outer struct's (through typedef/const).
                let mut inner = ty;
                for _ in 0..8 {
                    match self.get(inner) {
                        Some(r) if matches!(r.kind, 8 | 9 | 10 | 11 | 18) => inner = r.ty,
                        _ => break,
                    }
                }
                self.push_members(inner, bit_off, out, depth + 1);
                continue;
            }
            out.push(Member {
                name: self.name(name),
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
}
