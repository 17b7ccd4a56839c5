//! `syswalk completions` and `syswalk man`: generated from the one command-line definition (cli.rs).
use clap::CommandFactory;

use super::emit;
use crate::cli::Cli;
use crate::error::{Error, Kind, Result};

pub fn completions(shell: clap_complete::Shell) -> Result<i32> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "syswalk", &mut buf);
    emit(&String::from_utf8_lossy(&buf), &None)?;
    Ok(0)
}

/// syswalk(1), or the page of one command: the pages syswalk(1) names under SUBCOMMANDS all exist this way.
pub fn man(command: Option<&str>) -> Result<i32> {
    let mut top = Cli::command();
    top.build();
    let page = match command {
        None => top,
        Some(name) => {
            let sub = top.find_subcommand(name).cloned().ok_or_else(|| {
                let known: Vec<String> = top.get_subcommands().map(|c| c.get_name().to_string()).collect();
                Error::new(Kind::Usage, format!("no command {name:?}")).hint(format!("known: {}", known.join(", ")))
            })?;
            let full = format!("syswalk-{}", sub.get_name());
            sub.name(full.clone()).bin_name(full)
        }
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(page).render(&mut buf).map_err(|e| Error::io("rendering the man page", e))?;
    emit(&String::from_utf8_lossy(&buf), &None)?;
    Ok(0)
}
