//! Prometheus metrics: what the node counts as messages go through it, and
//! what it reads at scrape time, served as `GET /metrics` in the
//! OpenMetrics text format.
//!
//! One [`Metrics`] per node, shared (`Arc`) by the stages that count:
//! accept (accepted and rejected messages, time to accept), dispatch
//! (submits by outcome, provider response times) and tracking (receipts).
//! Gauges that describe the present (sessions, connector binds, queue
//! depths) are not kept up to date as things change: each scrape reads
//! them from their owners ([`Sources`]) and sets them.
//!
//! Label values are account and connector names and fixed words, so the
//! number of series is bounded by the configuration.

pub mod access;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tracing::warn;

use crate::connectors::{ConnectorHealth, SubmitOutcome};
use crate::dispatch::Verdict;
use crate::ingress::smpp_server::SessionRegistry;
use crate::store::{BindType, QueueDepths, Store};

/// The content type of the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabels {
    account: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    account: String,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectorLabels {
    connector: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SubmitLabels {
    connector: String,
    outcome: &'static str,
    verdict: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReceiptLabels {
    connector: String,
    stat: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionLabels {
    account: String,
    bind_type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// Buckets for the time to accept a message: 100 µs to about 3 s (the
/// store's group commit dominates).
fn accept_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// Buckets for the time from accepting a message to its final receipt:
/// 0.5 s to about 2.3 days (a handset that is off can take that long).
fn receipt_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.5, 2.0, 19))
}

/// Buckets for a provider's answer to a submit: 1 ms to about 33 s (past
/// the longest response timeout).
fn provider_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The node's metrics. See the module documentation.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    accepted: Family<AccountLabels, Counter>,
    rejected: Family<RejectionLabels, Counter>,
    accept_seconds: Histogram,
    submits: Family<SubmitLabels, Counter>,
    provider_response_seconds: Family<ConnectorLabels, Histogram, fn() -> Histogram>,
    receipts: Family<ReceiptLabels, Counter>,
    mo_received: Family<ConnectorLabels, Counter>,
    receipt_latency_seconds: Family<ConnectorLabels, Histogram, fn() -> Histogram>,
    sessions: Family<SessionLabels, Gauge>,
    connector_bound: Family<ConnectorLabels, Gauge>,
    connector_in_flight: Family<ConnectorLabels, Gauge>,
    messages_waiting: Family<StateLabels, Gauge>,
    outbox_waiting: Gauge,
    store_bytes: Gauge,
    messages_purged: Counter,
    /// Held while a scrape sets the gauges and encodes them, so two scrapes
    /// at once cannot clear each other's values.
    scrape: Mutex<()>,
    /// The counters again, summed over their labels, for the admin API's
    /// overview (prometheus-client cannot list a family's series).
    totals: TotalCounters,
}

#[derive(Debug, Default)]
struct TotalCounters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    submitted: AtomicU64,
    submit_errors: AtomicU64,
    receipts: AtomicU64,
    mo: AtomicU64,
}

/// What the node has counted since it started, over every account and
/// connector ([`Metrics::totals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Messages accepted.
    pub accepted: u64,
    /// Submissions rejected.
    pub rejected: u64,
    /// Messages a provider took.
    pub submitted: u64,
    /// Submits that did not end with a provider taking the message.
    pub submit_errors: u64,
    /// Receipts from providers.
    pub receipts: u64,
    /// MO segments from providers.
    pub mo: u64,
}

/// What the gauges are read from at scrape time.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The account and bind type of every bound session.
    pub sessions: Vec<(String, BindType)>,
    /// Each connector's health, by name.
    pub connectors: BTreeMap<String, ConnectorHealth>,
    /// Messages and deliveries waiting; `None` when the store did not
    /// answer (the gauges are then left out rather than reported as zero).
    pub depths: Option<QueueDepths>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every family registered, with no series yet.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let accepted = Family::default();
        registry.register(
            "smsgate_messages_accepted",
            "Messages accepted (stored and acknowledged), by account",
            accepted.clone(),
        );
        let rejected = Family::default();
        registry.register(
            "smsgate_messages_rejected",
            "Submissions rejected, by account and reason (the rejection's stable code)",
            rejected.clone(),
        );
        let accept_seconds = accept_buckets();
        registry.register(
            "smsgate_accept_seconds",
            "Time to check, charge and store a submission, in seconds",
            accept_seconds.clone(),
        );
        let submits = Family::default();
        registry.register(
            "smsgate_submits",
            "Messages submitted to a connector, by what the provider answered (outcome) and what dispatch made of it (verdict)",
            submits.clone(),
        );
        let provider_response_seconds =
            Family::new_with_constructor(provider_buckets as fn() -> Histogram);
        registry.register(
            "smsgate_provider_response_seconds",
            "Time for a provider to answer one submit, in seconds, by connector",
            provider_response_seconds.clone(),
        );
        let receipts = Family::default();
        registry.register(
            "smsgate_receipts",
            "Receipts received from providers, by connector and stat",
            receipts.clone(),
        );
        let mo_received = Family::default();
        registry.register(
            "smsgate_mo_received",
            "MO segments received from providers, by connector",
            mo_received.clone(),
        );
        let receipt_latency_seconds =
            Family::new_with_constructor(receipt_buckets as fn() -> Histogram);
        registry.register(
            "smsgate_receipt_latency_seconds",
            "End to end: from accepting a message to each final receipt for it (one per segment sent), in seconds, by connector",
            receipt_latency_seconds.clone(),
        );
        let sessions = Family::default();
        registry.register(
            "smsgate_sessions",
            "SMPP sessions bound now, by account and bind type",
            sessions.clone(),
        );
        let connector_bound = Family::default();
        registry.register(
            "smsgate_connector_bound",
            "Connections (binds) of a connector up now",
            connector_bound.clone(),
        );
        let connector_in_flight = Family::default();
        registry.register(
            "smsgate_connector_in_flight",
            "Submits sent to a connector and not answered yet",
            connector_in_flight.clone(),
        );
        let messages_waiting = Family::default();
        registry.register(
            "smsgate_messages_waiting",
            "Messages not yet submitted, by state",
            messages_waiting.clone(),
        );
        let outbox_waiting = Gauge::default();
        registry.register(
            "smsgate_outbox_waiting",
            "Receipts and MO messages waiting to be delivered to accounts",
            outbox_waiting.clone(),
        );
        let store_bytes = Gauge::default();
        registry.register(
            "smsgate_store_bytes",
            "The store's database size on disk in bytes",
            store_bytes.clone(),
        );
        let messages_purged = Counter::default();
        registry.register(
            "smsgate_messages_purged",
            "Messages deleted with their traces because they were older than [store] retention",
            messages_purged.clone(),
        );
        Metrics {
            registry,
            accepted,
            rejected,
            accept_seconds,
            submits,
            provider_response_seconds,
            receipts,
            mo_received,
            receipt_latency_seconds,
            sessions,
            connector_bound,
            connector_in_flight,
            messages_waiting,
            outbox_waiting,
            store_bytes,
            messages_purged,
            scrape: Mutex::new(()),
            totals: TotalCounters::default(),
        }
    }

    /// A submission was accepted for `account` after `took`.
    pub fn accepted(&self, account: &str, took: Duration) {
        self.accepted
            .get_or_create(&AccountLabels {
                account: account.to_string(),
            })
            .inc();
        self.totals.accepted.fetch_add(1, Ordering::Relaxed);
        self.accept_seconds.observe(took.as_secs_f64());
    }

    /// A submission of `account` was rejected with `code` after `took`.
    pub fn rejected(&self, account: &str, code: &'static str, took: Duration) {
        self.rejected
            .get_or_create(&RejectionLabels {
                account: account.to_string(),
                reason: code,
            })
            .inc();
        self.totals.rejected.fetch_add(1, Ordering::Relaxed);
        self.accept_seconds.observe(took.as_secs_f64());
    }

    /// A provider answered one submit (one segment) on `connector` after `took`.
    pub fn provider_answered(&self, connector: &str, took: Duration) {
        self.provider_response_seconds
            .get_or_create(&ConnectorLabels {
                connector: connector.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// A message was tried on `connector`: what the provider answered (for a
    /// long message, its last segment's answer) and the verdict on it.
    pub fn submitted(&self, connector: &str, outcome: &SubmitOutcome, verdict: Verdict) {
        let outcome = match outcome {
            SubmitOutcome::Accepted { .. } => "accepted",
            SubmitOutcome::Refused { .. } | SubmitOutcome::HttpRefused { .. } => "refused",
            SubmitOutcome::Failed { .. } => "failed",
        };
        let total = match verdict {
            Verdict::Submitted => &self.totals.submitted,
            _ => &self.totals.submit_errors,
        };
        total.fetch_add(1, Ordering::Relaxed);
        let verdict = match verdict {
            Verdict::Submitted => "submitted",
            Verdict::FailOver => "fail_over",
            Verdict::Retry => "retry",
            Verdict::Final => "final",
        };
        self.submits
            .get_or_create(&SubmitLabels {
                connector: connector.to_string(),
                outcome,
                verdict,
            })
            .inc();
    }

    /// A receipt with `stat` (DELIVRD, UNDELIV, ...) came from `connector`.
    pub fn receipt(&self, connector: &str, stat: &str) {
        self.receipts
            .get_or_create(&ReceiptLabels {
                connector: connector.to_string(),
                stat: stat.to_string(),
            })
            .inc();
        self.totals.receipts.fetch_add(1, Ordering::Relaxed);
    }

    /// Retention deleted `count` messages.
    pub fn purged(&self, count: u64) {
        self.messages_purged.inc_by(count);
    }

    /// An MO segment came from `connector`.
    pub fn mo_received(&self, connector: &str) {
        self.mo_received
            .get_or_create(&ConnectorLabels {
                connector: connector.to_string(),
            })
            .inc();
        self.totals.mo.fetch_add(1, Ordering::Relaxed);
    }

    /// A message accepted `took` ago got a final receipt (for one of its
    /// segments) through `connector`.
    pub fn receipt_latency(&self, connector: &str, took: Duration) {
        self.receipt_latency_seconds
            .get_or_create(&ConnectorLabels {
                connector: connector.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// Sets the gauges from `snapshot` and encodes every family.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let _scrape = self.scrape.lock().unwrap_or_else(PoisonError::into_inner);
        self.sessions.clear();
        for (account, bind_type) in &snapshot.sessions {
            self.sessions
                .get_or_create(&SessionLabels {
                    account: account.clone(),
                    bind_type: bind_label(*bind_type),
                })
                .inc();
        }
        self.connector_bound.clear();
        self.connector_in_flight.clear();
        for (name, health) in &snapshot.connectors {
            let labels = ConnectorLabels {
                connector: name.clone(),
            };
            self.connector_bound
                .get_or_create(&labels)
                .set(gauge_value(health.bound));
            self.connector_in_flight
                .get_or_create(&labels)
                .set(gauge_value(health.in_flight));
        }
        self.messages_waiting.clear();
        if let Some(depths) = &snapshot.depths {
            for (state, count) in [("accepted", depths.accepted), ("queued", depths.queued)] {
                self.messages_waiting
                    .get_or_create(&StateLabels { state })
                    .set(gauge_value(count));
            }
            self.outbox_waiting.set(gauge_value(depths.outbox));
            if let Some(bytes) = depths.store_bytes {
                self.store_bytes.set(gauge_value(bytes));
            }
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// The counters since the node started, summed over their labels.
    pub fn totals(&self) -> Totals {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let totals = &self.totals;
        Totals {
            accepted: read(&totals.accepted),
            rejected: read(&totals.rejected),
            submitted: read(&totals.submitted),
            submit_errors: read(&totals.submit_errors),
            receipts: read(&totals.receipts),
            mo: read(&totals.mo),
        }
    }
}

/// How often [`log_traffic`] writes its line.
pub const TRAFFIC_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Writes one info line per `every` with what the node did in it (accepted,
/// rejected, submitted, submit errors, receipts, MO), and none for a
/// period in which nothing happened, until `stopping` is cancelled.
///
/// The lines for single messages are at debug level: at tens of thousands
/// of messages a second, a line each would cost more than the messages
/// themselves. This line and `/metrics` are how an operator follows the
/// traffic at info level; a message's own story is its trace.
pub async fn log_traffic(
    metrics: Arc<Metrics>,
    every: Duration,
    stopping: tokio_util::sync::CancellationToken,
) {
    let mut last = metrics.totals();
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopping.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let now = metrics.totals();
        if let Some(line) = traffic_line(&last, &now, every) {
            tracing::info!("{line}");
        }
        last = now;
    }
}

/// The traffic between two readings of the totals, or `None` if there was
/// none.
fn traffic_line(before: &Totals, now: &Totals, period: Duration) -> Option<String> {
    let delta = |now: u64, before: u64| now.saturating_sub(before);
    let counts = [
        ("accepted", delta(now.accepted, before.accepted)),
        ("rejected", delta(now.rejected, before.rejected)),
        ("submitted", delta(now.submitted, before.submitted)),
        (
            "submit errors",
            delta(now.submit_errors, before.submit_errors),
        ),
        ("receipts", delta(now.receipts, before.receipts)),
        ("MO", delta(now.mo, before.mo)),
    ];
    if counts.iter().all(|(_, count)| *count == 0) {
        return None;
    }
    let seconds = period.as_secs_f64().max(f64::EPSILON);
    let per_second = |count: u64| count as f64 / seconds;
    let parts: Vec<String> = counts
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    Some(format!(
        "traffic in the last {}: {} ({:.0} accepted/s)",
        humantime::format_duration(period),
        parts.join(", "),
        per_second(counts[0].1)
    ))
}

fn gauge_value(count: impl TryInto<i64>) -> i64 {
    count.try_into().unwrap_or(i64::MAX)
}

/// A bind type's label value: its full name.
fn bind_label(bind_type: BindType) -> &'static str {
    match bind_type {
        BindType::Transmitter => "transmitter",
        BindType::Receiver => "receiver",
        BindType::Transceiver => "transceiver",
    }
}

/// What `/metrics` reads the gauges from.
#[derive(Clone)]
pub struct Sources {
    /// The counters and histograms, and where the gauges are set.
    pub metrics: Arc<Metrics>,
    /// The bound SMPP sessions.
    pub sessions: Arc<SessionRegistry>,
    /// Each connector's health (dispatch owns the connectors, and a reload
    /// replaces them).
    pub connectors: Arc<dyn Fn() -> BTreeMap<String, ConnectorHealth> + Send + Sync>,
    /// The store, for queue depths.
    pub store: Arc<dyn Store>,
}

/// `GET /metrics`.
pub fn routes(sources: Sources) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(sources)
}

async fn scrape(State(sources): State<Sources>) -> Response {
    let depths = match sources.store.queue_depths().await {
        Ok(depths) => Some(depths),
        Err(error) => {
            warn!(%error, "metrics: queue depths could not be read");
            None
        }
    };
    let snapshot = Snapshot {
        sessions: sources
            .sessions
            .list()
            .into_iter()
            .map(|session| (session.system_id, session.bind_type))
            .collect(),
        connectors: (sources.connectors)(),
        depths,
    };
    let text = sources.metrics.render(&snapshot);
    (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_value(text: &str, series: &str) -> Option<String> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(str::to_string)
    }

    #[test]
    fn traffic_line_counts_what_happened_in_the_period_and_is_silent_without_traffic() {
        let before = Totals {
            accepted: 100,
            rejected: 1,
            submitted: 90,
            submit_errors: 2,
            receipts: 80,
            mo: 5,
        };
        assert_eq!(
            traffic_line(&before, &before, Duration::from_secs(60)),
            None
        );
        let now = Totals {
            accepted: 700,
            rejected: 1,
            submitted: 690,
            submit_errors: 2,
            receipts: 680,
            mo: 6,
        };
        assert_eq!(
            traffic_line(&before, &now, Duration::from_secs(60)).as_deref(),
            Some(
                "traffic in the last 1m: accepted 600, rejected 0, submitted 600, \
                 submit errors 0, receipts 600, MO 1 (10 accepted/s)"
            )
        );
    }

    #[test]
    fn counters_are_rendered_per_label_set_with_the_total_suffix() {
        let metrics = Metrics::new();
        metrics.accepted("alice", Duration::from_millis(2));
        metrics.accepted("alice", Duration::from_millis(3));
        metrics.rejected("bob", "invalid_destination", Duration::from_micros(50));
        metrics.receipt("sim", "DELIVRD");
        let text = metrics.render(&Snapshot::default());
        assert_eq!(
            line_value(&text, r#"smsgate_messages_accepted_total{account="alice"}"#).as_deref(),
            Some("2")
        );
        assert_eq!(
            line_value(
                &text,
                r#"smsgate_messages_rejected_total{account="bob",reason="invalid_destination"}"#
            )
            .as_deref(),
            Some("1")
        );
        assert_eq!(
            line_value(
                &text,
                r#"smsgate_receipts_total{connector="sim",stat="DELIVRD"}"#
            )
            .as_deref(),
            Some("1")
        );
        assert_eq!(
            line_value(&text, "smsgate_accept_seconds_count").as_deref(),
            Some("3"),
            "accepted and rejected submissions are both timed"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    /// Every series the Grafana dashboard and the alert rules under
    /// deploy/ ask for is one this node exposes, once each kind of event
    /// has happened.
    #[test]
    fn the_deploy_dashboard_and_alert_rules_name_only_series_the_node_exposes() {
        let metrics = Metrics::new();
        metrics.accepted("acme", Duration::from_millis(2));
        metrics.rejected("acme", "invalid_destination", Duration::from_millis(1));
        metrics.provider_answered("carrier", Duration::from_millis(20));
        metrics.submitted(
            "carrier",
            &SubmitOutcome::Accepted {
                provider_id: "1".into(),
            },
            Verdict::Submitted,
        );
        metrics.receipt("carrier", "DELIVRD");
        metrics.receipt_latency("carrier", Duration::from_secs(1));
        metrics.mo_received("carrier");
        metrics.purged(1);
        let text = metrics.render(&Snapshot {
            sessions: vec![("acme".to_string(), BindType::Transceiver)],
            connectors: BTreeMap::from([("carrier".to_string(), ConnectorHealth::default())]),
            depths: Some(QueueDepths {
                accepted: 1,
                queued: 1,
                outbox: 1,
                store_bytes: Some(4096),
            }),
        });
        let exposed = |name: &str| {
            text.lines().any(|line| {
                line.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            })
        };
        let dashboard = include_str!("../../../../deploy/grafana/smsgate.json");
        let parsed: serde_json::Value =
            serde_json::from_str(dashboard).expect("the dashboard is JSON");
        assert!(
            parsed["panels"]
                .as_array()
                .is_some_and(|panels| !panels.is_empty())
        );
        let alerts = include_str!("../../../../deploy/prometheus/smsgate-alerts.yml");
        let mut names = 0;
        for source in [dashboard, alerts] {
            for (start, _) in source.match_indices("smsgate_") {
                let name: String = source[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                names += 1;
                assert!(exposed(&name), "{name} is not exposed:\n{text}");
            }
        }
        assert!(names > 20, "{names}");
    }

    #[test]
    fn submits_are_labelled_with_outcome_and_verdict() {
        let metrics = Metrics::new();
        let refused = SubmitOutcome::Refused {
            status: smpp::CommandStatus::ESME_RTHROTTLED,
        };
        metrics.submitted("carrier", &refused, Verdict::Retry);
        metrics.provider_answered("carrier", Duration::from_millis(20));
        let text = metrics.render(&Snapshot::default());
        assert_eq!(
            line_value(
                &text,
                r#"smsgate_submits_total{connector="carrier",outcome="refused",verdict="retry"}"#
            )
            .as_deref(),
            Some("1")
        );
        assert_eq!(
            line_value(
                &text,
                r#"smsgate_provider_response_seconds_count{connector="carrier"}"#
            )
            .as_deref(),
            Some("1")
        );
    }

    #[test]
    fn gauges_show_only_what_the_latest_snapshot_holds() {
        let metrics = Metrics::new();
        let busy = Snapshot {
            sessions: vec![
                ("alice".to_string(), BindType::Transceiver),
                ("alice".to_string(), BindType::Transceiver),
                ("bob".to_string(), BindType::Receiver),
            ],
            connectors: BTreeMap::from([(
                "sim".to_string(),
                ConnectorHealth {
                    bound: 2,
                    in_flight: 5,
                    ..ConnectorHealth::default()
                },
            )]),
            depths: Some(QueueDepths {
                accepted: 3,
                queued: 4,
                outbox: 7,
                store_bytes: Some(8192),
            }),
        };
        metrics.purged(12);
        let text = metrics.render(&busy);
        let value = |series: &str| line_value(&text, series);
        assert_eq!(
            value(r#"smsgate_sessions{account="alice",bind_type="transceiver"}"#).as_deref(),
            Some("2")
        );
        assert_eq!(
            value(r#"smsgate_sessions{account="bob",bind_type="receiver"}"#).as_deref(),
            Some("1")
        );
        assert_eq!(
            value(r#"smsgate_connector_bound{connector="sim"}"#).as_deref(),
            Some("2")
        );
        assert_eq!(
            value(r#"smsgate_connector_in_flight{connector="sim"}"#).as_deref(),
            Some("5")
        );
        assert_eq!(
            value(r#"smsgate_messages_waiting{state="queued"}"#).as_deref(),
            Some("4")
        );
        assert_eq!(value("smsgate_outbox_waiting").as_deref(), Some("7"));
        assert_eq!(value("smsgate_store_bytes").as_deref(), Some("8192"));
        assert_eq!(
            value("smsgate_messages_purged_total").as_deref(),
            Some("12")
        );

        let quiet = metrics.render(&Snapshot::default());
        assert!(
            !quiet.contains("smsgate_sessions{"),
            "sessions that unbound are gone: {quiet}"
        );
        assert!(!quiet.contains("smsgate_connector_bound{"), "{quiet}");
    }
}
