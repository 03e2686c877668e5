//! The smpp connector: our SMPP client to a carrier.
//!
//! It keeps the configured binds up (hosts × binds per host, each with its
//! own supervisor task: see `supervisor.rs`), sends each submit over one
//! bound transmitter or transceiver, and turns what the carrier sends back
//! on any bind (receipts and MO, whichever host they come from) into
//! [`InboundEvent`]s on one channel (see `inbound.rs`).
//!
//! It owns the binds and nothing else: no queue, no retry, no store. A
//! submit is sent at most once; what to do with a refusal or a failure is
//! dispatch's decision, and matching receipts to messages is tracking's.

mod config;
mod connect;
mod inbound;
mod supervisor;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use smpp::session::{RequestError, SessionHandle};
use smpp::{Address, Body, COctetString, Pdu, SubmitSm};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

pub use config::{BindType, HostConfig, SmppClientConfig};

use super::rate::RateMeter;
use super::{ConnectorHealth, Inbound, OutboundSegment, SubmitFailure, SubmitOutcome};
use crate::settings::InvalidSetting;
use crate::trace_switch::TraceSwitches;
use connect::HostTarget;

/// The longest a submit waits for a usable bind before it fails with
/// [`SubmitFailure::NotBound`] (or the response timeout, if shorter): long
/// enough to ride out a reconnect, short enough that dispatch can fail over.
const BIND_WAIT_MAX: Duration = Duration::from_secs(5);
/// How long [`SmppClient::shutdown`] waits, beyond the response timeout,
/// for every bind to finish and unbind.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// The host rate limit spaces submits evenly (1/tps apart) instead of
/// allowing a burst of a second's worth: a carrier counting per second
/// would otherwise see up to twice its throttle in the first second and
/// answer ESME_RTHROTTLED. Any one-second window then carries at most
/// tps + 1 submits, and a minute exactly tps × 60.
const NO_BURST: std::num::NonZeroU32 = std::num::NonZeroU32::MIN;

/// A running smpp connector. See the module documentation.
#[derive(Debug)]
pub struct SmppClient {
    shared: Arc<Shared>,
}

/// What the connector's tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    name: String,
    config: SmppClientConfig,
    events: mpsc::Sender<Inbound>,
    /// One slot per configured bind, in host order.
    binds: Vec<BindSlot>,
    /// One limiter per host (`None`: unlimited), shared by that host's
    /// binds, because carriers throttle per server.
    limiters: Vec<Option<DefaultDirectRateLimiter>>,
    /// Where the next submit starts looking for a bind (round robin).
    next_bind: AtomicUsize,
    /// Woken whenever a bind comes up or goes down, for submits waiting for one.
    bound_changed: Notify,
    submitted: AtomicU64,
    refused: AtomicU64,
    failed: AtomicU64,
    unreadable_receipts: AtomicU64,
    last_error: Mutex<Option<String>>,
    rate: Mutex<RateMeter>,
    /// Cancelled by shutdown: supervisors retire their binds and stop.
    shutdown: CancellationToken,
    /// Every task of the connector, so shutdown can wait for them.
    tasks: TaskTracker,
    /// Whether this connector's binds have their PDUs logged.
    trace: TraceSwitches,
}

impl Shared {
    fn set_last_error(&self, error: String) {
        *lock(&self.last_error) = Some(error);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where submits find one configured bind's current session.
#[derive(Debug)]
struct BindSlot {
    host: usize,
    kind: BindType,
    /// The bound session, if any. A std mutex, held only to read or swap
    /// the pointer, never across an `.await`.
    live: Mutex<Option<Arc<Live>>>,
}

impl BindSlot {
    fn install(&self, live: Arc<Live>) {
        *lock(&self.live) = Some(live);
    }

    /// Empties the slot if it still holds `live` (a recycle may have
    /// replaced it already).
    fn clear_if(&self, live: &Arc<Live>) {
        let mut current = lock(&self.live);
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, live)) {
            *current = None;
        }
    }

    /// A lease on the bound session, if there is one and it is open.
    /// Taken under the slot's lock, so that once a retiring bind is out of
    /// its slot no new lease on it can appear.
    fn lease(&self, window: usize, need_room: bool) -> Option<Lease> {
        let current = lock(&self.live);
        let live = current.as_ref()?;
        if live.handle.is_closed() || (need_room && live.handle.in_flight() >= window) {
            return None;
        }
        Some(Lease::new(Arc::clone(live), self.host))
    }

    fn in_flight(&self) -> Option<usize> {
        let current = lock(&self.live);
        let live = current.as_ref()?;
        (!live.handle.is_closed()).then(|| live.handle.in_flight())
    }
}

/// One bound session, and how many submits are using it right now.
///
/// Why count users and not rely on the window alone: a submit picks a bind,
/// may wait for the host's rate limiter, and only then takes a window slot.
/// A bind being retired must wait for those submits too, or they would find
/// it unbound and fail although nothing went wrong.
#[derive(Debug)]
struct Live {
    handle: SessionHandle,
    users: AtomicUsize,
    idle: Notify,
}

impl Live {
    fn new(handle: SessionHandle) -> Live {
        Live {
            handle,
            users: AtomicUsize::new(0),
            idle: Notify::new(),
        }
    }

    /// Waits (at most `limit`) until no submit uses this session.
    async fn idle(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.users.load(Ordering::Acquire) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return;
            }
        }
    }
}

/// A submit's hold on one session; see [`Live`].
struct Lease {
    live: Arc<Live>,
    host: usize,
}

impl Lease {
    fn new(live: Arc<Live>, host: usize) -> Lease {
        live.users.fetch_add(1, Ordering::AcqRel);
        Lease { live, host }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.live.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.live.idle.notify_waiters();
        }
    }
}

impl SmppClient {
    /// Checks the configuration and starts one supervisor task per bind;
    /// returns at once (binds come up in the background). Receipts and MO
    /// from every bind go to `events`.
    ///
    /// Fails if the configuration is invalid or a host's TLS settings
    /// cannot be loaded (a missing CA file, no system roots). Must be
    /// called within a Tokio runtime.
    pub fn start(
        name: String,
        config: SmppClientConfig,
        events: mpsc::Sender<Inbound>,
    ) -> Result<SmppClient, InvalidSetting> {
        SmppClient::start_traced(name, config, events, TraceSwitches::new())
    }

    /// Like [`SmppClient::start`]; every bind's PDUs are logged while
    /// `trace` has this connector's switch on.
    pub fn start_traced(
        name: String,
        config: SmppClientConfig,
        events: mpsc::Sender<Inbound>,
        trace: TraceSwitches,
    ) -> Result<SmppClient, InvalidSetting> {
        config.validate(&name)?;
        let targets = config
            .hosts
            .iter()
            .map(|host| HostTarget::new(&name, host))
            .collect::<Result<Vec<_>, _>>()?;
        let limiters = config
            .hosts
            .iter()
            .map(|_| {
                config
                    .tps_per_host
                    .and_then(std::num::NonZeroU32::new)
                    .map(|tps| RateLimiter::direct(Quota::per_second(tps).allow_burst(NO_BURST)))
            })
            .collect();
        let binds = config
            .binds()
            .into_iter()
            .map(|(host, kind)| BindSlot {
                host,
                kind,
                live: Mutex::new(None),
            })
            .collect();
        let shared = Arc::new(Shared {
            name,
            config,
            events,
            binds,
            limiters,
            next_bind: AtomicUsize::new(0),
            bound_changed: Notify::new(),
            submitted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            unreadable_receipts: AtomicU64::new(0),
            last_error: Mutex::new(None),
            rate: Mutex::new(RateMeter::new()),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            trace,
        });
        for (index, slot) in shared.binds.iter().enumerate() {
            let target = targets[slot.host].clone();
            shared
                .tasks
                .spawn(supervisor::supervise(Arc::clone(&shared), index, target));
        }
        Ok(SmppClient { shared })
    }

    /// The connector's name, as given to [`SmppClient::start`].
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Sends one segment as submit_sm over a bound transmitter or
    /// transceiver and reports the carrier's answer. Never sends it twice:
    /// a failure is reported, and retrying is the caller's decision.
    ///
    /// Binds are taken in turn, skipping those with a full window (if all
    /// are full, the chosen one's window is waited for); the host's rate
    /// limit is waited for. With no usable bind, waits up to 5 s (or the
    /// response timeout, if shorter) for one, then fails with
    /// [`SubmitFailure::NotBound`] without sending anything.
    pub async fn submit(&self, segment: &OutboundSegment) -> SubmitOutcome {
        let shared = &self.shared;
        let deadline = Instant::now() + shared.config.response_timeout.min(BIND_WAIT_MAX);
        let lease = loop {
            let Some(lease) = self.wait_for_bind(deadline).await else {
                shared.failed.fetch_add(1, Ordering::Relaxed);
                return SubmitOutcome::Failed {
                    reason: SubmitFailure::NotBound,
                };
            };
            if let Some(limiter) = &shared.limiters[lease.host] {
                limiter.until_ready().await;
            }
            // Lost while waiting for the rate limiter: nothing was sent,
            // so another bind may carry it.
            if !lease.live.handle.is_closed() {
                break lease;
            }
        };
        let result = lease
            .live
            .handle
            .request(Body::SubmitSm(self.submit_sm(segment)))
            .await;
        drop(lease);
        let outcome = outcome(result);
        let counter = match &outcome {
            SubmitOutcome::Accepted { .. } => &shared.submitted,
            SubmitOutcome::Refused { .. } | SubmitOutcome::HttpRefused { .. } => &shared.refused,
            SubmitOutcome::Failed { .. } => &shared.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let SubmitOutcome::Failed { reason } = &outcome {
            warn!(connector = %shared.name, message_id = %segment.message_id, %reason, "submit failed");
        } else {
            lock(&shared.rate).record(std::time::Instant::now());
        }
        outcome
    }

    /// A lease on a bind that may submit, waiting until `deadline` for one
    /// to come up; `None` if none did or the connector is shutting down.
    async fn wait_for_bind(&self, deadline: Instant) -> Option<Lease> {
        let shared = &self.shared;
        loop {
            let changed = shared.bound_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if shared.shutdown.is_cancelled() {
                return None;
            }
            if let Some(lease) = self.pick() {
                return Some(lease);
            }
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep_until(deadline) => return None,
                () = shared.shutdown.cancelled() => return None,
            }
        }
    }

    /// The next bind in turn that may submit and has window room; failing
    /// that, the first bound one (its window will be waited for).
    fn pick(&self) -> Option<Lease> {
        let shared = &self.shared;
        let count = shared.binds.len();
        let start = shared.next_bind.fetch_add(1, Ordering::Relaxed);
        let candidates = || {
            (0..count)
                .map(move |i| &shared.binds[(start + i) % count])
                .filter(|slot| slot.kind.can_submit())
        };
        let window = shared.config.window;
        candidates()
            .find_map(|slot| slot.lease(window, true))
            .or_else(|| candidates().find_map(|slot| slot.lease(window, false)))
    }

    fn submit_sm(&self, segment: &OutboundSegment) -> SubmitSm {
        let config = &self.shared.config;
        let source = Address {
            ton: config.source_ton.unwrap_or(segment.source.ton),
            npi: config.source_npi.unwrap_or(segment.source.npi),
            addr: segment.source.addr.clone(),
        };
        SubmitSm {
            service_type: COctetString::empty(),
            source,
            destination: segment.destination.clone(),
            esm_class: segment.esm_class,
            protocol_id: segment.protocol_id,
            priority_flag: segment.priority,
            schedule_delivery_time: COctetString::empty(),
            validity_period: segment.validity_period.clone(),
            registered_delivery: segment.registered_delivery,
            replace_if_present_flag: 0,
            data_coding: segment.data_coding,
            sm_default_msg_id: 0,
            short_message: segment.short_message.clone(),
            tlvs: segment.tlvs.clone(),
        }
    }

    /// How the connector is doing now.
    pub fn health(&self) -> ConnectorHealth {
        let shared = &self.shared;
        let in_flight: Vec<usize> = shared
            .binds
            .iter()
            .filter_map(BindSlot::in_flight)
            .collect();
        ConnectorHealth {
            bound: in_flight.len(),
            configured: shared.binds.len(),
            in_flight: in_flight.iter().sum(),
            submitted: shared.submitted.load(Ordering::Relaxed),
            refused: shared.refused.load(Ordering::Relaxed),
            failed: shared.failed.load(Ordering::Relaxed),
            unreadable_receipts: shared.unreadable_receipts.load(Ordering::Relaxed),
            last_error: lock(&shared.last_error).clone(),
            rate: lock(&shared.rate).rate(std::time::Instant::now()),
        }
    }

    /// Stops reconnecting and unbinds every bind, after the submits in
    /// flight on it are answered (each bounded by the response timeout).
    /// Submits waiting for a bind fail with [`SubmitFailure::NotBound`].
    pub async fn shutdown(self) {
        let shared = &self.shared;
        shared.shutdown.cancel();
        shared.bound_changed.notify_waiters();
        shared.tasks.close();
        let limit = shared.config.response_timeout + SHUTDOWN_GRACE;
        if tokio::time::timeout(limit, shared.tasks.wait())
            .await
            .is_err()
        {
            warn!(
                connector = %shared.name,
                tasks = shared.tasks.len(),
                "connector tasks still running after {limit:?}; leaving them"
            );
        }
    }
}

impl Drop for SmppClient {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}

/// Reads the carrier's answer to a submit_sm.
fn outcome(result: Result<Pdu, RequestError>) -> SubmitOutcome {
    let failed = |reason| SubmitOutcome::Failed { reason };
    match result {
        Ok(pdu) if !pdu.status.is_ok() => SubmitOutcome::Refused { status: pdu.status },
        Ok(Pdu {
            body: Body::SubmitSmResp(resp),
            ..
        }) => SubmitOutcome::Accepted {
            provider_id: resp.message_id.to_string_lossy().trim().to_string(),
        },
        // ESME_ROK on something that is not a submit_sm_resp (generic_nack).
        Ok(_) => failed(SubmitFailure::Malformed),
        Err(RequestError::Timeout) => failed(SubmitFailure::Timeout),
        Err(RequestError::Closed) => failed(SubmitFailure::ConnectionLost),
        Err(RequestError::Malformed(_) | RequestError::NotARequest(_)) => {
            failed(SubmitFailure::Malformed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submit_sm_resp_maps_to_the_outcome() {
        let resp = |status: u32| Pdu {
            sequence: 1,
            status: smpp::CommandStatus(status),
            body: Body::SubmitSmResp(smpp::MessageIdResp::new(COctetString::from_static("ab12"))),
        };
        assert_eq!(
            outcome(Ok(resp(0))),
            SubmitOutcome::Accepted {
                provider_id: "ab12".into()
            }
        );
        assert_eq!(
            outcome(Ok(resp(0x45))),
            SubmitOutcome::Refused {
                status: smpp::CommandStatus(0x45)
            }
        );
        assert_eq!(
            outcome(Err(RequestError::Timeout)),
            SubmitOutcome::Failed {
                reason: SubmitFailure::Timeout
            }
        );
        assert_eq!(
            outcome(Err(RequestError::Closed)),
            SubmitOutcome::Failed {
                reason: SubmitFailure::ConnectionLost
            }
        );
    }
}
