//! `GET /admin/api/overview` (the console's dashboard: the node, its
//! counters since start, what waits, sessions and connectors) and
//! `GET /admin/api/queues` (what waits, the outbox by account and kind).

use std::time::SystemTime;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::AdminState;
use super::body::store_problem;
use crate::ingress::http_api::problem::Problem;
use crate::metrics::Totals;
use crate::store::OutboxGroup;

/// The dashboard.
#[derive(Debug, Serialize)]
pub(super) struct Overview {
    node: String,
    version: &'static str,
    #[serde(with = "crate::timefmt::rfc3339")]
    started_at: SystemTime,
    /// `false` once the node is shutting down.
    accepting: bool,
    sessions: usize,
    queues: QueueCounts,
    /// Totals since the node started; the console draws rates from their
    /// differences between polls.
    counters: Totals,
    connectors: ConnectorCounts,
}

#[derive(Debug, Serialize)]
struct QueueCounts {
    accepted: u64,
    queued: u64,
    outbox: u64,
}

#[derive(Debug, Serialize)]
struct ConnectorCounts {
    total: usize,
    /// With at least one bind up.
    up: usize,
    paused: usize,
}

/// What waits: messages not yet with a provider, and the outbox.
#[derive(Debug, Serialize)]
pub(super) struct Queues {
    accepted: u64,
    queued: u64,
    outbox: Vec<OutboxGroup>,
}

/// `GET /admin/api/overview`.
pub(super) async fn overview(State(admin): State<AdminState>) -> Result<Json<Overview>, Problem> {
    let ctx = &admin.ctx;
    let depths = ctx.store.queue_depths().await.map_err(store_problem)?;
    let connectors = ctx.dispatch.connectors();
    Ok(Json(Overview {
        node: ctx.node.clone(),
        version: env!("CARGO_PKG_VERSION"),
        started_at: ctx.started_at,
        accepting: !ctx.stopping.is_cancelled(),
        sessions: ctx.registry.list().len(),
        queues: QueueCounts {
            accepted: depths.accepted,
            queued: depths.queued,
            outbox: depths.outbox,
        },
        counters: ctx.metrics.totals(),
        connectors: ConnectorCounts {
            total: connectors.len(),
            up: connectors.iter().filter(|c| c.health.bound > 0).count(),
            paused: connectors.iter().filter(|c| c.paused).count(),
        },
    }))
}

/// `GET /admin/api/queues`.
pub(super) async fn queues(State(admin): State<AdminState>) -> Result<Json<Queues>, Problem> {
    let store = &admin.ctx.store;
    let depths = store.queue_depths().await.map_err(store_problem)?;
    let outbox = store.outbox_summary().await.map_err(store_problem)?;
    Ok(Json(Queues {
        accepted: depths.accepted,
        queued: depths.queued,
        outbox,
    }))
}
