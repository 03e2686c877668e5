//! A dry run of routing for one message: the route and connector order it
//! would get, and why. `smsgate route test` and the admin API's
//! `POST /admin/api/routes/test` both answer with this, so they can never
//! disagree; only the connector health they pass in differs (the CLI's
//! `--unhealthy` list, the running node's binds and pauses).

use jiff::Timestamp;
use serde_json::json;

use super::{ConnectorHealth, RouteExplanation, RouteInput, RouteTable};
use crate::accept::{E164, NumberTable};

/// The message to route.
#[derive(Debug, Clone, Copy)]
pub struct RouteTest<'a> {
    /// The submitting account's system_id (may be empty).
    pub account: &'a str,
    /// The account's group.
    pub group: Option<&'a str>,
    /// The source address (sender id).
    pub from: &'a str,
    /// The destination as the operator wrote it: international, `+`,
    /// spaces and dashes allowed.
    pub to: &'a str,
    /// The text; `None` routes it as binary.
    pub text: Option<&'a str>,
    /// Tags the message carries.
    pub tags: &'a [String],
    /// The SMPP data_coding.
    pub data_coding: u8,
    /// Route as at this time.
    pub at: Timestamp,
}

/// What routing would do with the message.
#[derive(Debug, Clone)]
pub struct RouteTestAnswer {
    /// The destination's digits, as routing sees them.
    pub destination: String,
    /// The number, when it is a valid one (otherwise acceptance would
    /// refuse the message with ESME_RINVDSTADR; it is routed anyway).
    pub number: Option<E164>,
    /// The time it was routed as at.
    pub at: Timestamp,
    /// The decision and its reasons.
    pub explanation: RouteExplanation,
}

/// Routes `test` through `table` as at `test.at`, with `health` saying
/// which connectors are up. An error when `to` is not a number at all.
pub fn test_route(
    table: &RouteTable,
    numbers: &NumberTable,
    test: &RouteTest<'_>,
    health: &dyn ConnectorHealth,
) -> Result<RouteTestAnswer, String> {
    let digits: String = test
        .to
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-'))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{:?} is not an international number (write it like +447700900123)",
            test.to
        ));
    }
    let number = numbers.validate(&digits);
    let destination = number
        .as_ref()
        .map_or(digits.clone(), |number| number.digits().to_string());
    let input = RouteInput {
        account: test.account,
        group: test.group,
        source: test.from,
        destination: &destination,
        text: test.text,
        data_coding: test.data_coding,
        tags: test.tags,
    };
    let explanation = table.explain(&input, test.at, health);
    Ok(RouteTestAnswer {
        destination,
        number,
        at: test.at,
        explanation,
    })
}

impl RouteTestAnswer {
    /// The answer for scripts (`route test --json`, the admin API).
    pub fn to_json(&self) -> serde_json::Value {
        let explanation = &self.explanation;
        let decision = explanation.decision.as_ref();
        let names = |names: &[std::sync::Arc<str>]| -> Vec<String> {
            names.iter().map(|name| name.to_string()).collect()
        };
        json!({
            "destination": self.destination,
            "destination_valid": self.number.is_some(),
            "at": self.at.to_string(),
            "route": decision.map(|d| d.route.to_string()),
            "strategy": decision.map(|d| d.strategy),
            "connectors": decision.map(|d| names(&d.connectors)).unwrap_or_default(),
            "actions": decision.map(|d| json!({
                "sender": d.actions.sender.as_deref(),
                "source_ton": d.actions.source_ton,
                "source_npi": d.actions.source_npi,
                "validity_cap_seconds": d.actions.validity_cap.map(|cap| cap.as_secs()),
            })),
            "connector_notes": &explanation.connectors,
            "routes": &explanation.routes,
            "explanation": explanation.lines(),
        })
    }
}
