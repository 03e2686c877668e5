//! What a run measured: counters the progress line reads while it runs,
//! the matching of receipts to submits, latencies, and the final report
//! as text or one JSON line.
//!
//! Each submitting session keeps its own counts and submit latencies
//! ([`BindStats`]) and they are added up once at the end, so the hot path
//! shares only a few relaxed atomics. Receipts can arrive on any receiving
//! session (the gateway picks one), so their matching is shared: a map from
//! message id to submit time, split into shards behind their own mutexes
//! so the sessions rarely wait for each other. A receipt may even arrive
//! before its submit_sm_resp has been read (the two travel through
//! different tasks); it is kept until the response names its id.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use smpp::CommandStatus;

/// Shards of the receipt matching table: a few per core is plenty.
const SHARDS: usize = 16;

/// Counters the progress line shows, updated as things happen.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) submitted: AtomicU64,
    pub(super) acked: AtomicU64,
    pub(super) acked_ok: AtomicU64,
    pub(super) receipts: AtomicU64,
    /// Receipts expected: ESME_ROK answers with a message id, when
    /// receipts are awaited.
    pub(super) expected: AtomicU64,
    pub(super) intermediate: AtomicU64,
    pub(super) mo: AtomicU64,
    /// Sessions that closed before the run ended them.
    pub(super) sessions_lost: AtomicU64,
}

impl Counters {
    /// Receipts expected and not matched yet.
    pub(super) fn outstanding(&self) -> u64 {
        read(&self.expected).saturating_sub(read(&self.receipts))
    }
}

/// Adds one to a counter.
pub(super) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Durations in microseconds (a `u32` holds 71 minutes), sorted only when
/// the percentiles are asked for: a million samples cost 4 MB and one sort.
#[derive(Debug, Default)]
pub(super) struct Latencies(Vec<u32>);

/// p50, p90, p99 and the maximum, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Percentiles {
    pub(super) p50: f64,
    pub(super) p90: f64,
    pub(super) p99: f64,
    pub(super) max: f64,
}

impl Latencies {
    pub(super) fn record(&mut self, latency: Duration) {
        self.0
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    pub(super) fn merge(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// Nearest-rank percentiles; `None` without samples.
    pub(super) fn percentiles(mut self) -> Option<Percentiles> {
        if self.0.is_empty() {
            return None;
        }
        self.0.sort_unstable();
        let samples = &self.0;
        let at = |p: f64| {
            let rank = (p * samples.len() as f64).ceil() as usize;
            let index = rank.clamp(1, samples.len()) - 1;
            f64::from(samples[index]) / 1000.0
        };
        Some(Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: at(1.0),
        })
    }
}

/// What one submitting session saw.
#[derive(Debug, Default)]
pub(super) struct BindStats {
    /// submit_sm handed to the session (sent, or about to be).
    pub(super) submitted: u64,
    /// Responses by command_status (generic_nack included).
    pub(super) by_status: HashMap<CommandStatus, u64>,
    /// Submits without a response: timed out, session closed, malformed.
    pub(super) timeouts: u64,
    pub(super) closed: u64,
    pub(super) malformed: u64,
    /// submit_sm of claimed messages never handed to a session, because
    /// it closed first.
    pub(super) unsent: u64,
    pub(super) submit_resp: Latencies,
    /// When the last response (or failure) came.
    pub(super) last_answer: Option<Instant>,
}

impl BindStats {
    fn merge(&mut self, other: BindStats) {
        self.submitted += other.submitted;
        for (status, count) in other.by_status {
            *self.by_status.entry(status).or_default() += count;
        }
        self.timeouts += other.timeouts;
        self.closed += other.closed;
        self.malformed += other.malformed;
        self.unsent += other.unsent;
        self.submit_resp.merge(other.submit_resp);
        self.last_answer = self.last_answer.max(other.last_answer);
    }
}

/// One shard of the receipt matching table.
#[derive(Debug, Default)]
struct Shard {
    /// Submit time of each accepted message whose receipt is still due.
    pending: HashMap<String, Instant>,
    /// Receipts whose id is not (yet) pending: arrival time and how many.
    early: HashMap<String, (Instant, u64)>,
    latencies: Latencies,
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Shard {
    fn matched(&mut self, submitted: Instant, received: Instant) {
        self.latencies
            .record(received.saturating_duration_since(submitted));
        self.first = Some(self.first.map_or(received, |first| first.min(received)));
        self.last = self.last.max(Some(received));
    }
}

/// Matches receipts to the submits they report on, by message id.
#[derive(Debug)]
pub(super) struct Tracker {
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
    /// A receipt that came again for a message already matched or still
    /// early: the gateway resent it.
    duplicates: AtomicU64,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            duplicates: AtomicU64::new(0),
        }
    }
}

impl Tracker {
    fn shard(&self, id: &str) -> MutexGuard<'_, Shard> {
        let index = (self.hasher.hash_one(id) % SHARDS as u64) as usize;
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// An accepted submit: its receipt is now expected. Returns whether a
    /// receipt that came first was matched at once.
    pub(super) fn submitted(&self, id: String, at: Instant) -> bool {
        let mut shard = self.shard(&id);
        match shard.early.remove(&id) {
            Some((received, copies)) => {
                shard.matched(at, received);
                if copies > 1 {
                    self.duplicates.fetch_add(copies - 1, Ordering::Relaxed);
                }
                true
            }
            None => {
                shard.pending.insert(id, at);
                false
            }
        }
    }

    /// A receipt for `id`; returns whether it matched a pending submit.
    pub(super) fn receipt(&self, id: &str, at: Instant) -> bool {
        let mut shard = self.shard(id);
        match shard.pending.remove(id) {
            Some(submitted) => {
                shard.matched(submitted, at);
                true
            }
            None => {
                shard.early.entry(id.to_string()).or_insert((at, 0)).1 += 1;
                false
            }
        }
    }

    /// Everything matched and not, once the run is over.
    pub(super) fn finish(&self) -> ReceiptTotals {
        let mut totals = ReceiptTotals {
            duplicates: read(&self.duplicates),
            ..ReceiptTotals::default()
        };
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            totals.missing += shard.pending.len() as u64;
            totals.unmatched += shard.early.values().map(|(_, copies)| copies).sum::<u64>();
            totals.latencies.merge(std::mem::take(&mut shard.latencies));
            totals.first = match (totals.first, shard.first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            totals.last = totals.last.max(shard.last);
        }
        totals
    }
}

#[derive(Debug, Default)]
pub(super) struct ReceiptTotals {
    pub(super) latencies: Latencies,
    pub(super) first: Option<Instant>,
    pub(super) last: Option<Instant>,
    /// Expected and never seen.
    pub(super) missing: u64,
    /// Seen for no message of this run (ids from an earlier run, or resent
    /// after matching).
    pub(super) unmatched: u64,
    pub(super) duplicates: u64,
}

/// Prints a progress line to stderr once a second, if it is a terminal,
/// until the task is aborted.
pub(super) async fn progress(counters: Arc<Counters>, start: Instant) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let seconds = start.elapsed().as_secs_f64().max(f64::EPSILON);
        let ok = read(&counters.acked_ok);
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r\x1b[K{:>6.1}s  submitted {}  acked {} (ok {}, {:.0}/s)  receipts {} of {}",
            seconds,
            read(&counters.submitted),
            read(&counters.acked),
            ok,
            ok as f64 / seconds,
            read(&counters.receipts),
            read(&counters.expected),
        );
        let _ = stderr.flush();
    }
}

/// Clears the progress line, if one was printed.
pub(super) fn clear_progress() {
    if std::io::stderr().is_terminal() {
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[K");
        let _ = stderr.flush();
    }
}

/// Binds done so far, for the progress line of `--idle`.
#[derive(Debug, Default)]
pub(super) struct BindProgress {
    pub(super) bound: AtomicU64,
    pub(super) failed: AtomicU64,
}

/// Prints `line()` to stderr once a second, if it is a terminal, until the
/// task is aborted.
pub(super) async fn progress_line(line: impl Fn() -> String) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    loop {
        ticks.tick().await;
        show_progress(&line());
    }
}

/// Shows `line` as the progress line on stderr, if it is a terminal.
pub(super) fn show_progress(line: &str) {
    if std::io::stderr().is_terminal() {
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[K{line}");
        let _ = stderr.flush();
    }
}

/// What an `--idle` run saw.
#[derive(Debug)]
pub(super) struct IdleReport {
    pub(super) host: String,
    pub(super) bind_kind: &'static str,
    pub(super) receiver_binds: u32,
    /// Sessions asked for (receivers included).
    pub(super) sessions: u32,
    pub(super) bound: u64,
    pub(super) failed: u64,
    /// Why the first bind that failed did.
    pub(super) first_failure: Option<String>,
    /// Sessions that closed while held.
    pub(super) lost: u64,
    /// First connect to the last bind's outcome.
    pub(super) bind_seconds: f64,
    /// How long the sessions were held (less than asked if all closed).
    pub(super) idle_seconds: f64,
}

impl IdleReport {
    /// Whether every session bound and stayed bound.
    pub(super) fn all_held(&self) -> bool {
        self.failed == 0 && self.lost == 0 && self.bound == u64::from(self.sessions)
    }

    /// The report as one JSON object with stable keys.
    pub(super) fn json(&self) -> Value {
        json!({
            "mode": "idle",
            "sessions": self.sessions,
            "bound": self.bound,
            "failed": self.failed,
            "first_failure": self.first_failure,
            "sessions_lost": self.lost,
            "bind_s": round(Some(self.bind_seconds)),
            "idle_s": round(Some(self.idle_seconds)),
            "bind_type": self.bind_kind,
            "receiver_binds": self.receiver_binds,
        })
    }

    /// The report for a person.
    pub(super) fn text(&self) -> String {
        let mut lines = vec![format!(
            "smsgate bench smpp: {} {} session(s){} to {}, held idle",
            self.sessions,
            self.bind_kind,
            if self.receiver_binds > 0 {
                format!(" ({} of them receivers)", self.receiver_binds)
            } else {
                String::new()
            },
            self.host,
        )];
        let mut line = |label: &str, value: String| lines.push(format!("{label:<19}{value}"));
        line(
            "bound",
            format!(
                "{} of {} in {:.3} s, {} failed",
                self.bound, self.sessions, self.bind_seconds, self.failed
            ),
        );
        if let Some(failure) = &self.first_failure {
            line("first failure", failure.clone());
        }
        line(
            "held",
            format!(
                "{:.3} s, {} session(s) lost meanwhile",
                self.idle_seconds, self.lost
            ),
        );
        lines.join("\n")
    }
}

/// What the run was, for the report's heading.
#[derive(Debug)]
pub(super) struct Setup {
    pub(super) host: String,
    pub(super) binds: u32,
    pub(super) bind_kind: &'static str,
    pub(super) receiver_binds: u32,
    pub(super) window: usize,
    pub(super) text: &'static str,
    pub(super) parts: usize,
    pub(super) receipts_requested: bool,
    pub(super) receipts_awaited: bool,
}

/// The final figures.
#[derive(Debug)]
pub(super) struct Report {
    setup: Setup,
    messages: u64,
    submits: BindStats,
    submit_resp: Option<Percentiles>,
    receipts: u64,
    expected: u64,
    totals: ReceiptTotals,
    receipt_ms: Option<Percentiles>,
    intermediate: u64,
    mo: u64,
    sessions_lost: u64,
    /// First submit to the last submit response.
    submit_seconds: f64,
    /// First submit to the end of the receipt wait.
    elapsed_seconds: f64,
    /// First submit to the last receipt.
    end_to_end_seconds: Option<f64>,
    /// First receipt to the last.
    receipt_seconds: Option<f64>,
}

impl Report {
    /// Adds up what the sessions and the tracker saw. `start` is the first
    /// submit, `end` the end of the run.
    pub(super) fn new(
        setup: Setup,
        messages: u64,
        binds: Vec<BindStats>,
        tracker: &Tracker,
        counters: &Counters,
        start: Instant,
        end: Instant,
    ) -> Report {
        let mut submits = BindStats::default();
        for bind in binds {
            submits.merge(bind);
        }
        let mut totals = tracker.finish();
        let seconds = |from: Instant, to: Instant| to.saturating_duration_since(from).as_secs_f64();
        let submit_seconds = seconds(start, submits.last_answer.unwrap_or(end));
        let end_to_end_seconds = totals.last.map(|last| seconds(start, last));
        let receipt_seconds = totals.first.zip(totals.last).map(|(a, b)| seconds(a, b));
        let receipt_ms = std::mem::take(&mut totals.latencies).percentiles();
        Report {
            submit_resp: std::mem::take(&mut submits.submit_resp).percentiles(),
            setup,
            messages,
            submits,
            receipts: read(&counters.receipts),
            expected: read(&counters.expected),
            totals,
            receipt_ms,
            intermediate: read(&counters.intermediate),
            mo: read(&counters.mo),
            sessions_lost: read(&counters.sessions_lost),
            submit_seconds,
            elapsed_seconds: seconds(start, end),
            end_to_end_seconds,
            receipt_seconds,
        }
    }

    fn acked(&self) -> u64 {
        self.submits.by_status.values().sum()
    }

    fn acked_ok(&self) -> u64 {
        self.submits
            .by_status
            .get(&CommandStatus::ESME_ROK)
            .copied()
            .unwrap_or(0)
    }

    /// The statuses by name, most frequent first (then by name).
    fn by_status(&self) -> Vec<(String, u64)> {
        let mut statuses: Vec<(String, u64)> = self
            .submits
            .by_status
            .iter()
            .map(|(status, count)| (status_name(*status), *count))
            .collect();
        statuses.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        statuses
    }

    fn submit_rate(&self) -> Option<f64> {
        per_second(self.acked_ok(), Some(self.submit_seconds))
    }

    fn receipt_rate(&self) -> Option<f64> {
        per_second(self.receipts, self.receipt_seconds)
    }

    fn end_to_end_rate(&self) -> Option<f64> {
        per_second(self.receipts, self.end_to_end_seconds)
    }

    /// The report as one JSON object with stable keys; figures that could
    /// not be measured (no receipts, a single one) are `null`.
    pub(super) fn json(&self) -> Value {
        let by_status: BTreeMap<String, u64> = self.by_status().into_iter().collect();
        json!({
            "submitted": self.submits.submitted,
            "acked": self.acked(),
            "acked_by_status": by_status,
            "submit_rate": round(self.submit_rate()),
            "receipts": self.receipts,
            "receipt_rate": round(self.receipt_rate()),
            "end_to_end_rate": round(self.end_to_end_rate()),
            "submit_resp_ms": percentiles_json(self.submit_resp),
            "receipt_ms": percentiles_json(self.receipt_ms),
            "elapsed_s": round(Some(self.elapsed_seconds)),
            "submit_s": round(Some(self.submit_seconds)),
            "messages": self.messages,
            "parts_per_message": self.setup.parts,
            "text": self.setup.text,
            "binds": self.setup.binds,
            "bind_type": self.setup.bind_kind,
            "receiver_binds": self.setup.receiver_binds,
            "window": self.setup.window,
            "receipts_requested": self.setup.receipts_requested,
            "receipts_awaited": self.setup.receipts_awaited,
            "receipts_expected": self.expected,
            "receipts_missing": self.totals.missing,
            "receipts_unmatched": self.totals.unmatched,
            "receipts_duplicated": self.totals.duplicates,
            "intermediate_notifications": self.intermediate,
            "mo": self.mo,
            "errors": {
                "timeout": self.submits.timeouts,
                "closed": self.submits.closed,
                "malformed": self.submits.malformed,
                "unsent": self.submits.unsent,
                "sessions_lost": self.sessions_lost,
            },
        })
    }

    /// The report for a person.
    pub(super) fn text(&self) -> String {
        let setup = &self.setup;
        let mut lines = vec![format!(
            "smsgate bench smpp: {} {} bind(s){} with a window of {} to {}; {} {} message(s) of {} part(s)",
            setup.binds,
            setup.bind_kind,
            if setup.receiver_binds > 0 {
                format!(" and {} receiver bind(s)", setup.receiver_binds)
            } else {
                String::new()
            },
            setup.window,
            setup.host,
            self.messages,
            setup.text,
            setup.parts,
        )];
        let mut line = |label: &str, value: String| lines.push(format!("{label:<19}{value}"));
        line(
            "submitted",
            format!(
                "{} submit_sm in {:.3} s",
                self.submits.submitted, self.submit_seconds
            ),
        );
        let statuses: Vec<String> = self
            .by_status()
            .iter()
            .map(|(name, count)| format!("{name}: {count}"))
            .collect();
        line(
            "acknowledged",
            format!("{} ({})", self.acked(), statuses.join(", ")),
        );
        let failures = [
            ("timed out", self.submits.timeouts),
            ("lost with their session", self.submits.closed),
            ("malformed answers", self.submits.malformed),
            ("not sent (session closed)", self.submits.unsent),
            ("sessions lost", self.sessions_lost),
        ];
        let failures: Vec<String> = failures
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(what, count)| format!("{what}: {count}"))
            .collect();
        if !failures.is_empty() {
            line("errors", failures.join(", "));
        }
        line(
            "submits/s",
            format!(
                "{} (ESME_ROK per second of the submit phase)",
                rate_text(self.submit_rate())
            ),
        );
        if setup.receipts_awaited {
            line(
                "receipts",
                format!(
                    "{} of {} expected ({} missing, {} unmatched), {}/s",
                    self.receipts,
                    self.expected,
                    self.totals.missing,
                    self.totals.unmatched,
                    rate_text(self.receipt_rate())
                ),
            );
            line(
                "end-to-end",
                format!(
                    "{} msgs/s (receipts matched / first submit to last receipt)",
                    rate_text(self.end_to_end_rate())
                ),
            );
        } else if setup.receipts_requested {
            line(
                "receipts",
                "requested, not awaited (no session receives them)".to_string(),
            );
        } else {
            line("receipts", "not requested".to_string());
        }
        line("submit -> resp", percentiles_text(self.submit_resp));
        if setup.receipts_awaited {
            line("submit -> receipt", percentiles_text(self.receipt_ms));
        }
        if self.intermediate > 0 || self.mo > 0 {
            line(
                "also received",
                format!(
                    "{} intermediate notification(s), {} MO message(s)",
                    self.intermediate, self.mo
                ),
            );
        }
        line("elapsed", format!("{:.3} s", self.elapsed_seconds));
        lines.join("\n")
    }
}

/// `ESME_RTHROTTLED`, or the code in hex for one without a name.
fn status_name(status: CommandStatus) -> String {
    status
        .name()
        .map_or_else(|| format!("{:#010x}", status.0), str::to_string)
}

pub(super) fn per_second(count: u64, seconds: Option<f64>) -> Option<f64> {
    seconds
        .filter(|seconds| *seconds > 0.0)
        .map(|seconds| count as f64 / seconds)
}

/// Three decimals are finer than anything measured here.
pub(super) fn round(value: Option<f64>) -> Value {
    value.map_or(Value::Null, |v| json!((v * 1000.0).round() / 1000.0))
}

pub(super) fn percentiles_json(percentiles: Option<Percentiles>) -> Value {
    let field = |get: fn(&Percentiles) -> f64| round(percentiles.as_ref().map(get));
    json!({
        "p50": field(|p| p.p50),
        "p90": field(|p| p.p90),
        "p99": field(|p| p.p99),
        "max": field(|p| p.max),
    })
}

pub(super) fn percentiles_text(percentiles: Option<Percentiles>) -> String {
    match percentiles {
        Some(p) => format!(
            "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            p.p50, p.p90, p.p99, p.max
        ),
        None => "no samples".to_string(),
    }
}

pub(super) fn rate_text(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_string(), |rate| format!("{rate:.1}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_in_milliseconds() {
        let mut latencies = Latencies::default();
        for ms in 1..=100 {
            latencies.record(Duration::from_millis(ms));
        }
        let p = latencies.percentiles().expect("samples");
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Latencies::default().percentiles(), None);
    }

    #[test]
    fn a_receipt_before_its_submit_response_still_matches() {
        let tracker = Tracker::default();
        let t0 = Instant::now();
        assert!(!tracker.receipt("b", t0 + Duration::from_millis(3)));
        assert!(tracker.submitted("b".into(), t0));
        assert!(!tracker.submitted("a".into(), t0));
        assert!(tracker.receipt("a", t0 + Duration::from_millis(5)));
        assert!(
            !tracker.receipt("a", t0 + Duration::from_millis(6)),
            "resent"
        );
        assert!(!tracker.submitted("c".into(), t0));
        let totals = tracker.finish();
        assert_eq!((totals.missing, totals.unmatched), (1, 1));
        let p = totals.latencies.percentiles().expect("two matched");
        assert_eq!((p.p50, p.max), (3.0, 5.0));
    }

    #[test]
    fn an_idle_report_counts_a_failed_or_lost_session_as_not_all_held() {
        let mut report = IdleReport {
            host: "127.0.0.1:2775".into(),
            bind_kind: "transceiver",
            receiver_binds: 0,
            sessions: 3,
            bound: 3,
            failed: 0,
            first_failure: None,
            lost: 0,
            bind_seconds: 0.5,
            idle_seconds: 1.0,
        };
        assert!(report.all_held());
        let json = report.json();
        assert_eq!(
            (json["bound"].clone(), json["failed"].clone()),
            (3.into(), 0.into())
        );
        assert!(report.text().contains("3 of 3 in 0.500 s, 0 failed"));
        report.lost = 1;
        assert!(!report.all_held());
        report.lost = 0;
        report.bound = 2;
        report.failed = 1;
        report.first_failure = Some("bind 3 of 3 was refused".into());
        assert!(!report.all_held());
        assert_eq!(report.json()["first_failure"], "bind 3 of 3 was refused");
        assert!(report.text().contains("first failure"));
    }

    #[test]
    fn the_json_report_has_the_stable_keys() {
        let counters = Counters::default();
        let tracker = Tracker::default();
        let start = Instant::now();
        let mut bind = BindStats {
            submitted: 2,
            ..BindStats::default()
        };
        bind.by_status.insert(CommandStatus::ESME_ROK, 1);
        bind.by_status.insert(CommandStatus::ESME_RTHROTTLED, 1);
        bind.submit_resp.record(Duration::from_millis(2));
        bind.last_answer = Some(start + Duration::from_secs(1));
        let setup = Setup {
            host: "127.0.0.1:2775".into(),
            binds: 1,
            bind_kind: "transceiver",
            receiver_binds: 0,
            window: 10,
            text: "gsm",
            parts: 1,
            receipts_requested: true,
            receipts_awaited: true,
        };
        let report = Report::new(
            setup,
            2,
            vec![bind],
            &tracker,
            &counters,
            start,
            start + Duration::from_secs(2),
        );
        let json = report.json();
        for key in [
            "submitted",
            "acked",
            "acked_by_status",
            "submit_rate",
            "receipts",
            "receipt_rate",
            "end_to_end_rate",
            "submit_resp_ms",
            "receipt_ms",
            "elapsed_s",
        ] {
            assert!(json.get(key).is_some(), "{key} missing from {json}");
        }
        assert_eq!(json["acked"], 2);
        assert_eq!(json["acked_by_status"]["ESME_RTHROTTLED"], 1);
        assert_eq!(json["submit_rate"], 1.0);
        assert_eq!(json["submit_resp_ms"]["p99"], 2.0);
        assert!(json["receipt_ms"]["p50"].is_null());
        assert!(report.text().contains("ESME_ROK: 1, ESME_RTHROTTLED: 1"));
    }
}
