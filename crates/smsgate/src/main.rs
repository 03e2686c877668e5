//! The `smsgate` binary: thin glue over the `smsgate` library.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's allocator: the gateway allocates and frees
/// many small buffers per message on several threads, where glibc spent
/// 10-16% of a worker's time (benchmarks in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
