//! `smsgate security …`: the addresses blocked after too many failed
//! logins, per surface, and lifting a block. Blocks are in the store: a
//! running node (every node of a cluster) follows a lifted one within a
//! few seconds.

use std::path::Path;
use std::time::SystemTime;

use clap::{Args, Subcommand, ValueEnum};

use crate::accounts::ip_guard::{SYNC_INTERVAL, whole_seconds};
use crate::store::{IpBlock, Store, Surface};

use super::CliError;
use super::store_file::with_store;
use super::table::table;

/// `smsgate security`: the arguments shared by every security command.
#[derive(Debug, Args)]
pub struct SecurityArgs {
    /// Print JSON instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
    /// What to do.
    #[command(subcommand)]
    command: SecurityCommand,
}

#[derive(Debug, Subcommand)]
enum SecurityCommand {
    /// List the addresses blocked after too many failed logins, with the
    /// surface (smpp, api, console) and the time left.
    Blocks,
    /// Lift the block of an address (an IPv6 address lifts its /64), on
    /// every surface or on one.
    Unblock {
        /// The address, as the block list shows it or any address of its /64.
        address: String,
        /// Only on this surface.
        #[arg(long, value_enum)]
        surface: Option<SurfaceArg>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SurfaceArg {
    Smpp,
    Api,
    Console,
}

impl From<SurfaceArg> for Surface {
    fn from(surface: SurfaceArg) -> Surface {
        match surface {
            SurfaceArg::Smpp => Surface::Smpp,
            SurfaceArg::Api => Surface::Api,
            SurfaceArg::Console => Surface::Console,
        }
    }
}

/// Runs `smsgate security …` against the store in `data_dir`.
pub fn run(data_dir: &Path, args: SecurityArgs) -> Result<(), CliError> {
    match args.command {
        SecurityCommand::Blocks => {
            let now = SystemTime::now();
            let blocks = with_store(data_dir, async |store| Ok(store.ip_blocks(now).await?))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&blocks)?);
            } else if blocks.is_empty() {
                println!("no address is blocked");
            } else {
                print!("{}", blocks_table(&blocks, now));
            }
            Ok(())
        }
        SecurityCommand::Unblock { address, surface } => {
            let key = crate::accounts::ip_guard::parse_block_address(&address)?;
            let surface = surface.map(Surface::from);
            let lifted = with_store(data_dir, async |store| {
                Ok(store.delete_ip_blocks(key, surface).await?)
            })?;
            let shown = crate::accounts::ip_guard::shown(key);
            if args.json {
                let answer = serde_json::json!({ "address": shown, "lifted": lifted });
                println!("{answer}");
            } else if lifted == 0 {
                println!("{shown} is not blocked");
            } else {
                println!(
                    "lifted {lifted} block(s) of {shown}; running nodes follow within {}",
                    humantime::format_duration(SYNC_INTERVAL)
                );
            }
            Ok(())
        }
    }
}

fn blocks_table(blocks: &[IpBlock], now: SystemTime) -> String {
    let rows: Vec<Vec<String>> = blocks
        .iter()
        .map(|block| {
            let left = block.until.duration_since(now).unwrap_or_default();
            vec![
                block.surface.as_str().to_string(),
                crate::accounts::ip_guard::shown(block.address),
                humantime::format_duration(whole_seconds(left)).to_string(),
                humantime::format_rfc3339_seconds(block.until).to_string(),
                block.node.clone(),
            ]
        })
        .collect();
    table(&["SURFACE", "ADDRESS", "LEFT", "UNTIL", "NODE"], &rows)
}
