//! MT routing: which route an accepted message takes, and the order in
//! which that route's connectors are tried.
//!
//! It owns the `[[routes]]` configuration, its compiled form
//! ([`RouteTable`]), the price tables of least_cost routes and the
//! strategies. It answers a question about one message and does nothing
//! else: it must not touch the store, queues or connectors. Connector
//! health comes from the caller (the dispatcher), as a [`ConnectorHealth`],
//! and the time as an argument, so a decision is reproducible in tests and
//! in `smsgate route test`.
//!
//! See docs/routing.md for the configuration and the rules of evaluation.

mod config;
mod dry_run;
mod error;
mod filters;
mod prices;
mod strategy;
mod table;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use self::config::{DEFAULT_ORDER, RouteConfig, Strategy, TimeWindowConfig};
pub use self::dry_run::{RouteTest, RouteTestAnswer, test_route};
pub use self::error::RouteError;
pub use self::prices::{Price, PriceTable};
pub use self::table::{RouteSummary, RouteTable, check_routes};

/// What routing looks at in a message. Borrowed, so routing a message
/// copies nothing out of it.
#[derive(Debug, Clone, Copy)]
pub struct RouteInput<'a> {
    /// The submitting account's system_id.
    pub account: &'a str,
    /// The account's group, if it has one.
    pub group: Option<&'a str>,
    /// The source address as submitted.
    pub source: &'a str,
    /// The destination's E.164 digits, without `+` (as `accept` stores it).
    pub destination: &'a str,
    /// The decoded text; `None` for binary messages.
    pub text: Option<&'a str>,
    /// The SMPP data_coding.
    pub data_coding: u8,
    /// Tags the message carries (from the HTTP API or a TLV).
    pub tags: &'a [String],
}

/// Where a message goes: the route that took it, the connectors in the
/// order to try them, and what the route changes in the message. Names are
/// shared (`Arc<str>`), so a decision per message costs no string copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision {
    /// The route's name, for the message trace.
    pub route: Arc<str>,
    /// How `connectors` was ordered.
    pub strategy: Strategy,
    /// The connectors to try, first one first; never empty.
    pub connectors: Vec<Arc<str>>,
    /// What the route changes in the message before it is sent.
    pub actions: RouteActions,
}

/// What a route changes in a message it takes; `None` leaves the
/// submitted value alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteActions {
    /// The sender id (source address) to send with.
    pub sender: Option<Arc<str>>,
    /// The source address TON to send with.
    pub source_ton: Option<u8>,
    /// The source address NPI to send with.
    pub source_npi: Option<u8>,
    /// The longest validity the message may keep: a message asking for
    /// longer (or for the default) expires this long after acceptance.
    pub validity_cap: Option<Duration>,
}

/// Whether a connector is worth trying first. The dispatcher answers from
/// its binds, queues and recent errors; routing only reads it.
pub trait ConnectorHealth {
    /// `true` if `connector` looks able to take messages now.
    fn is_healthy(&self, connector: &str) -> bool;
}

impl<F: Fn(&str) -> bool> ConnectorHealth for F {
    fn is_healthy(&self, connector: &str) -> bool {
        self(connector)
    }
}

/// Every connector is healthy: for tools and tests with no live connectors.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllHealthy;

impl ConnectorHealth for AllHealthy {
    fn is_healthy(&self, _connector: &str) -> bool {
        true
    }
}

/// A decision with its reasons, for people (`smsgate route test`): what
/// every route made of the message, and what each connector of the chosen
/// route was judged on.
#[derive(Debug, Clone, Serialize)]
pub struct RouteExplanation {
    /// The decision [`RouteTable::route_for`] would make (`None`: no route).
    #[serde(skip)]
    pub decision: Option<RouteDecision>,
    /// Every route, in evaluation order, with its verdict.
    pub routes: Vec<RouteVerdict>,
    /// The chosen route's connectors as declared (empty without a route).
    pub connectors: Vec<ConnectorNote>,
}

/// What one route made of the message.
#[derive(Debug, Clone, Serialize)]
pub struct RouteVerdict {
    /// The route.
    pub route: String,
    /// Its order.
    pub order: i64,
    /// Chosen, matched but outranked, or did not match.
    pub outcome: Outcome,
    /// Why, in words.
    pub reason: String,
}

/// How a route fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// This route takes the message.
    Chosen,
    /// Its filters hold, but another route comes first.
    Outranked,
    /// A filter does not hold.
    NoMatch,
}

/// One connector of the chosen route, as the strategy saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorNote {
    /// The connector.
    pub name: String,
    /// What the health check said.
    pub healthy: bool,
    /// least_cost: the price for the destination (`None`: no price, so the
    /// connector is left out).
    #[serde(serialize_with = "price_as_text")]
    pub price: Option<Price>,
    /// least_cost: the prefix that set the price.
    pub price_prefix: Option<String>,
    /// least_cost: the file the price came from.
    pub price_table: Option<String>,
    /// weighted: the connector's weight.
    pub weight: Option<i64>,
}

fn price_as_text<S: serde::Serializer>(price: &Option<Price>, s: S) -> Result<S::Ok, S::Error> {
    match price {
        Some(price) => s.serialize_str(&price.to_string()),
        None => s.serialize_none(),
    }
}

impl RouteExplanation {
    /// The explanation as lines of text.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        match &self.decision {
            None => lines.push("no route: the message would fail with \"no route\"".to_string()),
            Some(decision) => {
                let order = self
                    .routes
                    .iter()
                    .find(|verdict| verdict.outcome == Outcome::Chosen)
                    .map_or(DEFAULT_ORDER, |verdict| verdict.order);
                lines.push(format!(
                    "route: {} (order {order}, strategy {})",
                    decision.route,
                    decision.strategy.as_str()
                ));
                let names: Vec<&str> = decision.connectors.iter().map(|c| &**c).collect();
                lines.push(format!(
                    "connectors, in the order to try: {}",
                    names.join(", ")
                ));
                for note in &self.connectors {
                    lines.push(format!("  {}", note.describe()));
                }
                if let Some(actions) = decision.actions.describe() {
                    lines.push(format!("actions: {actions}"));
                }
            }
        }
        lines.push("routes, in evaluation order:".to_string());
        for verdict in &self.routes {
            let mark = match verdict.outcome {
                Outcome::Chosen => "chosen   ",
                Outcome::Outranked => "outranked",
                Outcome::NoMatch => "no match ",
            };
            lines.push(format!(
                "  {mark} {} (order {}): {}",
                verdict.route, verdict.order, verdict.reason
            ));
        }
        lines
    }
}

impl ConnectorNote {
    fn describe(&self) -> String {
        let mut out = format!(
            "{}: {}",
            self.name,
            if self.healthy {
                "healthy"
            } else {
                "unhealthy, tried last"
            }
        );
        if let Some(weight) = self.weight {
            let _ = write!(out, ", weight {weight}");
        }
        if let Some(table) = &self.price_table {
            match (&self.price, &self.price_prefix) {
                (Some(price), Some(prefix)) => {
                    let _ = write!(out, ", price {price} (prefix {prefix} in {table})");
                }
                _ => {
                    let _ = write!(out, ", no price in {table}: left out");
                }
            }
        }
        out
    }
}

impl RouteActions {
    /// The actions in words, or `None` when the route changes nothing.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(sender) = &self.sender {
            parts.push(format!("sender {sender}"));
        }
        if let Some(ton) = self.source_ton {
            parts.push(format!("source TON {ton}"));
        }
        if let Some(npi) = self.source_npi {
            parts.push(format!("source NPI {npi}"));
        }
        if let Some(cap) = self.validity_cap {
            parts.push(format!("validity cap {}", humantime::format_duration(cap)));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}
