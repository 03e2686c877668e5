//! The last minutes of the dashboard, kept by the node: every
//! [`SAMPLE_EVERY`] the counters and queue depths are sampled into a ring
//! of [`KEEP`] samples, so a console opened now shows the last five minutes
//! at once instead of starting from an empty chart. `GET
//! /admin/api/overview/history` serves them.
//!
//! Each node keeps its own (the counters are this node's); nothing is
//! stored, and a restart starts an empty ring.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::AdminState;
use crate::metrics::{Metrics, Totals};
use crate::store::{QueueDepths, Store};

/// How often a sample is taken: the console's own polling interval.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// How many samples are kept: five minutes' worth.
pub const KEEP: usize = 150;

/// One sample.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// When it was taken.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub at: SystemTime,
    /// The node's totals since it started.
    pub counters: Totals,
    /// What waited; `None` when the store did not answer.
    pub queues: Option<Queues>,
}

/// Queue depths as the overview names them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Queues {
    accepted: u64,
    queued: u64,
    outbox: u64,
}

impl From<QueueDepths> for Queues {
    fn from(depths: QueueDepths) -> Queues {
        Queues {
            accepted: depths.accepted,
            queued: depths.queued,
            outbox: depths.outbox,
        }
    }
}

/// The ring of samples, oldest first.
#[derive(Debug, Default)]
pub struct History {
    samples: Mutex<VecDeque<Sample>>,
}

impl History {
    /// Adds a sample, dropping the oldest past [`KEEP`].
    pub fn push(&self, sample: Sample) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        if samples.len() >= KEEP {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// Every sample kept, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect()
    }

    /// Samples `metrics` and `store` every [`SAMPLE_EVERY`] until `stop`.
    pub fn spawn_sampler(
        self: &Arc<Self>,
        metrics: Arc<Metrics>,
        store: Arc<dyn Store>,
        stop: CancellationToken,
    ) {
        let history = Arc::clone(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(SAMPLE_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                let queues = match store.queue_depths().await {
                    Ok(depths) => Some(Queues::from(depths)),
                    Err(error) => {
                        debug!(%error, "admin: queue depths not read for the dashboard");
                        None
                    }
                };
                history.push(Sample {
                    at: SystemTime::now(),
                    counters: metrics.totals(),
                    queues,
                });
            }
        });
    }
}

/// The answer of `GET /admin/api/overview/history`.
#[derive(Debug, Serialize)]
pub(super) struct HistoryView {
    /// The node's clock now, so a browser whose clock differs can place the
    /// samples relative to its own.
    #[serde(with = "crate::timefmt::rfc3339")]
    now: SystemTime,
    /// Seconds between samples.
    every_seconds: u64,
    samples: Vec<Sample>,
}

/// `GET /admin/api/overview/history`: the last five minutes, oldest first.
pub(super) async fn history(State(admin): State<AdminState>) -> Json<HistoryView> {
    Json(HistoryView {
        now: SystemTime::now(),
        every_seconds: SAMPLE_EVERY.as_secs(),
        samples: admin.history.samples(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(accepted: u64) -> Sample {
        Sample {
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(accepted),
            counters: Totals {
                accepted,
                ..Totals::default()
            },
            queues: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_five_minutes_oldest_first() {
        let history = History::default();
        for n in 0..(KEEP as u64 + 10) {
            history.push(sample(n));
        }
        let kept = history.samples();
        assert_eq!(kept.len(), KEEP);
        assert_eq!(kept[0].counters.accepted, 10);
        assert_eq!(kept[KEEP - 1].counters.accepted, KEEP as u64 + 9);
    }
}
