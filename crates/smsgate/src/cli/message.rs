//! `smsgate message …`: look at stored messages and their traces.

use std::path::Path;
use std::time::SystemTime;

use clap::{Args, Subcommand};

use crate::node::database_path;
use crate::store::{MessageFilter, MessageRecord, MessageState, Store, StoredAddress};

use super::CliError;
use super::store_file::with_store;
use super::table::{fields, table};

/// `smsgate message`: the arguments shared by every message command.
#[derive(Debug, Args)]
pub struct MessageArgs {
    /// Print JSON instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
    /// What to do.
    #[command(subcommand)]
    command: MessageCommand,
}

#[derive(Debug, Subcommand)]
enum MessageCommand {
    /// Show one message and its trace (the message text itself is not printed).
    Show {
        /// The message id, as returned to the customer in submit_sm_resp.
        id: String,
    },
    /// List messages, newest first, without their traces.
    List {
        /// Only this account's messages.
        #[arg(long, value_name = "SYSTEM_ID")]
        account: Option<String>,
        /// Only messages in this state (accepted, queued, submitted,
        /// delivered, undeliverable, expired, rejected, deleted, unknown, failed).
        #[arg(long, value_parser = parse_state)]
        state: Option<MessageState>,
        /// Only messages accepted at or after this time: RFC 3339 in UTC
        /// (2026-03-01T12:00:00Z) or a duration ago (15m, 2h, 1d).
        #[arg(long, value_name = "T", value_parser = parse_since)]
        since: Option<SystemTime>,
        /// At most this many.
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: u32,
    },
}

/// Runs a message command against the store in `data_dir`.
pub fn run(data_dir: &Path, args: MessageArgs) -> Result<(), CliError> {
    match args.command {
        MessageCommand::Show { id } => {
            let message = with_store(data_dir, async |store| Ok(store.message(&id).await?))?
                .ok_or_else(|| {
                    format!(
                        "there is no message {id:?} in {} (see `smsgate message list`)",
                        database_path(data_dir).display()
                    )
                })?;
            print_message(&message, args.json)
        }
        MessageCommand::List {
            account,
            state,
            since,
            limit,
        } => {
            let filter = MessageFilter {
                account,
                state,
                since,
                limit: Some(limit),
                ..MessageFilter::default()
            };
            let messages = with_store(data_dir, async |store| Ok(store.messages(filter).await?))?;
            print_messages(&messages, args.json)
        }
    }
}

fn print_message(message: &MessageRecord, json: bool) -> Result<(), CliError> {
    if json {
        println!("{}", serde_json::to_string_pretty(message)?);
        return Ok(());
    }
    let part = message.part.map_or_else(
        || "-".to_string(),
        |part| {
            format!(
                "{} of {} (reference {})",
                part.seq, part.total, part.reference
            )
        },
    );
    let origin = &message.origin;
    let mut came_from = origin.protocol.clone();
    if let Some(addr) = origin.remote_addr {
        came_from.push_str(&format!(" from {addr}"));
    }
    if origin.tls {
        came_from.push_str(" over TLS");
    }
    if let Some(session) = origin.session_id {
        came_from.push_str(&format!(", session {session}"));
    }
    print!(
        "{}",
        fields(&[
            ("id", message.id.clone()),
            ("group", message.group_id.clone()),
            ("account", message.account.clone()),
            ("state", message.state.as_str().to_string()),
            ("from", address_text(&message.source)),
            ("to", address_text(&message.destination)),
            ("part", part),
            (
                "segments",
                format!("{} (cost {})", message.segments, message.cost)
            ),
            (
                "coding",
                format!(
                    "data_coding {}, esm_class 0x{:02x}, registered_delivery {}",
                    message.data_coding, message.esm_class, message.registered_delivery
                )
            ),
            ("payload", format!("{} octets", message.payload.len())),
            ("scheduled", time_or_dash(message.schedule_at)),
            ("expires", time_or_dash(message.expires_at)),
            ("origin", came_from),
            ("accepted", time_text(message.accepted_at)),
        ])
    );
    println!("\ntrace:");
    let rows: Vec<Vec<String>> = message
        .trace
        .iter()
        .map(|event| {
            vec![
                time_text(event.at),
                event.node.clone(),
                event.kind.clone(),
                event.detail.clone(),
            ]
        })
        .collect();
    print!("{}", table(&["AT", "NODE", "KIND", "DETAIL"], &rows));
    Ok(())
}

fn print_messages(messages: &[MessageRecord], json: bool) -> Result<(), CliError> {
    if json {
        println!("{}", serde_json::to_string_pretty(messages)?);
        return Ok(());
    }
    if messages.is_empty() {
        println!("no messages match");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = messages
        .iter()
        .map(|message| {
            vec![
                message.id.clone(),
                time_text(message.accepted_at),
                message.account.clone(),
                message.state.as_str().to_string(),
                message.source.addr.clone(),
                message.destination.addr.clone(),
                message.segments.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "ID", "ACCEPTED", "ACCOUNT", "STATE", "FROM", "TO", "SEGMENTS"
            ],
            &rows
        )
    );
    Ok(())
}

fn address_text(address: &StoredAddress) -> String {
    format!(
        "{} (ton {}, npi {})",
        address.addr, address.ton, address.npi
    )
}

fn time_text(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

fn time_or_dash(time: Option<SystemTime>) -> String {
    time.map_or_else(|| "-".to_string(), time_text)
}

fn parse_state(text: &str) -> Result<MessageState, String> {
    MessageState::parse(&text.to_ascii_lowercase()).ok_or_else(|| {
        let names: Vec<&str> = MessageState::ALL.iter().map(|s| s.as_str()).collect();
        format!("{text:?} is not a state: use one of {}", names.join(", "))
    })
}

/// RFC 3339, or a duration before now.
fn parse_since(text: &str) -> Result<SystemTime, String> {
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Ok(time);
    }
    humantime::parse_duration(text)
        .ok()
        .and_then(|ago| SystemTime::now().checked_sub(ago))
        .ok_or_else(|| {
            format!(
                "{text:?} is neither a time like 2026-03-01T12:00:00Z nor a duration like 15m, 2h or 1d"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn since_accepts_rfc3339_and_durations_ago() {
        assert_eq!(
            parse_since("2026-03-01T12:00:00Z").unwrap(),
            humantime::parse_rfc3339("2026-03-01T12:00:00Z").unwrap()
        );
        let two_hours_ago = parse_since("2h").unwrap();
        let expected = SystemTime::now() - Duration::from_secs(7200);
        let skew = expected
            .duration_since(two_hours_ago)
            .unwrap_or_else(|e| e.duration());
        assert!(skew < Duration::from_secs(5));
        assert!(parse_since("1d").is_ok());
        assert!(parse_since("15m").is_ok());
    }

    #[test]
    fn since_rejects_other_text_with_examples() {
        let error = parse_since("yesterday").unwrap_err();
        assert!(error.contains("15m"), "{error}");
    }

    #[test]
    fn state_names_are_case_insensitive_and_errors_list_them() {
        assert_eq!(parse_state("Delivered").unwrap(), MessageState::Delivered);
        assert!(parse_state("sent").unwrap_err().contains("undeliverable"));
    }
}
