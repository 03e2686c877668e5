//! Dispatch: gets accepted messages to providers.
//!
//! The queue is the store: a [`Dispatcher`] per node claims due messages
//! from it ([`Store::claim_due`]: durable, so a restart or a crash loses
//! nothing, and a crashed node's claims lapse and are taken up again), and
//! runs one pass per message (`attempt.rs`): route it, try the route's
//! connectors in order, and record every attempt and outcome. Retries are
//! not slept on: a message to retry goes back to the store, due again after
//! its delay, and is claimed again then.
//!
//! It owns the node's connectors (`connectors.rs`) and stops them after
//! its own work. It does not read receipts: that is tracking's job.

mod attempt;
mod connectors;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use self::connectors::Connectors;
use crate::config::DispatchConfig;
use crate::routing::RouteTable;
use crate::store::{ClaimedMessage, Store, StoreResult};

/// Most messages claimed in one go: one store write each, and an upper
/// bound on how long one claim transaction takes.
const CLAIM_BATCH: usize = 256;

/// How often messages past their validity are expired.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(1);

/// How long shutdown waits for the passes in flight (each bounded by its
/// submits' response timeouts) before it leaves them; their messages keep
/// their claims and are released at the next start.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(35);

/// A node's dispatcher. See the module documentation.
pub struct Dispatcher {
    context: Arc<Context>,
    stop: CancellationToken,
    main: JoinHandle<()>,
}

/// What the claim loop and every pass share.
struct Context {
    store: Arc<dyn Store>,
    routes: RouteTable,
    connectors: Connectors,
    config: DispatchConfig,
    /// This node's name, the owner of its claims.
    node: String,
    /// Messages with a pass running: a message whose claim lapsed while its
    /// pass still runs (a very slow provider) is claimed again by this node,
    /// and must not get a second pass at the same time.
    in_flight: Mutex<HashSet<String>>,
    /// Passes running at once; a semaphore so a pass's permit is released
    /// however it ends.
    permits: Arc<Semaphore>,
    /// Every pass, so shutdown can wait for them.
    passes: TaskTracker,
}

impl Dispatcher {
    /// Releases the claims this node left at its last run (they need not
    /// wait for the lease), then starts claiming and sending.
    pub async fn start(
        store: Arc<dyn Store>,
        routes: RouteTable,
        connectors: Connectors,
        config: DispatchConfig,
        node: String,
    ) -> StoreResult<Dispatcher> {
        let released = store.release_claims(&node).await?;
        if released > 0 {
            info!(
                released,
                "dispatch: messages claimed before the last stop are due again"
            );
        }
        let context = Arc::new(Context {
            store,
            routes,
            connectors,
            permits: Arc::new(Semaphore::new(config.concurrency)),
            config,
            node,
            in_flight: Mutex::new(HashSet::new()),
            passes: TaskTracker::new(),
        });
        let stop = CancellationToken::new();
        let main = tokio::spawn(claim_loop(Arc::clone(&context), stop.clone()));
        Ok(Dispatcher {
            context,
            stop,
            main,
        })
    }

    /// Stops claiming, waits for the passes in flight, then stops the
    /// connectors. Messages not yet claimed stay in the store.
    pub async fn shutdown(self) {
        self.stop.cancel();
        if let Err(error) = self.main.await {
            warn!(%error, "dispatch: the claim loop ended abnormally");
        }
        let passes = &self.context.passes;
        passes.close();
        if tokio::time::timeout(SHUTDOWN_WAIT, passes.wait())
            .await
            .is_err()
        {
            warn!(
                passes = passes.len(),
                "dispatch: passes still running after {SHUTDOWN_WAIT:?}; leaving them"
            );
        }
        match Arc::try_unwrap(self.context) {
            Ok(context) => context.connectors.shutdown().await,
            // A pass left running holds the connectors; dropping the last
            // hold stops them without waiting.
            Err(_) => warn!("dispatch: connectors still in use; they stop when released"),
        }
    }
}

/// Claims due messages and starts their passes, until stopped; expires
/// messages past their validity on the way.
async fn claim_loop(context: Arc<Context>, stop: CancellationToken) {
    let mut next_expiry = Instant::now();
    while !stop.is_cancelled() {
        let now = SystemTime::now();
        if Instant::now() >= next_expiry {
            next_expiry = Instant::now() + EXPIRY_INTERVAL;
            match context.store.expire_due(now).await {
                Ok(0) => {}
                Ok(expired) => info!(expired, "dispatch: messages expired before sending"),
                Err(error) => warn!(%error, "dispatch: expiring messages failed"),
            }
        }
        let room = context.permits.available_permits().min(CLAIM_BATCH);
        let mut more_due = false;
        if room > 0 {
            let limit = u32::try_from(room).unwrap_or(u32::MAX);
            match context.store.claim_due(&context.node, limit, now).await {
                Ok(claims) => {
                    more_due = claims.len() == room;
                    for claim in claims {
                        start_pass(&context, claim);
                    }
                }
                Err(error) => warn!(%error, "dispatch: claiming messages failed"),
            }
        }
        if more_due {
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(context.config.poll_interval) => {}
        }
    }
}

/// Starts a pass for a claimed message, unless it already has one.
fn start_pass(context: &Arc<Context>, claim: ClaimedMessage) {
    // The claim loop is the only taker of permits and checked the room
    // before claiming, so one is free.
    let Ok(permit) = Arc::clone(&context.permits).try_acquire_owned() else {
        warn!(message_id = %claim.message.id, "dispatch: no room for a claimed message; it waits for its claim to lapse");
        return;
    };
    let id = claim.message.id.clone();
    if !lock(&context.in_flight).insert(id.clone()) {
        return;
    }
    let running = Running {
        context: Arc::clone(context),
        id,
        _permit: permit,
    };
    context.passes.spawn(async move {
        attempt::dispatch(Arc::clone(&running.context), claim).await;
        drop(running);
    });
}

/// A pass's hold on its message and its permit, released however it ends.
struct Running {
    context: Arc<Context>,
    id: String,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Running {
    fn drop(&mut self) {
        lock(&self.context.in_flight).remove(&self.id);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
