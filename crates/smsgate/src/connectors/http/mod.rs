//! The http connector: a provider's HTTP API.
//!
//! Each segment becomes one request (`request.rs`: its text decoded and
//! checked against what the provider can carry, the parameters written as
//! a form, JSON or a query string, authenticated as `auth.rs` says), sent
//! over one pooled client (`client.rs`), and the answer is judged by its
//! status and an optional check of its body (`response.rs`).
//!
//! It owns the requests and nothing else: no queue, no retry, no store. A
//! segment is sent at most once; what to do with a refusal or a failure is
//! dispatch's decision. Receipts from HTTP providers arrive as webhooks,
//! which are not this module's job.
//!
//! A segment this connector cannot send at all (a text it cannot decode,
//! or with characters its provider cannot carry) is refused before
//! sending as [`SubmitOutcome::HttpRefused`] with status
//! [`NOT_SENT`] (0): another connector may well carry it.

mod auth;
mod client;
mod config;
mod request;
mod response;
mod text;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use config::{Auth, Charset, Format, HttpConnectorConfig, Method, NumberFormat, Secret};

use super::rate::RateMeter;
use super::{ConnectorHealth, OutboundSegment, SubmitFailure, SubmitOutcome};
use crate::pdu_trace::{PDU_TARGET, text_dump};
use crate::settings::InvalidSetting;
use crate::trace_switch::TraceSwitches;
use request::RequestTemplate;
use response::AnswerCheck;

/// The [`SubmitOutcome::HttpRefused`] status of a segment refused before
/// sending: this connector cannot carry it, and no request was made.
pub const NOT_SENT: u16 = 0;
/// The most of an answer's body that is read; the rest is dropped. Enough
/// for any provider's answer to one message, and a bound on memory.
const BODY_MAX: usize = 64 * 1024;
/// How long [`HttpConnector::shutdown`] waits, beyond the request timeout,
/// for the requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The rate limit spaces requests evenly (1/tps apart) instead of allowing
/// a burst of a second's worth, which a provider counting per second would
/// see as twice its limit.
const NO_BURST: std::num::NonZeroU32 = std::num::NonZeroU32::MIN;

/// A running http connector. See the module documentation.
#[derive(Debug)]
pub struct HttpConnector {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    name: String,
    template: RequestTemplate,
    check: AnswerCheck,
    /// One client, so connections to the provider are pooled and reused.
    client: reqwest::Client,
    timeout: Duration,
    /// One permit per request in flight: a semaphore and not a counter, so
    /// that a submit beyond the limit waits for a request to end, and
    /// shutdown can wait for all of them by taking every permit.
    permits: Semaphore,
    concurrency: u32,
    limiter: Option<DefaultDirectRateLimiter>,
    /// Requests sent and not answered yet.
    in_flight: AtomicUsize,
    submitted: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    rate: Mutex<RateMeter>,
    /// Cancelled by shutdown: no new request starts.
    closing: CancellationToken,
    /// Whether this connector's requests and answers are logged.
    trace: TraceSwitches,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts one request in flight for as long as it lives (also when the
/// submit is dropped halfway).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(counter: &'a AtomicUsize) -> InFlight<'a> {
        counter.fetch_add(1, Ordering::Relaxed);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A submit that got no usable answer, and what the operator should read.
struct Failure {
    reason: SubmitFailure,
    why: String,
}

impl HttpConnector {
    /// Checks the configuration and sets up the client; returns at once
    /// (connections open with the first requests).
    ///
    /// Fails if the configuration is invalid (a bad URL, regular
    /// expression or JSON pointer, missing credentials, ...) or its TLS
    /// settings cannot be loaded (a missing CA file, no system roots for
    /// an https URL).
    pub fn start(
        name: String,
        config: HttpConnectorConfig,
    ) -> Result<HttpConnector, InvalidSetting> {
        HttpConnector::start_traced(name, config, TraceSwitches::new())
    }

    /// Like [`HttpConnector::start`]; each request (line and body, secret
    /// fields masked, no headers) and its answer are logged while `trace`
    /// has this connector's switch on.
    pub fn start_traced(
        name: String,
        config: HttpConnectorConfig,
        trace: TraceSwitches,
    ) -> Result<HttpConnector, InvalidSetting> {
        config.check_limits(&name)?;
        let template = RequestTemplate::new(&name, &config)?;
        let check = AnswerCheck::new(&name, &config)?;
        let client = client::build(&name, &config, template.is_https())?;
        let concurrency = u32::try_from(config.concurrency)
            .map_err(|_| config::invalid(&name, "concurrency is too large"))?;
        let limiter = config
            .tps
            .and_then(std::num::NonZeroU32::new)
            .map(|tps| RateLimiter::direct(Quota::per_second(tps).allow_burst(NO_BURST)));
        Ok(HttpConnector {
            shared: Arc::new(Shared {
                name,
                template,
                check,
                client,
                timeout: config.timeout,
                permits: Semaphore::new(config.concurrency),
                concurrency,
                limiter,
                in_flight: AtomicUsize::new(0),
                submitted: AtomicU64::new(0),
                refused: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                last_error: Mutex::new(None),
                rate: Mutex::new(RateMeter::new()),
                closing: CancellationToken::new(),
                trace,
            }),
        })
    }

    /// The connector's name, as given to [`HttpConnector::start`].
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Sends one segment as one request and reports the provider's answer.
    /// Never sends it twice: a failure is reported, and retrying is the
    /// caller's decision.
    ///
    /// Waits for a free slot (`concurrency`) and the rate limit (`tps`).
    /// A text this connector cannot carry is refused with status
    /// [`NOT_SENT`] without a request. Once shutdown has begun, fails with
    /// [`SubmitFailure::NotBound`] without sending.
    pub async fn submit(&self, segment: &OutboundSegment) -> SubmitOutcome {
        let shared = &self.shared;
        let request = match shared.template.build(&shared.client, segment) {
            Ok(request) => request,
            Err(detail) => {
                shared.refused.fetch_add(1, Ordering::Relaxed);
                debug!(connector = %shared.name, message_id = %segment.message_id, %detail, "not sendable here");
                return SubmitOutcome::HttpRefused {
                    status: NOT_SENT,
                    detail,
                };
            }
        };
        let result = match self.slot().await {
            Some(_permit) => {
                let _in_flight = InFlight::new(&shared.in_flight);
                self.exchange(request).await
            }
            None => Err(Failure {
                reason: SubmitFailure::NotBound,
                why: "the connector is shutting down".into(),
            }),
        };
        self.count(segment, result)
    }

    /// A permit to send, once the rate limit allows; `None` if the
    /// connector is shutting down.
    async fn slot(&self) -> Option<SemaphorePermit<'_>> {
        let shared = &self.shared;
        let ready = async {
            let permit = shared.permits.acquire().await.ok()?;
            if let Some(limiter) = &shared.limiter {
                limiter.until_ready().await;
            }
            Some(permit)
        };
        tokio::select! {
            biased;
            () = shared.closing.cancelled() => None,
            permit = ready => permit,
        }
    }

    /// Sends the request and reads the answer.
    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<SubmitOutcome, Failure> {
        let check = &self.shared.check;
        let traced = self.shared.trace.connector_on(&self.shared.name);
        let sent = if traced {
            self.send_traced(request).await
        } else {
            request.send().await
        };
        let mut answer = sent.map_err(|e| Failure {
            reason: send_failure(&e),
            why: e.without_url().to_string(),
        })?;
        let status = answer.status().as_u16();
        let success = (200..300).contains(&status);
        let body = read_body(&mut answer).await;
        if traced {
            self.trace_answer(status, body.as_deref().ok());
        }
        match body {
            Ok(body) => check.judge(status, &body).map_err(|why| Failure {
                reason: SubmitFailure::Malformed,
                why,
            }),
            Err(e) if !success => Ok(SubmitOutcome::HttpRefused {
                status,
                detail: format!(
                    "{} (the body could not be read: {})",
                    response::reason(status),
                    e.without_url()
                ),
            }),
            Err(_) if !check.needs_body() => Ok(SubmitOutcome::Accepted {
                provider_id: String::new(),
            }),
            Err(e) => Err(Failure {
                reason: if e.is_timeout() {
                    SubmitFailure::Timeout
                } else {
                    SubmitFailure::Malformed
                },
                why: format!("the answer's body could not be read: {}", e.without_url()),
            }),
        }
    }

    /// Sends the request after logging its line and body (secret fields
    /// masked; headers, which carry the credentials, not at all).
    async fn send_traced(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let (client, request) = request.build_split();
        let request = request?;
        let shared = &self.shared;
        let mut url = request.url().clone();
        let _ = url.set_password(None);
        let line = shared
            .template
            .redact(&format!("{} {url}", request.method()));
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .unwrap_or_default();
        let body = shared.template.redact(&String::from_utf8_lossy(body));
        info!(
            target: PDU_TARGET,
            direction = "out", connector = %shared.name, request = %line,
            body = %text_dump(body.as_bytes()), "http request"
        );
        client.execute(request).await
    }

    /// Logs the answer to a traced request.
    fn trace_answer(&self, status: u16, body: Option<&[u8]>) {
        let shared = &self.shared;
        let body = match body {
            Some(body) => text_dump(
                shared
                    .template
                    .redact(&String::from_utf8_lossy(body))
                    .as_bytes(),
            ),
            None => "(could not be read)".to_string(),
        };
        info!(
            target: PDU_TARGET,
            direction = "in", connector = %shared.name, status, body = %body, "http answer"
        );
    }

    /// Counts an answered (or failed) request and notes connector-level
    /// trouble for the console.
    fn count(
        &self,
        segment: &OutboundSegment,
        result: Result<SubmitOutcome, Failure>,
    ) -> SubmitOutcome {
        let shared = &self.shared;
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(Failure { reason, why }) => {
                shared.failed.fetch_add(1, Ordering::Relaxed);
                warn!(connector = %shared.name, message_id = %segment.message_id, %reason, error = %why, "submit failed");
                *lock(&shared.last_error) = Some(format!("{reason}: {why}"));
                return SubmitOutcome::Failed { reason };
            }
        };
        lock(&shared.rate).record(std::time::Instant::now());
        match &outcome {
            SubmitOutcome::Accepted { .. } => {
                shared.submitted.fetch_add(1, Ordering::Relaxed);
            }
            SubmitOutcome::HttpRefused { status, detail } => {
                shared.refused.fetch_add(1, Ordering::Relaxed);
                if concerns_connector(*status) {
                    warn!(connector = %shared.name, status, "the provider refuses requests");
                    *lock(&shared.last_error) = Some(format!("HTTP {status}: {detail}"));
                }
            }
            SubmitOutcome::Refused { .. } | SubmitOutcome::Failed { .. } => {}
        }
        outcome
    }

    /// How the connector is doing now. An HTTP API has no binds: it counts
    /// as one, bound until shutdown.
    pub fn health(&self) -> ConnectorHealth {
        let shared = &self.shared;
        ConnectorHealth {
            bound: usize::from(!shared.closing.is_cancelled()),
            configured: 1,
            in_flight: shared.in_flight.load(Ordering::Relaxed),
            submitted: shared.submitted.load(Ordering::Relaxed),
            refused: shared.refused.load(Ordering::Relaxed),
            failed: shared.failed.load(Ordering::Relaxed),
            unreadable_receipts: 0,
            last_error: lock(&shared.last_error).clone(),
            rate: lock(&shared.rate).rate(std::time::Instant::now()),
        }
    }

    /// Starts no new request, and waits for those in flight to be answered
    /// (at most the request timeout and a few seconds). Submits waiting for
    /// a slot fail with [`SubmitFailure::NotBound`].
    pub async fn shutdown(self) {
        let shared = &self.shared;
        shared.closing.cancel();
        let limit = shared.timeout + SHUTDOWN_GRACE;
        let all = shared.permits.acquire_many(shared.concurrency);
        if tokio::time::timeout(limit, all).await.is_err() {
            warn!(
                connector = %shared.name,
                in_flight = shared.in_flight.load(Ordering::Relaxed),
                "requests still in flight after {limit:?}; leaving them"
            );
        }
        shared.permits.close();
    }
}

impl Drop for HttpConnector {
    fn drop(&mut self) {
        self.shared.closing.cancel();
    }
}

/// Why a request got no answer. A connection that could not be opened
/// (refused, no such host, TLS handshake failed, connect timeout) means
/// nothing was sent; a request reqwest could not even build was not sent
/// either. A timeout after that leaves the provider perhaps with the
/// segment; so does a connection lost while it was being sent or answered.
fn send_failure(error: &reqwest::Error) -> SubmitFailure {
    if error.is_connect() || error.is_builder() {
        SubmitFailure::NotBound
    } else if error.is_timeout() {
        SubmitFailure::Timeout
    } else {
        SubmitFailure::ConnectionLost
    }
}

/// Statuses that say something about the connector (its credentials, its
/// rate, the provider's health) rather than one segment.
fn concerns_connector(status: u16) -> bool {
    matches!(status, 401 | 403 | 407 | 429 | 500..=599)
}

/// The answer's body, at most [`BODY_MAX`] octets of it.
async fn read_body(response: &mut reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = BODY_MAX - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == BODY_MAX {
            break;
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_level_statuses_are_told_from_per_message_ones() {
        for status in [401, 403, 429, 500, 503] {
            assert!(concerns_connector(status), "{status}");
        }
        for status in [NOT_SENT, 200, 400, 404, 422] {
            assert!(!concerns_connector(status), "{status}");
        }
    }

    #[test]
    fn start_refuses_an_invalid_configuration_naming_the_connector() {
        let mut config = HttpConnectorConfig::new("https://api.example.com/sms");
        config.id_regex = Some("(".into());
        let err = HttpConnector::start("acme".into(), config).expect_err("refused");
        assert!(
            err.to_string().contains("connector acme: id_regex"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_ca_file_is_a_configuration_error() {
        let mut config = HttpConnectorConfig::new("https://api.example.com/sms");
        config.ca_file = Some("/nonexistent/ca.pem".into());
        let err = HttpConnector::start("acme".into(), config).expect_err("refused");
        assert!(err.to_string().contains("ca_file"), "{err}");
    }
}
