//! The command line: one subcommand per job.

use clap::{Parser, Subcommand};

/// smsgate — an SMS center: SMPP 3.4/5.0 and HTTP in, routing and failover
/// across providers, delivery receipts and inbound messages back.
#[derive(Debug, Parser)]
#[command(name = "smsgate", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the version of smsgate and of the protocols it speaks.
    Version,
}

/// Errors a command reports to the operator.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Version => {
            println!("smsgate {}", env!("CARGO_PKG_VERSION"));
            println!("SMPP interface versions: 3.4 (0x34), 5.0 (0x50)");
            Ok(())
        }
    }
}
