//! A route's filters, compiled once when the table is built so that
//! matching a message allocates nothing: prefixes sorted longest first,
//! regexes compiled, time zones looked up, days as a bit set.

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use regex::Regex;

use super::config::{RouteConfig, TimeWindowConfig};
use super::{RouteError, RouteInput};

const SECONDS_PER_DAY: u32 = 24 * 3600;
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Every day of the week, one bit each, Monday the lowest.
const ALL_DAYS: u8 = 0b111_1111;

/// The first filter a message failed; explanations turn it into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mismatch {
    Prefix,
    Account,
    Group,
    Tag,
    DataCoding,
    Source,
    SourceRegex,
    DestinationRegex,
    NoText,
    TextRegex,
    Time,
    /// A least_cost route none of whose connectors prices the destination.
    NoPrice,
}

/// The compiled filters of one route; empty lists and `None` match anything.
#[derive(Debug)]
pub(super) struct Filters {
    /// Digits, longest first, so the first that matches is the longest.
    prefixes: Vec<Box<str>>,
    destination_regex: Option<Regex>,
    source: Option<Box<str>>,
    source_regex: Option<Regex>,
    accounts: Vec<Box<str>>,
    groups: Vec<Box<str>>,
    tags: Vec<Box<str>>,
    text_regex: Option<Regex>,
    data_codings: Vec<u8>,
    time: Option<TimeWindow>,
}

impl Filters {
    /// Whether the filters look at the account's group.
    pub(super) fn uses_group(&self) -> bool {
        !self.groups.is_empty()
    }

    /// Whether the filters look at the text.
    pub(super) fn uses_text(&self) -> bool {
        self.text_regex.is_some()
    }

    pub(super) fn compile(route: &RouteConfig) -> Result<Filters, RouteError> {
        let invalid = |problem: String| RouteError::Invalid {
            route: route.name.clone(),
            problem,
        };
        let regex = |field: &'static str, pattern: &Option<String>| {
            pattern
                .as_deref()
                .map(Regex::new)
                .transpose()
                .map_err(|source| RouteError::Regex {
                    route: route.name.clone(),
                    field,
                    source,
                })
        };
        let mut prefixes = Vec::with_capacity(route.prefix.len());
        for prefix in &route.prefix {
            let digits = prefix.strip_prefix('+').unwrap_or(prefix);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(format!(
                    "prefix {prefix:?} is not digits (write the start of the E.164 number, e.g. \"447\")"
                )));
            }
            prefixes.push(Box::<str>::from(digits));
        }
        prefixes.sort_by_key(|prefix| std::cmp::Reverse(prefix.len()));
        prefixes.dedup();
        let non_empty =
            |field: &str, values: &[String]| match values.iter().find(|value| value.is_empty()) {
                Some(_) => Err(invalid(format!("{field} has an empty value"))),
                None => Ok(values
                    .iter()
                    .map(|v| Box::<str>::from(v.as_str()))
                    .collect()),
            };
        Ok(Filters {
            prefixes,
            destination_regex: regex("destination_regex", &route.destination_regex)?,
            source: route.source.as_deref().map(Box::from),
            source_regex: regex("source_regex", &route.source_regex)?,
            accounts: non_empty("account", &route.account)?,
            groups: non_empty("group", &route.group)?,
            tags: non_empty("tag", &route.tag)?,
            text_regex: regex("text_regex", &route.text_regex)?,
            data_codings: route.data_coding.clone(),
            time: route
                .time
                .as_ref()
                .map(TimeWindow::compile)
                .transpose()
                .map_err(invalid)?,
        })
    }

    /// The length of the longest of the route's prefixes that starts the
    /// destination: 0 for a route without prefixes, `None` when none does.
    pub(super) fn prefix_len(&self, destination: &str) -> Option<usize> {
        if self.prefixes.is_empty() {
            return Some(0);
        }
        self.prefixes
            .iter()
            .find(|prefix| destination.starts_with(&***prefix))
            .map(|prefix| prefix.len())
    }

    /// Every filter but the prefix, cheapest first.
    pub(super) fn check(&self, input: &RouteInput<'_>, now: Timestamp) -> Result<(), Mismatch> {
        if !any_or_empty(&self.accounts, input.account) {
            return Err(Mismatch::Account);
        }
        if !self.groups.is_empty()
            && !input
                .group
                .is_some_and(|group| any_or_empty(&self.groups, group))
        {
            return Err(Mismatch::Group);
        }
        if !self.tags.is_empty()
            && !input
                .tags
                .iter()
                .any(|tag| self.tags.iter().any(|wanted| **wanted == **tag))
        {
            return Err(Mismatch::Tag);
        }
        if !self.data_codings.is_empty() && !self.data_codings.contains(&input.data_coding) {
            return Err(Mismatch::DataCoding);
        }
        if self
            .source
            .as_deref()
            .is_some_and(|source| source != input.source)
        {
            return Err(Mismatch::Source);
        }
        if let Some(regex) = &self.source_regex
            && !regex.is_match(input.source)
        {
            return Err(Mismatch::SourceRegex);
        }
        if let Some(regex) = &self.destination_regex
            && !regex.is_match(input.destination)
        {
            return Err(Mismatch::DestinationRegex);
        }
        if let Some(regex) = &self.text_regex {
            match input.text {
                None => return Err(Mismatch::NoText),
                Some(text) if !regex.is_match(text) => return Err(Mismatch::TextRegex),
                Some(_) => {}
            }
        }
        if let Some(window) = &self.time
            && !window.contains(now)
        {
            return Err(Mismatch::Time);
        }
        Ok(())
    }

    /// How many prefixes the route lists.
    pub(super) fn prefix_choices(&self) -> usize {
        self.prefixes.len()
    }

    /// Whether the route takes every message (a default route).
    pub(super) fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
            && self.destination_regex.is_none()
            && self.source.is_none()
            && self.source_regex.is_none()
            && self.accounts.is_empty()
            && self.groups.is_empty()
            && self.tags.is_empty()
            && self.text_regex.is_none()
            && self.data_codings.is_empty()
            && self.time.is_none()
    }

    /// The filters in words, one per filter: `prefix 447 or 44`, ...
    pub(super) fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.prefixes.is_empty() {
            out.push(format!("prefix {}", or_list(&self.prefixes)));
        }
        if let Some(regex) = &self.destination_regex {
            out.push(format!("destination matches /{}/", regex.as_str()));
        }
        if let Some(source) = &self.source {
            out.push(format!("source {source}"));
        }
        if let Some(regex) = &self.source_regex {
            out.push(format!("source matches /{}/", regex.as_str()));
        }
        if !self.accounts.is_empty() {
            out.push(format!("account {}", or_list(&self.accounts)));
        }
        if !self.groups.is_empty() {
            out.push(format!("group {}", or_list(&self.groups)));
        }
        if !self.tags.is_empty() {
            out.push(format!("tag {}", or_list(&self.tags)));
        }
        if !self.data_codings.is_empty() {
            let codings: Vec<String> = self.data_codings.iter().map(u8::to_string).collect();
            out.push(format!("data_coding {}", codings.join(" or ")));
        }
        if let Some(regex) = &self.text_regex {
            out.push(format!("text matches /{}/", regex.as_str()));
        }
        if let Some(window) = &self.time {
            out.push(format!("time {}", window.describe()));
        }
        out
    }

    /// Why `input` failed `mismatch`, in words.
    pub(super) fn explain(
        &self,
        mismatch: Mismatch,
        input: &RouteInput<'_>,
        now: Timestamp,
    ) -> String {
        match mismatch {
            Mismatch::Prefix => format!(
                "destination {} does not start with {}",
                input.destination,
                or_list(&self.prefixes)
            ),
            Mismatch::Account => format!(
                "account {:?} is not {}",
                input.account,
                or_list(&self.accounts)
            ),
            Mismatch::Group => match input.group {
                Some(group) => format!("group {group:?} is not {}", or_list(&self.groups)),
                None => format!(
                    "the account has no group (wanted {})",
                    or_list(&self.groups)
                ),
            },
            Mismatch::Tag => format!(
                "the message has no tag {} (it has {})",
                or_list(&self.tags),
                if input.tags.is_empty() {
                    "none".to_string()
                } else {
                    input.tags.join(", ")
                }
            ),
            Mismatch::DataCoding => format!(
                "data_coding {} is not among {:?}",
                input.data_coding, self.data_codings
            ),
            Mismatch::Source => format!(
                "source {:?} is not {}",
                input.source,
                self.source.as_deref().unwrap_or_default()
            ),
            Mismatch::SourceRegex => format!(
                "source {:?} does not match /{}/",
                input.source,
                self.source_regex.as_ref().map_or("", Regex::as_str)
            ),
            Mismatch::DestinationRegex => format!(
                "destination {} does not match /{}/",
                input.destination,
                self.destination_regex.as_ref().map_or("", Regex::as_str)
            ),
            Mismatch::NoText => "the message has no text (the route filters on text)".into(),
            Mismatch::TextRegex => format!(
                "the text does not match /{}/",
                self.text_regex.as_ref().map_or("", Regex::as_str)
            ),
            Mismatch::Time => match &self.time {
                Some(window) => format!(
                    "{} is outside {}",
                    window.local_time(now),
                    window.describe()
                ),
                None => "outside the time window".into(),
            },
            Mismatch::NoPrice => format!(
                "no connector of this least_cost route has a price for {}",
                input.destination
            ),
        }
    }
}

fn any_or_empty(wanted: &[Box<str>], value: &str) -> bool {
    wanted.is_empty() || wanted.iter().any(|w| **w == *value)
}

fn or_list(values: &[Box<str>]) -> String {
    values
        .iter()
        .map(|v| &**v)
        .collect::<Vec<&str>>()
        .join(" or ")
}

/// A weekly window in a time zone. Times are seconds since local midnight.
#[derive(Debug)]
struct TimeWindow {
    /// Bit 0 is Monday.
    days: u8,
    from: u32,
    /// Exclusive; up to 24:00. Not after `from`: the window crosses midnight.
    until: u32,
    zone: TimeZone,
    zone_name: String,
}

impl TimeWindow {
    fn compile(config: &TimeWindowConfig) -> Result<TimeWindow, String> {
        let mut days = 0u8;
        for day in &config.days {
            let lower = day.to_ascii_lowercase();
            let index = DAY_NAMES
                .iter()
                .position(|name| *name == lower)
                .ok_or_else(|| {
                    format!("time.days: {day:?} is not one of mon, tue, wed, thu, fri, sat, sun")
                })?;
            days |= 1 << index;
        }
        if days == 0 {
            days = ALL_DAYS;
        }
        let from = match &config.from {
            Some(text) => parse_clock(text, false).map_err(|e| format!("time.from: {e}"))?,
            None => 0,
        };
        let until = match &config.until {
            Some(text) => parse_clock(text, true).map_err(|e| format!("time.until: {e}"))?,
            None => SECONDS_PER_DAY,
        };
        if from == until {
            return Err(format!(
                "time.from and time.until are both {} (an empty window); leave both out for all day",
                clock(from)
            ));
        }
        let zone_name = config.timezone.clone().unwrap_or_else(|| "UTC".into());
        let zone = jiff::tz::db().get(&zone_name).map_err(|e| {
            format!("time.timezone {zone_name:?} is not an IANA time zone name: {e}")
        })?;
        Ok(TimeWindow {
            days,
            from,
            until,
            zone,
            zone_name,
        })
    }

    fn local(&self, now: Timestamp) -> DateTime {
        self.zone.to_datetime(now)
    }

    fn contains(&self, now: Timestamp) -> bool {
        let local = self.local(now);
        let day = u32::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
        let seconds = seconds_of_day(local);
        let day_allowed = |day: u32| self.days & (1 << day) != 0;
        if self.from < self.until {
            return (self.from..self.until).contains(&seconds) && day_allowed(day);
        }
        if seconds >= self.from {
            day_allowed(day)
        } else if seconds < self.until {
            day_allowed((day + 6) % 7)
        } else {
            false
        }
    }

    fn local_time(&self, now: Timestamp) -> String {
        let local = self.local(now);
        let day = usize::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
        format!(
            "{} {} {}",
            DAY_NAMES.get(day).copied().unwrap_or("?"),
            clock(seconds_of_day(local)),
            self.zone_name
        )
    }

    fn describe(&self) -> String {
        let mut out = String::new();
        if self.days != ALL_DAYS {
            let days: Vec<&str> = DAY_NAMES
                .iter()
                .enumerate()
                .filter(|(index, _)| self.days & (1 << index) != 0)
                .map(|(_, name)| *name)
                .collect();
            let _ = write!(out, "{} ", days.join(","));
        }
        let _ = write!(
            out,
            "{}-{} {}",
            clock(self.from),
            clock(self.until),
            self.zone_name
        );
        out
    }
}

fn seconds_of_day(local: DateTime) -> u32 {
    let part = |value: i8| u32::try_from(value).unwrap_or(0);
    part(local.hour()) * 3600 + part(local.minute()) * 60 + part(local.second())
}

/// `HH:MM` (or `H:MM`) as seconds since midnight; `24:00` only where the
/// end of the day is meant.
fn parse_clock(text: &str, end_of_day_allowed: bool) -> Result<u32, String> {
    let parsed = text.split_once(':').and_then(|(hours, minutes)| {
        let digits = |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(hours) || minutes.len() != 2 || !digits(minutes) {
            return None;
        }
        Some((hours.parse::<u32>().ok()?, minutes.parse::<u32>().ok()?))
    });
    match parsed {
        Some((hours, minutes)) if hours < 24 && minutes < 60 => Ok(hours * 3600 + minutes * 60),
        Some((24, 0)) if end_of_day_allowed => Ok(SECONDS_PER_DAY),
        _ => Err(format!(
            "{text:?} is not a time of day like \"08:00\"{}",
            if end_of_day_allowed {
                " (or \"24:00\")"
            } else {
                ""
            }
        )),
    }
}

fn clock(seconds: u32) -> String {
    format!("{:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
}
