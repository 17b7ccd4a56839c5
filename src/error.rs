//! One error type for the whole tool. Each kind has its own exit code and a message that says what to do.
use std::fmt;

/// What went wrong, as a user would sort it. The exit code is part of the interface (documented in README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad command-line input (clap uses 2 for the same).
    Usage,
    /// Not root, or missing CAP_BPF / CAP_PERFMON.
    Permission,
    /// The kernel has no BTF (/sys/kernel/btf/vmlinux), so CO-RE programs cannot load.
    NoBtf,
    /// The kernel refused to load or attach a BPF program that syswalk needs.
    Bpf,
    /// `-- CMD`: the command was not found on PATH.
    CommandNotFound,
    /// `-- CMD`: the file exists but cannot be executed.
    NotExecutable,
    /// `-p PID`: no such process.
    PidNotFound,
    /// The target exited before making any traced call.
    TargetExitedEarly,
    /// The target ran to its end without making the traced call (but made other traced calls).
    NoCall,
    /// The target was killed by a signal.
    TargetKilled,
    /// Reading or writing a file failed.
    Io,
    /// At least one claim was refuted by the evidence.
    Refuted,
    /// The lab (VM) failed: qemu missing, kernel fetch failed, guest panicked, timed out.
    Lab,
    /// A bug in syswalk.
    Internal,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Usage,
        Kind::Permission,
        Kind::NoBtf,
        Kind::Bpf,
        Kind::CommandNotFound,
        Kind::NotExecutable,
        Kind::PidNotFound,
        Kind::TargetExitedEarly,
        Kind::NoCall,
        Kind::TargetKilled,
        Kind::Io,
        Kind::Refuted,
        Kind::Lab,
        Kind::Internal,
    ];

    /// The process exit code for this kind. 0 is success; 1 is reserved for "a claim was refuted".
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Refuted => 1,
            Kind::Usage => 2,
            Kind::Permission => 10,
            Kind::NoBtf => 11,
            Kind::Bpf => 12,
            Kind::CommandNotFound => 20,
            Kind::NotExecutable => 21,
            Kind::PidNotFound => 22,
            Kind::TargetExitedEarly => 23,
            Kind::NoCall => 24,
            Kind::TargetKilled => 25,
            Kind::Io => 30,
            Kind::Lab => 40,
            Kind::Internal => 70,
        }
    }

    /// What the exit code means, as the README and `--help` say it.
    pub fn meaning(self) -> &'static str {
        match self {
            Kind::Refuted => "a claim was refuted",
            Kind::Usage => "usage",
            Kind::Permission => "not root / missing CAP_BPF+CAP_PERFMON",
            Kind::NoBtf => "no BTF",
            Kind::Bpf => "the kernel refused a BPF program",
            Kind::CommandNotFound => "command not found",
            Kind::NotExecutable => "not executable",
            Kind::PidNotFound => "PID not found",
            Kind::TargetExitedEarly => "target exited before the call",
            Kind::NoCall => "target made no such call",
            Kind::TargetKilled => "target killed by a signal",
            Kind::Io => "I/O",
            Kind::Lab => "lab",
            Kind::Internal => "internal",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Usage => "usage",
            Kind::Permission => "permission",
            Kind::NoBtf => "no-btf",
            Kind::Bpf => "bpf",
            Kind::CommandNotFound => "command-not-found",
            Kind::NotExecutable => "not-executable",
            Kind::PidNotFound => "pid-not-found",
            Kind::TargetExitedEarly => "target-exited-early",
            Kind::NoCall => "no-call",
            Kind::TargetKilled => "target-killed",
            Kind::Io => "io",
            Kind::Refuted => "refuted",
            Kind::Lab => "lab",
            Kind::Internal => "internal",
        }
    }
}

/// The one exit-code table, in code order: "0 ok · 1 a claim was refuted · 2 usage · …". `--help` prints it and a
/// test checks the README's copy against it.
pub fn exit_code_table() -> String {
    let mut k: Vec<Kind> = Kind::ALL.to_vec();
    k.sort_by_key(|k| k.exit_code());
    std::iter::once("0 ok".to_string())
        .chain(k.iter().map(|k| format!("{} {}", k.exit_code(), k.meaning())))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// An error: its kind, what happened, what to do about it, and the error that caused it (kept, not flattened).
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
    pub source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), hint: None, source: None }
    }
    /// `message` says what failed (and may quote `source`); `source` stays reachable through `Error::source`.
    pub fn with_source(
        kind: Kind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error { kind, message: message.into(), hint: None, source: Some(Box::new(source)) }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn io(what: impl fmt::Display, e: std::io::Error) -> Self {
        Error::with_source(Kind::Io, format!("{what}: {e}"), e)
    }
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn exit_codes_are_distinct_and_nonzero() {
        let mut seen = std::collections::HashSet::new();
        for k in Kind::ALL {
            assert_ne!(k.exit_code(), 0, "{k:?}");
            assert!(seen.insert(k.exit_code()), "duplicate exit code for {k:?}");
        }
    }
    #[test]
    fn the_readme_and_the_help_carry_the_one_exit_code_table() {
        let readme = include_str!("../README.md");
        let t = exit_code_table();
        assert!(readme.contains(&t), "README's exit codes differ from the code's table:\n{t}");
        let help = crate::cli::help_after();
        assert!(help.contains(&t), "--help: {help}");
    }

    #[test]
    fn an_io_error_keeps_its_source() {
        use std::error::Error as _;
        let e = Error::io("reading x", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(e.kind, Kind::Io);
        assert!(e.source().is_some_and(|s| s.to_string().contains("not found")), "{e:?}");
    }

    #[test]
    fn display_carries_hint() {
        let e = Error::new(Kind::PidNotFound, "no process 7").hint("check `ps`");
        assert_eq!(e.to_string(), "no process 7\n  hint: check `ps`");
        assert_eq!(e.exit_code(), 22);
    }
}
