//! What an HTTP run measured: each connection's counts, added up at the
//! end, the callbacks matched by the shared tracker, and the report as
//! text or one JSON line (the smpp bench's percentiles and rounding).

use std::collections::BTreeMap;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{Value, json};

use super::super::stats::{
    Latencies, Percentiles, ReceiptTotals, per_second, percentiles_json, percentiles_text,
    rate_text, round,
};
use super::connection::Run;

/// Different names a [`Tally`] keeps; the rest are counted as `other`, so
/// answers that each say something else cannot grow it without bound.
const MAX_NAMES: usize = 16;
/// Where a [`Tally`] counts the names past [`MAX_NAMES`].
const OTHER: &str = "other";

/// Counts by name (refusal codes, callback states), at most
/// [`MAX_NAMES`] of them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Tally(BTreeMap<String, u64>);

impl Tally {
    pub(super) fn add(&mut self, name: &str, count: u64) {
        if let Some(total) = self.0.get_mut(name) {
            *total += count;
        } else if self.0.len() < MAX_NAMES {
            self.0.insert(name.to_string(), count);
        } else {
            *self.0.entry(OTHER.to_string()).or_default() += count;
        }
    }

    fn merge(&mut self, other: Tally) {
        for (name, count) in other.0 {
            self.add(&name, count);
        }
    }

    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    fn json(&self) -> Value {
        json!(self.0)
    }

    /// `a: 3, b: 1`, most frequent first (then by name).
    fn text(&self) -> String {
        let mut names: Vec<(&String, &u64)> = self.0.iter().collect();
        names.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let names: Vec<String> = names
            .iter()
            .map(|(name, count)| format!("{name}: {count}"))
            .collect();
        names.join(", ")
    }
}

/// What one connection saw.
#[derive(Debug, Default)]
pub(super) struct ConnectionStats {
    /// Requests sent, and answers read whole.
    pub(super) requests: u64,
    pub(super) answered: u64,
    /// Answers by HTTP status.
    pub(super) by_status: BTreeMap<u16, u64>,
    /// Messages in the requests sent.
    pub(super) messages: u64,
    pub(super) accepted: u64,
    /// Refused messages by problem code (or Kannel's reason).
    pub(super) refused: Tally,
    /// Messages whose answer said nothing readable of them.
    pub(super) unreadable: u64,
    /// Messages of requests that got no whole answer.
    pub(super) unanswered: u64,
    /// Messages never sent: no connection could be opened for them.
    pub(super) unsent: u64,
    pub(super) timeouts: u64,
    pub(super) closed: u64,
    pub(super) too_large: u64,
    pub(super) connect_failures: u64,
    /// Connections opened again after the server closed one.
    pub(super) reopened: u64,
    /// Request sent to answer read.
    pub(super) answer_time: Latencies,
    pub(super) last_answer: Option<Instant>,
}

impl ConnectionStats {
    fn merge(&mut self, other: ConnectionStats) {
        self.requests += other.requests;
        self.answered += other.answered;
        for (status, count) in other.by_status {
            *self.by_status.entry(status).or_default() += count;
        }
        self.messages += other.messages;
        self.accepted += other.accepted;
        self.refused.merge(other.refused);
        self.unreadable += other.unreadable;
        self.unanswered += other.unanswered;
        self.unsent += other.unsent;
        self.timeouts += other.timeouts;
        self.closed += other.closed;
        self.too_large += other.too_large;
        self.connect_failures += other.connect_failures;
        self.reopened += other.reopened;
        self.answer_time.merge(other.answer_time);
        self.last_answer = self.last_answer.max(other.last_answer);
    }
}

/// What the run was, for the report's heading.
#[derive(Debug)]
pub(super) struct Setup {
    pub(super) api: &'static str,
    pub(super) url: String,
    pub(super) connections: u32,
    pub(super) batch: u32,
    pub(super) callbacks: bool,
}

/// The final figures.
#[derive(Debug)]
pub(super) struct Report {
    setup: Setup,
    totals: ConnectionStats,
    answer_ms: Option<Percentiles>,
    callbacks: u64,
    expected: u64,
    matching: ReceiptTotals,
    callback_ms: Option<Percentiles>,
    by_state: Tally,
    intermediate: u64,
    malformed: u64,
    /// First request to the last answer.
    submit_seconds: f64,
    /// First request to the end of the callback wait.
    elapsed_seconds: f64,
    /// First request to the last callback.
    end_to_end_seconds: Option<f64>,
    /// First callback to the last.
    callback_seconds: Option<f64>,
}

impl Report {
    /// Adds up what the connections and the callback listener saw.
    /// `run.start` is the first request, `end` the end of the run.
    pub(super) fn new(
        setup: Setup,
        connections: Vec<ConnectionStats>,
        run: &Run,
        end: Instant,
    ) -> Report {
        let mut totals = ConnectionStats::default();
        for connection in connections {
            totals.merge(connection);
        }
        let mut matching = run.tracker.finish();
        let start = run.start;
        let seconds = |from: Instant, to: Instant| to.saturating_duration_since(from).as_secs_f64();
        let read = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        let by_state = run
            .finals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Report {
            answer_ms: std::mem::take(&mut totals.answer_time).percentiles(),
            submit_seconds: seconds(start, totals.last_answer.unwrap_or(end)),
            elapsed_seconds: seconds(start, end),
            end_to_end_seconds: matching.last.map(|last| seconds(start, last)),
            callback_seconds: matching
                .first
                .zip(matching.last)
                .map(|(a, b)| seconds(a, b)),
            callback_ms: std::mem::take(&mut matching.latencies).percentiles(),
            callbacks: read(&run.counters.receipts),
            expected: read(&run.counters.expected),
            intermediate: read(&run.counters.intermediate),
            malformed: read(&run.malformed_callbacks),
            by_state,
            matching,
            totals,
            setup,
        }
    }

    fn refused(&self) -> u64 {
        self.totals.refused.total()
    }

    fn request_rate(&self) -> Option<f64> {
        per_second(self.totals.answered, Some(self.submit_seconds))
    }

    fn accept_rate(&self) -> Option<f64> {
        per_second(self.totals.accepted, Some(self.submit_seconds))
    }

    fn callback_rate(&self) -> Option<f64> {
        per_second(self.callbacks, self.callback_seconds)
    }

    fn end_to_end_rate(&self) -> Option<f64> {
        per_second(self.callbacks, self.end_to_end_seconds)
    }

    /// The report as one JSON object with stable keys; figures that could
    /// not be measured are `null`.
    pub(super) fn json(&self) -> Value {
        let t = &self.totals;
        let by_status: BTreeMap<String, u64> = t
            .by_status
            .iter()
            .map(|(status, count)| (status.to_string(), *count))
            .collect();
        json!({
            "api": self.setup.api,
            "url": self.setup.url,
            "connections": self.setup.connections,
            "batch": self.setup.batch,
            "requests": t.requests,
            "answered": t.answered,
            "answers_by_status": by_status,
            "request_rate": round(self.request_rate()),
            "messages": t.messages + t.unsent,
            "accepted": t.accepted,
            "accept_rate": round(self.accept_rate()),
            "refused": self.refused(),
            "refused_by_code": self.totals.refused.json(),
            "answer_ms": percentiles_json(self.answer_ms),
            "callbacks_requested": self.setup.callbacks,
            "callbacks_expected": self.expected,
            "callbacks": self.callbacks,
            "callbacks_missing": self.matching.missing,
            "callbacks_unmatched": self.matching.unmatched,
            "callbacks_duplicated": self.matching.duplicates,
            "callbacks_by_state": self.by_state.json(),
            "intermediate_callbacks": self.intermediate,
            "malformed_callbacks": self.malformed,
            "callback_rate": round(self.callback_rate()),
            "end_to_end_rate": round(self.end_to_end_rate()),
            "callback_ms": percentiles_json(self.callback_ms),
            "submit_s": round(Some(self.submit_seconds)),
            "elapsed_s": round(Some(self.elapsed_seconds)),
            "connections_reopened": t.reopened,
            "errors": {
                "timeout": t.timeouts,
                "closed": t.closed,
                "too_large": t.too_large,
                "connect": t.connect_failures,
                "unanswered_messages": t.unanswered,
                "unsent_messages": t.unsent,
                "unreadable_messages": t.unreadable,
            },
        })
    }

    /// The report for a person.
    pub(super) fn text(&self) -> String {
        let setup = &self.setup;
        let t = &self.totals;
        let mut lines = vec![format!(
            "smsgate bench http: {} connection(s) to {} ({} API), {} message(s) per request",
            setup.connections, setup.url, setup.api, setup.batch
        )];
        let mut line = |label: &str, value: String| lines.push(format!("{label:<19}{value}"));
        line(
            "requests",
            format!(
                "{} sent, {} answered in {:.3} s, {}/s",
                t.requests,
                t.answered,
                self.submit_seconds,
                rate_text(self.request_rate())
            ),
        );
        let statuses: Vec<String> = t
            .by_status
            .iter()
            .map(|(status, count)| format!("{status}: {count}"))
            .collect();
        line("answers", statuses.join(", "));
        line(
            "messages",
            format!(
                "{} sent, {} accepted ({}/s), {} refused",
                t.messages,
                t.accepted,
                rate_text(self.accept_rate()),
                self.refused()
            ),
        );
        if self.refused() > 0 {
            line("refused", t.refused.text());
        }
        let failures = [
            ("timed out", t.timeouts),
            ("connection lost", t.closed),
            ("answer too large", t.too_large),
            ("connects failed", t.connect_failures),
            ("messages unanswered", t.unanswered),
            ("messages not sent", t.unsent),
            ("messages unreadable", t.unreadable),
        ];
        let failures: Vec<String> = failures
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(what, count)| format!("{what}: {count}"))
            .collect();
        if !failures.is_empty() {
            line("errors", failures.join(", "));
        }
        if t.reopened > 0 {
            line(
                "reconnects",
                format!("{} (the server closed connections)", t.reopened),
            );
        }
        line("request -> answer", percentiles_text(self.answer_ms));
        if setup.callbacks {
            line(
                "callbacks",
                format!(
                    "{} of {} expected ({} missing, {} unmatched), {}/s; {}",
                    self.callbacks,
                    self.expected,
                    self.matching.missing,
                    self.matching.unmatched,
                    rate_text(self.callback_rate()),
                    self.by_state.text()
                ),
            );
            line(
                "end-to-end",
                format!(
                    "{} msgs/s (callbacks matched / first request to last callback)",
                    rate_text(self.end_to_end_rate())
                ),
            );
            line("submit -> callback", percentiles_text(self.callback_ms));
            if self.intermediate > 0 || self.malformed > 0 {
                line(
                    "also received",
                    format!(
                        "{} intermediate report(s), {} malformed",
                        self.intermediate, self.malformed
                    ),
                );
            }
        } else {
            line("callbacks", "not requested".to_string());
        }
        line("elapsed", format!("{:.3} s", self.elapsed_seconds));
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_keeps_sixteen_names_and_counts_the_rest_as_other() {
        let mut tally = Tally::default();
        for n in 0..20 {
            tally.add(&format!("code{n:02}"), 1);
        }
        tally.add("code00", 2);
        assert_eq!(tally.0.len(), MAX_NAMES + 1);
        assert_eq!(tally.0["other"], 4);
        assert_eq!(tally.0["code00"], 3);
        assert_eq!(tally.total(), 22);
        assert!(tally.text().starts_with("other: 4, code00: 3, code01: 1"));
    }
}
