//! The numbers behind `socket(AF_INET, SOCK_STREAM, 0)`, each from the machine: the installed headers (file:line),
//! the kernel's own BTF where it defines the name, and what a traced call actually passed in its registers.
use serde::Serialize;

use crate::claims::{ev, Claim, Verdict};
use crate::machine::headers::{self, HeaderConst};
use crate::model::{Call, Namer};

#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub value: i64,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    #[serde(skip)]
    pub id: crate::claims::ids::ClaimId,
    pub name: String,
    pub meaning: String,
    pub header: Option<HeaderConst>,
    /// Where the header was looked for, when absent.
    pub header_file: String,
    pub btf: Option<Source>,
    pub observed: Option<Source>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Constants {
    pub machine: Source2,
    pub rows: Vec<Row>,
    pub claims: Vec<Claim>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Source2 {
    pub value: String,
    pub source: String,
}

/// The rows for a socket() call (`call` is the traced call, when there is one).
pub fn build(call: Option<&Call>, n: &Namer) -> Constants {
    let (_, machine) = crate::machine::uname();
    let reg = |i: usize, r: &str| -> Option<Source> {
        let c = call?;
        let v = c.args.get(i)?.value.raw;
        Some(Source { value: v, source: format!("{r} at tp_btf/sys_enter (call #{}, pid {})", c.seq, c.pid) })
    };
    let btf = |name: &str| -> Option<Source> {
        let b = n.btf.as_ref()?;
        Some(Source {
            value: b.enumerator(name)?,
            source: format!("kernel BTF enumerator {name} ({})", crate::machine::btf::vmlinux_path()),
        })
    };
    let rows = vec![
        Row {
            id: crate::claims::ids::CONSTANTS_NR_SOCKET,
            name: "__NR_socket".into(),
            meaning: "the number the kernel's syscall table is indexed with for socket()".into(),
            header: headers::syscall_nr("socket"),
            header_file: headers::unistd_path(),
            btf: None,
            observed: call.map(|c| Source {
                value: c.nr,
                source: format!("orig_ax at tp_btf/sys_enter (call #{}, pid {})", c.seq, c.pid),
            }),
        },
        Row {
            id: crate::claims::ids::CONSTANTS_AF_INET,
            name: "AF_INET".into(),
            meaning: "address family: IPv4 (first argument)".into(),
            header: headers::lookup(&headers::socket_h(), "AF_INET"),
            header_file: headers::socket_h(),
            btf: None,
            observed: reg(0, "rdi"),
        },
        Row {
            id: crate::claims::ids::CONSTANTS_SOCK_STREAM,
            name: "SOCK_STREAM".into(),
            meaning: "socket type: a reliable byte stream (second argument)".into(),
            header: headers::lookup(&headers::socket_type_h(), "SOCK_STREAM"),
            header_file: headers::socket_type_h(),
            btf: btf("SOCK_STREAM"),
            observed: reg(1, "rsi").map(sock_type),
        },
        Row {
            id: crate::claims::ids::CONSTANTS_IPPROTO_IP,
            name: "IPPROTO_IP".into(),
            meaning: "protocol 0: the family's default for the type (third argument)".into(),
            header: headers::lookup(headers::NETINET_IN_H, "IPPROTO_IP"),
            header_file: headers::NETINET_IN_H.into(),
            btf: btf("IPPROTO_IP"),
            observed: reg(2, "rdx"),
        },
    ];
    let claims = rows.iter().map(judge).collect();
    Constants {
        machine: Source2 { value: machine, source: "uname(2) machine field (what `uname -m` prints)".into() },
        rows,
        claims,
    }
}

/// SOCK_TYPE_MASK (include/linux/net.h): the type is the low 4 bits of socket()'s second argument; the bits above
/// are flags (SOCK_CLOEXEC = 02000000, SOCK_NONBLOCK = 04000 in bits/socket_type.h).
pub const SOCK_TYPE_MASK: i64 = 0xf;
const TYPE_FLAGS: [(i64, &str); 2] = [(0o2000000, "SOCK_CLOEXEC"), (0o4000, "SOCK_NONBLOCK")];

/// The type a socket() call passed, without its flag bits; the source names what was stripped.
fn sock_type(o: Source) -> Source {
    let flags = o.value & !SOCK_TYPE_MASK;
    if flags == 0 {
        return o;
    }
    let mut named: Vec<String> =
        TYPE_FLAGS.iter().filter(|(b, _)| flags & b != 0).map(|(_, n)| n.to_string()).collect();
    let rest = flags & !TYPE_FLAGS.iter().fold(0, |a, (b, _)| a | b);
    if rest != 0 {
        named.push(format!("{rest:#x}"));
    }
    Source {
        value: o.value & SOCK_TYPE_MASK,
        source: format!(
            "{} = {} = {} | {} (the type is the low 4 bits, SOCK_TYPE_MASK 0xf; the rest are flags)",
            o.source,
            o.value,
            o.value & SOCK_TYPE_MASK,
            named.join("|")
        ),
    }
}

fn judge(r: &Row) -> Claim {
    let mut evidence = Vec::new();
    if let Some(h) = &r.header {
        let via = if h.via.is_empty() { String::new() } else { format!(" via {}", h.via.join(" → ")) };
        let line = h.text.split_whitespace().collect::<Vec<_>>().join(" ");
        evidence.push(ev(
            format!("{} in the header", r.name),
            format!("{}{via}", h.value),
            format!("{}:{}: {line}", h.file, h.line),
        ));
    }
    if let Some(b) = &r.btf {
        evidence.push(ev(format!("{} in the kernel", r.name), b.value.to_string(), b.source.clone()));
    }
    if let Some(o) = &r.observed {
        evidence.push(ev("passed by the traced call", o.value.to_string(), o.source.clone()));
    }
    // The header and the kernel's BTF are two sources of the constant's value: a disagreement between them is one.
    // What the call passed is a third only if the program meant this constant: a program that passes AF_INET6, or
    // SOCK_STREAM|SOCK_CLOEXEC (the flags are stripped above), passes another number without contradicting anything.
    let sources_agree = match (&r.header, &r.btf) {
        (Some(h), Some(b)) => h.value == b.value,
        _ => true,
    };
    let (verdict, statement, reason) = match (&r.header, &r.observed) {
        (Some(h), _) if !sources_agree => (
            Verdict::Refuted,
            format!(
                "{} = {} in {} but the kernel's BTF says {}",
                r.name,
                h.value,
                h.file,
                r.btf.as_ref().map(|b| b.value).unwrap_or_default()
            ),
            None,
        ),
        (Some(h), Some(o)) if o.value == h.value => {
            (Verdict::Proved, format!("{} = {} in {} and the call passed {}", r.name, h.value, h.file, o.value), None)
        }
        (Some(h), Some(o)) => (
            Verdict::NotObservable,
            format!("{} = {} in {}; the call passed {}", r.name, h.value, h.file, o.value),
            Some(format!(
                "the traced call passed {}, not {} = {}: it used another constant, so it does not test this one",
                o.value, r.name, h.value
            )),
        ),
        (None, Some(o)) => (
            Verdict::NotObservable,
            format!("{} = {} from the observation alone", r.name, o.value),
            Some(format!(
                "{} is not installed here, so the observed value cannot be checked against it",
                r.header_file
            )),
        ),
        (Some(h), None) => (
            Verdict::NotObservable,
            format!("{} = {} in {}", r.name, h.value, h.file),
            Some("no traced call to compare with".into()),
        ),
        (None, None) => (
            Verdict::NotObservable,
            format!("{} is unknown here", r.name),
            Some(format!("{} absent and no traced call", r.header_file)),
        ),
    };
    Claim::new(r.id, None, verdict, statement, evidence, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests_support::empty_call;
    use crate::model::{Arg, Value};

    #[test]
    fn disagreement_refutes_and_absence_is_not_observable() {
        let h = HeaderConst {
            name: "AF_INET".into(),
            value: 2,
            file: "s.h".into(),
            line: 3,
            text: "#define AF_INET PF_INET".into(),
            via: vec!["PF_INET".into()],
        };
        let mut r = Row {
            id: crate::claims::ids::CONSTANTS_AF_INET,
            name: "AF_INET".into(),
            meaning: String::new(),
            header: Some(h),
            header_file: "s.h".into(),
            btf: None,
            observed: Some(Source { value: 2, source: "rdi".into() }),
        };
        assert_eq!(judge(&r).verdict, Verdict::Proved);
        // A program that passed AF_INET6 did not contradict AF_INET = 2: it did not use it.
        r.observed = Some(Source { value: 10, source: "rdi".into() });
        let other = judge(&r);
        assert_eq!(other.verdict, Verdict::NotObservable, "{other:?}");
        assert!(other.reason.as_deref().unwrap_or_default().contains("passed 10, not AF_INET = 2"), "{other:?}");
        // The header and the kernel disagreeing is a refutation, whatever the call passed.
        r.observed = Some(Source { value: 2, source: "rdi".into() });
        r.btf = Some(Source { value: 3, source: "BTF".into() });
        assert_eq!(judge(&r).verdict, Verdict::Refuted);
        r.btf = None;
        r.header = None;
        let c = judge(&r);
        assert_eq!(c.verdict, Verdict::NotObservable);
        assert!(c.conclusion().contains("from the observation alone"));
    }

    #[test]
    fn rows_take_registers_from_the_call() {
        let mut c = empty_call();
        c.args = vec![
            Arg { name: "family".into(), value: Value::plain(2) },
            Arg { name: "type".into(), value: Value::plain(1) },
            Arg { name: "protocol".into(), value: Value::plain(0) },
        ];
        let k = build(Some(&c), &Namer::default());
        let obs: Vec<i64> = k.rows.iter().map(|r| r.observed.as_ref().map(|o| o.value).unwrap_or(-1)).collect();
        assert_eq!(obs, vec![41, 2, 1, 0]);
        // Python, Rust's std and Go pass SOCK_STREAM|SOCK_CLOEXEC: the type is still SOCK_STREAM.
        c.args[1].value = Value::plain(524289);
        let k = build(Some(&c), &Namer::default());
        let t = k.rows[2].observed.as_ref().unwrap();
        assert_eq!(t.value, 1);
        assert!(t.source.contains("524289 = 1 | SOCK_CLOEXEC"), "{}", t.source);
    }
}
