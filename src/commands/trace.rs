//! `syswalk trace`: the socket-life syscalls of a program or a running process.
use std::ffi::OsString;
use std::time::Duration;

use super::collect::load_chain;
use super::{investigate, namer, specs_for, Ctx};
use crate::cli::{OutputArgs, TraceArgs};
use crate::error::{Error, Kind, Result};
use crate::probes::session::Target;

pub fn run(
    ctx: &Ctx,
    pid: Option<u32>,
    syscalls: &[String],
    duration: Option<f64>,
    how: TraceArgs,
    out: OutputArgs,
    command: Vec<OsString>,
) -> Result<i32> {
    let target = match (pid, command.is_empty()) {
        (Some(p), true) => Target::Pid(p),
        (None, false) => Target::Command(command),
        (None, true) => {
            return Err(Error::new(Kind::Usage, "trace needs a target: -p PID or -- CMD [ARGS…]")
                .hint("e.g. `syswalk trace -p $(pidof my_server)` or `syswalk trace -- ./my_server`"))
        }
        (Some(_), false) => return Err(Error::new(Kind::Usage, "give either -p PID or -- CMD, not both")),
    };
    let duration = duration.map(duration_arg).transpose()?;
    let specs = specs_for(syscalls)?;
    let names = namer();
    let chain = load_chain(how.chain.as_deref(), &names)?;
    investigate::run(
        ctx,
        investigate::Job { target, specs, duration, custom: chain, sockets_only: false },
        &out,
        names,
        &how,
    )
}

/// `--duration SECS`: a positive, finite number of seconds no longer than a year (Duration::from_secs_f64 panics
/// past u64::MAX seconds, so the range is checked here, as a usage error).
pub fn duration_arg(d: f64) -> Result<Duration> {
    const MAX: f64 = 366.0 * 24.0 * 3600.0;
    if !(d > 0.0 && d.is_finite()) {
        return Err(Error::new(Kind::Usage, format!("--duration must be a positive number of seconds, got {d}")));
    }
    if d > MAX {
        return Err(Error::new(Kind::Usage, format!("--duration {d} is longer than a year ({MAX} s)"))
            .hint("leave --duration out to trace until the target exits or Ctrl-C"));
    }
    Duration::try_from_secs_f64(d).map_err(|e| Error::new(Kind::Usage, format!("--duration {d}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_out_of_range_are_usage_errors_not_panics() {
        for d in [1e20, 1e300, f64::INFINITY, f64::NAN, 0.0, -1.0, 366.0 * 24.0 * 3600.0 + 1.0] {
            let e = duration_arg(d).expect_err(&format!("{d} accepted"));
            assert_eq!(e.kind, Kind::Usage, "{d}");
        }
        assert_eq!(duration_arg(0.5).ok(), Some(Duration::from_millis(500)));
    }
}
