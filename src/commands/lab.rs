//! `syswalk lab`: stock Debian kernels under QEMU.
use std::time::Duration;

use super::emit;
use crate::cli::{LabCmd, QemuArg};
use crate::error::{Error, Kind, Result};

pub fn run(cmd: LabCmd) -> Result<i32> {
    use crate::lab;
    match cmd {
        LabCmd::Kernels => {
            let mut o =
                String::from("id    aliases  series  suite               cached version (resolved on first fetch)\n");
            let mut qemu = String::new();
            for r in lab::list()? {
                o.push_str(&format!(
                    "{:<5} {:<8} {:<7} {:<19} {}\n",
                    r.id,
                    r.aliases.join(","),
                    r.series,
                    r.suite,
                    r.cached.as_deref().unwrap_or("(not fetched: `syswalk lab fetch ID`)"),
                ));
                qemu = r.qemu;
            }
            o.push_str(&format!("Every kernel boots under {qemu}.\n"));
            o.push_str("A fetched kernel stays as it is; `syswalk lab fetch --refresh ID` takes its suite's newest build of the same series.\n");
            o.push_str("Any other kernel: --kernel /path/to/vmlinuz-<version> (modules from ../lib/modules/<version> or /lib/modules).\n");
            emit(&o, &None)?;
            Ok(0)
        }
        LabCmd::Fetch { kernel, dbg, refresh } => {
            let k = lab::fetch(&kernel, refresh)?;
            if dbg {
                lab::fetch_dbg(&k)?;
            }
            lab::new_qemu()?;
            emit(&format!("{} {} {}\n", k.id, k.version, k.image.display()), &None)?;
            Ok(0)
        }
        LabCmd::Run {
            kernel,
            timeout,
            accel,
            mem,
            cpus,
            append,
            env,
            console,
            dbg,
            no_boot_trace,
            out_dir,
            qemu,
            command,
        } => {
            if timeout == 0 {
                return Err(Error::new(Kind::Usage, "--timeout must be at least 1 second"));
            }
            // Checked before anything is fetched or booted.
            let out_dir = match out_dir {
                None => None,
                Some(d) => Some(lab::vm::out_dir(&d)?),
            };
            let k = lab::resolve_kernel(&kernel)?;
            if dbg {
                lab::fetch_dbg(&k)?;
            }
            let q = match qemu {
                QemuArg::Auto | QemuArg::Backports => lab::new_qemu()?,
                QemuArg::System => lab::vm::Qemu::system()?,
            };
            let opts = lab::vm::RunOpts {
                timeout: Duration::from_secs(timeout),
                accel,
                mem,
                cpus,
                append,
                env,
                verbose: console,
                boot_trace: !no_boot_trace,
                dbg,
                out_dir,
            };
            let out = lab::vm::run(&q, &k, &command, &opts)?;
            eprintln!(
                "lab: {} exited {} ({}; boot to exit {:.2} s)",
                k.version,
                out.code,
                out.accel,
                out.boot_to_exit.as_secs_f64()
            );
            Ok(out.code)
        }
    }
}
