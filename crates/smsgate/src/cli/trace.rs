//! `smsgate trace …`: switch PDU traces on and off for an account or a
//! connector, in the store. A running node (every node of a cluster)
//! picks a change up within a few seconds; see `docs/tracing.md`.

use std::path::Path;
use std::time::SystemTime;

use clap::{Args, Subcommand, ValueEnum};

use crate::store::{Store, TraceKind, TraceSwitch};
use crate::trace_switch::{
    DEFAULT_TRACE_MINUTES, MAX_TRACE_MINUTES, REFRESH_INTERVAL, store_switch,
};

use super::CliError;
use super::store_file::with_store;
use super::table::table;

/// `smsgate trace`: the arguments shared by every trace command.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Print JSON instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
    /// What to do.
    #[command(subcommand)]
    command: TraceCommand,
}

#[derive(Debug, Subcommand)]
enum TraceCommand {
    /// Log every PDU of an account's SMPP sessions (hex dumps, at target
    /// smsgate::pdu), for a while.
    Account {
        /// The account's system_id.
        name: String,
        #[command(flatten)]
        time: TraceTime,
    },
    /// Log every PDU of a connector's binds (or, for an http connector,
    /// its requests and answers), for a while.
    Connector {
        /// The connector's name, as in the configuration.
        name: String,
        #[command(flatten)]
        time: TraceTime,
    },
    /// Switch a trace off before its time is up.
    Off {
        /// What the trace is for.
        kind: KindArg,
        /// The account's system_id or the connector's name.
        name: String,
    },
    /// List the traces switched on, and until when.
    List,
}

#[derive(Debug, Args)]
struct TraceTime {
    /// How long the trace stays on, in minutes (at most a day).
    #[arg(
        long,
        default_value_t = DEFAULT_TRACE_MINUTES,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_TRACE_MINUTES)),
        value_name = "N"
    )]
    minutes: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Account,
    Connector,
}

impl From<KindArg> for TraceKind {
    fn from(kind: KindArg) -> TraceKind {
        match kind {
            KindArg::Account => TraceKind::Account,
            KindArg::Connector => TraceKind::Connector,
        }
    }
}

/// Runs `smsgate trace …` against the store in `data_dir`.
pub fn run(data_dir: &Path, args: TraceArgs) -> Result<(), CliError> {
    let json = args.json;
    match args.command {
        TraceCommand::Account { name, time } => {
            switch_on(data_dir, TraceKind::Account, &name, time.minutes, json)
        }
        TraceCommand::Connector { name, time } => {
            switch_on(data_dir, TraceKind::Connector, &name, time.minutes, json)
        }
        TraceCommand::Off { kind, name } => {
            let kind = TraceKind::from(kind);
            let existed = with_store(data_dir, async |store| {
                Ok(store.clear_trace_switch(kind, &name).await?)
            })?;
            if json {
                let answer = serde_json::json!({ "kind": kind, "name": name, "was_on": existed });
                println!("{answer}");
            } else if existed {
                println!("trace off for {kind} {name}");
            } else {
                println!("no trace was on for {kind} {name}");
            }
            Ok(())
        }
        TraceCommand::List => {
            let switches = with_store(data_dir, async |store| {
                Ok(store.trace_switches(SystemTime::now()).await?)
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&switches)?);
            } else if switches.is_empty() {
                println!("no trace is on");
            } else {
                print!("{}", switches_table(&switches, SystemTime::now()));
            }
            Ok(())
        }
    }
}

fn switch_on(
    data_dir: &Path,
    kind: TraceKind,
    name: &str,
    minutes: u32,
    json: bool,
) -> Result<(), CliError> {
    let switch = with_store(data_dir, async |store| {
        Ok(store_switch(store, kind, name, Some(minutes)).await?)
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&switch)?);
    } else {
        println!(
            "trace on for {kind} {name} until {} ({minutes} min); running nodes log it \
             within {} s, at target smsgate::pdu",
            humantime::format_rfc3339_seconds(switch.until),
            REFRESH_INTERVAL.as_secs()
        );
    }
    Ok(())
}

/// The switches as a table, with the minutes each has left.
fn switches_table(switches: &[TraceSwitch], now: SystemTime) -> String {
    let rows: Vec<Vec<String>> = switches
        .iter()
        .map(|switch| {
            let left = switch
                .until
                .duration_since(now)
                .map(|left| left.as_secs().div_ceil(60))
                .unwrap_or(0);
            vec![
                switch.kind.to_string(),
                switch.name.clone(),
                humantime::format_rfc3339_seconds(switch.until).to_string(),
                format!("{left} min"),
            ]
        })
        .collect();
    table(&["KIND", "NAME", "UNTIL", "LEFT"], &rows)
}
