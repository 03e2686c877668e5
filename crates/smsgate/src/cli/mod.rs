//! The command line: one subcommand per job.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod account;
pub mod admin;
pub mod bench;
pub mod completions;
pub mod message;
pub mod route;
pub mod security;
pub mod send;
pub mod serve;
pub mod sim;
pub mod store_file;
mod table;
pub mod trace;

/// smsgate — an SMS center: SMPP 3.4/5.0 and HTTP in, routing and failover
/// across providers, delivery receipts and inbound messages back.
#[derive(Debug, Parser)]
#[command(name = "smsgate", version, about, long_about = None)]
pub struct Cli {
    /// The directory holding smsgate's state; the database is DIR/smsgate.db.
    #[arg(
        long,
        global = true,
        env = "SMSGATE_DATA_DIR",
        default_value = "./data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway: SMPP (plain and TLS) and the HTTP API for customers, the
    /// operator console at /console/, until SIGTERM or Ctrl-C.
    Serve(serve::ServeArgs),
    /// Print the version of smsgate and of the protocols it speaks.
    Version,
    /// Manage customer accounts (works on the store whether or not the server runs).
    Account(account::AccountArgs),
    /// Manage the admin API's and the console's users and tokens (works on
    /// the store whether or not the server runs).
    Admin(admin::AdminArgs),
    /// Show stored messages and their traces.
    Message(message::MessageArgs),
    /// Show which route and connectors a message would get, and why; list the routes.
    Route(route::RouteArgs),
    /// Send a message through a running gateway's HTTP API (for scripts and
    /// Asterisk dialplans).
    Send(send::SendArgs),
    /// Switch PDU traces (hex dumps in the log) on and off for an account
    /// or a connector; running nodes follow within seconds.
    Trace(trace::TraceArgs),
    /// List the addresses blocked after too many failed logins (per
    /// surface: SMPP, customer API, console) and lift a block; running
    /// nodes follow within seconds.
    Security(security::SecurityArgs),
    /// Print the completion script for bash, zsh or fish (e.g. `smsgate
    /// completions bash > /etc/bash_completion.d/smsgate`).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (e.g. `smsgate man > /usr/share/man/man1/smsgate.1`).
    Man,
    /// Run the provider simulator (an SMSC for benchmarks and connector tests) until SIGTERM or Ctrl-C.
    Sim(sim::SimArgs),
    /// Load-test a running gateway: `bench smpp` binds as a customer,
    /// submits through pipelined windows, awaits the receipts and reports
    /// rates and latencies; `bench http` does the same through the HTTP API
    /// (single messages or batches, status callbacks on a local listener).
    Bench(bench::BenchArgs),
}

/// Errors a command reports to the operator.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Runs a parsed command line. A command that has reported its own
/// outcome returns its exit status (`send`: 2 when the gateway refused);
/// an error is for the caller to print, and exits 1.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let done = match cli.command {
        Command::Version => {
            println!("smsgate {}", env!("CARGO_PKG_VERSION"));
            println!("SMPP interface versions: 3.4 (0x34), 5.0 (0x50)");
            Ok(())
        }
        Command::Serve(args) => serve::run(&cli.data_dir, args),
        Command::Account(args) => account::run(&cli.data_dir, args),
        Command::Admin(args) => admin::run(&cli.data_dir, args),
        Command::Message(args) => message::run(&cli.data_dir, args),
        Command::Route(args) => route::run(args),
        Command::Send(args) => return send::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Trace(args) => trace::run(&cli.data_dir, args),
        Command::Security(args) => security::run(&cli.data_dir, args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man => completions::man(),
    };
    done.map(|()| ExitCode::SUCCESS)
}
