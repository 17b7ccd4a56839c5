//! The boot-time trace of sock_register(): the kernel command line that records it (the lab boots with it) and the
//! parser of what tracefs then holds. Shared by the lab (which sets it) and the lesson (which reads it).
use serde::Serialize;

/// One family registration seen by the boot-time tracers the lab enables (see `BOOT_TRACE`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct BootReg {
    /// The caller, from the function tracer's `sock_register <-caller` line.
    pub caller: Option<String>,
    /// The net_proto_family pointer passed (kprobe event `ops=`).
    pub ops: Option<u64>,
    /// Its ->family field (kprobe event `family=`).
    pub family: Option<i64>,
    pub line: String,
}

/// Kernel command line that records, from the first initcall on, every sock_register() with its caller and
/// arguments into the trace buffer: the function tracer restricted to sock_register, and a boot-time kprobe event.
/// trace_clock=global: under TCG the TSC is "unstable" and the kernel would switch clocks late in boot, which
/// empties the trace buffer (measured on 6.1).
pub const BOOT_TRACE: &str = "trace_clock=global ftrace=function ftrace_filter=sock_register kprobe_event=p:syswalk_sock_register,sock_register,ops=%di,family=+0(%di):s32";

pub const TRACE_FILE: &str = "/sys/kernel/tracing/trace";

/// Parses the trace buffer: function-tracer lines (`sock_register <-inet_init`) and the kprobe event lines
/// (`syswalk_sock_register: (sock_register+0x0/0x70) ops=0x… family=2`) of the same calls, paired by time (the
/// kprobe fires just before the function tracer's callback on the same entry; measured order on 6.1).
pub fn parse_boot_trace(text: &str) -> Vec<BootReg> {
    let ts = |l: &str| l.split_whitespace().find_map(|w| w.strip_suffix(':').and_then(|t| t.parse::<f64>().ok()));
    // task-pid and [cpu]: the two lines of one call come from the same task on the same CPU.
    let who = |l: &str| l.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    let mut calls: Vec<(f64, String, bool, String)> = Vec::new();
    let mut out: Vec<(f64, BootReg, String)> = Vec::new();
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(t) = ts(l) else { continue };
        if let Some(i) = l.find("sock_register <-") {
            calls.push((t, l[i + "sock_register <-".len()..].trim().to_string(), false, who(l)));
        } else if l.contains("syswalk_sock_register:") {
            let field = |k: &str| l.split_whitespace().find_map(|w| w.strip_prefix(k)).map(|v| v.to_string());
            let ops = field("ops=").and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
            let family = field("family=").and_then(|v| v.parse().ok());
            out.push((t, BootReg { caller: None, ops, family, line: l.trim().to_string() }, who(l)));
        }
    }
    for (t, b, w) in out.iter_mut() {
        let best = calls
            .iter_mut()
            .filter(|c| !c.2 && c.3 == *w && (c.0 - *t).abs() < 0.01)
            .min_by(|a, b| (a.0 - *t).abs().total_cmp(&(b.0 - *t).abs()));
        if let Some(c) = best {
            c.2 = true;
            b.caller = Some(c.1.clone());
        }
    }
    out.into_iter().map(|(_, b, _)| b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_trace_pairs_caller_and_arguments() {
        // As recorded on 6.1 under TCG: netlink registers before the kprobe event exists; kprobe line first.
        let t = "# tracer: function\n\
            swapper/0-1       [001] .....     0.655704: sock_register <-netlink_proto_init\n\
            swapper/0-1       [001] ...1.     1.153158: syswalk_sock_register: (sock_register+0x0/0x70) ops=0xffffffff821081a0 family=2\n\
            swapper/0-1       [001] ...1.     1.153591: sock_register <-inet_init\n\
            swapper/0-1       [000] ...1.     1.180688: syswalk_sock_register: (sock_register+0x0/0x70) ops=0xffffffff82108000 family=1\n\
            swapper/0-1       [000] ...1.     1.180717: sock_register <-af_unix_init\n";
        let b = parse_boot_trace(t);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].caller.as_deref(), b[0].ops, b[0].family),
            (Some("inet_init"), Some(0xffffffff821081a0), Some(2))
        );
        assert_eq!(b[1].caller.as_deref(), Some("af_unix_init"));
    }
}
