//! The customer side of the load: SMPP sessions on our own session layer
//! (`smpp::session`), the submit loop of each, and the reader of each
//! session's events that answers receipts at once.
//!
//! Each submitting session keeps up to its window of submit_sm unanswered:
//! one task hands the next submit to the session as soon as a window slot
//! frees ([`SessionHandle::start_request`] waits for it) and collects the
//! answers in a `FuturesUnordered` meanwhile, so submits are pipelined
//! without a task per message. The session's events are read by a task of
//! their own, as the session layer requires: a reader that stopped would
//! stall the responses to our submits too.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::{StreamExt as _, TryStreamExt as _};
use smpp::receipt::Receipt;
use smpp::session::{
    self, InboundRequest, RequestError, SessionConfig, SessionEvent, SessionHandle,
};
use smpp::types::esm_class;
use smpp::{Bind, Body, COctetString, CommandStatus, MessageIdResp, Pdu, SubmitSm, TlvList as _};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::TlsConnector;

use super::super::CliError;
use super::args::{BindKind, Plan, Stop};
use super::stats::{BindProgress, BindStats, Counters, Tracker, bump};

/// How long connecting (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one submit may wait for its answer: a gateway under load
/// may take seconds, and a lost answer is what is being counted, not a
/// reason to give up early.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);
/// deliver_sm the gateway may have unanswered on one session before our
/// session layer throttles it: far more than it sends at once, since each
/// is answered the moment it is read.
const PEER_WINDOW: usize = 1000;
/// The interface version we bind with.
const INTERFACE_VERSION: u8 = 0x34;
/// How often `--idle` looks whether every session has closed (and prints
/// its progress line).
const IDLE_TICK: Duration = Duration::from_secs(1);

/// One bound session.
pub(super) struct Bound {
    pub(super) handle: SessionHandle,
    pub(super) events: mpsc::Receiver<SessionEvent>,
    /// Whether it submits (transceiver or transmitter) or only receives.
    pub(super) submits: bool,
    /// Whether receipts can come on it.
    pub(super) receives: bool,
}

/// Which bind, for the error message of one that failed.
#[derive(Debug, Clone, Copy)]
struct BindSpec {
    number: u32,
    of: u32,
    kind: SessionKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionKind {
    Transceiver,
    Transmitter,
    Receiver,
}

impl SessionKind {
    fn name(self) -> &'static str {
        match self {
            SessionKind::Transceiver => "transceiver",
            SessionKind::Transmitter => "transmitter",
            SessionKind::Receiver => "receiver",
        }
    }

    fn body(self, bind: Bind) -> Body {
        match self {
            SessionKind::Transceiver => Body::BindTransceiver(bind),
            SessionKind::Transmitter => Body::BindTransmitter(bind),
            SessionKind::Receiver => Body::BindReceiver(bind),
        }
    }
}

/// The name of the submitting sessions' bind type, for the report.
pub(super) fn bind_kind_name(kind: BindKind) -> &'static str {
    submitting_kind(kind).name()
}

fn submitting_kind(kind: BindKind) -> SessionKind {
    match kind {
        BindKind::Trx => SessionKind::Transceiver,
        BindKind::Tx => SessionKind::Transmitter,
    }
}

/// Binds every session of the plan, `plan.bind_concurrency` at a time;
/// the first failure is the error (the sessions already open close as
/// they are dropped).
pub(super) async fn bind_all(
    plan: &Plan,
    tls: Option<&TlsConnector>,
) -> Result<Vec<Bound>, CliError> {
    futures::stream::iter(bind_specs(plan))
        .map(|spec| open(plan, tls, spec))
        .buffered(plan.bind_concurrency.max(1))
        .try_collect()
        .await
}

/// What [`bind_each`] got: the sessions that bound, and how many did not
/// with the first reason.
pub(super) struct Binds {
    pub(super) bound: Vec<Bound>,
    pub(super) failed: u64,
    pub(super) first_failure: Option<String>,
}

/// Binds every session of the plan, `plan.bind_concurrency` at a time,
/// carrying on past the ones that fail; counts each outcome in `progress`
/// as it comes.
pub(super) async fn bind_each(
    plan: &Plan,
    tls: Option<&TlsConnector>,
    progress: &BindProgress,
) -> Binds {
    let mut outcomes = futures::stream::iter(bind_specs(plan))
        .map(|spec| open(plan, tls, spec))
        .buffer_unordered(plan.bind_concurrency.max(1));
    let mut binds = Binds {
        bound: Vec::new(),
        failed: 0,
        first_failure: None,
    };
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Ok(bound) => {
                bump(&progress.bound);
                binds.bound.push(bound);
            }
            Err(e) => {
                bump(&progress.failed);
                binds.failed += 1;
                binds.first_failure.get_or_insert_with(|| e.to_string());
            }
        }
    }
    binds
}

/// The submitting sessions first, then the receivers.
fn bind_specs(plan: &Plan) -> impl Iterator<Item = BindSpec> + use<> {
    let total = plan.binds + plan.receiver_binds;
    let (binds, kind) = (plan.binds, submitting_kind(plan.bind_kind));
    (0..total).map(move |index| BindSpec {
        number: index + 1,
        of: total,
        kind: if index < binds {
            kind
        } else {
            SessionKind::Receiver
        },
    })
}

/// Holds every session bound for `idle`, or until all of them have closed,
/// while their events are read (the session layer answers enquire_link by
/// itself, as long as they are). `tick` is called once a second.
pub(super) async fn hold_idle(
    run: &Arc<Run>,
    sessions: Vec<Bound>,
    idle: Duration,
    mut tick: impl FnMut(),
) -> (Vec<SessionHandle>, JoinSet<()>) {
    let mut handles = Vec::with_capacity(sessions.len());
    let mut receivers = JoinSet::new();
    for session in sessions {
        handles.push(session.handle);
        receivers.spawn(receive_loop(Arc::clone(run), session.events));
    }
    let deadline = tokio::time::Instant::now() + idle;
    let mut ticks = tokio::time::interval(IDLE_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => break,
            _ = ticks.tick() => {
                tick();
                if handles.iter().all(SessionHandle::is_closed) {
                    break;
                }
            }
        }
    }
    (handles, receivers)
}

/// Connects and binds one session.
async fn open(plan: &Plan, tls: Option<&TlsConnector>, spec: BindSpec) -> Result<Bound, CliError> {
    let what = format!(
        "bind {} of {} ({} as {}) to {}",
        spec.number,
        spec.of,
        spec.kind.name(),
        plan.system_id,
        plan.host
    );
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&plan.host))
        .await
        .map_err(|_| format!("{what}: no connection within {CONNECT_TIMEOUT:?}"))?
        .map_err(|e| format!("{what}: cannot connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let config = session_config(plan.window);
    let (handle, events) = match tls {
        Some(connector) => {
            let name = super::tls::server_name(&plan.host)?;
            let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, stream))
                .await
                .map_err(|_| format!("{what}: the TLS handshake timed out"))?
                .map_err(|e| format!("{what}: TLS: {e}"))?;
            session::start(tls, config)
        }
        None => session::start(stream, config),
    };
    let credential = |value: &str, name: &str| {
        COctetString::try_from(value).map_err(|_| format!("the {name} contains a NUL"))
    };
    let bind = Bind {
        system_id: credential(&plan.system_id, "system id")?,
        password: credential(&plan.password, "password")?,
        interface_version: INTERFACE_VERSION,
        ..Bind::default()
    };
    let answer = handle
        .request(spec.kind.body(bind))
        .await
        .map_err(|e| format!("{what}: no answer to the bind: {e}"))?;
    if !answer.status.is_ok() {
        handle.close();
        return Err(format!("{what} was refused: {}", answer.status).into());
    }
    Ok(Bound {
        handle,
        events,
        submits: spec.kind != SessionKind::Receiver,
        receives: spec.kind != SessionKind::Transmitter,
    })
}

/// Our session settings: the window per bind, a generous response timeout,
/// a wide peer window for receipt bursts, and no closing for silence while
/// we wait for receipts (our enquire_link keeps the link checked).
fn session_config(window: usize) -> SessionConfig {
    SessionConfig {
        window,
        response_timeout: RESPONSE_TIMEOUT,
        inactivity_timeout: None,
        peer_window: PEER_WINDOW,
        ..SessionConfig::default()
    }
}

/// What every session's tasks share.
#[derive(Debug)]
pub(super) struct Run {
    pub(super) plan: Plan,
    pub(super) counters: Arc<Counters>,
    pub(super) tracker: Tracker,
    /// The next message number to claim.
    next_message: AtomicU64,
    /// When the first submit went; rates and deadlines count from it.
    pub(super) start: Instant,
    /// Set before the run unbinds, so the sessions' ends are not reported
    /// as lost.
    pub(super) ending: AtomicBool,
}

impl Run {
    pub(super) fn new(plan: Plan, start: Instant) -> Run {
        Run {
            plan,
            counters: Arc::new(Counters::default()),
            tracker: Tracker::default(),
            next_message: AtomicU64::new(0),
            start,
            ending: AtomicBool::new(false),
        }
    }

    /// Messages claimed by the submit loops (some perhaps not sent, if
    /// their session closed).
    pub(super) fn messages(&self) -> u64 {
        let claimed = self.next_message.load(Ordering::Relaxed);
        match self.plan.stop {
            Stop::Count(count) => claimed.min(count),
            Stop::Duration(_) => claimed,
        }
    }

    /// The next message to send, unless the count is reached or the time up.
    fn claim(&self) -> Option<u64> {
        if let Stop::Duration(duration) = self.plan.stop
            && self.start.elapsed() >= duration
        {
            return None;
        }
        let message = self.next_message.fetch_add(1, Ordering::Relaxed);
        match self.plan.stop {
            Stop::Count(count) if message >= count => None,
            _ => Some(message),
        }
    }

    /// When submit number `index` (over all sessions) is due under
    /// `--rate`: evenly spaced from the start.
    fn due(&self, index: u64) -> Option<tokio::time::Instant> {
        let rate = self.plan.rate?;
        let offset = Duration::from_secs_f64(index as f64 / f64::from(rate));
        Some(tokio::time::Instant::from_std(self.start + offset))
    }
}

/// A submit's answer (or why there is none), with when it was sent and
/// when the answer was read.
struct Answer {
    sent: Instant,
    answered: Instant,
    result: Result<Pdu, RequestError>,
}

/// Submits until the run's messages are claimed or its time is up, then
/// collects the last answers. Returns what this session saw.
pub(super) async fn submit_loop(run: Arc<Run>, handle: SessionHandle) -> BindStats {
    let mut stats = BindStats::default();
    let mut in_flight = FuturesUnordered::new();
    let parts = run.plan.messages.parts();
    'messages: while let Some(message) = run.claim() {
        for part in 0..parts {
            let body = run.plan.messages.submit_sm(message, part);
            let due = run.due(message * parts as u64 + part as u64);
            let mut send = pin!(async {
                if let Some(due) = due {
                    tokio::time::sleep_until(due).await;
                }
                handle.start_request(body).await
            });
            // Answers are read while the next submit waits for its slot:
            // their latency is measured when they come, not afterwards.
            let started = loop {
                tokio::select! {
                    biased;
                    Some(answer) = in_flight.next() => record(&run, &mut stats, answer),
                    started = &mut send => break started,
                }
            };
            match started {
                Ok(pending) => {
                    let sent = Instant::now();
                    stats.submitted += 1;
                    bump(&run.counters.submitted);
                    in_flight.push(async move {
                        let result = pending.response().await;
                        Answer {
                            sent,
                            answered: Instant::now(),
                            result,
                        }
                    });
                }
                Err(_) => {
                    // The session is gone: this message's remaining parts
                    // go nowhere, the other sessions carry on.
                    stats.unsent += (parts - part) as u64;
                    break 'messages;
                }
            }
        }
    }
    while let Some(answer) = in_flight.next().await {
        record(&run, &mut stats, answer);
    }
    stats
}

/// Counts one answer and, for an accepted message whose receipt is
/// awaited, hands its id to the tracker.
fn record(run: &Run, stats: &mut BindStats, answer: Answer) {
    stats.last_answer = stats.last_answer.max(Some(answer.answered));
    let pdu = match answer.result {
        Ok(pdu) => pdu,
        Err(RequestError::Timeout) => {
            stats.timeouts += 1;
            return;
        }
        Err(RequestError::Closed) => {
            stats.closed += 1;
            return;
        }
        Err(RequestError::Malformed(_) | RequestError::NotARequest(_)) => {
            stats.malformed += 1;
            return;
        }
    };
    bump(&run.counters.acked);
    *stats.by_status.entry(pdu.status).or_default() += 1;
    stats
        .submit_resp
        .record(answer.answered.saturating_duration_since(answer.sent));
    if !pdu.status.is_ok() {
        return;
    }
    bump(&run.counters.acked_ok);
    if !run.plan.receipts_awaited {
        return;
    }
    if let Body::SubmitSmResp(MessageIdResp { message_id, .. }) = pdu.body
        && !message_id.is_empty()
    {
        bump(&run.counters.expected);
        if run
            .tracker
            .submitted(message_id.to_string_lossy().into_owned(), answer.sent)
        {
            bump(&run.counters.receipts);
        }
    }
}

/// Reads one session's events until it closes: answers every deliver_sm
/// and data_sm ESME_ROK at once, then matches receipts and counts the rest.
pub(super) async fn receive_loop(run: Arc<Run>, mut events: mpsc::Receiver<SessionEvent>) {
    while let Some(event) = events.recv().await {
        match event {
            SessionEvent::Request(InboundRequest { pdu, responder }) => match pdu.body {
                Body::DeliverSm(sm) => {
                    responder.respond(Body::DeliverSmResp(MessageIdResp::default()));
                    delivered(&run, &sm);
                }
                Body::DataSm(sm) => {
                    responder.respond(Body::DataSmResp(MessageIdResp::default()));
                    let as_deliver = SubmitSm {
                        esm_class: sm.esm_class,
                        tlvs: sm.tlvs,
                        ..SubmitSm::default()
                    };
                    delivered(&run, &as_deliver);
                }
                _ => responder.respond_status(CommandStatus::ESME_RINVCMDID),
            },
            SessionEvent::Closed(reason) => {
                if !run.ending.load(Ordering::Relaxed) {
                    bump(&run.counters.sessions_lost);
                    eprintln!("smsgate bench: a session closed during the run: {reason}");
                }
                return;
            }
            // Unbound comes just before Closed; outbind and
            // alert_notification mean nothing to a load generator.
            _ => {}
        }
    }
}

/// Sorts one deliver_sm: a receipt (matched by receipted_message_id, or
/// the `id:` of its text), an intermediate notification, or MO.
fn delivered(run: &Run, sm: &SubmitSm) {
    let received = Instant::now();
    match sm.esm_class & esm_class::TYPE_MASK {
        esm_class::DELIVERY_RECEIPT => {
            let id = match sm.tlvs.receipted_message_id() {
                Some(id) => Some(id.to_string_lossy().into_owned()),
                None => Receipt::parse(&sm.short_message).ok().map(|r| r.id),
            };
            if let Some(id) = id
                && run.tracker.receipt(&id, received)
            {
                bump(&run.counters.receipts);
            }
        }
        esm_class::INTERMEDIATE_NOTIFICATION => bump(&run.counters.intermediate),
        _ => bump(&run.counters.mo),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::bench::messages::{Messages, Text};

    fn plan(stop: Stop, rate: Option<u32>) -> Plan {
        Plan {
            host: "127.0.0.1:1".into(),
            tls: false,
            system_id: "acme".into(),
            password: "pw".into(),
            binds: 1,
            bind_concurrency: 1,
            bind_kind: BindKind::Trx,
            receiver_binds: 0,
            window: 10,
            stop,
            idle: None,
            rate,
            text: Text::Gsm,
            messages: Messages::new(Text::Gsm, "smsgate", "4479", true).expect("valid"),
            receipts_requested: true,
            receipts_awaited: true,
            receipt_wait: Duration::from_secs(1),
            json: false,
        }
    }

    #[test]
    fn messages_are_claimed_until_the_count() {
        let run = Run::new(plan(Stop::Count(3), None), Instant::now());
        let claimed: Vec<u64> = std::iter::from_fn(|| run.claim()).collect();
        assert_eq!(claimed, [0, 1, 2]);
        assert_eq!(run.claim(), None);
        assert_eq!(run.messages(), 3, "claims past the count are not messages");
    }

    #[test]
    fn a_duration_stops_claiming_once_it_has_passed() {
        let start = Instant::now() - Duration::from_secs(2);
        let run = Run::new(plan(Stop::Duration(Duration::from_secs(1)), None), start);
        assert_eq!(run.claim(), None);
    }

    #[test]
    fn a_rate_spaces_the_submits_evenly_from_the_start() {
        let start = Instant::now();
        let run = Run::new(plan(Stop::Count(10), Some(4)), start);
        let due = run.due(6).expect("a rate").into_std();
        assert_eq!(due - start, Duration::from_millis(1500));
        let unlimited = Run::new(plan(Stop::Count(10), None), start);
        assert_eq!(unlimited.due(6), None);
    }
}
