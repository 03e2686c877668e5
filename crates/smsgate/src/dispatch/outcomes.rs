//! What a provider's answer means for a message: the per-connector outcome
//! table (`[connectors.NAME.outcomes]`) over the defaults taken from the
//! provider guides in the seeds (see docs/routing.md, "Outcomes").
//!
//! ```toml
//! [connectors.otp.outcomes]
//! fail_over = ["0x45"]                  # try the route's next connector now
//! retry = ["ESME_RTHROTTLED", "0x08", "http:5xx", "http:429", "timeout"]
//! final = ["0x0B", "http:4xx", "check_failed"]
//! ```
//!
//! An entry is an SMPP command_status (hex `0x45`, decimal `69`, or its
//! name `ESME_RSUBMITFAIL`), an HTTP status (`http:503`) or class
//! (`http:5xx`), or a failure without an answer: `timeout`,
//! `connection_lost`, `not_bound`, `malformed`, `check_failed` (an HTTP 2xx
//! whose body failed the connector's response check) or `not_sendable`
//! (the connector could not send the text at all, e.g. characters its
//! charset lacks). A connector's entries take precedence over the defaults;
//! an exact HTTP status over its class.

use std::collections::HashMap;

use serde::Deserialize;
use smpp::CommandStatus;

use crate::connectors::{SubmitFailure, SubmitOutcome};
use crate::settings::InvalidSetting;

/// What a submit's outcome means for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The provider has it.
    Submitted,
    /// This connector cannot carry it (e.g. ESME_RSUBMITFAIL: the recipient
    /// is not reachable through this channel): try the next one now.
    FailOver,
    /// Maybe later (throttled, provider busy or broken, no answer): retry
    /// the same connector after a delay, then fail over.
    Retry,
    /// The message itself is wrong for the provider (bad destination, bad
    /// length, ...): no other connector would do better; it ends `rejected`.
    Final,
}

/// `[connectors.NAME.outcomes]`: the codes whose verdict differs from the
/// defaults, grouped by verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutcomesConfig {
    /// Codes that fail over to the next connector at once.
    pub fail_over: Vec<String>,
    /// Codes retried on the same connector (`[dispatch] retry_delays`), then failed over.
    pub retry: Vec<String>,
    /// Codes that end the message `rejected`.
    pub r#final: Vec<String>,
}

/// One entry of an outcome table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Code {
    Smpp(u32),
    Http(u16),
    HttpClass(u16),
    Failure(SubmitFailure),
    CheckFailed,
    NotSendable,
}

impl Code {
    fn parse(text: &str) -> Option<Code> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        if let Some(http) = lower.strip_prefix("http:") {
            return match http.as_bytes() {
                [class @ b'1'..=b'5', b'x', b'x'] => Some(Code::HttpClass(u16::from(class - b'0'))),
                _ => http
                    .parse::<u16>()
                    .ok()
                    .filter(|code| (100..=599).contains(code))
                    .map(Code::Http),
            };
        }
        match lower.as_str() {
            "timeout" => return Some(Code::Failure(SubmitFailure::Timeout)),
            "connection_lost" => return Some(Code::Failure(SubmitFailure::ConnectionLost)),
            "not_bound" => return Some(Code::Failure(SubmitFailure::NotBound)),
            "malformed" => return Some(Code::Failure(SubmitFailure::Malformed)),
            "check_failed" => return Some(Code::CheckFailed),
            "not_sendable" => return Some(Code::NotSendable),
            _ => {}
        }
        if let Some(hex) = lower.strip_prefix("0x") {
            return u32::from_str_radix(hex, 16).ok().map(Code::Smpp);
        }
        if let Ok(decimal) = text.parse::<u32>() {
            return Some(Code::Smpp(decimal));
        }
        CommandStatus::from_name(text).map(|status| Code::Smpp(status.0))
    }
}

/// A connector's compiled outcome table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcomes {
    table: HashMap<Code, Verdict>,
}

impl Default for Outcomes {
    fn default() -> Self {
        Outcomes { table: defaults() }
    }
}

/// The defaults, after the provider guides: 0x45 fails over now; throttling,
/// system errors, a full queue, a lost bind and no answer are retried; HTTP
/// 429/408/5xx are retried; everything else is final.
fn defaults() -> HashMap<Code, Verdict> {
    let mut table = HashMap::new();
    table.insert(
        Code::Smpp(CommandStatus::ESME_RSUBMITFAIL.0),
        Verdict::FailOver,
    );
    for status in [
        CommandStatus::ESME_RTHROTTLED,
        CommandStatus::ESME_RSYSERR,
        CommandStatus::ESME_RMSGQFUL,
        CommandStatus::ESME_RINVBNDSTS,
    ] {
        table.insert(Code::Smpp(status.0), Verdict::Retry);
    }
    for failure in [
        SubmitFailure::Timeout,
        SubmitFailure::ConnectionLost,
        SubmitFailure::NotBound,
        SubmitFailure::Malformed,
    ] {
        table.insert(Code::Failure(failure), Verdict::Retry);
    }
    table.insert(Code::Http(429), Verdict::Retry);
    table.insert(Code::Http(408), Verdict::Retry);
    table.insert(Code::HttpClass(5), Verdict::Retry);
    table.insert(Code::CheckFailed, Verdict::Final);
    table.insert(Code::NotSendable, Verdict::FailOver);
    table
}

impl Outcomes {
    /// The defaults overridden by a connector's `[outcomes]` table.
    pub fn from_config(
        connector: &str,
        config: &OutcomesConfig,
    ) -> Result<Outcomes, InvalidSetting> {
        let mut table = defaults();
        let groups = [
            ("fail_over", &config.fail_over, Verdict::FailOver),
            ("retry", &config.retry, Verdict::Retry),
            ("final", &config.r#final, Verdict::Final),
        ];
        let mut seen = HashMap::new();
        for (key, entries, verdict) in groups {
            for entry in entries {
                let code = Code::parse(entry).ok_or_else(|| {
                    InvalidSetting(format!(
                        "connector {connector}: outcomes.{key}: {entry:?} is neither an SMPP \
                         status (0x45, 69, ESME_RSUBMITFAIL), an HTTP status (http:503, \
                         http:5xx) nor one of timeout, connection_lost, not_bound, malformed, \
                         check_failed, not_sendable"
                    ))
                })?;
                if let Some(other) = seen.insert(code, key)
                    && other != key
                {
                    return Err(InvalidSetting(format!(
                        "connector {connector}: {entry:?} is both in outcomes.{other} and outcomes.{key}"
                    )));
                }
                table.insert(code, verdict);
            }
        }
        Ok(Outcomes { table })
    }

    /// What `outcome` means for the message on this connector.
    pub fn classify(&self, outcome: &SubmitOutcome) -> Verdict {
        match outcome {
            SubmitOutcome::Accepted { .. } => Verdict::Submitted,
            SubmitOutcome::Refused { status } => self
                .table
                .get(&Code::Smpp(status.0))
                .copied()
                .unwrap_or(Verdict::Final),
            SubmitOutcome::HttpRefused { status: 0, .. } => self
                .table
                .get(&Code::NotSendable)
                .copied()
                .unwrap_or(Verdict::FailOver),
            SubmitOutcome::HttpRefused { status, .. } if (200..300).contains(status) => self
                .table
                .get(&Code::Http(*status))
                .or_else(|| self.table.get(&Code::CheckFailed))
                .copied()
                .unwrap_or(Verdict::Final),
            SubmitOutcome::HttpRefused { status, .. } => self
                .table
                .get(&Code::Http(*status))
                .or_else(|| self.table.get(&Code::HttpClass(status / 100)))
                .copied()
                .unwrap_or(Verdict::Final),
            SubmitOutcome::Failed { reason } => self
                .table
                .get(&Code::Failure(*reason))
                .copied()
                .unwrap_or(Verdict::Retry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: CommandStatus) -> SubmitOutcome {
        SubmitOutcome::Refused { status }
    }

    fn http(status: u16) -> SubmitOutcome {
        SubmitOutcome::HttpRefused {
            status,
            detail: String::new(),
        }
    }

    #[test]
    fn by_default_submit_fail_fails_over_at_once() {
        let outcomes = Outcomes::default();
        assert_eq!(
            outcomes.classify(&refused(CommandStatus::ESME_RSUBMITFAIL)),
            Verdict::FailOver
        );
    }

    #[test]
    fn by_default_throttling_system_errors_and_lost_answers_are_retried() {
        let outcomes = Outcomes::default();
        for status in [
            CommandStatus::ESME_RTHROTTLED,
            CommandStatus::ESME_RSYSERR,
            CommandStatus::ESME_RMSGQFUL,
        ] {
            assert_eq!(
                outcomes.classify(&refused(status)),
                Verdict::Retry,
                "{status:?}"
            );
        }
        for reason in [
            SubmitFailure::Timeout,
            SubmitFailure::ConnectionLost,
            SubmitFailure::NotBound,
            SubmitFailure::Malformed,
        ] {
            assert_eq!(
                outcomes.classify(&SubmitOutcome::Failed { reason }),
                Verdict::Retry
            );
        }
    }

    #[test]
    fn by_default_a_bad_destination_or_length_is_final() {
        let outcomes = Outcomes::default();
        assert_eq!(
            outcomes.classify(&refused(CommandStatus::ESME_RINVDSTADR)),
            Verdict::Final
        );
        assert_eq!(
            outcomes.classify(&refused(CommandStatus::ESME_RINVMSGLEN)),
            Verdict::Final
        );
    }

    #[test]
    fn by_default_http_5xx_and_429_are_retried_and_4xx_final() {
        let outcomes = Outcomes::default();
        assert_eq!(outcomes.classify(&http(503)), Verdict::Retry);
        assert_eq!(outcomes.classify(&http(500)), Verdict::Retry);
        assert_eq!(outcomes.classify(&http(429)), Verdict::Retry);
        assert_eq!(outcomes.classify(&http(400)), Verdict::Final);
        assert_eq!(outcomes.classify(&http(200)), Verdict::Final);
        assert_eq!(outcomes.classify(&http(0)), Verdict::FailOver);
    }

    #[test]
    fn a_connector_table_overrides_the_defaults_by_hex_decimal_name_and_http_class() {
        let config = OutcomesConfig {
            fail_over: vec!["0x0b".into(), "http:4xx".into()],
            retry: vec!["ESME_RINVMSGLEN".into(), "http:200".into()],
            r#final: vec!["88".into(), "timeout".into()],
        };
        let outcomes = Outcomes::from_config("c", &config).expect("valid");
        assert_eq!(
            outcomes.classify(&refused(CommandStatus::ESME_RINVDSTADR)),
            Verdict::FailOver
        );
        assert_eq!(
            outcomes.classify(&refused(CommandStatus::ESME_RINVMSGLEN)),
            Verdict::Retry
        );
        assert_eq!(
            outcomes.classify(&refused(CommandStatus::ESME_RTHROTTLED)),
            Verdict::Final
        );
        assert_eq!(outcomes.classify(&http(404)), Verdict::FailOver);
        assert_eq!(
            outcomes.classify(&http(429)),
            Verdict::Retry,
            "exact beats class"
        );
        assert_eq!(outcomes.classify(&http(200)), Verdict::Retry);
        assert_eq!(
            outcomes.classify(&SubmitOutcome::Failed {
                reason: SubmitFailure::Timeout
            }),
            Verdict::Final
        );
    }

    #[test]
    fn unknown_codes_and_contradictions_are_refused_with_the_connector_named() {
        let bad = OutcomesConfig {
            retry: vec!["ESME_NOPE".into()],
            ..OutcomesConfig::default()
        };
        let error = Outcomes::from_config("carrier", &bad).expect_err("unknown name");
        assert!(error.to_string().contains("carrier"), "{error}");
        let both = OutcomesConfig {
            retry: vec!["0x45".into()],
            r#final: vec!["69".into()],
            ..OutcomesConfig::default()
        };
        assert!(Outcomes::from_config("carrier", &both).is_err());
    }
}
