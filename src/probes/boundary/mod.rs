//! Tier C tracer: owns `boundary.bpf.c` (tp_btf/sys_enter + sys_exit + fork/exit following) and turns its ring
//! buffer into typed events. The event layout comes from `events.h` through the generated skeleton types.
use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::time::{Duration, Instant};

use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, OpenObject, RingBuffer, RingBufferBuilder};

use crate::error::{Error, Kind, Result};

#[allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::unwrap_used,
    unused_imports,
    dead_code,
    non_camel_case_types
)]
pub mod skel {
    include!(concat!(env!("OUT_DIR"), "/boundary.skel.rs"));
}

pub use crate::probes::intf::{
    sw_event as RawEvent, sw_kind as EvKind, sw_mode as Mode, sw_uaddr_mode as UaddrMode, sw_walk as Walked,
};

/// Decodes one ring-buffer record. Errors (never panics) on a record of the wrong size.
pub fn decode(data: &[u8]) -> Result<RawEvent> {
    if data.len() < std::mem::size_of::<RawEvent>() {
        return Err(Error::new(
            Kind::Internal,
            format!("ring buffer record of {} bytes, expected {}", data.len(), std::mem::size_of::<RawEvent>()),
        ));
    }
    let mut ev = RawEvent::default();
    plain::copy_from_bytes(&mut ev, data)
        .map_err(|_| Error::new(Kind::Internal, "ring buffer record could not be decoded"))?;
    Ok(ev)
}

/// The bytes of an event, for recording fixtures.
#[cfg(test)]
pub fn encode(ev: &RawEvent) -> Vec<u8> {
    // SAFETY: RawEvent is plain old data (see the Plain impl above); we only read its bytes.
    unsafe { plain::as_bytes(ev) }.to_vec()
}

/// A syscall to trace, with what the BPF side does for it.
#[derive(Debug, Clone)]
pub struct TracedSyscall {
    pub name: String,
    pub nr: i64,
    pub mode: Mode,
    /// Which user sockaddr its events carry.
    pub uaddr: UaddrMode,
}

/// Loaded and attached tier-C programs plus the ring buffer that feeds `events`.
pub struct Tracer<'obj> {
    skel: skel::BoundarySkel<'obj>,
    _links: Vec<libbpf_rs::Link>,
    ring: Option<RingBuffer<'static>>,
    pub events: Rc<RefCell<Vec<RawEvent>>>,
    pub decode_errors: Rc<RefCell<u64>>,
    pub attach_time: Duration,
    /// Why TCP state changes are not recorded (tp_btf/inet_sock_set_state did not attach); None when they are.
    pub state_missing: Option<String>,
}

fn bpf_err(what: &str, e: libbpf_rs::Error) -> Error {
    let text = format!("{e:#}");
    if e.kind() == libbpf_rs::ErrorKind::PermissionDenied || text.contains("Operation not permitted") {
        Error::new(Kind::Permission, format!("{what}: the kernel said {text}"))
            .hint("run as root, or grant CAP_BPF and CAP_PERFMON (e.g. `sudo syswalk …`); `syswalk caps` shows what this kernel allows")
    } else {
        Error::new(Kind::Bpf, format!("{what}: {text}"))
            .hint("run `syswalk caps` to see which BPF features this kernel offers")
    }
}

impl<'obj> Tracer<'obj> {
    /// Loads the programs, configures which syscalls to trace, attaches everything. Nothing is traced until a
    /// TGID is added with [`Tracer::add_tgid`].
    pub fn start(
        obj: &'obj mut MaybeUninit<OpenObject>,
        syscalls: &[TracedSyscall],
        follow_forks: bool,
    ) -> Result<Self> {
        let t0 = Instant::now();
        let builder = skel::BoundarySkelBuilder::default();
        let mut open = builder.open(obj).map_err(|e| bpf_err("opening the tier-C BPF object", e))?;
        let pidns = crate::machine::pidns::current()?.bpf_ino()?;
        if let Some(ro) = open.maps.rodata_data.as_deref_mut() {
            ro.follow_forks = follow_forks;
            ro.pidns_ino = pidns;
        }
        // SYSWALK_RING_KB (a power of two, ≥ 4): the ring buffer's size, for tests of an overloaded ring.
        if let Some(kb) = std::env::var("SYSWALK_RING_KB").ok().and_then(|v| v.parse::<u32>().ok()) {
            if !(kb.is_power_of_two() && kb >= 4) {
                return Err(Error::new(Kind::Usage, format!("SYSWALK_RING_KB={kb}: a power of two, at least 4")));
            }
            open.maps.events.set_max_entries(kb * 1024).map_err(|e| bpf_err("sizing the ring buffer", e))?;
        }
        let skel =
            open.load().map_err(|e| bpf_err("loading the tier-C BPF programs (tp_btf/sys_enter, sys_exit)", e))?;
        for s in syscalls {
            let max = crate::probes::intf::sw_limits::SW_NR_MAX.0 as i64;
            if !(0..max).contains(&s.nr) {
                return Err(Error::new(
                    Kind::Usage,
                    format!("syscall {} has number {} outside 0..{max}", s.name, s.nr),
                ));
            }
            let cfg = skel::types::sw_sys_cfg { mode: s.mode.0 as u8, uaddr: s.uaddr.0 as u8 };
            skel.maps
                .syscalls
                .update(&(s.nr as u32).to_ne_bytes(), &[cfg.mode, cfg.uaddr], MapFlags::ANY)
                .map_err(|e| bpf_err("configuring the traced syscalls", e))?;
        }
        let mut links = Vec::new();
        for (name, prog) in [
            ("tp_btf/sys_enter", &skel.progs.sw_sys_enter),
            ("tp_btf/sys_exit", &skel.progs.sw_sys_exit),
            ("tp_btf/sched_process_fork", &skel.progs.sw_fork),
            ("tp_btf/sched_process_exit", &skel.progs.sw_exit_proc),
        ] {
            links.push(prog.attach().map_err(|e| bpf_err(&format!("attaching {name}"), e))?);
        }
        // The state tracepoint is evidence some claims use, not a condition of tracing: without it they say why.
        let state_missing = match skel.progs.sw_tcp_state.attach() {
            Ok(l) => {
                links.push(l);
                None
            }
            Err(e) => Some(format!("tp_btf/inet_sock_set_state did not attach: {e:#}")),
        };
        let events: Rc<RefCell<Vec<RawEvent>>> = Rc::default();
        let decode_errors: Rc<RefCell<u64>> = Rc::default();
        let mut tracer = Tracer {
            skel,
            _links: links,
            ring: None,
            events,
            decode_errors,
            attach_time: Duration::ZERO,
            state_missing,
        };
        tracer.ring = Some(tracer.build_ring()?);
        tracer.attach_time = t0.elapsed();
        Ok(tracer)
    }

    fn build_ring(&self) -> Result<RingBuffer<'static>> {
        let sink = Rc::clone(&self.events);
        let errs = Rc::clone(&self.decode_errors);
        let mut b = RingBufferBuilder::new();
        b.add(&self.skel.maps.events, move |data: &[u8]| {
            match decode(data) {
                Ok(ev) => sink.borrow_mut().push(ev),
                Err(_) => *errs.borrow_mut() += 1,
            }
            0
        })
        .map_err(|e| bpf_err("setting up the ring buffer", e))?;
        b.build().map_err(|e| bpf_err("setting up the ring buffer", e))
    }

    /// The process set every program filters on (the chain object reuses this map).
    pub fn tgids(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.skel.maps.tgids.as_fd()
    }

    /// Starts tracing every thread of process `tgid` (and, if enabled, the processes it forks).
    pub fn add_tgid(&self, tgid: u32) -> Result<()> {
        self.skel
            .maps
            .tgids
            .update(&tgid.to_ne_bytes(), &[1u8], MapFlags::ANY)
            .map_err(|e| bpf_err("adding the target to the in-kernel filter", e))
    }

    /// Waits up to `timeout` for events and moves them into `events`.
    pub fn poll(&self, timeout: Duration) -> Result<()> {
        poll_ring(self.ring.as_ref(), timeout)
    }

    /// Reads everything still in the ring buffer.
    pub fn drain(&self) -> Result<()> {
        drain_ring(self.ring.as_ref())
    }

    /// Events the kernel side could not deliver because the ring buffer was full (summed over CPUs).
    pub fn lost(&self) -> u64 {
        percpu_sum(&self.skel.maps.lost)
    }

    /// What the boundary programs cost the kernel so far (see `selfcost`).
    pub fn costs(&self) -> Vec<crate::probes::selfcost::ProgCost> {
        crate::probes::selfcost::read(self.skel.object())
    }

    pub fn take_events(&self) -> Vec<RawEvent> {
        std::mem::take(&mut *self.events.borrow_mut())
    }
}

/// Waits up to `timeout` on a ring buffer. EINTR (SIGCHLD, SIGINT) is not an error: the caller's loop decides.
pub fn poll_ring(ring: Option<&RingBuffer<'_>>, timeout: Duration) -> Result<()> {
    if let Some(r) = ring {
        let rc = r.poll_raw(timeout);
        if rc < 0 && rc != -libc::EINTR {
            return Err(Error::new(Kind::Bpf, format!("polling a ring buffer failed: errno {}", -rc)));
        }
    }
    Ok(())
}

/// Reads everything still in a ring buffer.
pub fn drain_ring(ring: Option<&RingBuffer<'_>>) -> Result<()> {
    if let Some(r) = ring {
        r.consume().map_err(|e| bpf_err("draining a ring buffer", e))?;
    }
    Ok(())
}

/// The sum over CPUs of a one-slot per-CPU u64 counter map (drop counters).
pub fn percpu_sum(map: &dyn MapCore) -> u64 {
    percpu_sum_at(map, 0)
}

/// The sum over CPUs of a per-CPU array's u64 at `key`.
pub fn percpu_sum_at(map: &dyn MapCore, key: u32) -> u64 {
    match map.lookup_percpu(&key.to_ne_bytes(), MapFlags::ANY) {
        Ok(Some(per_cpu)) => {
            per_cpu.iter().filter_map(|v| v.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_ne_bytes)).sum()
        }
        _ => 0,
    }
}

impl Drop for Tracer<'_> {
    fn drop(&mut self) {
        // The ring buffer borrows the map; drop it before the skeleton (field order would too, but be explicit).
        self.ring.take();
    }
}

/// A record's command name as text.
pub fn comm(ev: &RawEvent) -> String {
    let bytes: Vec<u8> = ev.comm.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn decode_roundtrip_and_short_record() {
        let mut ev = RawEvent { kind: EvKind::SW_EXIT.0, tgid: 7, ret: 3, ..Default::default() };
        ev.sock.prot_name[0] = b'T' as _;
        let bytes = encode(&ev);
        let back = decode(&bytes).expect("decodes");
        assert_eq!((back.kind, back.tgid, back.ret, back.sock.prot_name[0]), (2, 7, 3, b'T' as _));
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
