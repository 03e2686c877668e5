//! MO routing: which customer an inbound message (MO) goes to.
//!
//! Two sources of rules, asked in this order:
//! 1. `[[mo_routes]]` in smsgate.toml, in file order; the first whose
//!    filters all hold takes the message. A route without filters takes
//!    every message that reaches it.
//! 2. The accounts' MO address ranges (kept in the store with each
//!    account, as in the SMPP server how-to where `+31699887766` belongs to
//!    `Test1`). When several accounts' ranges match, the account first in
//!    `system_id` order takes it, and the explanation names the others.
//!
//! No match: the caller stores the message failed with "no matching
//! address range".
//!
//! Addresses are compared without a leading `+`, so `+31699887766` and
//! `31699887766` are the same number, whichever way the provider or the
//! configuration writes it. Route regexes are searched in the address
//! (anchor them with `^...$` to match all of it), as in the MT routes;
//! address-range regexes must match the whole address.
//!
//! ```toml
//! [[mo_routes]]                      # mo route 1
//! destination = "+31699887766"       # exactly this number
//! keyword = "stop"                   # and the text's first word, any case
//! webhook = "optout"                 # -> [webhooks.optout]
//!
//! [[mo_routes]]                      # mo route 2
//! destination_prefix = "3170"        # numbers starting 3170...
//! connector = "carrier-nl"           # that arrived through this connector
//! asterisk = "pbx"                   # -> [asterisk.pbx]
//!
//! [[mo_routes]]                      # mo route 3
//! destination_regex = "^44(7700|7911)" # other filters: source_prefix, source_regex
//! account = "Test2"                  # -> the SMPP account Test2
//! ```
//!
//! Every filter is optional (all that are given must hold) and every route
//! names exactly one target: `account`, `webhook` or `asterisk`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use regex::Regex;
use serde::Deserialize;

use crate::settings::InvalidSetting;

/// One `[[mo_routes]]` entry, as written. Compiled and checked by
/// [`MoRouteTable::from_config`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoRouteConfig {
    /// The destination (our number), exactly; with or without `+`.
    pub destination: Option<String>,
    /// The start of the destination; with or without `+`.
    pub destination_prefix: Option<String>,
    /// A regex searched in the destination (without its `+`).
    pub destination_regex: Option<String>,
    /// The start of the source (the handset); with or without `+`.
    pub source_prefix: Option<String>,
    /// A regex searched in the source (without its `+`).
    pub source_regex: Option<String>,
    /// The text's first word, compared without regard to case. Messages
    /// without text (binary) never match a route that has one.
    pub keyword: Option<String>,
    /// The connector the message came through.
    pub connector: Option<String>,
    /// Target: the SMPP account (system_id) to deliver to.
    pub account: Option<String>,
    /// Target: the webhook (`[webhooks.NAME]`) to post to.
    pub webhook: Option<String>,
    /// Target: the Asterisk spool (`[asterisk.NAME]`) to write to.
    pub asterisk: Option<String>,
}

/// Where an MO message goes. Names are shared, so a decision copies no
/// strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoTarget {
    /// An SMPP account, by system_id: a deliver_sm to one of its receiver
    /// sessions.
    Account(Arc<str>),
    /// A webhook, by its name in `[webhooks.NAME]`.
    Webhook(Arc<str>),
    /// An Asterisk spool, by its name in `[asterisk.NAME]`.
    Asterisk(Arc<str>),
}

impl fmt::Display for MoTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoTarget::Account(name) => write!(f, "account {name}"),
            MoTarget::Webhook(name) => write!(f, "webhook {name}"),
            MoTarget::Asterisk(name) => write!(f, "asterisk {name}"),
        }
    }
}

/// What MO routing looks at in a message. Borrowed: routing copies
/// nothing out of it.
#[derive(Debug, Clone, Copy)]
pub struct MoInput<'a> {
    /// The connector it came through.
    pub connector: &'a str,
    /// The handset's address, as received.
    pub source: &'a str,
    /// Our number or short code, as received.
    pub destination: &'a str,
    /// The decoded text; `None` for binary messages.
    pub text: Option<&'a str>,
}

/// Where a message goes, and why, in words for its trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoDecision {
    /// The target.
    pub target: MoTarget,
    /// Which rule chose it, e.g. `mo route 2: destination prefix 31699`.
    pub explanation: String,
}

/// The compiled MO rules: `[[mo_routes]]`, then the accounts' address
/// ranges. Built once per configuration (and again when accounts or the
/// file change); read-only afterwards.
#[derive(Debug, Default)]
pub struct MoRouteTable {
    /// In file order.
    routes: Vec<MoRoute>,
    /// Sorted by system_id, each account's ranges in their own order.
    ranges: Vec<AccountRange>,
}

#[derive(Debug)]
struct MoRoute {
    /// From 1, as operators count.
    number: usize,
    filters: Vec<Filter>,
    target: MoTarget,
}

/// One filter of a route, compiled. Addresses and prefixes are kept
/// without a leading `+`; keywords in lowercase.
#[derive(Debug)]
enum Filter {
    Destination(Box<str>),
    DestinationPrefix(Box<str>),
    DestinationRegex(Regex),
    SourcePrefix(Box<str>),
    SourceRegex(Regex),
    Keyword(Box<str>),
    Connector(Box<str>),
}

#[derive(Debug)]
struct AccountRange {
    system_id: Arc<str>,
    /// As written, for explanations.
    pattern: Box<str>,
    range: AddressRange,
}

/// An account's MO address range: the forms `smsgate account` takes.
#[derive(Debug)]
enum AddressRange {
    /// `31699887766` or `+31699887766`: this number.
    Exact(Box<str>),
    /// `31699*`: numbers that start so (`*` alone: every number).
    Prefix(Box<str>),
    /// `/regex/`: numbers the regex matches entirely.
    Regex(Regex),
}

impl MoRouteTable {
    /// Compiles `[[mo_routes]]` and the accounts' address ranges, given as
    /// (system_id, range) pairs: one pair per range, an account with
    /// several ranges giving several pairs. A range is a number
    /// (`+31699887766`), a prefix ending in `*` (`3169988*`) or a regex
    /// between slashes (`/3169988\d{4}/`), which must match the whole
    /// number (without `+`).
    ///
    /// Errors name the route (counted from 1) and the key, or the account
    /// and the range.
    pub fn from_config(
        routes: &[MoRouteConfig],
        account_ranges: &[(String, String)],
    ) -> Result<MoRouteTable, InvalidSetting> {
        let routes = routes
            .iter()
            .enumerate()
            .map(|(index, config)| MoRoute::compile(index + 1, config))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ranges = Vec::with_capacity(account_ranges.len());
        for (system_id, pattern) in account_ranges {
            let range = AddressRange::parse(pattern).map_err(|problem| {
                InvalidSetting(format!(
                    "account {system_id}: address range {pattern:?}: {problem}"
                ))
            })?;
            ranges.push(AccountRange {
                system_id: Arc::from(system_id.as_str()),
                pattern: Box::from(pattern.as_str()),
                range,
            });
        }
        // Stable: an account's ranges keep their order.
        ranges.sort_by(|a, b| a.system_id.cmp(&b.system_id));
        Ok(MoRouteTable { routes, ranges })
    }

    /// The target for a message, or `None` when no route and no address
    /// range takes it.
    pub fn route(&self, input: &MoInput<'_>) -> Option<MoDecision> {
        let destination = without_plus(input.destination);
        let source = without_plus(input.source);
        let keyword = input.text.and_then(|text| text.split_whitespace().next());
        if let Some(route) = self
            .routes
            .iter()
            .find(|route| route.matches(input, destination, source, keyword))
        {
            return Some(MoDecision {
                target: route.target.clone(),
                explanation: route.explain(),
            });
        }
        let (index, first) = self
            .ranges
            .iter()
            .enumerate()
            .find(|(_, range)| range.range.matches(destination))?;
        let mut others: Vec<&str> = self.ranges[index + 1..]
            .iter()
            .filter(|other| other.system_id != first.system_id && other.range.matches(destination))
            .map(|other| &*other.system_id)
            .collect();
        others.dedup();
        let mut explanation = format!(
            "address range {} of account {}",
            first.pattern, first.system_id
        );
        if !others.is_empty() {
            explanation.push_str(&format!(
                " (also in the ranges of {}; the first account by system_id takes it)",
                others.join(", ")
            ));
        }
        Some(MoDecision {
            target: MoTarget::Account(first.system_id.clone()),
            explanation,
        })
    }
}

impl MoRoute {
    fn compile(number: usize, config: &MoRouteConfig) -> Result<MoRoute, InvalidSetting> {
        let invalid = |key: &str, problem: String| {
            InvalidSetting(format!("mo route {number}: {key}: {problem}"))
        };
        let regex =
            |key: &str, pattern: &str| Regex::new(pattern).map_err(|e| invalid(key, e.to_string()));
        let address = |key: &str, value: &str| {
            let digits = without_plus(value);
            if digits.is_empty() {
                Err(invalid(key, "is empty".into()))
            } else {
                Ok(Box::<str>::from(digits))
            }
        };
        let target_name = |key: &str, name: &str| {
            if name.is_empty() {
                Err(invalid(key, "is empty".into()))
            } else {
                Ok(Arc::<str>::from(name))
            }
        };
        let mut filters = Vec::new();
        if let Some(value) = &config.destination {
            filters.push(Filter::Destination(address("destination", value)?));
        }
        if let Some(value) = &config.destination_prefix {
            filters.push(Filter::DestinationPrefix(address(
                "destination_prefix",
                value,
            )?));
        }
        if let Some(pattern) = &config.destination_regex {
            filters.push(Filter::DestinationRegex(regex(
                "destination_regex",
                pattern,
            )?));
        }
        if let Some(value) = &config.source_prefix {
            filters.push(Filter::SourcePrefix(address("source_prefix", value)?));
        }
        if let Some(pattern) = &config.source_regex {
            filters.push(Filter::SourceRegex(regex("source_regex", pattern)?));
        }
        if let Some(keyword) = &config.keyword {
            if keyword.is_empty() || keyword.contains(char::is_whitespace) {
                return Err(invalid(
                    "keyword",
                    format!(
                        "{keyword:?} is not one word (it is compared with the text's first word)"
                    ),
                ));
            }
            let lowercase: String = keyword.chars().flat_map(char::to_lowercase).collect();
            filters.push(Filter::Keyword(Box::from(lowercase)));
        }
        if let Some(connector) = &config.connector {
            if connector.is_empty() {
                return Err(invalid("connector", "is empty".into()));
            }
            filters.push(Filter::Connector(Box::from(connector.as_str())));
        }
        let target = match (&config.account, &config.webhook, &config.asterisk) {
            (Some(name), None, None) => MoTarget::Account(target_name("account", name)?),
            (None, Some(name), None) => MoTarget::Webhook(target_name("webhook", name)?),
            (None, None, Some(name)) => MoTarget::Asterisk(target_name("asterisk", name)?),
            _ => {
                return Err(invalid(
                    "target",
                    "name exactly one of account, webhook or asterisk".into(),
                ));
            }
        };
        Ok(MoRoute {
            number,
            filters,
            target,
        })
    }

    fn matches(
        &self,
        input: &MoInput<'_>,
        destination: &str,
        source: &str,
        keyword: Option<&str>,
    ) -> bool {
        self.filters.iter().all(|filter| match filter {
            Filter::Destination(number) => destination == &**number,
            Filter::DestinationPrefix(prefix) => destination.starts_with(&**prefix),
            Filter::DestinationRegex(regex) => regex.is_match(destination),
            Filter::SourcePrefix(prefix) => source.starts_with(&**prefix),
            Filter::SourceRegex(regex) => regex.is_match(source),
            Filter::Keyword(wanted) => keyword.is_some_and(|word| same_ignoring_case(word, wanted)),
            Filter::Connector(name) => input.connector == &**name,
        })
    }

    /// `mo route 2: destination prefix 31699, keyword stop`.
    fn explain(&self) -> String {
        let filters: Vec<String> = self
            .filters
            .iter()
            .map(|filter| match filter {
                Filter::Destination(number) => format!("destination {number}"),
                Filter::DestinationPrefix(prefix) => format!("destination prefix {prefix}"),
                Filter::DestinationRegex(regex) => format!("destination regex {}", regex.as_str()),
                Filter::SourcePrefix(prefix) => format!("source prefix {prefix}"),
                Filter::SourceRegex(regex) => format!("source regex {}", regex.as_str()),
                Filter::Keyword(keyword) => format!("keyword {keyword}"),
                Filter::Connector(name) => format!("connector {name}"),
            })
            .collect();
        if filters.is_empty() {
            format!("mo route {}: no filters, takes every message", self.number)
        } else {
            format!("mo route {}: {}", self.number, filters.join(", "))
        }
    }
}

impl AddressRange {
    fn parse(pattern: &str) -> Result<AddressRange, String> {
        if let Some(inner) = pattern
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
        {
            if inner.is_empty() {
                return Err("the regex between the slashes is empty".into());
            }
            return Regex::new(&format!("^(?:{inner})$"))
                .map(AddressRange::Regex)
                .map_err(|e| e.to_string());
        }
        let (number, is_prefix) = match without_plus(pattern).strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (without_plus(pattern), false),
        };
        if !number.bytes().all(|b| b.is_ascii_alphanumeric()) || (number.is_empty() && !is_prefix) {
            return Err(
                "write a number (+31699887766), a prefix ending in * (3169988*) \
                 or a regex between slashes (/3169988\\d{4}/)"
                    .into(),
            );
        }
        Ok(if is_prefix {
            AddressRange::Prefix(Box::from(number))
        } else {
            AddressRange::Exact(Box::from(number))
        })
    }

    /// Whether `destination` (without `+`) is in the range.
    fn matches(&self, destination: &str) -> bool {
        match self {
            AddressRange::Exact(number) => destination == &**number,
            AddressRange::Prefix(prefix) => destination.starts_with(&**prefix),
            AddressRange::Regex(regex) => regex.is_match(destination),
        }
    }
}

/// Checks one MO address range as [`MoRouteTable::from_config`] would,
/// so that a bad one can be refused when it is entered (`smsgate account`,
/// the admin API) rather than when the table is built. The error says
/// what is wrong and what is accepted.
pub fn check_address_range(pattern: &str) -> Result<(), String> {
    AddressRange::parse(pattern).map(drop)
}

/// Checks that every route's webhook and Asterisk spool is declared
/// (`[webhooks.NAME]`, `[asterisk.NAME]`). Accounts live in the store and
/// are the caller's to check.
pub fn check_targets<W, A>(
    routes: &[MoRouteConfig],
    webhooks: &BTreeMap<String, W>,
    spools: &BTreeMap<String, A>,
) -> Result<(), InvalidSetting> {
    for (index, route) in routes.iter().enumerate() {
        if let Some(name) = &route.webhook
            && !webhooks.contains_key(name)
        {
            return Err(InvalidSetting(format!(
                "mo route {}: webhook {name} is not declared: add a [webhooks.{name}] table",
                index + 1
            )));
        }
        if let Some(name) = &route.asterisk
            && !spools.contains_key(name)
        {
            return Err(InvalidSetting(format!(
                "mo route {}: asterisk {name} is not declared: add an [asterisk.{name}] table",
                index + 1
            )));
        }
    }
    Ok(())
}

fn without_plus(address: &str) -> &str {
    address.strip_prefix('+').unwrap_or(address)
}

/// Case-insensitive equality without allocating; `lowercase` is already
/// lowercase.
fn same_ignoring_case(word: &str, lowercase: &str) -> bool {
    word.chars()
        .flat_map(char::to_lowercase)
        .eq(lowercase.chars())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        mo_routes: Vec<MoRouteConfig>,
    }

    fn routes(toml_text: &str) -> Vec<MoRouteConfig> {
        toml::from_str::<File>(toml_text)
            .expect("test routes parse")
            .mo_routes
    }

    fn ranges(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(id, range)| (id.to_string(), range.to_string()))
            .collect()
    }

    fn table(toml_text: &str, pairs: &[(&str, &str)]) -> MoRouteTable {
        MoRouteTable::from_config(&routes(toml_text), &ranges(pairs)).expect("table builds")
    }

    fn error(toml_text: &str, pairs: &[(&str, &str)]) -> String {
        MoRouteTable::from_config(&routes(toml_text), &ranges(pairs))
            .expect_err("refused")
            .to_string()
    }

    fn mo<'a>(destination: &'a str, text: Option<&'a str>) -> MoInput<'a> {
        MoInput {
            connector: "carrier",
            source: "+447700900123",
            destination,
            text,
        }
    }

    fn target(table: &MoRouteTable, input: MoInput<'_>) -> Option<String> {
        table
            .route(&input)
            .map(|decision| decision.target.to_string())
    }

    /// The accounts of the SMPP server how-to, and two more.
    const HOWTO: &[(&str, &str)] = &[
        ("Test2", "+31688776655"),
        ("Test1", "+31699887766"),
        ("Alpha", "4420*"),
        ("Zulu", "/4420\\d{4}/"),
    ];

    #[test]
    fn the_howto_number_belongs_to_test1_with_or_without_plus() {
        let table = table("", HOWTO);
        for destination in ["+31699887766", "31699887766"] {
            let decision = table.route(&mo(destination, Some("hi"))).expect("routed");
            assert_eq!(decision.target, MoTarget::Account(Arc::from("Test1")));
            assert_eq!(
                decision.explanation,
                "address range +31699887766 of account Test1"
            );
        }
        assert_eq!(
            target(&table, mo("+31688776655", None)).as_deref(),
            Some("account Test2")
        );
    }

    #[test]
    fn no_matching_range_gives_none() {
        let table = table("", HOWTO);
        assert_eq!(table.route(&mo("+31699887767", Some("hi"))), None);
        assert_eq!(table.route(&mo("3169988776", Some("hi"))), None);
        assert_eq!(MoRouteTable::default().route(&mo("1", None)), None);
    }

    #[test]
    fn several_matching_accounts_go_to_the_first_system_id_and_say_so() {
        let table = table("", HOWTO);
        let decision = table.route(&mo("+44201234", None)).expect("routed");
        assert_eq!(decision.target, MoTarget::Account(Arc::from("Alpha")));
        assert!(
            decision.explanation.contains("4420* of account Alpha")
                && decision.explanation.contains("also in the ranges of Zulu"),
            "{}",
            decision.explanation
        );
    }

    #[test]
    fn address_range_regexes_must_match_the_whole_number() {
        let table = table("", &[("Zulu", "/4420\\d{4}/"), ("Alt", "/1|2/")]);
        assert_eq!(
            target(&table, mo("44201234", None)).as_deref(),
            Some("account Zulu")
        );
        assert_eq!(target(&table, mo("442012345", None)), None);
        assert_eq!(target(&table, mo("9944201234", None)), None);
        // The alternation is anchored as a whole, not only its ends.
        assert_eq!(target(&table, mo("12", None)), None);
        assert_eq!(
            target(&table, mo("+2", None)).as_deref(),
            Some("account Alt")
        );
    }

    #[test]
    fn explicit_routes_come_before_address_ranges_and_in_file_order() {
        let table = table(
            "[[mo_routes]]\ndestination_prefix = \"3169\"\nwebhook = \"first\"\n\
             [[mo_routes]]\ndestination = \"31699887766\"\nwebhook = \"second\"\n",
            HOWTO,
        );
        let decision = table.route(&mo("+31699887766", None)).expect("routed");
        assert_eq!(decision.target, MoTarget::Webhook(Arc::from("first")));
        assert_eq!(decision.explanation, "mo route 1: destination prefix 3169");
        assert_eq!(
            target(&table, mo("+31688776655", None)).as_deref(),
            Some("account Test2")
        );
    }

    #[test]
    fn exact_destination_does_not_take_longer_numbers_but_a_prefix_does() {
        let table = table(
            "[[mo_routes]]\ndestination = \"+3170\"\nasterisk = \"exact\"\n\
             [[mo_routes]]\ndestination_prefix = \"+3170\"\nasterisk = \"prefix\"\n",
            &[],
        );
        assert_eq!(
            target(&table, mo("3170", None)).as_deref(),
            Some("asterisk exact")
        );
        let decision = table.route(&mo("+31701234", None)).expect("routed");
        assert_eq!(decision.target, MoTarget::Asterisk(Arc::from("prefix")));
        assert_eq!(decision.explanation, "mo route 2: destination prefix 3170");
        assert_eq!(target(&table, mo("4170", None)), None);
    }

    #[test]
    fn keyword_is_the_first_word_in_any_case() {
        let table = table(
            "[[mo_routes]]\nkeyword = \"STOP\"\nwebhook = \"optout\"\n\
             [[mo_routes]]\nkeyword = \"grüße\"\nwebhook = \"german\"\n",
            &[("Test1", "+31699887766")],
        );
        for text in ["stop", "Stop please", "  STOP\nnow"] {
            assert_eq!(
                target(&table, mo("31699887766", Some(text))).as_deref(),
                Some("webhook optout"),
                "{text:?}"
            );
        }
        assert_eq!(
            target(&table, mo("1", Some("GRÜẞE aus Köln"))).as_deref(),
            Some("webhook german")
        );
        assert_eq!(
            target(&table, mo("1", Some("GRÜSSE"))),
            None,
            "lowercased, not case folded"
        );
        assert_eq!(
            target(&table, mo("1", Some("Grüße!"))),
            None,
            "punctuation is part of the word"
        );
        for text in [Some("stopp"), Some("please stop"), Some(""), None] {
            assert_eq!(
                target(&table, mo("31699887766", text)).as_deref(),
                Some("account Test1"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn all_filters_of_a_route_must_hold() {
        let table = table(
            "[[mo_routes]]\ndestination_regex = \"^3170\"\nsource_prefix = \"+44\"\n\
             source_regex = \"900\"\nconnector = \"carrier\"\nkeyword = \"info\"\n\
             account = \"Test2\"\n",
            &[],
        );
        let input = MoInput {
            connector: "carrier",
            source: "447700900123",
            destination: "+31701234",
            text: Some("INFO"),
        };
        let decision = table.route(&input).expect("routed");
        assert_eq!(decision.target, MoTarget::Account(Arc::from("Test2")));
        assert_eq!(
            decision.explanation,
            "mo route 1: destination regex ^3170, source prefix 44, source regex 900, \
             keyword info, connector carrier"
        );
        for other in [
            MoInput {
                connector: "other",
                ..input
            },
            MoInput {
                source: "+33700900123",
                ..input
            },
            MoInput {
                source: "+447700100123",
                ..input
            },
            MoInput {
                destination: "+41317012",
                ..input
            },
            MoInput {
                text: Some("help"),
                ..input
            },
        ] {
            assert_eq!(table.route(&other), None, "{other:?}");
        }
    }

    #[test]
    fn route_regexes_are_searched_unless_anchored() {
        let searched = table(
            "[[mo_routes]]\ndestination_regex = \"9988\"\nwebhook = \"w\"\n",
            &[],
        );
        assert!(searched.route(&mo("+31699887766", None)).is_some());
        let anchored = table(
            "[[mo_routes]]\ndestination_regex = \"^9988$\"\nwebhook = \"w\"\n",
            &[],
        );
        assert!(anchored.route(&mo("+31699887766", None)).is_none());
        assert!(anchored.route(&mo("+9988", None)).is_some());
    }

    #[test]
    fn a_route_without_filters_takes_everything() {
        let table = table("[[mo_routes]]\nwebhook = \"all\"\n", HOWTO);
        let decision = table.route(&mo("31699887766", None)).expect("routed");
        assert_eq!(decision.target, MoTarget::Webhook(Arc::from("all")));
        assert_eq!(
            decision.explanation,
            "mo route 1: no filters, takes every message"
        );
    }

    #[test]
    fn configuration_errors_name_the_route_and_key() {
        let message = error(
            "[[mo_routes]]\nwebhook = \"a\"\n\
             [[mo_routes]]\ndestination_regex = \"(\"\nwebhook = \"b\"\n",
            &[],
        );
        assert!(
            message.starts_with("invalid configuration: mo route 2: destination_regex: "),
            "{message}"
        );
        assert!(error("[[mo_routes]]\nkeyword = \"a\"\n", &[]).contains("mo route 1: target"));
        assert!(
            error("[[mo_routes]]\naccount = \"a\"\nwebhook = \"b\"\n", &[]).contains("exactly one")
        );
        assert!(error("[[mo_routes]]\nwebhook = \"\"\n", &[]).contains("mo route 1: webhook"));
        assert!(
            error(
                "[[mo_routes]]\ndestination_prefix = \"+\"\nwebhook = \"w\"\n",
                &[]
            )
            .contains("mo route 1: destination_prefix: is empty")
        );
        assert!(
            error(
                "[[mo_routes]]\nkeyword = \"two words\"\nwebhook = \"w\"\n",
                &[]
            )
            .contains("mo route 1: keyword")
        );
        assert!(toml::from_str::<File>("[[mo_routes]]\nprefix = \"1\"\n").is_err());
    }

    #[test]
    fn bad_address_ranges_name_the_account() {
        let message = error("", &[("Test1", "+31699887766"), ("Bad", "316[0-9]+")]);
        assert!(
            message.contains("account Bad: address range \"316[0-9]+\""),
            "{message}"
        );
        assert!(error("", &[("Bad", "/(/")]).contains("account Bad"));
        assert!(error("", &[("Bad", "//")]).contains("empty"));
        assert!(error("", &[("Bad", "")]).contains("account Bad"));
        assert!(check_address_range("+31699887766").is_ok());
        assert!(check_address_range("3169988*").is_ok());
        assert!(check_address_range("/3169988\\d{4}/").is_ok());
        assert!(check_address_range("31 69").is_err());
    }

    #[test]
    fn undeclared_webhooks_and_spools_are_named() {
        let routes = routes(
            "[[mo_routes]]\nwebhook = \"crm\"\n[[mo_routes]]\nasterisk = \"pbx\"\n\
             [[mo_routes]]\naccount = \"anyone\"\n",
        );
        let crm = BTreeMap::from([("crm".to_string(), ())]);
        let pbx = BTreeMap::from([("pbx".to_string(), ())]);
        let none = BTreeMap::<String, ()>::new();
        check_targets(&routes, &crm, &pbx).expect("all declared");
        assert!(
            check_targets(&routes, &none, &pbx)
                .expect_err("no crm")
                .to_string()
                .contains("mo route 1: webhook crm is not declared")
        );
        assert!(
            check_targets(&routes, &crm, &none)
                .expect_err("no pbx")
                .to_string()
                .contains("[asterisk.pbx]")
        );
    }
}
