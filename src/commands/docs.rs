//! `syswalk completions` and `syswalk man`: generated from the one command-line definition (cli.rs).
use clap::CommandFactory;

use super::emit;
use crate::cli::Cli;
use crate::error::{Error, Result};

pub fn completions(shell: clap_complete::Shell) -> Result<i32> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "syswalk", &mut buf);
    emit(&String::from_utf8_lossy(&buf), &None)?;
    Ok(0)
}

pub fn man() -> Result<i32> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut buf).map_err(|e| Error::io("rendering the man page", e))?;
    emit(&String::from_utf8_lossy(&buf), &None)?;
    Ok(0)
}
