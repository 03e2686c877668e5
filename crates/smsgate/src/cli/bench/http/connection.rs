//! The client side of the load: keep-alive HTTP/1.1 connections, each
//! driven by one task that sends a request, reads the whole answer and
//! sends the next, so a run holds exactly `--connections` connections and
//! as many requests in flight.
//!
//! The connections are hyper's own (`hyper::client::conn::http1`), not a
//! pooled client's: a pool opens a new connection whenever a request is
//! ready before the last answer's connection is back in it, so it holds
//! "about" N, and each extra one costs a TCP (and TLS) handshake that is
//! not what the run measures. A connection the server closes is opened
//! again, and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hyper::body::{Body as _, Incoming};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::CONTENT_LENGTH;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::super::super::CliError;
use super::super::args::Stop;
use super::super::stats::{Counters, Tracker, bump};
use super::args::{Plan, Target};
use super::report::{ConnectionStats, Tally};
use super::requests::Requests;

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may wait for its whole answer: a gateway under
/// load may take seconds, and a lost answer is what is being counted, not
/// a reason to give up early.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read: a batch of 1000 is answered in about 150 kB.
const MAX_ANSWER: usize = 4 << 20;
/// The wait after a connection could not be opened again, so a server
/// that is gone is not hammered with connects.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// Opens connections to the run's target.
pub(super) struct Connector {
    target: Target,
    tls: Option<TlsConnector>,
}

impl Connector {
    pub(super) fn new(target: &Target) -> Result<Connector, CliError> {
        let tls = target
            .https
            .then(super::super::tls::connector)
            .transpose()?;
        Ok(Connector {
            target: target.clone(),
            tls,
        })
    }

    /// A new connection, ready for its first request; its I/O runs in a
    /// task of its own until the sender is dropped or the server closes.
    pub(super) async fn open(&self) -> Result<SendRequest<String>, String> {
        let authority = &self.target.authority;
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(authority))
            .await
            .map_err(|_| format!("no connection to {authority} within {CONNECT_TIMEOUT:?}"))?
            .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
        let _ = stream.set_nodelay(true);
        match &self.tls {
            Some(connector) => {
                let name = super::super::tls::server_name(authority).map_err(|e| e.to_string())?;
                let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, stream))
                    .await
                    .map_err(|_| format!("the TLS handshake with {authority} timed out"))?
                    .map_err(|e| format!("TLS with {authority}: {e}"))?;
                handshake(TokioIo::new(tls)).await
            }
            None => handshake(TokioIo::new(stream)).await,
        }
    }
}

async fn handshake<T>(io: T) -> Result<SendRequest<String>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        // Its end (closed by either side) shows at the sender.
        let _ = connection.await;
    });
    Ok(sender)
}

/// Opens every connection of the plan at once; the first failure is the
/// error (the ones already open close as they are dropped).
pub(super) async fn open_all(
    connector: &Connector,
    count: u32,
    url: &str,
) -> Result<Vec<SendRequest<String>>, CliError> {
    let opens = (1..=count).map(|number| async move {
        connector
            .open()
            .await
            .map_err(|e| format!("connection {number} of {count} to {url}: {e}"))
    });
    Ok(futures::future::try_join_all(opens).await?)
}

/// What every connection's task shares.
pub(super) struct Run {
    pub(super) plan: Plan,
    pub(super) requests: Requests,
    pub(super) connector: Connector,
    pub(super) counters: Arc<Counters>,
    pub(super) tracker: Tracker,
    /// Final callbacks by state, and the callbacks that were no report at all.
    pub(super) finals: std::sync::Mutex<Tally>,
    pub(super) malformed_callbacks: AtomicU64,
    /// The next request number to claim.
    next_request: AtomicU64,
    /// When the first request went; rates and deadlines count from it.
    pub(super) start: Instant,
}

/// The messages one request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Claim {
    /// The request's number over the run.
    index: u64,
    /// Its first message's number.
    first: u64,
    messages: u32,
}

impl Run {
    pub(super) fn new(plan: Plan, requests: Requests, connector: Connector, start: Instant) -> Run {
        Run {
            plan,
            requests,
            connector,
            counters: Arc::new(Counters::default()),
            tracker: Tracker::default(),
            finals: std::sync::Mutex::new(Tally::default()),
            malformed_callbacks: AtomicU64::new(0),
            next_request: AtomicU64::new(0),
            start,
        }
    }

    /// The next request's messages, unless the count is reached or the
    /// time is up.
    fn claim(&self) -> Option<Claim> {
        if let Stop::Duration(duration) = self.plan.stop
            && self.start.elapsed() >= duration
        {
            return None;
        }
        let batch = u64::from(self.plan.batch);
        let index = self.next_request.fetch_add(1, Ordering::Relaxed);
        let first = index.checked_mul(batch)?;
        let messages = match self.plan.stop {
            Stop::Count(count) if first >= count => return None,
            Stop::Count(count) => (count - first).min(batch),
            Stop::Duration(_) => batch,
        };
        Some(Claim {
            index,
            first,
            messages: u32::try_from(messages).unwrap_or(self.plan.batch),
        })
    }

    /// When request `index` is due under `--rate` (messages per second):
    /// evenly spaced from the start by the messages before it.
    fn due(&self, index: u64) -> Option<tokio::time::Instant> {
        let rate = self.plan.rate?;
        let messages = index as f64 * f64::from(self.plan.batch);
        let offset = Duration::from_secs_f64(messages / f64::from(rate));
        Some(tokio::time::Instant::from_std(self.start + offset))
    }
}

/// Why a request got no answer.
#[derive(Debug)]
enum Failure {
    Timeout,
    /// The connection closed or broke before the whole answer came.
    Closed,
    /// The answer was larger than [`MAX_ANSWER`].
    TooLarge,
}

/// Sends requests on one connection until the run's messages are claimed
/// or its time is up; returns what this connection saw.
pub(super) async fn send_loop(run: Arc<Run>, first: SendRequest<String>) -> ConnectionStats {
    let mut stats = ConnectionStats::default();
    let mut connection = Some(first);
    while let Some(claim) = run.claim() {
        if let Some(due) = run.due(claim.index) {
            tokio::time::sleep_until(due).await;
        }
        let Some(sender) = ready(&run, &mut connection, &mut stats).await else {
            stats.unsent += u64::from(claim.messages);
            tokio::time::sleep(RECONNECT_PAUSE).await;
            continue;
        };
        let request = run.requests.request(claim.first, claim.messages);
        let sent = Instant::now();
        stats.requests += 1;
        stats.messages += u64::from(claim.messages);
        add(&run.counters.submitted, claim.messages);
        let answer = tokio::time::timeout(RESPONSE_TIMEOUT, exchange(sender, request)).await;
        let answered = Instant::now();
        stats.last_answer = stats.last_answer.max(Some(answered));
        let failure = match answer {
            Ok(Ok((status, body))) => {
                record(&run, &mut stats, claim, status, &body, sent, answered);
                continue;
            }
            Ok(Err(failure)) => failure,
            Err(_) => Failure::Timeout,
        };
        // The connection cannot carry another request after a half-read
        // answer: the next one opens a new connection.
        connection = None;
        stats.unanswered += u64::from(claim.messages);
        match failure {
            Failure::Timeout => stats.timeouts += 1,
            Failure::Closed => stats.closed += 1,
            Failure::TooLarge => stats.too_large += 1,
        }
    }
    stats
}

/// The connection, ready for a request: the one there is if the server
/// kept it open, else a new one; `None` if none could be opened.
async fn ready<'a>(
    run: &Run,
    connection: &'a mut Option<SendRequest<String>>,
    stats: &mut ConnectionStats,
) -> Option<&'a mut SendRequest<String>> {
    if let Some(sender) = connection.as_mut()
        && sender.ready().await.is_err()
    {
        *connection = None;
    }
    if connection.is_none() {
        match run.connector.open().await {
            Ok(sender) => {
                stats.reopened += 1;
                *connection = Some(sender);
            }
            Err(error) => {
                if stats.connect_failures == 0 {
                    eprintln!("smsgate bench: {error}");
                }
                stats.connect_failures += 1;
                return None;
            }
        }
    }
    connection.as_mut()
}

/// Sends one request and reads its whole answer, at most [`MAX_ANSWER`].
async fn exchange(
    sender: &mut SendRequest<String>,
    request: Request<String>,
) -> Result<(StatusCode, Vec<u8>), Failure> {
    let response: Response<Incoming> = sender
        .send_request(request)
        .await
        .map_err(|_| Failure::Closed)?;
    let status = response.status();
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_ANSWER) {
        return Err(Failure::TooLarge);
    }
    let mut body = response.into_body();
    let mut answer = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|_| Failure::Closed)?;
        if let Some(data) = frame.data_ref() {
            if answer.len() + data.len() > MAX_ANSWER {
                return Err(Failure::TooLarge);
            }
            answer.extend_from_slice(data);
        }
    }
    Ok((status, answer))
}

/// Adds a request's messages to a counter.
fn add(counter: &AtomicU64, messages: u32) {
    counter.fetch_add(u64::from(messages), Ordering::Relaxed);
}

/// Counts one answer and hands the ids of its accepted messages to the
/// tracker when callbacks are awaited.
fn record(
    run: &Run,
    stats: &mut ConnectionStats,
    claim: Claim,
    status: StatusCode,
    body: &[u8],
    sent: Instant,
    answered: Instant,
) {
    stats.answered += 1;
    *stats.by_status.entry(status.as_u16()).or_default() += 1;
    stats
        .answer_time
        .record(answered.saturating_duration_since(sent));
    add(&run.counters.acked, claim.messages);
    let outcome = run
        .requests
        .outcome(status, body, claim.first, claim.messages);
    stats.unreadable += outcome.unreadable;
    for code in outcome.refused {
        stats.refused.add(&code, 1);
    }
    stats.accepted += outcome.accepted.len() as u64;
    for id in outcome.accepted {
        bump(&run.counters.acked_ok);
        if run.plan.callbacks {
            bump(&run.counters.expected);
            if run.tracker.submitted(id, sent) {
                bump(&run.counters.receipts);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::bench::http::args::{Api, Credentials};

    fn run(stop: Stop, batch: u32, rate: Option<u32>) -> Run {
        let target = Target {
            https: false,
            authority: "127.0.0.1:1".into(),
            base_path: String::new(),
        };
        let plan = Plan {
            api: Api::Smsgate,
            target: target.clone(),
            url: "http://127.0.0.1:1".into(),
            credentials: Credentials::ApiKey("sgk_x".into()),
            connections: 1,
            batch,
            stop,
            rate,
            prefix: "4479".into(),
            from: "smsgate".into(),
            callbacks: false,
            callback_wait: Duration::from_secs(1),
            json: false,
        };
        let requests = Requests::new(&plan, None).expect("valid");
        let connector = Connector::new(&target).expect("plain");
        Run::new(plan, requests, connector, Instant::now())
    }

    #[test]
    fn batches_are_claimed_until_the_count_with_a_short_last_one() {
        let run = run(Stop::Count(25), 10, None);
        let claims: Vec<(u64, u32)> = std::iter::from_fn(|| run.claim())
            .map(|claim| (claim.first, claim.messages))
            .collect();
        assert_eq!(claims, [(0, 10), (10, 10), (20, 5)]);
        assert_eq!(run.claim(), None);
    }

    #[test]
    fn a_rate_spaces_requests_by_the_messages_before_them() {
        let run = run(Stop::Count(100), 10, Some(20));
        let due = run.due(3).expect("a rate").into_std();
        assert_eq!(due - run.start, Duration::from_millis(1500));
    }

    #[test]
    fn a_duration_stops_claiming_once_it_has_passed() {
        let mut run = run(Stop::Duration(Duration::from_secs(1)), 1, None);
        run.start = Instant::now() - Duration::from_secs(2);
        assert_eq!(run.claim(), None);
    }
}
