//! `[[routes]]` in smsgate.toml, as written by the operator. Nothing here is
//! checked beyond what serde can see; [`super::RouteTable::from_config`]
//! compiles and checks the rest, naming the route at fault.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Where a route stands when it does not say: after routes that do say a
/// lower number, so a catch-all can be written anywhere in the file.
pub const DEFAULT_ORDER: i64 = 100;

/// One MT route: filters that pick messages (all optional, combined with
/// AND; a route without any is a default route), the connectors to send
/// them to with a strategy, and actions applied to the message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique; written into every message's trace.
    pub name: String,
    /// Lower runs first. Among matching routes of equal order, the one with
    /// the longest matching prefix wins, then the one declared first.
    #[serde(default = "default_order")]
    pub order: i64,
    /// Destination prefixes on the E.164 digits (`447` or `+447`).
    #[serde(default, deserialize_with = "one_or_many")]
    pub prefix: Vec<String>,
    /// A regex searched in the destination's E.164 digits (anchor it with
    /// `^...$` to match the whole number).
    pub destination_regex: Option<String>,
    /// The source address, exactly.
    pub source: Option<String>,
    /// A regex searched in the source address.
    pub source_regex: Option<String>,
    /// The submitting accounts (system_ids); any of them.
    #[serde(default, deserialize_with = "one_or_many")]
    pub account: Vec<String>,
    /// The account groups; any of them.
    #[serde(default, deserialize_with = "one_or_many")]
    pub group: Vec<String>,
    /// Message tags (from the HTTP API or a TLV); the message must carry
    /// one of them.
    #[serde(default, deserialize_with = "one_or_many")]
    pub tag: Vec<String>,
    /// A regex searched in the decoded text. Messages without text
    /// (binary data) never match a route that has one.
    pub text_regex: Option<String>,
    /// The data_coding values; any of them.
    #[serde(default, deserialize_with = "one_or_many")]
    pub data_coding: Vec<u8>,
    /// When the route applies.
    pub time: Option<TimeWindowConfig>,
    /// The connectors this route sends to, in priority order.
    #[serde(deserialize_with = "one_or_many")]
    pub connectors: Vec<String>,
    /// How the connector order is chosen for each message.
    #[serde(default)]
    pub strategy: Strategy,
    /// For `weighted`: one positive weight per connector (default: equal).
    pub weights: Option<Vec<u32>>,
    /// For `least_cost`: connector name → CSV price table (`prefix,price`),
    /// relative to the configuration file's directory. Every connector of
    /// a least_cost route needs one.
    #[serde(default)]
    pub price_tables: BTreeMap<String, PathBuf>,
    /// Replaces the message's sender id (source address).
    pub sender: Option<String>,
    /// Replaces the source address TON.
    pub source_ton: Option<u8>,
    /// Replaces the source address NPI.
    pub source_npi: Option<u8>,
    /// The longest validity a message keeps on this route (`6h`): a
    /// message asking for longer gets this.
    #[serde(default, with = "crate::settings::option_duration")]
    pub validity_cap: Option<Duration>,
}

fn default_order() -> i64 {
    DEFAULT_ORDER
}

/// A time-of-day and day-of-week window. A window whose `from` is later
/// than its `until` crosses midnight; its early-morning part belongs to the
/// day it started on (`days = ["fri"]`, 22:00 to 06:00 covers Saturday
/// 03:00, not Friday 03:00).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeWindowConfig {
    /// `mon` ... `sun`; empty: every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// `HH:MM`, inclusive; default 00:00.
    pub from: Option<String>,
    /// `HH:MM`, exclusive; default 24:00 (the end of the day).
    pub until: Option<String>,
    /// An IANA zone name (`Europe/London`); default UTC.
    pub timezone: Option<String>,
}

/// How a route orders its connectors for a message. Unhealthy connectors
/// always go last, in declared order, so failover can still reach them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The declared order.
    #[default]
    Failover,
    /// Cheapest first by the price tables, ties in declared order.
    LeastCost,
    /// Smooth weighted round robin picks the first connector; the others
    /// follow in declared order.
    Weighted,
}

impl Strategy {
    /// The name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Failover => "failover",
            Strategy::LeastCost => "least_cost",
            Strategy::Weighted => "weighted",
        }
    }
}

/// serde: a single value or a list of them (`prefix = "44"` or
/// `prefix = ["44", "33"]`).
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "a value or a list of values")]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(value) => vec![value],
        OneOrMany::Many(values) => values,
    })
}
