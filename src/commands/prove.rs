//! `syswalk prove`: the built-in target (or a program) making socket(), every claim judged.
use std::ffi::OsString;

use super::collect::load_chain;
use super::{btf_arg, family_arg, investigate, namer, specs_for, Ctx};
use crate::cli::{OutputArgs, TraceArgs};
use crate::error::Result;
use crate::probes::session::Target;

pub fn run(
    ctx: &Ctx,
    family: &str,
    ty: &str,
    protocol: &str,
    how: TraceArgs,
    out: OutputArgs,
    command: Vec<OsString>,
) -> Result<i32> {
    let names = namer();
    let target = if command.is_empty() {
        Target::Builtin {
            family: family_arg(family)?,
            ty: btf_arg(&names, ty, "SOCK_", "socket type")?,
            protocol: btf_arg(&names, protocol, "IPPROTO_", "protocol")?,
        }
    } else {
        Target::Command(command)
    };
    let specs = specs_for(&["socket".to_string()])?;
    let chain = load_chain(how.chain.as_deref(), &names)?;
    investigate::run(ctx, investigate::Job { target, specs, duration: None, custom: chain }, &out, names, &how)
}
