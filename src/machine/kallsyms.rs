//! /proc/kallsyms: names for kernel addresses. Text symbols are always there; data symbols (inet_stream_ops,
//! tcp_prot, socket_file_ops, net_families) only with CONFIG_KALLSYMS_ALL — syswalk says which it had.
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sym {
    pub addr: u64,
    pub kind: char,
    pub name: String,
    pub module: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Kallsyms {
    syms: Vec<Sym>, // sorted by address
    /// Indexes into `syms`, sorted by (name, address): `by_name` is a binary search, not a scan of ~200 000 lines.
    by_name: Vec<u32>,
    pub source: String,
}

impl Kallsyms {
    const PATH: &'static str = "/proc/kallsyms";

    fn read() -> Result<String> {
        std::fs::read_to_string(Self::PATH).map_err(|e| Error::io(format!("reading {}", Self::PATH), e))
    }

    pub fn load() -> Result<Self> {
        Ok(Self::parse(&Self::read()?, Self::PATH))
    }

    /// Only the symbols of one module (e.g. "bpf": programs and trampolines), without building the rest.
    pub fn load_module(module: &str) -> Result<Vec<Sym>> {
        Ok(Self::module_syms(&Self::read()?, module))
    }

    fn module_syms(text: &str, module: &str) -> Vec<Sym> {
        let tag = format!("[{module}]");
        Self::from_lines(text.lines().filter(|l| l.ends_with(&tag)), "").syms
    }

    pub fn parse(text: &str, source: &str) -> Self {
        Self::from_lines(text.lines(), source)
    }

    fn from_lines<'t>(lines: impl Iterator<Item = &'t str>, source: &str) -> Self {
        let mut syms: Vec<Sym> = lines
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let addr = u64::from_str_radix(it.next()?, 16).ok()?;
                let kind = it.next()?.chars().next()?;
                let name = it.next()?.to_string();
                let module = it.next().map(|m| m.trim_matches(|c| c == '[' || c == ']').to_string());
                Some(Sym { addr, kind, name, module })
            })
            .collect();
        syms.sort_by_key(|s| s.addr);
        let mut k = Kallsyms { syms, by_name: Vec::new(), source: source.to_string() };
        k.index();
        k
    }

    fn index(&mut self) {
        let syms = &self.syms;
        let mut idx: Vec<u32> = (0..syms.len() as u32).collect();
        idx.sort_by(|&a, &b| syms[a as usize].name.cmp(&syms[b as usize].name).then(a.cmp(&b)));
        self.by_name = idx;
    }

    /// Adds symbols (e.g. BPF trampolines that appeared after loading), keeping the address order.
    pub fn extend(&mut self, more: impl IntoIterator<Item = Sym>) {
        self.syms.extend(more);
        self.syms.sort_by_key(|s| s.addr);
        self.index();
    }

    /// All symbols, sorted by address.
    pub fn syms(&self) -> &[Sym] {
        &self.syms
    }
    pub fn len(&self) -> usize {
        self.syms.len()
    }
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }
    /// Addresses are all zero when kptr_restrict hides them.
    pub fn addresses_visible(&self) -> bool {
        self.syms.iter().any(|s| s.addr != 0)
    }
    /// Whether data symbols (D/d/R/r/B/b) are listed in quantity (CONFIG_KALLSYMS_ALL): a few dozen are always there.
    pub fn has_data_symbols(&self) -> bool {
        self.syms.iter().filter(|s| matches!(s.kind, 'D' | 'd' | 'R' | 'r' | 'B' | 'b')).count() > 1000
    }
    pub fn data_symbol_count(&self) -> usize {
        self.syms.iter().filter(|s| matches!(s.kind, 'D' | 'd' | 'R' | 'r' | 'B' | 'b')).count()
    }

    /// The symbol starting exactly at `addr`.
    pub fn exact(&self, addr: u64) -> Option<&Sym> {
        if addr == 0 {
            return None;
        }
        let i = self.syms.partition_point(|s| s.addr < addr);
        self.syms[i..]
            .iter()
            .take_while(|s| s.addr == addr)
            .find(|s| !s.name.starts_with("__pfx_"))
            .or_else(|| self.syms.get(i).filter(|s| s.addr == addr))
    }

    /// `name+0xoff` for a text address (the nearest symbol at or below it).
    pub fn symbolize(&self, addr: u64) -> Option<String> {
        if addr == 0 {
            return None;
        }
        let i = self.syms.partition_point(|s| s.addr <= addr);
        let s = self.syms.get(i.checked_sub(1)?)?;
        let off = addr - s.addr;
        if off > 1 << 20 {
            return None;
        }
        Some(if off == 0 { s.name.clone() } else { format!("{}+{:#x}", s.name, off) })
    }

    /// `name+0xoff` for a code address: only text symbols, and only within 64 KiB of one (else None).
    /// Returns the text symbol holding a code address and the offset into it.
    pub fn text_location(&self, addr: u64) -> Option<(&Sym, u64)> {
        if addr == 0 {
            return None;
        }
        let i = self.syms.partition_point(|s| s.addr <= addr);
        let s = self.syms[..i].iter().rev().find(|s| matches!(s.kind, 'T' | 't' | 'W' | 'w'))?;
        let off = addr - s.addr;
        if off > 0x10000 {
            return None;
        }
        // Past the last symbol of a module (the next symbol belongs to another module, or there is none), a large
        // offset means code kallsyms does not list there (a BPF trampoline, JIT code): no name is better than a wrong one.
        if s.module.is_some() && off > 0x1000 && self.syms.get(i).is_none_or(|n| n.module != s.module) {
            return None;
        }
        Some((s, off))
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.syms.iter().map(|s| &s.name)
    }

    /// The symbol of that name with the lowest address (a name can repeat: static functions of different files).
    pub fn by_name(&self, name: &str) -> Option<&Sym> {
        let i = self.by_name.partition_point(|&i| self.syms[i as usize].name.as_str() < name);
        self.by_name.get(i).map(|&i| &self.syms[i as usize]).filter(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const FIX: &str = "ffffffff81000000 T _text\nffffffff81e30240 t __pfx___sys_socket\nffffffff81e30250 T __sys_socket\nffffffff82057bb0 t inet_create\nffffffffc0001000 t foo_init\t[foo]\n";
    #[test]
    fn one_modules_symbols_only() {
        let t = "ffffffff81000000 T _stext\nffffffffc0001000 t bpf_prog_6deef7357e7b4530_sw_sys_enter\t[bpf]\nffffffffc0002000 t bpf_trampoline_6442\t[bpf]\nffffffffc0100000 t virtio_init\t[virtio]\n";
        let b = Kallsyms::module_syms(t, "bpf");
        assert_eq!(
            b.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["bpf_prog_6deef7357e7b4530_sw_sys_enter", "bpf_trampoline_6442"]
        );
        assert!(b.iter().all(|s| s.module.as_deref() == Some("bpf")));
    }

    #[test]
    fn exact_and_offset() {
        let k = Kallsyms::parse(FIX, "fixture");
        assert_eq!(k.exact(0xffffffff81e30250).map(|s| s.name.as_str()), Some("__sys_socket"));
        assert_eq!(k.symbolize(0xffffffff81e30260).as_deref(), Some("__sys_socket+0x10"));
        assert_eq!(k.exact(0xffffffff81e30251), None);
        assert_eq!(k.by_name("foo_init").and_then(|s| s.module.clone()).as_deref(), Some("foo"));
        assert!(k.addresses_visible());
        assert!(!k.has_data_symbols());
    }
    #[test]
    fn hidden_addresses() {
        let k = Kallsyms::parse("0000000000000000 T _text\n0000000000000000 T x\n", "f");
        assert!(!k.addresses_visible());
        assert_eq!(k.exact(0), None);
    }

    #[test]
    fn by_name_finds_the_lowest_address_of_a_repeated_name_and_sees_added_symbols() {
        let mut k = Kallsyms::parse(
            "ffffffff81000300 t dup\nffffffff81000100 t dup\nffffffff81000200 T other\nffffffff81000000 T _text\n",
            "fixture",
        );
        assert_eq!(k.by_name("dup").map(|s| s.addr), Some(0xffffffff81000100));
        assert_eq!(k.by_name("other").map(|s| s.addr), Some(0xffffffff81000200));
        assert!(k.by_name("absent").is_none() && k.by_name("").is_none());
        k.extend([Sym {
            addr: 0xffffffffc0000000,
            kind: 't',
            name: "bpf_trampoline_1".into(),
            module: Some("bpf".into()),
        }]);
        assert_eq!(k.by_name("bpf_trampoline_1").map(|s| s.addr), Some(0xffffffffc0000000));
        assert_eq!(k.by_name("dup").map(|s| s.addr), Some(0xffffffff81000100));
    }
}
