//! The pipeline every tracing command shares: choose the tier and the chain, trace, pair events into calls, judge
//! them, and assemble the report (not yet rendered).
use crate::claims::Claim;
use crate::cli::AttachArg;
use crate::error::{Error, Kind, Result};
use crate::model::{self, Namer};
use crate::pipeline;
use crate::probes::caps::{self, Caps};
use crate::probes::chain::{self, Attach};
use crate::probes::session::{self, Options, Target};
use crate::probes::target::Ending;
use crate::report::{Report, TargetInfo};
use crate::syscalls::{socket, SyscallSpec};

/// The chain to trace for this run: which attach type, which functions, the live family table.
pub struct ChainChoice {
    setup: Option<session::ChainSetup>,
    families: Vec<(usize, u64, u64)>,
    families_error: Option<String>,
    inetsw: Vec<chain::InetswRow>,
    /// Why the chain is not traced (tier C), when it is not.
    why_not: Option<String>,
    /// Why some of the functions that end an object (chain::FREE_FNS) are not watched.
    frees_missing: Vec<String>,
}

pub fn load_chain(path: Option<&std::path::Path>, names: &Namer) -> Result<Option<Vec<chain::spec::FnSpec>>> {
    let Some(p) = path else { return Ok(None) };
    let text =
        crate::machine::files::read_text_limited(p, crate::machine::files::CHAIN_FILE_MAX, "chain file", Kind::Usage)?;
    chain::spec::parse(&text, &p.display().to_string(), names.btf.as_deref(), &names.kallsyms).map(Some)
}

pub fn choose_chain(
    arg: AttachArg,
    caps: &Caps,
    names: &Namer,
    target: &Target,
    specs: &[SyscallSpec],
    custom: Option<Vec<chain::spec::FnSpec>>,
) -> Result<ChainChoice> {
    let none = |why: String| {
        Ok(ChainChoice {
            setup: None,
            families: vec![],
            families_error: None,
            inetsw: vec![],
            why_not: Some(why),
            frees_missing: vec![],
        })
    };
    if custom.is_some() && arg == AttachArg::None {
        return Err(Error::new(Kind::Usage, "--chain needs a function-level tier; drop --attach none"));
    }
    let traced_socket = specs.iter().any(|s| s.name == crate::syscalls::socket::DEF.name);
    if custom.is_none() && !traced_socket && specs.iter().all(|s| s.chain.is_empty()) {
        return none(format!(
            "no function-level chain is defined for {}",
            specs.iter().map(|s| format!("{}()", s.name)).collect::<Vec<_>>().join(", ")
        ));
    }
    let (attach, fallback) = match arg {
        AttachArg::None => return none("--attach none: syscall boundary only".into()),
        AttachArg::Fentry => (Attach::Fentry, false),
        AttachArg::Kprobe => (Attach::Kprobe, false),
        AttachArg::Auto => match caps.tier {
            Some(caps::Tier::A) => (Attach::Fentry, true),
            Some(caps::Tier::B) => (Attach::Kprobe, false),
            _ if custom.is_some() => {
                return Err(Error::new(
                    Kind::Bpf,
                    format!(
                        "--chain needs fentry or kprobes, and this kernel offers neither: {}",
                        caps.chain_unavailable_reason().unwrap_or_default()
                    ),
                )
                .hint("run it in the lab: syswalk lab run --kernel 6.1 -- syswalk trace --chain FILE -- CMD"))
            }
            _ => return none(caps.chain_unavailable_reason().unwrap_or_else(|| "no fentry or kprobe here".into())),
        },
    };
    let (families, inetsw, families_error) = match chain::read_tables(&names.kallsyms) {
        Ok((f, sw)) => (f, sw, None),
        Err(e) => (vec![], vec![], Some(e.message)),
    };
    let create_of =
        |fam: usize| families.iter().find(|(i, _, _)| *i == fam).and_then(|(_, _, c)| names.kallsyms.symbolize(*c));
    let mut creates: Vec<String> = match target {
        Target::Builtin { family, .. } => create_of(*family as usize).into_iter().collect(),
        _ => families.iter().filter_map(|(i, _, _)| create_of(*i)).collect(),
    };
    creates.dedup();
    // socket()'s chain first (its first function is the evidence budget's root), then each traced call's own.
    let mut fnames = if traced_socket {
        socket::chain_functions(&creates, matches!(target, Target::Builtin { .. }))
    } else {
        vec![]
    };
    // The built-in socket() targets (the failure puzzle among them): where the socket is released, which may be
    // __sock_release itself (sock_release inlined at its caller).
    if matches!(target, Target::Builtin { .. }) {
        fnames.push("__sock_release".into());
    }
    // The EMFILE target fails after sk_alloc: its sock goes to the protocol's close in the same call (the sock side
    // of release.same_socket).
    if matches!(target, Target::Builtin { nofile: Some(_), .. }) {
        fnames.push("tcp_close".into());
    }
    for f in specs.iter().flat_map(|s| s.chain.iter()) {
        if !fnames.iter().any(|g| g == f) {
            fnames.push(f.to_string());
        }
    }
    let plan = match custom {
        Some(specs) => {
            let fnames: Vec<String> = specs.iter().map(|s| s.name().to_string()).collect();
            let mut plan = chain::plan(&fnames, names.btf.as_deref(), &names.kallsyms, attach);
            for (p, s) in plan.iter_mut().zip(&specs) {
                p.snapshot = s.snapshot().map(|v| v.to_vec());
            }
            plan
        }
        None => {
            let mut plan = chain::plan(&fnames, names.btf.as_deref(), &names.kallsyms, attach);
            for p in plan.iter_mut() {
                p.snapshot = Some(socket::default_snapshots(&p.name, creates.contains(&p.name)));
            }
            plan
        }
    };
    let (frees, frees_missing) = chain::free_fns(names.btf.as_deref(), &names.kallsyms, attach);
    Ok(ChainChoice {
        frees_missing,
        setup: Some(session::ChainSetup {
            plan,
            attach,
            fallback,
            root_calls: 0,
            rethook: chain::kretprobe_trampoline(&names.kallsyms),
            cookies: names.btf.as_ref().is_some_and(|b| b.enumerator("BPF_FUNC_get_attach_cookie").is_some()),
            frees,
            hist: false,
        }),
        families,
        families_error,
        inetsw,
        why_not: None,
    })
}

/// What one traced run produced, before rendering.
pub struct Collected {
    pub report: Report,
    pub ending: Ending,
}

/// Traces the target and judges what it did: the report, not yet rendered.
/// One tracing run to make: what to trace, how, and which chain.
pub struct Request {
    pub target: Target,
    pub specs: Vec<SyscallSpec>,
    pub opts: Options,
    pub attach: AttachArg,
    /// A `--chain` file's functions instead of the syscall's default chain.
    pub custom: Option<Vec<chain::spec::FnSpec>>,
    /// Calls kept with their full evidence (`--keep-calls`; 0 = all).
    pub keep: usize,
    /// read/write/close calls on files that are not sockets are counted apart and not shown, and a run with no
    /// call that touched a socket is "no such call" (prove).
    pub sockets_only: bool,
}

pub fn collect(req: Request, names: &Namer) -> Result<Collected> {
    let Request { target, specs, opts, attach, custom, keep, sockets_only } = req;
    let opts = &opts;
    let is_pid = matches!(target, Target::Pid(_));
    let caps = if attach == AttachArg::None {
        caps::Caps {
            kernel_release: crate::machine::uname().0,
            machine: crate::machine::uname().1,
            checks: vec![],
            tier: Some(caps::Tier::C),
            tier_reason: "--attach none".into(),
        }
    } else {
        caps::probe_chain()
    };
    let mut choice = choose_chain(attach, &caps, names, &target, &specs, custom)?;
    if let Some(s) = choice.setup.as_mut() {
        s.root_calls = opts.chain_calls;
        s.hist = opts.hist;
    }
    let sigs: Vec<model::Signature> = specs.iter().map(|s| s.signature()).collect();
    let plan: Vec<chain::FnPlan> = choice.setup.as_ref().map(|s| s.plan.clone()).unwrap_or_default();
    let judge = choice.setup.as_ref().map(|s| pipeline::ChainJudge {
        plan: &plan,
        probe: if s.attach == Attach::Kprobe { "kprobe/kretprobe" } else { "fentry/fexit" },
        families: &choice.families,
        budget: opts.chain_calls > 0,
    });
    let mut st = pipeline::Pipeline::new(names, sigs, judge, keep);
    st.out.sockets_only = sockets_only;
    st.chain_why = choice.why_not.clone();
    st.life.frees_why = match (&choice.setup, &choice.why_not) {
        (None, Some(why)) => Some(format!(
            "{why}; sock_free_inode and __sk_destruct run later, in RCU callbacks and softirq, where only function probes see them"
        )),
        (None, None) => Some("no function-level chain in this run".into()),
        (Some(s), _) if s.frees.is_empty() => Some(choice.frees_missing.join("; ")),
        _ => None,
    };
    st.life.frees_partial = choice.frees_missing.clone();
    let session = session::trace(
        &target,
        &specs.iter().map(|s| s.traced()).collect::<Vec<_>>(),
        opts,
        choice.setup.as_ref(),
        &mut st,
    )?;
    st.finish();
    // The machine-wide socket counts (read by the pipeline at the run's two moments) go in the report's stats.
    let mut session = session;
    let counts = st.counts_before_after.unwrap_or_default();
    session.stats.sockets_used = counts.sockets_used;
    session.stats.tcp_sockets = counts.tcp_sockets;
    let used_attach = session.chain_attach.as_ref().map(|(a, _)| *a);
    let socket_calls = st.counts.socket_calls;
    let traced_socket = specs.iter().any(|s| s.name == crate::syscalls::socket::DEF.name);

    let touched = st.out.totals.calls - st.out.socketless;
    if st.out.totals.calls == 0 || (traced_socket && socket_calls == 0 && (specs.len() == 1 || touched == 0)) {
        // "socket() call" for one syscall; "call on a socket (socket, bind, …)" for prove's several.
        let names = specs.iter().map(|s| s.name).collect::<Vec<_>>();
        let (call, without) = if sockets_only && specs.len() > 1 {
            let c = format!("call on a socket ({})", names.join(", "));
            (c.clone(), format!("any {c}"))
        } else {
            let w = names.join("/");
            (format!("{w}() call"), format!("calling {w}()"))
        };
        return Err(match session.ending {
            Ending::Signaled(s) => Error::new(
                Kind::TargetKilled,
                format!("the target was killed by {} before any {call}", crate::signals::name(s)),
            ),
            Ending::Exited(c) if c != 0 => {
                Error::new(Kind::TargetExitedEarly, format!("the target exited with status {c} before any {call}"))
                    .hint("check that the program runs on its own; its output is shown above")
            }
            Ending::Detached(why) => Error::new(
                Kind::NoCall,
                format!(
                    "process {} made no {call} while it was traced (syswalk detached {why}; it still runs)",
                    session.root_pid
                ),
            )
            .hint("trace longer (--duration), or make the program do the call while syswalk watches"),
            Ending::StoppedBySyswalk(why) => {
                Error::new(Kind::NoCall, format!("the target made no {call} before syswalk stopped it {why}"))
            }
            _ if is_pid => {
                Error::new(Kind::TargetExitedEarly, format!("process {} ended before any {call}", session.root_pid))
            }
            _ => Error::new(Kind::NoCall, format!("the target ran to completion without {without}")).hint(
                "syswalk traces the target and the processes it forks; check the program actually makes the call",
            ),
        });
    }

    let mut global: Vec<Claim> = Vec::new();
    match (&choice.why_not, used_attach) {
        (Some(why), _) => global.extend(crate::syscalls::socket::claims::chain_not_observable(why)),
        (None, None) => {
            global.extend(crate::syscalls::socket::claims::chain_not_observable("the chain tracer did not attach"))
        }
        _ => {}
    }
    let ks = if names.kallsyms.is_empty() {
        "kallsyms unreadable: pointers not named".to_string()
    } else if names.kallsyms.has_data_symbols() {
        format!("{}: text and data symbols ({} data)", names.kallsyms.source, names.kallsyms.data_symbol_count())
    } else {
        format!(
            "{}: text symbols only ({} data symbols; no CONFIG_KALLSYMS_ALL) — data pointers (ops tables, protos) are identified by the functions they hold",
            names.kallsyms.source,
            names.kallsyms.data_symbol_count()
        )
    };
    let tinfo = TargetInfo {
        description: target.describe(),
        pid: session.root_pid,
        host_pid: session.root_host_pid,
        ending: session.ending.clone(),
        forks: session.forks.clone(),
    };
    let mut report = Report::new(
        super::command_line(),
        &caps,
        ks,
        tinfo,
        syscall_infos(&specs),
        session.stats.clone(),
        std::mem::take(&mut st.out.calls),
        std::mem::take(&mut st.out.claims),
    );
    report.totals = std::mem::take(&mut st.out.totals);
    report.kernel.version = std::fs::read_to_string("/proc/version").map(|v| v.trim().to_string()).unwrap_or_default();
    report.kernel.tier = match used_attach {
        Some(Attach::Fentry) => caps::Tier::A,
        Some(Attach::Kprobe) => caps::Tier::B,
        None => caps::Tier::C,
    };
    if let Some((_, why)) = &session.chain_attach {
        report.kernel.tier_reason = format!("{}; chain: {why}", report.kernel.tier_reason);
    }
    if opts.chain_calls > 0 && used_attach.is_none() && !opts.quiet {
        eprintln!(
            "syswalk: --chain-calls has no effect here: no function-level chain is traced on this kernel (tier C)"
        );
    }
    if matches!(target, Target::Builtin { .. } | Target::Scenario(_)) {
        let counts = crate::syscalls::socket::leaks::Counts {
            sockets_used: report.stats.sockets_used,
            tcp_sockets: report.stats.tcp_sockets,
        };
        let scenario = matches!(target, Target::Scenario(_));
        global.extend(crate::syscalls::socket::leaks::sockets_none_left(&report.calls, counts, scenario));
    }
    // A family inside the table that failed: its slot, read again now that the target ended.
    if matches!(target, Target::Builtin { .. }) && socket::dispatch::applies(&report.calls) {
        let reads = socket::dispatch::Reads {
            before: choice.families_error.is_none().then_some(&choice.families[..]).filter(|f| !f.is_empty()),
            after: chain::read_tables(&names.kallsyms).map(|(f, _)| f).map_err(|e| e.message),
            table: names
                .kallsyms
                .by_name("net_families")
                .map(|s| format!("net_families @ {} (kallsyms), read by a tp_btf program", crate::model::KAddr(s.addr)))
                .unwrap_or_default(),
        };
        global.extend(socket::dispatch::judge_unregistered(&report.calls, &reads));
    }
    if opts.chain_calls > 0 && used_attach.is_some() {
        let b = crate::claims::budget::budget(
            st.counts.root_full,
            socket_calls,
            &plan,
            &session.chain_counted,
            opts.chain_calls,
            session.stats.lost,
        );
        global.push(b.1);
        report.chain_budget = Some(b.0);
    }
    for c in &global {
        report.totals.count_claim(c);
    }
    report.claims.extend(global);
    report.summary = report.totals.summary();
    report.connections = st.life.view();
    if opts.hist {
        report.histograms = Some(match session.chain_hist {
            Some((rows, missed)) => crate::report::Histograms {
                funcs: rows
                    .into_iter()
                    .map(|(func, b)| crate::report::Histogram {
                        func,
                        calls: b.iter().sum(),
                        buckets: b
                            .iter()
                            .enumerate()
                            .filter(|(_, n)| **n > 0)
                            .map(|(k, n)| (if k == 0 { 0 } else { 1u64 << k }, *n))
                            .collect(),
                    })
                    .collect(),
                missed,
                not_observable: None,
            },
            None => crate::report::Histograms {
                funcs: vec![],
                missed: 0,
                not_observable: Some(
                    choice.why_not.clone().unwrap_or_else(|| "no function-level chain was traced".into()),
                ),
            },
        });
    }
    report.chain_plan = plan;
    report.layouts = crate::report::layouts(names.btf.as_deref());
    report.dispatch = crate::report::dispatch(&choice.families, &choice.inetsw, choice.families_error.clone(), names);
    Ok(Collected { report, ending: session.ending })
}

fn syscall_infos(specs: &[SyscallSpec]) -> Vec<crate::report::SyscallInfo> {
    specs
        .iter()
        .map(|s| crate::report::SyscallInfo { name: s.name.into(), nr: s.nr, nr_origin: s.nr_origin.clone() })
        .collect()
}
