//! `smsgate sim`: the provider simulator as a standalone SMPP server, for
//! benchmarks and for testing the smpp connector (or any ESME) against an
//! SMSC that answers as configured.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;

use super::CliError;
use crate::connectors::sim::{Delay, SimConfig, SimServer};

/// Options of `smsgate sim`. The flags override the same keys of the file.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to accept binds on; repeat it to listen on several, which
    /// then act as hosts of one provider (a receipt may come back through
    /// any of them). Port 0 picks a free port, printed at start.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2777")]
    pub listen: Vec<SocketAddr>,
    /// A TOML file with the simulator's settings, in a [sim] table or at
    /// its top level (latency, accept_ratio, reject_status, receipt_delay,
    /// receipt_mix, max_window, receipt_window, mo_interval, system_id,
    /// password, ...).
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Delay before each submit_sm_resp: fixed ("5ms") or a range
    /// ("2ms..20ms"). Default 5ms.
    #[arg(long, value_name = "DELAY")]
    pub latency: Option<Delay>,
    /// Share of submits answered ESME_ROK, 0.0 to 1.0; the rest get the
    /// reject status (default ESME_RSUBMITFAIL). Default 1.0.
    #[arg(long, value_name = "RATIO")]
    pub accept_ratio: Option<f64>,
    /// Delay from submit_sm_resp to the delivery receipt: fixed ("1s") or
    /// a range ("200ms..3s"). Default 1s.
    #[arg(long, value_name = "DELAY")]
    pub receipt_delay: Option<Delay>,
    /// Unanswered submit_sm each bind may have; more are answered
    /// ESME_RTHROTTLED, as a carrier does. Default 10.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_window: Option<u64>,
    /// Unanswered deliver_sm (receipts, MO) the simulator keeps on each
    /// bind; the next waits for an answer. 0: no limit, every receipt due
    /// goes out at once (to see whether the ESME keeps up with a burst).
    /// Default: the same as --max-window.
    #[arg(long, value_name = "N")]
    pub receipt_window: Option<u64>,
    /// Seed the random outcomes, so the same requests get the same answers.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// Runs the simulator until SIGTERM or Ctrl-C, then prints its counters.
pub fn run(args: SimArgs) -> Result<(), CliError> {
    super::serve::init_logging(super::serve::LogFormat::Text);
    let config = settings(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = SimServer::start(&args.listen, config)?;
        for addr in server.local_addrs() {
            println!("smsgate sim: listening on {addr}");
        }
        super::serve::wait_for_signal().await;
        let stats = server.shutdown().await;
        println!("smsgate sim: stopped; {stats}");
        Ok(())
    })
}

/// The settings: the file's (or the defaults), then the flags given.
fn settings(args: &SimArgs) -> Result<SimConfig, CliError> {
    let mut config = match &args.config {
        Some(path) => load(path)?,
        None => SimConfig::default(),
    };
    if let Some(latency) = args.latency {
        config.latency = latency;
    }
    if let Some(ratio) = args.accept_ratio {
        config.accept_ratio = ratio;
    }
    if let Some(delay) = args.receipt_delay {
        config.receipt_delay = delay;
    }
    if let Some(window) = args.max_window {
        config.max_window = window_size(window)?;
    }
    if let Some(window) = args.receipt_window {
        config.receipt_window = Some(window_size(window)?);
    }
    if args.seed.is_some() {
        config.seed = args.seed;
    }
    config.validate()?;
    Ok(config)
}

/// A window given on the command line, as the configuration holds it.
fn window_size(window: u64) -> Result<usize, CliError> {
    Ok(usize::try_from(window).map_err(|_| format!("window {window} is too large"))?)
}

/// A file holding the settings in a `[sim]` table (beside other tables,
/// which are ignored), as opposed to at its top level.
#[derive(Deserialize)]
struct SimTable {
    sim: SimConfig,
}

/// Reads the settings from a `[sim]` table if the file has one, else from
/// its top level.
fn load(path: &Path) -> Result<SimConfig, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("invalid TOML in {}: {e}", path.display()))?;
    let config = if table.contains_key("sim") {
        toml::from_str::<SimTable>(&text).map(|file| file.sim)
    } else {
        toml::from_str::<SimConfig>(&text)
    };
    Ok(config.map_err(|e| format!("invalid simulator settings in {}: {e}", path.display()))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn settings_are_read_from_a_sim_table_or_the_top_level() {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = dir.path().join("table.toml");
        std::fs::write(
            &table,
            "[smpp]\nplaintext = true\n\n[sim]\nlatency = \"7ms\"\n",
        )
        .expect("written");
        let top = dir.path().join("top.toml");
        std::fs::write(&top, "accept_ratio = 0.5\n").expect("written");

        let from_table = load(&table).expect("valid");
        assert_eq!(from_table.latency, Delay::fixed(Duration::from_millis(7)));
        assert_eq!(load(&top).expect("valid").accept_ratio, 0.5);
    }

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimArgs,
    }

    fn parsed(line: &[&str]) -> SimArgs {
        let mut full = vec!["sim"];
        full.extend_from_slice(line);
        <Cli as clap::Parser>::try_parse_from(full)
            .expect("valid flags")
            .args
    }

    #[test]
    fn window_flags_override_the_file_and_receipt_window_zero_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sim.toml");
        std::fs::write(&path, "max_window = 5\nreceipt_window = 7\n").expect("written");
        let config_path = path.to_str().expect("UTF-8 path");

        let from_file = settings(&parsed(&["--config", config_path])).expect("valid");
        assert_eq!(
            (from_file.max_window, from_file.receipt_window),
            (5, Some(7))
        );

        let flags = parsed(&[
            "--config",
            config_path,
            "--max-window",
            "200",
            "--receipt-window",
            "0",
            "--receipt-delay",
            "0s",
        ]);
        let overridden = settings(&flags).expect("valid");
        assert_eq!(overridden.max_window, 200);
        assert_eq!(overridden.receipt_window, Some(0));
        assert_eq!(overridden.receipt_delay, Delay::fixed(Duration::ZERO));

        let defaults = settings(&parsed(&[])).expect("valid");
        assert_eq!(defaults.receipt_window, None, "absent: follows max_window");
        assert!(<Cli as clap::Parser>::try_parse_from(["sim", "--max-window", "0"]).is_err());
    }

    #[test]
    fn a_misspelt_key_is_reported_with_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sim.toml");
        std::fs::write(&path, "[sim]\nlatncy = \"7ms\"\n").expect("written");
        let error = load(&path).expect_err("unknown key").to_string();
        assert!(
            error.contains("sim.toml") && error.contains("latncy"),
            "{error}"
        );
    }
}
