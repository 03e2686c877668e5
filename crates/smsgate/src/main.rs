//! The `smsgate` binary: thin glue over the `smsgate` library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = smsgate::cli::Cli::parse();
    match smsgate::cli::run(cli) {
        Ok(status) => status,
        Err(error) => {
            eprintln!("smsgate: {error}");
            ExitCode::FAILURE
        }
    }
}
