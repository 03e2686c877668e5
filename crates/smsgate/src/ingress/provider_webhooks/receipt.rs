//! A receipt callback's fields as the [`ProviderReceipt`] an SMPP receipt
//! would have given: the provider's id, the state as SMPP's `stat` word,
//! the error code and the time, if the provider sends them.
//!
//! Status words are read ignoring case, in this order: the connector's
//! `status_map`, the built-in words below, SMPP's own words (`DELIVRD`,
//! `UNDELIV`, ...). A word none of them knows is not refused: it is kept
//! as [`ReceiptStat::Other`], as the SMPP path keeps a carrier's own word,
//! so the receipt still reaches the message's trace and nothing is lost;
//! refusing it would only make the provider retry a receipt we will never
//! read better.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use smpp::receipt::ReceiptStat;
use tracing::debug;

use super::Refusal;
use super::config::ProviderWebhookConfig;
use super::fields::Fields;
use crate::connectors::{InboundEvent, ProviderReceipt};

/// Words HTTP providers commonly use. `accepted` is in flight here, not
/// SMPP's final ACCEPTD: HTTP providers (Vonage, Twilio) say it of a
/// message handed to the carrier.
const BUILT_IN: &[(&str, ReceiptStat)] = &[
    ("delivered", ReceiptStat::Delivered),
    ("undelivered", ReceiptStat::Undeliverable),
    ("failed", ReceiptStat::Undeliverable),
    ("expired", ReceiptStat::Expired),
    ("rejected", ReceiptStat::Rejected),
    ("accepted", ReceiptStat::Enroute),
    ("queued", ReceiptStat::Enroute),
    ("sending", ReceiptStat::Enroute),
    ("sent", ReceiptStat::Enroute),
    ("submitted", ReceiptStat::Enroute),
    ("buffered", ReceiptStat::Enroute),
    ("deleted", ReceiptStat::Deleted),
    ("canceled", ReceiptStat::Deleted),
    ("cancelled", ReceiptStat::Deleted),
    ("unknown", ReceiptStat::Unknown),
];

/// A connector's status words, lower-cased.
#[derive(Debug, Clone)]
pub(super) struct StatusWords(HashMap<String, ReceiptStat>);

impl StatusWords {
    /// The built-in words, overridden by the configured ones.
    pub(super) fn new(config: &ProviderWebhookConfig) -> StatusWords {
        let built_in = BUILT_IN
            .iter()
            .map(|(word, stat)| (word.to_string(), stat.clone()));
        let configured = config
            .status_map
            .iter()
            .map(|(word, stat)| (word.trim().to_ascii_lowercase(), ReceiptStat::from(*stat)));
        StatusWords(built_in.chain(configured).collect())
    }

    /// The state `word` stands for.
    pub(super) fn stat(&self, word: &str) -> ReceiptStat {
        let word = word.trim();
        match self.0.get(&word.to_ascii_lowercase()) {
            Some(stat) => stat.clone(),
            None => ReceiptStat::from_word(word),
        }
    }
}

/// The receipt the request describes; 400 when the id or the status is
/// missing.
pub(super) fn read(
    connector: &str,
    config: &ProviderWebhookConfig,
    words: &StatusWords,
    fields: &Fields,
) -> Result<InboundEvent, Refusal> {
    let provider_id = fields.require(&config.key_id)?.trim().to_string();
    if provider_id.is_empty() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("the {:?} field is empty", config.key_id),
        ));
    }
    let status = fields.require(&config.key_status)?;
    let stat = words.stat(&status);
    if let ReceiptStat::Other(word) = &stat {
        debug!(
            connector,
            word, "receipt status not in status_map; kept as is"
        );
    }
    let optional = |key: &Option<String>| key.as_ref().and_then(|key| fields.get(key));
    let done_at = optional(&config.key_done_at).and_then(|text| {
        let time = parse_time(&text);
        if time.is_none() {
            debug!(connector, time = text, "receipt time unreadable; ignored");
        }
        time
    });
    Ok(InboundEvent::Receipt(ProviderReceipt {
        connector: connector.to_string(),
        provider_id,
        stat,
        err: optional(&config.key_err).unwrap_or_default(),
        network_error: None,
        done_at,
        received_at: SystemTime::now(),
    }))
}

/// RFC 3339 (`2026-03-01T12:00:00Z`, any offset) or unix seconds. An
/// unreadable time is dropped, not refused: it is informational, and the
/// receipt matters more.
fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = text.parse().ok()?;
        return UNIX_EPOCH.checked_add(Duration::from_secs(seconds));
    }
    jiff::Timestamp::from_str(text).ok().map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(map: &str) -> StatusWords {
        StatusWords::new(&toml::from_str(map).unwrap())
    }

    #[test]
    fn configured_words_come_first_and_ignore_case() {
        let words = words(r#"status_map = { OK = "DELIVRD", Failed = "REJECTD" }"#);
        assert_eq!(words.stat("ok"), ReceiptStat::Delivered);
        assert_eq!(words.stat("FAILED"), ReceiptStat::Rejected);
    }

    #[test]
    fn common_words_are_built_in() {
        let words = words("");
        assert_eq!(words.stat("Delivered"), ReceiptStat::Delivered);
        assert_eq!(words.stat("failed"), ReceiptStat::Undeliverable);
        assert_eq!(words.stat("EXPIRED"), ReceiptStat::Expired);
        assert_eq!(words.stat("rejected"), ReceiptStat::Rejected);
        assert_eq!(words.stat("sent"), ReceiptStat::Enroute);
        assert_eq!(words.stat("queued"), ReceiptStat::Enroute);
        assert_eq!(words.stat("accepted"), ReceiptStat::Enroute);
    }

    #[test]
    fn smpp_words_are_understood() {
        let words = words("");
        assert_eq!(words.stat("DELIVRD"), ReceiptStat::Delivered);
        assert_eq!(words.stat("undeliv"), ReceiptStat::Undeliverable);
        assert_eq!(words.stat("ACCEPTD"), ReceiptStat::Accepted);
    }

    #[test]
    fn unknown_words_are_kept_as_received() {
        assert_eq!(
            words("").stat(" Throttled "),
            ReceiptStat::Other("Throttled".into())
        );
        assert_eq!(words("").stat(""), ReceiptStat::Unknown);
    }

    #[test]
    fn times_are_rfc3339_or_unix_seconds() {
        let at = UNIX_EPOCH + Duration::from_secs(1_772_366_400);
        assert_eq!(parse_time("1772366400"), Some(at));
        assert_eq!(parse_time("2026-03-01T12:00:00Z"), Some(at));
        assert_eq!(parse_time("2026-03-01T13:00:00+01:00"), Some(at));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("99999999999999999999999"), None);
    }
}
