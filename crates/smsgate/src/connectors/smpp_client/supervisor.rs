//! One bind's life: connect, bind, watch, recycle, reconnect.
//!
//! Why one supervisor task per bind (and not one loop for the connector):
//! each bind fails, backs off and recycles on its own clock, so one host
//! that is down or slow to answer a bind never delays the others, and the
//! code for one bind reads top to bottom as the bind's life.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use smpp::CommandStatus;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::connect::{self, BindError, Bound, HostTarget};
use super::inbound;
use super::{Live, Shared};
use crate::pdu_trace::PduLogger;

/// How long a retiring bind waits, beyond the response timeout, for the
/// answers to its last submits before it unbinds anyway.
const RETIRE_GRACE: Duration = Duration::from_secs(1);
/// How long a retiring bind waits for its connection to close after unbind.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// A bound session: its handle (shared with submitters through the bind's
/// slot) and the task reading its events.
struct Running {
    live: Arc<Live>,
    reader: tokio::task::JoinHandle<smpp::session::CloseReason>,
}

/// Keeps bind `index` up until the connector shuts down.
pub(super) async fn supervise(shared: Arc<Shared>, index: usize, target: HostTarget) {
    let mut backoff = Backoff::new(shared.config.reconnect_min, shared.config.reconnect_max);
    let mut failing: Option<String> = None;
    loop {
        let Some(opened) = open_or_shutdown(&shared, index, &target).await else {
            return;
        };
        let mut current = match opened {
            Ok(bound) => {
                if failing.take().is_some() {
                    info!(connector = %shared.name, bind = index, address = %target.address, "bound again");
                } else {
                    info!(connector = %shared.name, bind = index, address = %target.address, "bound");
                }
                backoff.reset();
                install(&shared, index, &target, bound)
            }
            Err(error) => {
                report_failure(&shared, index, &mut failing, &error);
                if !pause(&shared, backoff.next()).await {
                    return;
                }
                continue;
            }
        };
        let mut recycle_at = Instant::now() + shared.config.session_lifetime;
        loop {
            tokio::select! {
                reason = &mut current.reader => {
                    shared.binds[index].clear_if(&current.live);
                    shared.bound_changed.notify_waiters();
                    let reason = match reason {
                        Ok(reason) => reason.to_string(),
                        Err(e) => format!("reader task failed: {e}"),
                    };
                    warn!(connector = %shared.name, bind = index, address = %target.address, %reason, "bind lost; reconnecting");
                    shared.set_last_error(format!("{}: bind lost: {reason}", target.address));
                    break;
                }
                () = tokio::time::sleep_until(recycle_at) => {
                    match open_or_shutdown(&shared, index, &target).await {
                        None => {
                            retire(Arc::clone(&shared), index, current).await;
                            return;
                        }
                        Some(Ok(bound)) => {
                            let old = std::mem::replace(&mut current, install(&shared, index, &target, bound));
                            shared.tasks.spawn(retire(Arc::clone(&shared), index, old));
                            failing = None;
                            info!(connector = %shared.name, bind = index, address = %target.address, "recycled the bind");
                            recycle_at = Instant::now() + shared.config.session_lifetime;
                        }
                        Some(Err(error)) => {
                            // The old bind still works: keep it, and try again.
                            report_failure(&shared, index, &mut failing, &error);
                            recycle_at = Instant::now() + backoff.next();
                        }
                    }
                }
                () = shared.shutdown.cancelled() => {
                    retire(Arc::clone(&shared), index, current).await;
                    return;
                }
            }
        }
        if !pause(&shared, backoff.next()).await {
            return;
        }
    }
}

/// Opens a bind unless the connector shuts down first (`None`).
async fn open_or_shutdown(
    shared: &Shared,
    index: usize,
    target: &HostTarget,
) -> Option<Result<Bound, BindError>> {
    let tap = Arc::new(PduLogger::connector_bind(
        shared.trace.clone(),
        &shared.name,
        &target.address,
    ));
    tokio::select! {
        () = shared.shutdown.cancelled() => None,
        opened = connect::open(target, shared.binds[index].kind, &shared.config, tap) => Some(opened),
    }
}

/// Puts a fresh bind in its slot, where submits find it, and starts reading it.
fn install(shared: &Arc<Shared>, index: usize, target: &HostTarget, bound: Bound) -> Running {
    let live = Arc::new(Live::new(bound.handle));
    let reader = shared.tasks.spawn(inbound::read_session(
        Arc::clone(shared),
        target.address.clone(),
        bound.events,
    ));
    shared.binds[index].install(Arc::clone(&live));
    shared.bound_changed.notify_waiters();
    Running { live, reader }
}

/// Takes a bind out of service without losing what it carries: no new
/// submit can pick it, the submits already on it get their answers
/// (bounded by the response timeout), then it unbinds.
async fn retire(shared: Arc<Shared>, index: usize, running: Running) {
    shared.binds[index].clear_if(&running.live);
    shared.bound_changed.notify_waiters();
    running
        .live
        .idle(shared.config.response_timeout + RETIRE_GRACE)
        .await;
    let _ = running.live.handle.unbind().await;
    let _ = tokio::time::timeout(CLOSE_WAIT, running.reader).await;
}

/// Waits before the next attempt; `false` if the connector shut down meanwhile.
async fn pause(shared: &Shared, wait: Duration) -> bool {
    tokio::select! {
        () = shared.shutdown.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}

/// Records a failed connect or bind. It is logged as a warning when it
/// differs from the bind's previous failure, and quietly otherwise: a host
/// down for an hour is one line in the log, not one per attempt.
fn report_failure(shared: &Shared, index: usize, failing: &mut Option<String>, error: &BindError) {
    let text = error.to_string();
    if failing.as_deref() != Some(text.as_str()) {
        let hint = match error {
            BindError::Refused { status, .. } if *status == CommandStatus::ESME_RINVPASWD => {
                "check the connector's system_id and password"
            }
            BindError::Refused { status, .. } if *status == CommandStatus::ESME_RBINDFAIL => {
                "the carrier refuses binds from us: check its IP allowlist and bind limits"
            }
            _ => "retrying with backoff",
        };
        warn!(connector = %shared.name, bind = index, error = %text, hint, "cannot bind");
    } else {
        debug!(connector = %shared.name, bind = index, error = %text, "still cannot bind");
    }
    shared.set_last_error(text.clone());
    *failing = Some(text);
}

/// Exponential backoff with jitter: each wait is drawn between half and all
/// of the current step, and the step doubles up to the maximum, so binds
/// that failed together do not all come back at the same instant.
struct Backoff {
    min: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max,
            step: min,
        }
    }

    fn reset(&mut self) {
        self.step = self.min;
    }

    fn next(&mut self) -> Duration {
        let step = self.step;
        self.step = (step * 2).min(self.max);
        let half = step / 2;
        half + rand::rng().random_range(Duration::ZERO..=step - half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_with_jitter_below_each_step() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let steps = [100, 200, 350, 350];
        for step in steps {
            let wait = backoff.next();
            let step = Duration::from_millis(step);
            assert!(
                wait >= step / 2 && wait <= step,
                "{wait:?} outside {step:?}"
            );
        }
        backoff.reset();
        assert!(backoff.next() <= Duration::from_millis(100));
    }
}
