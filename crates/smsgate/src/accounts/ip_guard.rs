//! Brute-force protection: an address that fails too many logins is
//! refused for a while without its credentials being checked.
//!
//! Each surface (SMPP binds, the customer API, the console and admin API)
//! has its own guard, so a script's typo on one never locks its operator
//! out of the others; addresses in `[security] trusted_ips` are never
//! counted. Failures are counted per IPv4 address and per IPv6 /64 (one
//! subscriber's prefix: counting single IPv6 addresses would let an
//! attacker rotate through 2^64 of them). A block is logged when it starts,
//! and its refusals at most once a minute per address, with how many there
//! were and how long the block has left.
//!
//! A check counts from the moment it starts ([`IpGuard::begin`]): failures
//! in the window plus checks still running may not pass `max_failures`, so
//! an address that sends 50 binds at once gets at most that many full
//! password checks. The others wait for those to finish, and are then
//! refused at once if they ended the address's chances, or checked (a
//! burst of a real customer's logins, whose first success fills the
//! verifier's cache, goes through).
//!
//! Blocks are kept in the store too ([`spawn_sync`]): a node writes the
//! blocks it starts and reads everyone's every [`SYNC_INTERVAL`], so a
//! block holds over a restart and on every node sharing the store, and an
//! operator lifts one by deleting its row (`smsgate security unblock`, or
//! the admin API, which also lifts it here at once).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ipnet::IpNet;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::store::{IpBlock, Store, Surface};

/// How often a node writes the blocks it started and reads them all back.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(2);

/// Refusals of one blocked address are logged at most this often.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The limits: `max_failures` within `window` blocks for `block`.
#[derive(Debug, Clone, Copy)]
pub struct GuardLimits {
    /// Failures that trigger a block (0 disables the guard).
    pub max_failures: u32,
    /// How far back failures count.
    pub window: Duration,
    /// How long a block lasts.
    pub block: Duration,
}

/// Tracks failed logins per source address, for one surface.
#[derive(Debug)]
pub struct IpGuard {
    surface: Surface,
    limits: GuardLimits,
    /// Networks never counted nor blocked.
    trusted: Vec<IpNet>,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<IpAddr, Entry>>,
    /// Woken whenever a check ends, for the attempts waiting on one.
    settled: Notify,
}

#[derive(Debug, Default)]
struct Entry {
    failures: VecDeque<Instant>,
    blocked_until: Option<Instant>,
    /// The block is in the store: once its row is gone, an operator lifted it.
    stored: bool,
    /// Checks started and not yet ended.
    running: u32,
    /// Refusals since the last log line about them, and when that was.
    refusals: u64,
    refusals_logged: Option<Instant>,
}

impl Entry {
    fn blocked_for(&self, now: Instant) -> Option<Duration> {
        self.blocked_until
            .filter(|&until| until > now)
            .map(|until| until - now)
    }
}

/// A blocked address as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The IPv4 address, or the first address of the IPv6 /64.
    pub address: IpAddr,
    /// How long it has left.
    pub remaining: Duration,
}

/// A password check that counts against its address while it runs. End it
/// with [`Attempt::succeeded`] or [`Attempt::failed`]; dropped unended (the
/// client went away mid-check), it counts as a failure.
#[derive(Debug)]
pub struct Attempt<'a> {
    guard: &'a IpGuard,
    ip: Option<IpAddr>,
}

impl Attempt<'_> {
    /// The credentials were right: the attempt leaves no trace.
    pub fn succeeded(mut self) {
        if let Some(ip) = self.ip.take() {
            self.guard.end(ip, false);
        }
    }

    /// The credentials were wrong. Returns `true` when this failure starts
    /// a block (the caller logs it, once).
    pub fn failed(mut self) -> bool {
        match self.ip.take() {
            Some(ip) => self.guard.end(ip, true),
            None => false,
        }
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        if let Some(ip) = self.ip.take() {
            self.guard.end(ip, true);
        }
    }
}

/// Addresses tracked before stale entries are swept.
const SWEEP_AT: usize = 10_000;

impl IpGuard {
    /// A guard of `surface` with these limits, reading time from `clock`.
    pub fn new(surface: Surface, limits: GuardLimits, clock: Arc<dyn Clock>) -> Self {
        IpGuard {
            surface,
            limits,
            trusted: Vec::new(),
            clock,
            entries: Mutex::new(HashMap::new()),
            settled: Notify::new(),
        }
    }

    /// Never counts nor blocks addresses in `networks`.
    pub fn with_trusted(mut self, networks: Vec<IpNet>) -> Self {
        self.trusted = networks;
        self
    }

    /// The surface this guard keeps.
    pub fn surface(&self) -> Surface {
        self.surface
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = super::canonical_ip(ip);
        self.trusted.iter().any(|network| network.contains(&ip))
    }

    /// Starts a password check from `ip`: `None` when the address is
    /// blocked, or becomes blocked while this attempt waits for the checks
    /// already running from it (see the module's introduction).
    pub async fn begin(&self, ip: IpAddr) -> Option<Attempt<'_>> {
        if self.limits.max_failures == 0 || self.is_trusted(ip) {
            return Some(Attempt {
                guard: self,
                ip: None,
            });
        }
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            {
                let now = self.clock.now();
                let mut entries = self.lock();
                self.sweep(&mut entries, now);
                let entry = entries.entry(key(ip)).or_default();
                if let Some(remaining) = entry.blocked_for(now) {
                    self.refused(ip, entry, remaining, now);
                    return None;
                }
                self.forget_old_failures(entry, now);
                if entry.failures.len() + (entry.running as usize)
                    < self.limits.max_failures as usize
                {
                    entry.running += 1;
                    return Some(Attempt {
                        guard: self,
                        ip: Some(ip),
                    });
                }
            }
            settled.await;
        }
    }

    /// Ends a check begun by [`IpGuard::begin`]; `true` when its failure
    /// starts a block.
    fn end(&self, ip: IpAddr, failed: bool) -> bool {
        let started_block = {
            let mut entries = self.lock();
            let entry = entries.entry(key(ip)).or_default();
            entry.running = entry.running.saturating_sub(1);
            failed && self.count_failure(entry, self.clock.now())
        };
        self.settled.notify_waiters();
        started_block
    }

    /// How long logins from `ip` are still refused: `None` when they are
    /// not. A refusal the caller makes on this answer is counted for the log.
    pub fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let now = self.clock.now();
        let mut entries = self.lock();
        let entry = entries.get_mut(&key(ip))?;
        let remaining = entry.blocked_for(now)?;
        self.refused(ip, entry, remaining, now);
        Some(remaining)
    }

    /// How long logins from `ip` are still refused, not counting this as
    /// a refusal (for the answer to one already counted).
    pub fn remaining(&self, ip: IpAddr) -> Option<Duration> {
        let now = self.clock.now();
        self.lock().get(&key(ip))?.blocked_for(now)
    }

    /// Logs that a failure from `ip` started a block (the caller learns it
    /// from [`Attempt::failed`]).
    pub fn log_block_start(&self, ip: Option<IpAddr>) {
        let remaining = ip
            .and_then(|ip| self.remaining(ip))
            .unwrap_or(self.limits.block);
        warn!(
            surface = self.surface.as_str(),
            ip = ?ip,
            failures = self.limits.max_failures,
            block = %humantime::format_duration(whole_seconds(remaining)),
            "too many failed logins: address blocked"
        );
    }

    /// Whether logins from `ip` are refused right now (see [`IpGuard::blocked_for`]).
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        self.blocked_for(ip).is_some()
    }

    /// Counts a refusal of a blocked address; logs the first and then at
    /// most one line per [`REFUSAL_LOG_INTERVAL`].
    fn refused(&self, ip: IpAddr, entry: &mut Entry, remaining: Duration, now: Instant) {
        entry.refusals += 1;
        if entry
            .refusals_logged
            .is_some_and(|last| now.duration_since(last) < REFUSAL_LOG_INTERVAL)
        {
            return;
        }
        warn!(
            surface = self.surface.as_str(),
            %ip,
            refused = entry.refusals,
            remaining = %humantime::format_duration(whole_seconds(remaining)),
            "login refused: the address is blocked after too many failed logins"
        );
        entry.refusals = 0;
        entry.refusals_logged = Some(now);
    }

    /// Counts one failure; `true` when it starts a block.
    fn count_failure(&self, entry: &mut Entry, now: Instant) -> bool {
        if self.limits.max_failures == 0 || entry.blocked_for(now).is_some() {
            return false;
        }
        self.forget_old_failures(entry, now);
        entry.failures.push_back(now);
        if entry.failures.len() >= self.limits.max_failures as usize {
            entry.failures.clear();
            entry.blocked_until = Some(now + self.limits.block);
            entry.stored = false;
            entry.refusals = 0;
            entry.refusals_logged = None;
            return true;
        }
        false
    }

    fn forget_old_failures(&self, entry: &mut Entry, now: Instant) {
        while entry
            .failures
            .front()
            .is_some_and(|&first| now.duration_since(first) >= self.limits.window)
        {
            entry.failures.pop_front();
        }
    }

    /// Past [`SWEEP_AT`] addresses, drops those with nothing to remember.
    fn sweep(&self, entries: &mut HashMap<IpAddr, Entry>, now: Instant) {
        if entries.len() < SWEEP_AT {
            return;
        }
        let window = self.limits.window;
        entries.retain(|_, entry| {
            entry.running > 0
                || entry.blocked_for(now).is_some()
                || entry
                    .failures
                    .back()
                    .is_some_and(|&last| now.duration_since(last) < window)
        });
    }

    /// Addresses (or /64 prefixes) blocked right now, for operators.
    pub fn blocks(&self) -> Vec<Block> {
        let now = self.clock.now();
        let mut blocks: Vec<Block> = self
            .lock()
            .iter()
            .filter_map(|(address, entry)| {
                entry.blocked_for(now).map(|remaining| Block {
                    address: *address,
                    remaining,
                })
            })
            .collect();
        blocks.sort_by_key(|block| block.address);
        blocks
    }

    /// Lifts the block of `ip` (and forgets its failures); returns whether
    /// it was blocked.
    pub fn unblock(&self, ip: IpAddr) -> bool {
        let now = self.clock.now();
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(&key(ip)) else {
            return false;
        };
        let was_blocked = entry.blocked_for(now).is_some();
        *entry = Entry {
            running: entry.running,
            ..Entry::default()
        };
        drop(entries);
        self.settled.notify_waiters();
        was_blocked
    }

    /// The blocks started here and not yet in the store, as rows.
    fn unstored(&self, node: &str, wall: SystemTime) -> Vec<IpBlock> {
        let now = self.clock.now();
        self.lock()
            .iter()
            .filter(|(_, entry)| !entry.stored)
            .filter_map(|(address, entry)| {
                entry.blocked_for(now).map(|remaining| IpBlock {
                    surface: self.surface,
                    address: *address,
                    until: wall + remaining,
                    node: node.to_string(),
                })
            })
            .collect()
    }

    /// Marks these blocks as in the store.
    fn stored(&self, blocks: &[IpBlock]) {
        let mut entries = self.lock();
        for block in blocks.iter().filter(|block| block.surface == self.surface) {
            if let Some(entry) = entries.get_mut(&block.address) {
                entry.stored = true;
            }
        }
    }

    /// Follows the store's blocks (all surfaces' rows may be given): takes
    /// up those started elsewhere or before a restart, and lifts the stored
    /// ones whose row is gone.
    fn follow(&self, rows: &[IpBlock], wall: SystemTime) {
        let now = self.clock.now();
        let mut lifted = Vec::new();
        {
            let mut entries = self.lock();
            let mut present = HashSet::new();
            for row in rows.iter().filter(|row| row.surface == self.surface) {
                let address = key(row.address);
                present.insert(address);
                let Ok(remaining) = row.until.duration_since(wall) else {
                    continue;
                };
                let entry = entries.entry(address).or_default();
                if entry.blocked_for(now).is_none() {
                    entry.blocked_until = Some(now + remaining);
                    entry.failures.clear();
                }
                entry.stored = true;
            }
            for (address, entry) in entries.iter_mut() {
                if entry.stored && entry.blocked_for(now).is_some() && !present.contains(address) {
                    lifted.push(*address);
                    *entry = Entry {
                        running: entry.running,
                        ..Entry::default()
                    };
                }
            }
        }
        for address in lifted {
            info!(
                surface = self.surface.as_str(),
                %address,
                "block lifted: its row was removed from the store (smsgate security unblock)"
            );
        }
        self.settled.notify_waiters();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The guards of a node, one per surface.
#[derive(Debug, Clone)]
pub struct Guards {
    /// SMPP binds.
    pub smpp: Arc<IpGuard>,
    /// The customer API.
    pub api: Arc<IpGuard>,
    /// The console and the admin API.
    pub console: Arc<IpGuard>,
}

impl Guards {
    /// A guard per surface, each with `limits` and never counting `trusted`.
    pub fn new(limits: GuardLimits, trusted: &[IpNet], clock: &Arc<dyn Clock>) -> Guards {
        let guard = |surface| {
            Arc::new(
                IpGuard::new(surface, limits, Arc::clone(clock)).with_trusted(trusted.to_vec()),
            )
        };
        Guards {
            smpp: guard(Surface::Smpp),
            api: guard(Surface::Api),
            console: guard(Surface::Console),
        }
    }

    /// The guard of `surface`.
    pub fn of(&self, surface: Surface) -> &Arc<IpGuard> {
        match surface {
            Surface::Smpp => &self.smpp,
            Surface::Api => &self.api,
            Surface::Console => &self.console,
        }
    }

    /// All three, in [`Surface::ALL`] order.
    pub fn all(&self) -> Vec<Arc<IpGuard>> {
        Surface::ALL
            .into_iter()
            .map(|surface| Arc::clone(self.of(surface)))
            .collect()
    }
}

/// One pass of [`spawn_sync`]: writes the blocks the guards started, then
/// has them follow every stored block.
pub async fn sync_once(guards: &[Arc<IpGuard>], store: &dyn Store, node: &str) {
    let wall = SystemTime::now();
    let new: Vec<IpBlock> = guards
        .iter()
        .flat_map(|guard| guard.unstored(node, wall))
        .collect();
    if !new.is_empty() {
        match store.put_ip_blocks(new.clone()).await {
            Ok(()) => guards.iter().for_each(|guard| guard.stored(&new)),
            Err(error) => warn!(%error, "cannot store the blocked addresses; trying again"),
        }
    }
    match store.ip_blocks(wall).await {
        Ok(rows) => guards.iter().for_each(|guard| guard.follow(&rows, wall)),
        Err(error) => warn!(%error, "cannot read the blocked addresses"),
    }
}

/// Keeps the guards and the store's `ip_blocks` in step every
/// [`SYNC_INTERVAL`] until `stop` (see the module's introduction).
pub fn spawn_sync(
    guards: Vec<Arc<IpGuard>>,
    store: Arc<dyn Store>,
    node: String,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            sync_once(&guards, store.as_ref(), &node).await;
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(SYNC_INTERVAL) => {}
            }
        }
    })
}

/// The block key of an address an operator typed: an address, or an IPv6
/// /64 as the block list shows it (`2001:db8:1:2::/64`).
pub fn parse_block_address(text: &str) -> Result<IpAddr, String> {
    let trimmed = text.trim();
    trimmed
        .strip_suffix("/64")
        .unwrap_or(trimmed)
        .parse()
        .map(key)
        .map_err(|_| format!("{text:?} is not an IP address"))
}

/// An address as blocks are kept and shown: IPv4 alone, IPv6 as its /64.
pub fn shown(address: IpAddr) -> String {
    match key(address) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

/// A duration to the whole second above (at least one), for people and
/// `Retry-After`: waiting that long is always enough.
pub fn whole_seconds(duration: Duration) -> Duration {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    Duration::from_secs(seconds.max(1))
}

fn key(ip: IpAddr) -> IpAddr {
    super::subscriber(ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::net::Ipv6Addr;

    /// One check from `ip` that fails; `true` when it starts a block
    /// (`false` when the address was blocked already).
    fn fail(guard: &IpGuard, ip: IpAddr) -> bool {
        futures::executor::block_on(guard.begin(ip)).is_some_and(Attempt::failed)
    }

    fn guard() -> (IpGuard, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        let limits = GuardLimits {
            max_failures: 5,
            window: Duration::from_secs(600),
            block: Duration::from_secs(900),
        };
        (IpGuard::new(Surface::Smpp, limits, clock.clone()), clock)
    }

    #[test]
    fn fifth_failure_within_the_window_blocks_for_the_block_duration() {
        let (guard, clock) = guard();
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        for _ in 0..4 {
            assert!(!fail(&guard, ip));
        }
        assert!(!guard.is_blocked(ip));
        assert!(fail(&guard, ip), "the fifth failure starts the block");
        assert!(guard.is_blocked(ip));
        clock.advance(Duration::from_secs(899));
        assert!(guard.is_blocked(ip));
        clock.advance(Duration::from_secs(2));
        assert!(!guard.is_blocked(ip));
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let (guard, clock) = guard();
        let ip: IpAddr = "192.0.2.8".parse().expect("ip");
        for _ in 0..4 {
            fail(&guard, ip);
        }
        clock.advance(Duration::from_secs(601));
        assert!(!fail(&guard, ip));
        assert!(!guard.is_blocked(ip));
    }

    #[test]
    fn a_block_is_reported_once() {
        let (guard, _) = guard();
        let ip: IpAddr = "192.0.2.9".parse().expect("ip");
        let starts = (0..20).filter(|_| fail(&guard, ip)).count();
        assert_eq!(starts, 1);
    }

    #[test]
    fn other_addresses_are_not_affected() {
        let (guard, _) = guard();
        for _ in 0..5 {
            fail(&guard, "192.0.2.10".parse().expect("ip"));
        }
        assert!(!guard.is_blocked("192.0.2.11".parse().expect("ip")));
    }

    #[tokio::test]
    async fn checks_running_at_once_count_against_the_limit_and_the_rest_are_refused_when_they_fail()
     {
        let (guard, _) = guard();
        let guard = Arc::new(guard);
        let ip: IpAddr = "192.0.2.20".parse().expect("ip");
        let mut running = Vec::new();
        for _ in 0..5 {
            running.push(guard.begin(ip).await.expect("admitted"));
        }
        let waiting = {
            let guard = guard.clone();
            tokio::spawn(async move { guard.begin(ip).await.is_some() })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a sixth check waits for the five");
        let starts: Vec<bool> = running.into_iter().map(Attempt::failed).collect();
        assert_eq!(starts, [false, false, false, false, true]);
        assert!(!waiting.await.expect("task"), "refused once they failed");
        assert!(guard.is_blocked(ip));
    }

    #[tokio::test]
    async fn a_check_waiting_behind_successes_runs_and_a_dropped_check_counts_as_failed() {
        let (guard, _) = guard();
        let guard = Arc::new(guard);
        let ip: IpAddr = "192.0.2.21".parse().expect("ip");
        let running: Vec<_> = futures::future::join_all((0..5).map(|_| guard.begin(ip)))
            .await
            .into_iter()
            .map(|attempt| attempt.expect("admitted"))
            .collect();
        let waiting = {
            let guard = guard.clone();
            tokio::spawn(async move { guard.begin(ip).await.map(Attempt::succeeded).is_some() })
        };
        for attempt in running {
            attempt.succeeded();
        }
        assert!(waiting.await.expect("task"), "admitted after the successes");
        for _ in 0..4 {
            drop(guard.begin(ip).await.expect("admitted"));
        }
        assert!(!guard.is_blocked(ip));
        drop(guard.begin(ip).await.expect("admitted"));
        assert!(
            guard.is_blocked(ip),
            "five abandoned checks block like five failures"
        );
    }

    #[test]
    fn trusted_networks_are_never_counted_nor_blocked() {
        let (guard, _) = guard();
        let guard = guard.with_trusted(vec!["192.0.2.0/28".parse().expect("cidr")]);
        let trusted: IpAddr = "192.0.2.3".parse().expect("ip");
        for _ in 0..10 {
            assert!(!fail(&guard, trusted));
        }
        assert!(!guard.is_blocked(trusted));
        let other: IpAddr = "192.0.2.30".parse().expect("ip");
        let starts = (0..5).filter(|_| fail(&guard, other)).count();
        assert_eq!(starts, 1);
    }

    #[test]
    fn unblock_lifts_a_block_and_forgets_its_failures() {
        let (guard, _) = guard();
        let ip: IpAddr = "192.0.2.40".parse().expect("ip");
        for _ in 0..5 {
            fail(&guard, ip);
        }
        assert_eq!(guard.blocks().len(), 1);
        assert!(guard.unblock(ip));
        assert!(!guard.is_blocked(ip));
        assert!(!guard.unblock(ip), "nothing left to lift");
        for _ in 0..4 {
            assert!(!fail(&guard, ip), "counting starts again from zero");
        }
    }

    fn row(address: &str, left: Duration) -> IpBlock {
        IpBlock {
            surface: Surface::Smpp,
            address: address.parse().expect("ip"),
            until: SystemTime::now() + left,
            node: "other".into(),
        }
    }

    #[test]
    fn a_stored_block_is_taken_up_and_lifted_once_its_row_is_gone() {
        let (guard, _) = guard();
        let wall = SystemTime::now();
        let ip: IpAddr = "192.0.2.50".parse().expect("ip");
        guard.follow(&[row("192.0.2.50", Duration::from_secs(60))], wall);
        let remaining = guard.remaining(ip).expect("blocked from the store");
        assert!(remaining > Duration::from_secs(59) && remaining < Duration::from_secs(61));
        // Another surface's rows are not this guard's.
        let mut console = row("192.0.2.51", Duration::from_secs(60));
        console.surface = Surface::Console;
        guard.follow(&[row("192.0.2.50", Duration::from_secs(60)), console], wall);
        assert!(!guard.is_blocked("192.0.2.51".parse().expect("ip")));
        guard.follow(&[], wall);
        assert!(!guard.is_blocked(ip), "lifted: its row is gone");
    }

    #[test]
    fn a_block_started_here_is_not_lifted_before_it_is_stored() {
        let (guard, _) = guard();
        let ip: IpAddr = "192.0.2.60".parse().expect("ip");
        for _ in 0..5 {
            fail(&guard, ip);
        }
        let wall = SystemTime::now();
        guard.follow(&[], wall);
        assert!(guard.is_blocked(ip), "not stored yet: kept");
        let new = guard.unstored("here", wall);
        assert_eq!(new.len(), 1);
        guard.stored(&new);
        assert!(guard.unstored("here", wall).is_empty());
        guard.follow(&new, wall);
        assert!(guard.is_blocked(ip));
        guard.follow(&[], wall);
        assert!(
            !guard.is_blocked(ip),
            "stored, then its row removed: lifted"
        );
    }

    #[test]
    fn ipv6_addresses_in_one_slash_64_share_a_count() {
        let (guard, _) = guard();
        for i in 1..=5u16 {
            fail(
                &guard,
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, i)),
            );
        }
        assert!(guard.is_blocked("2001:db8:1:2::ffff".parse().expect("ip")));
        assert!(!guard.is_blocked("2001:db8:1:3::1".parse().expect("ip")));
    }
}
