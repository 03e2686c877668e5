//! The courier: sends the outbox's deliver_sm (receipts and MO) to the
//! customers' bound sessions.
//!
//! It claims due items of the accounts that have a receiver or transceiver
//! session bound to this node (so nothing is claimed that cannot be sent),
//! oldest first, and sends each on the account's session with the fewest
//! requests in flight, which spreads them over the sessions while each
//! session's window holds the rest back.
//!
//! Accounts are independent. Each may hold (claimed and not yet answered)
//! twice its receiving sessions' windows, or, if more, what its sessions
//! answered in the last quarter of a second (up to [`MAX_HELD_PER_ACCOUNT`]),
//! and is claimed for only while it has room. A busy customer thus keeps
//! enough ready to cover a store write's time, while a customer whose
//! receiver stops answering soon holds just twice its windows: everyone
//! else's items are claimed and sent as before. [`MAX_IN_FLIGHT`] bounds
//! the items held by all accounts together (memory).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use smpp::session::PendingResponse;
use smpp::{Body, CommandStatus, DecodeLimits, Pdu};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::outbox::{OutboxItem, OutboxResult};
use crate::ingress::smpp_server::{BoundSession, SessionRegistry};
use crate::store::{BindType, Store};

/// Most items being sent at once by this node, over all accounts; each
/// waits for a window slot of its session, so this only bounds memory
/// (an item is its deliver_sm of a few hundred bytes).
const MAX_IN_FLIGHT: usize = 16_384;

/// How many items an account may hold at least, per slot of its receiving
/// sessions' windows: twice the window keeps the next ones ready while the
/// window's are answered.
const HELD_PER_WINDOW: usize = 2;

/// An account may hold more when its sessions answer fast: what they
/// answered in the last second divided by this (a quarter of a second's
/// worth), to cover the time a claim takes to commit ...
const ANSWERED_SHARE: usize = 4;

/// ... but never more than this.
const MAX_HELD_PER_ACCOUNT: usize = 4096;

/// Most items claimed in one pass.
const CLAIM_BATCH: usize = 256;

/// How often items past their maximum age are dropped.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);

/// How long an account's sender waits for more items before it ends.
const SENDER_IDLE: Duration = Duration::from_secs(30);

/// How long shutdown waits for deliveries in flight.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

/// `[delivery]`: how receipts and MO reach SMPP customers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CourierConfig {
    /// How long a receipt or MO waits for a session of its account before
    /// it is dropped (with a trace event). Default 72 h.
    #[serde(with = "crate::settings::duration")]
    pub max_age: Duration,
    /// The waits before each new attempt after a temporary error or no
    /// answer; the last one repeats until `max_age`. Default 5 s, 30 s, 2 min, 10 min.
    #[serde(with = "crate::settings::durations")]
    pub retry_delays: Vec<Duration>,
    /// How often the outbox is looked at when nothing woke the courier
    /// sooner. Default 100 ms.
    #[serde(with = "crate::settings::duration")]
    pub poll_interval: Duration,
}

impl Default for CourierConfig {
    fn default() -> Self {
        CourierConfig {
            max_age: Duration::from_secs(72 * 3600),
            retry_delays: vec![
                Duration::from_secs(5),
                Duration::from_secs(30),
                Duration::from_secs(120),
                Duration::from_secs(600),
            ],
            poll_interval: Duration::from_millis(100),
        }
    }
}

impl CourierConfig {
    /// The wait before attempt `attempts + 1`.
    fn retry_delay(&self, attempts: u32) -> Duration {
        let index = usize::try_from(attempts.saturating_sub(1)).unwrap_or(usize::MAX);
        self.retry_delays
            .get(index)
            .or(self.retry_delays.last())
            .copied()
            .unwrap_or(Duration::from_secs(30))
    }
}

/// A node's courier. See the module documentation.
pub struct Courier {
    stop: CancellationToken,
    main: JoinHandle<()>,
    sends: TaskTracker,
}

struct Context {
    store: Arc<dyn Store>,
    registry: Arc<SessionRegistry>,
    config: CourierConfig,
    node: String,
    /// Items being sent now (a lapsed claim must not send one twice at once).
    in_flight: Mutex<HashSet<i64>>,
    /// What each account holds now and how fast it is answered.
    held: Mutex<HashMap<String, Holding>>,
    /// Wakes the claim loop: an item finished, so its account has room.
    wake: Arc<Notify>,
    /// Each account's sender, while it has items.
    senders: Mutex<HashMap<String, mpsc::UnboundedSender<Queued>>>,
    permits: Arc<Semaphore>,
    sends: TaskTracker,
    stop: CancellationToken,
}

impl Courier {
    /// Releases the claims this node left at its last run, then starts.
    /// `wake` is signalled when a session binds or an item is queued.
    pub async fn start(
        store: Arc<dyn Store>,
        registry: Arc<SessionRegistry>,
        config: CourierConfig,
        node: String,
        wake: Arc<Notify>,
    ) -> Courier {
        match store.release_outbox_claims(&node).await {
            Ok(0) => {}
            Ok(released) => info!(
                released,
                "courier: deliveries claimed before the last stop are due again"
            ),
            Err(error) => warn!(%error, "courier: releasing earlier claims failed; they lapse"),
        }
        let sends = TaskTracker::new();
        let stop = CancellationToken::new();
        let context = Arc::new(Context {
            store,
            registry,
            config,
            node,
            in_flight: Mutex::new(HashSet::new()),
            held: Mutex::new(HashMap::new()),
            wake: Arc::clone(&wake),
            senders: Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            sends: sends.clone(),
            stop: stop.clone(),
        });
        let main = tokio::spawn(run(context, stop.clone(), wake));
        Courier { stop, main, sends }
    }

    /// Stops claiming and waits (bounded) for the deliveries in flight;
    /// what is not sent stays in the outbox.
    pub async fn shutdown(self) {
        self.stop.cancel();
        if let Err(error) = self.main.await {
            warn!(%error, "courier: ended abnormally");
        }
        self.sends.close();
        if tokio::time::timeout(SHUTDOWN_WAIT, self.sends.wait())
            .await
            .is_err()
        {
            warn!(
                "courier: deliveries still waiting for answers; they are sent again at the next start"
            );
        }
    }
}

async fn run(context: Arc<Context>, stop: CancellationToken, wake: Arc<Notify>) {
    let mut next_expiry = Instant::now();
    let mut pass: usize = 0;
    while !stop.is_cancelled() {
        let now = SystemTime::now();
        if Instant::now() >= next_expiry {
            next_expiry = Instant::now() + EXPIRY_INTERVAL;
            let before = now.checked_sub(context.config.max_age).unwrap_or(now);
            match context.store.expire_outbox(before, now).await {
                Ok(0) => {}
                Ok(dropped) => info!(
                    dropped,
                    "courier: receipts and MO older than {} dropped undelivered",
                    humantime::format_duration(context.config.max_age)
                ),
                Err(error) => warn!(%error, "courier: dropping old deliveries failed"),
            }
        }
        let mut accounts = accounts_with_room(&context);
        // Where a claim starts goes round, so that when the claim's limit
        // is reached before the last account, the next pass serves it first.
        if !accounts.is_empty() {
            let start = pass % accounts.len();
            accounts.rotate_left(start);
        }
        pass = pass.wrapping_add(1);
        let room = context.permits.available_permits();
        let mut more = false;
        if !accounts.is_empty() && room > 0 {
            let limit = u32::try_from(room.min(CLAIM_BATCH)).unwrap_or(u32::MAX);
            match context
                .store
                .claim_outbox(&context.node, &accounts, limit, now)
                .await
            {
                Ok(items) => {
                    more = items.len() == limit as usize;
                    for item in items {
                        start_send(&context, item);
                    }
                }
                Err(error) => warn!(%error, "courier: claiming deliveries failed"),
            }
        }
        if more {
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(context.config.poll_interval) => {}
        }
    }
}

/// The accounts with a session that can take deliver_sm, each with how
/// many more items it may hold now; accounts without room are left out.
fn accounts_with_room(context: &Context) -> Vec<(String, u32)> {
    let mut windows: HashMap<String, usize> = HashMap::new();
    for session in context.registry.list().into_iter().filter(receives) {
        *windows.entry(session.system_id).or_default() += session.handle.window().max(1);
    }
    let now = Instant::now();
    let mut held = lock(&context.held);
    // Accounts no longer bound here are forgotten once they hold nothing.
    held.retain(|account, holding| holding.held > 0 || windows.contains_key(account));
    let mut accounts: Vec<(String, u32)> = windows
        .into_iter()
        .filter_map(|(account, window)| {
            let (holding, answered) = match held.get(&account) {
                Some(holding) => (holding.held, holding.answered_per_second(now)),
                None => (0, 0),
            };
            let most = window
                .saturating_mul(HELD_PER_WINDOW)
                .max((answered / ANSWERED_SHARE).min(MAX_HELD_PER_ACCOUNT));
            let room = most.saturating_sub(holding);
            (room > 0).then(|| (account, u32::try_from(room).unwrap_or(u32::MAX)))
        })
        .collect();
    accounts.sort();
    accounts
}

/// One account's items in hand, and its answers counted by the second.
#[derive(Debug, Default)]
struct Holding {
    /// Items claimed and not yet finished.
    held: usize,
    /// Items finished in the second that began at `second` ...
    answered: usize,
    /// ... and in the second before it.
    answered_before: usize,
    second: Option<Instant>,
}

impl Holding {
    /// Counts one finished item at `now`.
    fn count_answer(&mut self, now: Instant) {
        self.roll(now);
        self.answered += 1;
    }

    /// About how many items a second were finished lately.
    fn answered_per_second(&self, now: Instant) -> usize {
        match self.second {
            Some(second) if now.duration_since(second) < Duration::from_secs(1) => {
                self.answered.max(self.answered_before)
            }
            Some(second) if now.duration_since(second) < Duration::from_secs(2) => self.answered,
            _ => 0,
        }
    }

    fn roll(&mut self, now: Instant) {
        match self.second {
            Some(second) if now.duration_since(second) < Duration::from_secs(1) => {}
            Some(second) if now.duration_since(second) < Duration::from_secs(2) => {
                self.answered_before = self.answered;
                self.answered = 0;
                self.second = Some(second + Duration::from_secs(1));
            }
            _ => {
                self.answered_before = 0;
                self.answered = 0;
                self.second = Some(now);
            }
        }
    }
}

fn receives(session: &BoundSession) -> bool {
    matches!(
        session.bind_type,
        BindType::Receiver | BindType::Transceiver
    ) && !session.handle.is_closed()
}

/// Hands a claimed item to its account's sender, which sends the
/// account's items one after another in claim order (oldest first), so
/// they reach the customer in that order; their answers are awaited
/// concurrently, up to each session's window.
fn start_send(context: &Arc<Context>, item: OutboxItem) {
    let Ok(permit) = Arc::clone(&context.permits).try_acquire_owned() else {
        return;
    };
    if !lock(&context.in_flight).insert(item.seq) {
        // Claimed again after its claim lapsed while the first attempt
        // still runs: that attempt finishes it.
        debug!(seq = item.seq, "courier: item already in flight");
        return;
    }
    lock(&context.held)
        .entry(item.account.clone())
        .or_default()
        .held += 1;
    let mut senders = lock(&context.senders);
    let account = item.account.clone();
    let queued = (item, permit);
    let queued = match senders.get(&account) {
        Some(sender) => match sender.send(queued) {
            Ok(()) => return,
            Err(mpsc::error::SendError(queued)) => queued,
        },
        None => queued,
    };
    let (sender, receiver) = mpsc::unbounded_channel();
    // A fresh channel whose receiver is in hand: this send cannot fail.
    let _ = sender.send(queued);
    senders.insert(account.clone(), sender);
    drop(senders);
    let context = Arc::clone(context);
    context
        .sends
        .clone()
        .spawn(account_sender(context, account, receiver));
}

/// An item of `account` is finished (answered, or given up on): it no
/// longer takes the account's room, and the claim loop is woken to fill it.
fn release_held(context: &Context, account: &str) {
    if let Some(holding) = lock(&context.held).get_mut(account) {
        holding.held = holding.held.saturating_sub(1);
        holding.count_answer(Instant::now());
    }
    context.wake.notify_one();
}

/// An item on its way, with the room it takes.
type Queued = (OutboxItem, OwnedSemaphorePermit);

/// Sends one account's items in order; ends when idle for a while.
async fn account_sender(
    context: Arc<Context>,
    account: String,
    mut items: mpsc::UnboundedReceiver<Queued>,
) {
    loop {
        let next = tokio::select! {
            () = context.stop.cancelled() => return,
            next = tokio::time::timeout(SENDER_IDLE, items.recv()) => next,
        };
        let (item, permit) = match next {
            Ok(Some(queued)) => queued,
            Ok(None) => return,
            Err(_) => {
                // Idle: leave, unless an item arrived meanwhile (claims
                // hand items over under the same lock).
                let mut senders = lock(&context.senders);
                if items.is_empty() {
                    senders.remove(&account);
                    return;
                }
                continue;
            }
        };
        let started = start(&context, &item).await;
        let context = Arc::clone(&context);
        context.sends.clone().spawn(async move {
            let result = match started {
                Started::Sent { pending, who } => answer(&context, &item, pending, who).await,
                Started::Done(result) => result,
            };
            let seq = item.seq;
            // Out of the in-flight set before the row is deleted: SQLite
            // gives the next new row the largest seq again once that row
            // is gone, and a new item found "in flight" under its reused
            // seq would stay claimed and unsent until its claim lapsed.
            // (Our own claim on this row is fresh, so nothing claims it
            // again meanwhile.)
            lock(&context.in_flight).remove(&seq);
            if let Err(error) = context
                .store
                .finish_outbox(seq, &item.message_id, item.kind, result, SystemTime::now())
                .await
            {
                warn!(seq, %error, "courier: recording a delivery failed; it is sent again when its claim lapses");
            }
            release_held(&context, &item.account);
            drop(permit);
        });
    }
}

/// How far an attempt got before its answer.
enum Started {
    /// The deliver_sm is on its way on session `who`.
    Sent {
        pending: PendingResponse,
        who: String,
    },
    /// It ended before anything was sent.
    Done(OutboxResult),
}

/// Hands the item to the account's least busy receiving session (waiting
/// for a slot of its window).
async fn start(context: &Context, item: &OutboxItem) -> Started {
    let now = SystemTime::now();
    let body = match Pdu::decode(item.pdu.clone(), &DecodeLimits::default()) {
        Ok(pdu) => pdu.body,
        Err(error) => {
            return Started::Done(OutboxResult::Dropped {
                detail: format!("the stored deliver_sm cannot be read: {error}"),
            });
        }
    };
    let Some(session) = context.registry.least_busy_receiver(&item.account) else {
        return Started::Done(OutboxResult::Retry {
            at: now,
            detail: "no receiving session bound any more".into(),
        });
    };
    let who = format!(
        "session {} ({}, {}{})",
        session.id,
        session.bind_type.as_str(),
        session.remote,
        if session.tls { ", TLS" } else { "" }
    );
    match session.handle.start_request(body).await {
        Ok(pending) => {
            session.stats.count_out();
            Started::Sent { pending, who }
        }
        Err(error) => Started::Done(OutboxResult::Retry {
            at: now,
            detail: format!("{who}: {error}"),
        }),
    }
}

/// Waits for the customer's deliver_sm_resp and says what it means.
async fn answer(
    context: &Context,
    item: &OutboxItem,
    pending: PendingResponse,
    who: String,
) -> OutboxResult {
    let retry = |detail: String| OutboxResult::Retry {
        at: SystemTime::now() + context.config.retry_delay(item.attempts),
        detail,
    };
    match pending.response().await {
        Ok(response) => {
            let status = response.status;
            let answered_ok = matches!(response.body, Body::DeliverSmResp(_)) && status.is_ok();
            if answered_ok {
                OutboxResult::Delivered {
                    detail: format!("{who} acknowledged it"),
                }
            } else if is_temporary(status) {
                retry(format!("{who} answered {status}"))
            } else {
                OutboxResult::Dropped {
                    detail: format!("{who} refused it with {status}"),
                }
            }
        }
        Err(error) => retry(format!("{who}: {error}")),
    }
}

/// Errors a customer's SMPP software answers when it cannot take a
/// deliver_sm now but may later.
fn is_temporary(status: CommandStatus) -> bool {
    status == CommandStatus::ESME_RX_T_APPN || status.is_transient()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_credited_with_the_answers_of_the_last_second_only() {
        let start = Instant::now();
        let mut holding = Holding::default();
        for _ in 0..400 {
            holding.count_answer(start);
        }
        assert_eq!(holding.answered_per_second(start), 400);
        // The next second: the last one's count still stands ...
        let next = start + Duration::from_millis(1500);
        holding.count_answer(next);
        assert_eq!(holding.answered_per_second(next), 400);
        // ... and is forgotten when nothing more is answered.
        assert_eq!(
            holding.answered_per_second(start + Duration::from_secs(3)),
            0
        );
        holding.count_answer(start + Duration::from_secs(5));
        assert_eq!(
            holding.answered_per_second(start + Duration::from_secs(5)),
            1
        );
    }

    #[test]
    fn retry_delays_step_up_then_repeat_the_last() {
        let config = CourierConfig::default();
        assert_eq!(config.retry_delay(1), Duration::from_secs(5));
        assert_eq!(config.retry_delay(2), Duration::from_secs(30));
        assert_eq!(config.retry_delay(9), Duration::from_secs(600));
    }

    #[test]
    fn temporary_application_errors_and_throttling_are_retried_others_not() {
        assert!(is_temporary(CommandStatus::ESME_RX_T_APPN));
        assert!(is_temporary(CommandStatus::ESME_RTHROTTLED));
        assert!(!is_temporary(CommandStatus::ESME_RX_P_APPN));
        assert!(!is_temporary(CommandStatus::ESME_RINVCMDID));
    }
}
