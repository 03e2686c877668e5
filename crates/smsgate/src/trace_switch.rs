//! Runtime trace switches: which accounts' sessions and which connectors'
//! binds get their PDUs (or HTTP requests) written to the log, and until when.
//!
//! The switches live in the store ([`Store::set_trace_switch`] and its
//! siblings), so every node of a cluster and the CLI (`smsgate trace`) see
//! the same ones. Each node keeps a snapshot in a [`TraceSwitches`],
//! refreshed from the store every [`REFRESH_INTERVAL`] by a task the node
//! starts (and at once when a switch is changed through this node), so
//! that the per-PDU question "is this traced?" never touches the store.
//!
//! An expired switch is off: the snapshot checks `until` on every lookup,
//! and the next refresh drops it.
//!
//! This module owns the switches, not the logging: see [`crate::pdu_trace`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::store::{Store, StoreError, StoreResult, TraceKind, TraceSwitch};

/// How long a switch stays on when the operator does not say.
pub const DEFAULT_TRACE_MINUTES: u32 = 30;

/// The longest a switch may stay on: a trace is for looking at a problem,
/// and a forgotten one must not fill the disk for ever.
pub const MAX_TRACE_MINUTES: u32 = 24 * 60;

/// How often a node re-reads the switches from the store: how long a
/// switch changed on another node (or by the CLI) takes to act here.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(2);

/// The longest account or connector name a switch may carry (a system_id
/// has at most 16 octets on the wire; connector names are short too).
const MAX_NAME_LEN: usize = 64;

/// Why a switch could not be turned on.
#[derive(Debug, thiserror::Error)]
pub enum TraceSwitchError {
    /// The duration is outside 1..=[`MAX_TRACE_MINUTES`].
    #[error("a trace lasts 1 to {MAX_TRACE_MINUTES} minutes, not {0}")]
    InvalidMinutes(u32),
    /// The name is empty, too long or has control characters.
    #[error("{0:?} is not an account or connector name (1 to 64 printable characters)")]
    InvalidName(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long a switch asked for with `minutes` (default
/// [`DEFAULT_TRACE_MINUTES`]) stays on, or why it cannot be asked for.
pub fn trace_duration(minutes: Option<u32>) -> Result<Duration, TraceSwitchError> {
    let minutes = minutes.unwrap_or(DEFAULT_TRACE_MINUTES);
    if !(1..=MAX_TRACE_MINUTES).contains(&minutes) {
        return Err(TraceSwitchError::InvalidMinutes(minutes));
    }
    Ok(Duration::from_secs(u64::from(minutes) * 60))
}

/// Checks a name a switch is asked for.
fn check_name(name: &str) -> Result<(), TraceSwitchError> {
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_NAME_LEN
        && !name.chars().any(char::is_control);
    if valid {
        Ok(())
    } else {
        Err(TraceSwitchError::InvalidName(name.to_string()))
    }
}

/// Switches trace on for `kind` `name` for `minutes` (default
/// [`DEFAULT_TRACE_MINUTES`], at most [`MAX_TRACE_MINUTES`]) in the store,
/// where every node finds it within [`REFRESH_INTERVAL`]. A switch already
/// on gets the new end time. Returns the switch as stored.
pub async fn store_switch(
    store: &dyn Store,
    kind: TraceKind,
    name: &str,
    minutes: Option<u32>,
) -> Result<TraceSwitch, TraceSwitchError> {
    check_name(name)?;
    let until = SystemTime::now() + trace_duration(minutes)?;
    Ok(store.set_trace_switch(kind, name, until).await?)
}

/// This node's view of the trace switches. Cheap to clone: every clone is
/// the same snapshot.
///
/// Lookups take a read lock only when at least one switch of their kind
/// is on; with nothing traced, [`TraceSwitches::account_on`] and
/// [`TraceSwitches::connector_on`] are one atomic load.
#[derive(Debug, Clone, Default)]
pub struct TraceSwitches {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Bumped every time the set of switches changes, so that a session's
    /// tap can keep its answer until then (see [`TraceSwitches::generation`]).
    generation: AtomicU64,
    any_account: AtomicBool,
    any_connector: AtomicBool,
    snapshot: RwLock<Snapshot>,
}

/// The switches on, by kind, name → until.
#[derive(Debug, Default, PartialEq, Eq)]
struct Snapshot {
    accounts: HashMap<String, SystemTime>,
    connectors: HashMap<String, SystemTime>,
}

impl Snapshot {
    fn of(&self, kind: TraceKind) -> &HashMap<String, SystemTime> {
        match kind {
            TraceKind::Account => &self.accounts,
            TraceKind::Connector => &self.connectors,
        }
    }
}

impl TraceSwitches {
    /// Everything off, until the first refresh.
    pub fn new() -> TraceSwitches {
        TraceSwitches::default()
    }

    /// Whether the sessions of account `system_id` are traced now.
    pub fn account_on(&self, system_id: &str) -> bool {
        self.is_on_at(TraceKind::Account, system_id, SystemTime::now())
    }

    /// Whether connector `name` is traced now.
    pub fn connector_on(&self, name: &str) -> bool {
        self.is_on_at(TraceKind::Connector, name, SystemTime::now())
    }

    /// Whether `kind` `name` is traced at `now`.
    pub fn is_on_at(&self, kind: TraceKind, name: &str, now: SystemTime) -> bool {
        if !self.any_on(kind) {
            return false;
        }
        let snapshot = self
            .inner
            .snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        snapshot
            .of(kind)
            .get(name)
            .is_some_and(|until| *until > now)
    }

    /// Whether any switch of `kind` is on (expired ones count until the
    /// next refresh). One atomic load: the fast path of every lookup.
    pub fn any_on(&self, kind: TraceKind) -> bool {
        let flag = match kind {
            TraceKind::Account => &self.inner.any_account,
            TraceKind::Connector => &self.inner.any_connector,
        };
        flag.load(Ordering::Acquire)
    }

    /// A number that changes whenever the set of switches does: a caller
    /// that asked for one name may keep the answer while it stays the same.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Puts `switches` in force, without those expired at `now`; bumps
    /// the generation if that changes anything.
    pub fn replace(&self, switches: &[TraceSwitch], now: SystemTime) {
        let mut next = Snapshot::default();
        for switch in switches.iter().filter(|switch| switch.until > now) {
            let map = match switch.kind {
                TraceKind::Account => &mut next.accounts,
                TraceKind::Connector => &mut next.connectors,
            };
            map.insert(switch.name.clone(), switch.until);
        }
        let inner = &self.inner;
        let mut snapshot = inner
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if *snapshot == next {
            return;
        }
        for kind in [TraceKind::Account, TraceKind::Connector] {
            let (before, after) = (snapshot.of(kind), next.of(kind));
            for name in after.keys().filter(|name| !before.contains_key(*name)) {
                info!(kind = kind.as_str(), name = %name, "trace switched on");
            }
            for name in before.keys().filter(|name| !after.contains_key(*name)) {
                info!(kind = kind.as_str(), name = %name, "trace switched off");
            }
        }
        inner
            .any_account
            .store(!next.accounts.is_empty(), Ordering::Release);
        inner
            .any_connector
            .store(!next.connectors.is_empty(), Ordering::Release);
        *snapshot = next;
        inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Drops the switches expired at `now` (what a refresh does when the
    /// store cannot be read).
    fn prune(&self, now: SystemTime) {
        let current = self.switches();
        self.replace(&current, now);
    }

    /// The switches in this snapshot, by kind and name.
    fn switches(&self) -> Vec<TraceSwitch> {
        let snapshot = self
            .inner
            .snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut switches: Vec<TraceSwitch> = [TraceKind::Account, TraceKind::Connector]
            .into_iter()
            .flat_map(|kind| {
                snapshot
                    .of(kind)
                    .iter()
                    .map(move |(name, until)| TraceSwitch {
                        kind,
                        name: name.clone(),
                        until: *until,
                    })
            })
            .collect();
        switches.sort_by(|a, b| (a.kind.as_str(), &a.name).cmp(&(b.kind.as_str(), &b.name)));
        switches
    }

    /// Re-reads the switches from the store.
    pub async fn refresh(&self, store: &dyn Store) -> StoreResult<()> {
        let now = SystemTime::now();
        let switches = store.trace_switches(now).await?;
        self.replace(&switches, now);
        Ok(())
    }

    /// Switches trace on as [`store_switch`] does, and at once on this
    /// node. Returns the switch.
    pub async fn switch_on(
        &self,
        store: &dyn Store,
        kind: TraceKind,
        name: &str,
        minutes: Option<u32>,
    ) -> Result<TraceSwitch, TraceSwitchError> {
        let switch = store_switch(store, kind, name, minutes).await?;
        self.refresh(store).await?;
        Ok(switch)
    }

    /// Switches trace off for `kind` `name`, in the store and at once on
    /// this node; returns whether a switch was stored.
    pub async fn switch_off(
        &self,
        store: &dyn Store,
        kind: TraceKind,
        name: &str,
    ) -> StoreResult<bool> {
        let existed = store.clear_trace_switch(kind, name).await?;
        self.refresh(store).await?;
        Ok(existed)
    }

    /// The switches on now, as the store has them (other nodes' changes
    /// included), by kind and name.
    pub async fn list(&self, store: &dyn Store) -> StoreResult<Vec<TraceSwitch>> {
        store.trace_switches(SystemTime::now()).await
    }

    /// Starts the task that refreshes the snapshot from `store` every
    /// [`REFRESH_INTERVAL`] until `stop` is cancelled. A store that cannot
    /// be read is reported once (and again once it recovers); meanwhile the
    /// switches already known still expire on time.
    pub fn spawn_refresher(
        &self,
        store: Arc<dyn Store>,
        stop: CancellationToken,
    ) -> JoinHandle<()> {
        let switches = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(REFRESH_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = ticks.tick() => {}
                }
                match switches.refresh(store.as_ref()).await {
                    Ok(()) if failing => {
                        failing = false;
                        info!("trace switches readable again");
                    }
                    Ok(()) => {}
                    Err(StoreError::Closed) => break,
                    Err(error) => {
                        if failing {
                            debug!(%error, "cannot read the trace switches");
                        } else {
                            failing = true;
                            warn!(%error, "cannot read the trace switches; keeping the last ones until they expire");
                        }
                        switches.prune(SystemTime::now());
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(kind: TraceKind, name: &str, until: SystemTime) -> TraceSwitch {
        TraceSwitch {
            kind,
            name: name.to_string(),
            until,
        }
    }

    #[test]
    fn nothing_is_traced_before_the_first_refresh() {
        let switches = TraceSwitches::new();
        assert!(!switches.account_on("acme"));
        assert!(!switches.connector_on("carrier"));
        assert!(!switches.any_on(TraceKind::Account));
    }

    #[test]
    fn a_switch_is_on_for_its_kind_and_name_only() {
        let switches = TraceSwitches::new();
        let now = SystemTime::now();
        let later = now + Duration::from_secs(60);
        switches.replace(&[switch(TraceKind::Account, "acme", later)], now);
        assert!(switches.is_on_at(TraceKind::Account, "acme", now));
        assert!(!switches.is_on_at(TraceKind::Account, "other", now));
        assert!(!switches.is_on_at(TraceKind::Connector, "acme", now));
        assert!(!switches.any_on(TraceKind::Connector));
    }

    #[test]
    fn a_switch_is_off_once_its_time_is_up() {
        let switches = TraceSwitches::new();
        let now = SystemTime::now();
        let until = now + Duration::from_secs(60);
        switches.replace(&[switch(TraceKind::Connector, "carrier", until)], now);
        assert!(switches.is_on_at(
            TraceKind::Connector,
            "carrier",
            until - Duration::from_millis(1)
        ));
        assert!(!switches.is_on_at(TraceKind::Connector, "carrier", until));
        assert!(!switches.is_on_at(
            TraceKind::Connector,
            "carrier",
            until + Duration::from_secs(1)
        ));
    }

    #[test]
    fn expired_switches_are_dropped_when_put_in_force_or_pruned() {
        let switches = TraceSwitches::new();
        let now = SystemTime::now();
        switches.replace(&[switch(TraceKind::Account, "old", now)], now);
        assert!(!switches.any_on(TraceKind::Account), "expired at now: off");

        let until = now + Duration::from_secs(5);
        switches.replace(&[switch(TraceKind::Account, "acme", until)], now);
        assert!(switches.any_on(TraceKind::Account));
        switches.prune(until);
        assert!(!switches.any_on(TraceKind::Account));
        assert!(switches.switches().is_empty());
    }

    #[test]
    fn the_generation_changes_only_when_the_switches_do() {
        let switches = TraceSwitches::new();
        let now = SystemTime::now();
        let on = [switch(
            TraceKind::Account,
            "acme",
            now + Duration::from_secs(60),
        )];
        let first = switches.generation();
        switches.replace(&on, now);
        let second = switches.generation();
        assert_ne!(first, second);
        switches.replace(&on, now);
        assert_eq!(
            switches.generation(),
            second,
            "same switches, same generation"
        );
        switches.replace(&[], now);
        assert_ne!(switches.generation(), second);
    }

    #[test]
    fn clones_share_one_snapshot() {
        let switches = TraceSwitches::new();
        let clone = switches.clone();
        let now = SystemTime::now();
        switches.replace(
            &[switch(
                TraceKind::Connector,
                "c",
                now + Duration::from_secs(9),
            )],
            now,
        );
        assert!(clone.is_on_at(TraceKind::Connector, "c", now));
    }

    #[test]
    fn durations_default_to_thirty_minutes_and_stay_within_a_day() {
        assert_eq!(
            trace_duration(None).ok(),
            Some(Duration::from_secs(30 * 60))
        );
        assert_eq!(
            trace_duration(Some(1440)).ok(),
            Some(Duration::from_secs(86_400))
        );
        assert!(matches!(
            trace_duration(Some(0)),
            Err(TraceSwitchError::InvalidMinutes(0))
        ));
        assert!(matches!(
            trace_duration(Some(1441)),
            Err(TraceSwitchError::InvalidMinutes(1441))
        ));
    }

    #[test]
    fn names_must_be_short_and_printable() {
        assert!(check_name("acme").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }
}
