//! Dispatch: gets accepted messages to providers.
//!
//! Work reaches it two ways. Most messages come from accept in memory
//! ([`queue`]): stored `queued` and claimed by this node in the commit that
//! accepted them, then handed over, so no store read or claim write stands
//! between accept and the submit. The rest wait in the store and are
//! claimed from it ([`Store::claim_due`]): retries and scheduled messages
//! when they come due, messages that found the queue full, the claims of
//! this node's last run (released at start) and those of a crashed node.
//!
//! Each message gets one pass (`attempt.rs`): route it, try the route's
//! connectors in order, and record each attempt's outcome with one write
//! after its answer. Retries are not slept on: a message to retry goes
//! back to the store, due again after its delay, and is claimed again then.
//!
//! It owns the node's connectors (`connectors.rs`) and stops them after
//! its own work. It does not read receipts: that is tracking's job.
//!
//! Operators can pause a connector ([`DispatchControl::pause`]): dispatch
//! then gives it nothing new (a message fails over to the route's next
//! connector, or waits when none is left) while its binds stay up. A pause
//! is kept in memory by name: it survives reloads, not a restart.

mod attempt;
mod config;
mod connectors;
mod outcomes;
pub mod queue;
mod shape;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub(crate) use self::attempt::routing_text as message_text;
pub use self::config::{ConnectorConfig, ConnectorKind, DispatchConfig};
pub use self::connectors::{Connectors, Link};
pub use self::outcomes::{Outcomes, OutcomesConfig, Verdict};
pub use self::queue::{DispatchQueue, QueueReceiver};
pub use self::shape::LongMessages;
use crate::accept::NumberTable;
use crate::connectors::ConnectorHealth;
use crate::metrics::Metrics;
use crate::routing::{RouteSummary, RouteTable, RouteTest, RouteTestAnswer, test_route};
use crate::settings::InvalidSetting;
use crate::store::{ClaimedMessage, Store, StoreResult};

/// Most messages claimed in one go: one store write each, and an upper
/// bound on how long one claim transaction takes.
const CLAIM_BATCH: usize = 256;

/// How often messages past their validity are expired.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(1);

/// How long a looked-up account group is used before it is read again.
const GROUP_CACHE_TTL: Duration = Duration::from_secs(5);

/// How often receipts that never found their message are purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(600);

/// How long a receipt whose provider id matches no message is kept, in
/// case the submit's answer naming that id is only late.
const PENDING_RECEIPT_MAX_AGE: Duration = Duration::from_secs(72 * 3600);

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
    /// The routes and connectors in force; a reload swaps them, and a pass
    /// keeps the pair it started with.
    current: RwLock<Arc<Setup>>,
    config: DispatchConfig,
    /// Signalled when a message is stored for dispatch to claim from the
    /// store: the claim loop polls at once.
    wake: Arc<Notify>,
    /// Account groups, for routes that filter on them.
    groups: Mutex<HashMap<String, (Option<String>, Instant)>>,
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
    /// Where submits and provider response times are counted; `None`: not counted.
    metrics: Option<Arc<Metrics>>,
    /// Connectors an operator paused, by name.
    paused: Mutex<BTreeSet<String>>,
}

/// Routes and the connectors they name.
struct Setup {
    routes: RouteTable,
    connectors: Connectors,
}

impl Dispatcher {
    /// Releases the claims this node left at its last run (they need not
    /// wait for the lease), then starts sending what arrives on `queue` and
    /// claiming what is due in the store. `wake` is signalled when a
    /// message is stored for the store path (see
    /// [`crate::accept::Acceptor::stored_signal`]). Submits are counted in
    /// `metrics`, if given.
    #[allow(clippy::too_many_arguments)]
    pub async fn start(
        store: Arc<dyn Store>,
        routes: RouteTable,
        connectors: Connectors,
        config: DispatchConfig,
        node: String,
        queue: QueueReceiver,
        wake: Arc<Notify>,
        metrics: Option<Arc<Metrics>>,
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
            current: RwLock::new(Arc::new(Setup { routes, connectors })),
            wake,
            groups: Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(config.concurrency)),
            config,
            node,
            in_flight: Mutex::new(HashSet::new()),
            passes: TaskTracker::new(),
            metrics,
            paused: Mutex::new(BTreeSet::new()),
        });
        let stop = CancellationToken::new();
        let main = tokio::spawn(claim_loop(Arc::clone(&context), queue, stop.clone()));
        Ok(Dispatcher {
            context,
            stop,
            main,
        })
    }

    /// Puts new routes and connectors in force: connectors whose settings
    /// did not change keep running with their binds; new ones start;
    /// changed and removed ones stop once the passes using them end.
    /// Passes already running finish with the routes they started with.
    /// On an error (a connector that cannot start) nothing changes.
    pub fn reload(
        &self,
        routes: RouteTable,
        connectors: &BTreeMap<String, ConnectorConfig>,
    ) -> Result<(), InvalidSetting> {
        let current = self.context.setup();
        let (connectors, retired) = current.connectors.reconfigure(connectors)?;
        drop(current);
        let names: Vec<String> = connectors.health().into_keys().collect();
        *self
            .context
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(Setup { routes, connectors });
        info!(connectors = ?names, retired = retired.len(), "dispatch: routes and connectors reloaded");
        tokio::spawn(connectors::retire(retired));
        Ok(())
    }

    /// Each connector's health, by name.
    pub fn health(&self) -> BTreeMap<String, ConnectorHealth> {
        self.context.setup().connectors.health()
    }

    /// [`Dispatcher::health`] for whoever outlives a borrow of the
    /// dispatcher (the metrics endpoint); it reads the connectors in force
    /// at each call, so it follows reloads.
    pub fn health_probe(
        &self,
    ) -> impl Fn() -> BTreeMap<String, ConnectorHealth> + Send + Sync + use<> {
        let context = Arc::clone(&self.context);
        move || context.setup().connectors.health()
    }

    /// A handle for operators: connector status, pause and resume, the
    /// routes in force. It follows reloads.
    pub fn control(&self) -> DispatchControl {
        DispatchControl {
            context: Arc::clone(&self.context),
        }
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
        let setup = std::mem::replace(
            &mut *self
                .context
                .current
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            Arc::new(Setup {
                routes: RouteTable::default(),
                connectors: Connectors::empty(),
            }),
        );
        match Arc::try_unwrap(setup) {
            Ok(setup) => setup.connectors.shutdown().await,
            // A pass left running holds the connectors; dropping the last
            // hold stops them without waiting.
            Err(_) => warn!("dispatch: connectors still in use; they stop when released"),
        }
    }
}

impl Context {
    /// The routes and connectors in force now.
    fn setup(&self) -> Arc<Setup> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether an operator paused connector `name`.
    fn is_paused(&self, name: &str) -> bool {
        lock(&self.paused).contains(name)
    }

    /// Whether `name` is worth trying first: it has a bind up and is not paused.
    fn is_healthy(&self, setup: &Setup, name: &str) -> bool {
        setup.connectors.is_healthy(name) && !self.is_paused(name)
    }

    /// The group of `account`, from a cache refreshed every few seconds.
    async fn group_of(&self, account: &str) -> Option<String> {
        if let Some((group, at)) = lock(&self.groups).get(account)
            && at.elapsed() < GROUP_CACHE_TTL
        {
            return group.clone();
        }
        let group = match self.store.account(account).await {
            Ok(found) => found.and_then(|account| account.group),
            Err(error) => {
                warn!(%account, %error, "dispatch: the account's group could not be read");
                None
            }
        };
        lock(&self.groups).insert(account.to_string(), (group.clone(), Instant::now()));
        group
    }
}

/// One connector as operators see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectorStatus {
    /// Its name in the configuration.
    pub name: String,
    /// `smpp`, `http` or `sim`.
    pub kind: &'static str,
    /// Whether an operator paused it.
    pub paused: bool,
    /// How it is doing.
    pub health: ConnectorHealth,
}

/// What operators may see and change of a running dispatcher (the admin
/// API): connector status, pause and resume, and the routes in force.
/// Cheap to clone; it reads what is in force at each call, so it follows
/// reloads.
#[derive(Clone)]
pub struct DispatchControl {
    context: Arc<Context>,
}

impl DispatchControl {
    /// Every connector in force, by name.
    pub fn connectors(&self) -> Vec<ConnectorStatus> {
        let setup = self.context.setup();
        setup
            .connectors
            .links()
            .map(|(name, link)| self.status(name, link))
            .collect()
    }

    /// One connector; `None` if none by that name is in force.
    pub fn connector(&self, name: &str) -> Option<ConnectorStatus> {
        let setup = self.context.setup();
        setup
            .connectors
            .get(name)
            .map(|link| self.status(name, link))
    }

    /// Pauses connector `name`: no new submits go to it until
    /// [`DispatchControl::resume`]. Submits in flight finish; its binds
    /// stay up. `None` if no connector by that name is in force.
    pub fn pause(&self, name: &str) -> Option<ConnectorStatus> {
        self.connector(name)?;
        lock(&self.context.paused).insert(name.to_string());
        self.connector(name)
    }

    /// Lets dispatch use connector `name` again. `None` if no connector by
    /// that name is in force.
    pub fn resume(&self, name: &str) -> Option<ConnectorStatus> {
        self.connector(name)?;
        if lock(&self.context.paused).remove(name) {
            // Messages held back for it may now go.
            self.context.wake.notify_one();
        }
        self.connector(name)
    }

    /// The routes in force, in evaluation order.
    pub fn routes(&self) -> Vec<RouteSummary> {
        self.context.setup().routes.summaries()
    }

    /// The route and connector order `test` would get now, judging the
    /// connectors as dispatch does (a bind up and not paused).
    pub fn test_route(
        &self,
        numbers: &NumberTable,
        test: &RouteTest<'_>,
    ) -> Result<RouteTestAnswer, String> {
        let setup = self.context.setup();
        let health = |name: &str| self.context.is_healthy(&setup, name);
        test_route(&setup.routes, numbers, test, &health)
    }

    fn status(&self, name: &str, link: &Link) -> ConnectorStatus {
        ConnectorStatus {
            name: name.to_string(),
            kind: link.kind(),
            paused: self.context.is_paused(name),
            health: link.health(),
        }
    }
}

/// Starts a pass for each message from the queue and each due one
/// claimed from the store, as submit slots (permits) free up, until
/// stopped; expires messages past their validity on the way.
///
/// The queue is served first while it has messages; the store is claimed
/// from when it was woken or its poll interval passed, and at least once
/// per poll interval even under a steady queue, so retries and the
/// messages that found the queue full are not starved.
async fn claim_loop(context: Arc<Context>, mut queue: QueueReceiver, stop: CancellationToken) {
    let mut next_expiry = Instant::now();
    let mut next_purge = Instant::now();
    // The store may hold due work at start (released claims, retries).
    let mut next_claim = Instant::now();
    let mut queue_open = true;
    loop {
        if Instant::now() >= next_purge {
            next_purge = Instant::now() + PURGE_INTERVAL;
            purge(&context).await;
        }
        if Instant::now() >= next_expiry {
            next_expiry = Instant::now() + EXPIRY_INTERVAL;
            match context.store.expire_due(SystemTime::now()).await {
                Ok(0) => {}
                Ok(expired) => info!(expired, "dispatch: messages expired before sending"),
                Err(error) => warn!(%error, "dispatch: expiring messages failed"),
            }
        }
        let permit = tokio::select! {
            () = stop.cancelled() => return,
            permit = Arc::clone(&context.permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        if Instant::now() >= next_claim {
            let more_due = claim_from_store(&context, permit).await;
            next_claim = if more_due {
                Instant::now()
            } else {
                Instant::now() + context.config.poll_interval
            };
            continue;
        }
        let wait_for = next_claim.min(next_expiry);
        tokio::select! {
            () = stop.cancelled() => return,
            next = queue.receiver.recv(), if queue_open => match next {
                Some(claim) => start_pass(&context, claim, permit),
                None => queue_open = false,
            },
            () = context.wake.notified() => next_claim = Instant::now(),
            () = tokio::time::sleep_until(wait_for) => {}
        }
    }
}

/// Claims due messages from the store, as many as there are free slots
/// (`permit` and those free besides), and starts their passes. Whether
/// more may be due (the claim filled every slot).
async fn claim_from_store(context: &Arc<Context>, permit: OwnedSemaphorePermit) -> bool {
    let mut permits = vec![permit];
    let room = CLAIM_BATCH.min(1 + context.permits.available_permits());
    while permits.len() < room {
        match Arc::clone(&context.permits).try_acquire_owned() {
            Ok(permit) => permits.push(permit),
            Err(_) => break,
        }
    }
    let limit = u32::try_from(permits.len()).unwrap_or(u32::MAX);
    match context
        .store
        .claim_due(&context.node, limit, SystemTime::now())
        .await
    {
        Ok(claims) => {
            let full = claims.len() == permits.len();
            for (claim, permit) in claims.into_iter().zip(permits) {
                start_pass(context, claim, permit);
            }
            full
        }
        Err(error) => {
            warn!(%error, "dispatch: claiming messages failed");
            false
        }
    }
}

/// Drops receipts that never found their message.
async fn purge(context: &Context) {
    let now = SystemTime::now();
    let before = now.checked_sub(PENDING_RECEIPT_MAX_AGE).unwrap_or(now);
    match context.store.purge_pending_receipts(before).await {
        Ok(0) => {}
        Ok(purged) => info!(
            purged,
            "dispatch: receipts that matched no message for {} dropped",
            humantime::format_duration(PENDING_RECEIPT_MAX_AGE)
        ),
        Err(error) => warn!(%error, "dispatch: purging unmatched receipts failed"),
    }
}

/// Starts a pass for a message, holding `permit` until it ends, unless the
/// message already has one.
fn start_pass(context: &Arc<Context>, claim: ClaimedMessage, permit: OwnedSemaphorePermit) {
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
