//! `smsgate completions SHELL` and `smsgate man`: shell completions and
//! the manual page, generated from the command line's own definitions so
//! they never disagree with `--help`.

use std::io::Write;

use clap::{Args, CommandFactory, ValueEnum};

use super::{Cli, CliError};

/// `smsgate completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    shell: Shell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Writes the completion script for the shell to stdout, e.g.
/// `smsgate completions bash > /etc/bash_completion.d/smsgate`.
pub fn completions(args: &CompletionsArgs) -> Result<(), CliError> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    // Into memory first: the generator panics on a write error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "smsgate", &mut script);
    print(&script)
}

/// Writes the manual page (roff) to stdout, e.g.
/// `smsgate man > /usr/share/man/man1/smsgate.1`.
pub fn man() -> Result<(), CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    print(&page)
}

/// Writes to stdout; a reader that stops early (`| head`) is not an error.
fn print(text: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
