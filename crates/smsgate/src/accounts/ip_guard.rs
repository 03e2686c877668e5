//! Brute-force protection: an address that fails too many binds is refused
//! for a while without its credentials being checked.
//!
//! Failures are counted per IPv4 address and per IPv6 /64 (one subscriber's
//! prefix: counting single IPv6 addresses would let an attacker rotate
//! through 2^64 of them). The block is logged once when it starts, not per
//! refused attempt.
//!
//! A check counts from the moment it starts ([`IpGuard::begin`]): failures
//! in the window plus checks still running may not pass `max_failures`, so
//! an address that sends 50 binds at once gets at most that many full
//! password checks. The others wait for those to finish, and are then
//! refused at once if they ended the address's chances, or checked (a
//! burst of a real customer's logins, whose first success fills the
//! verifier's cache, goes through).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::clock::Clock;

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

/// Tracks failed binds per source address.
#[derive(Debug)]
pub struct IpGuard {
    limits: GuardLimits,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<IpAddr, Entry>>,
    /// Woken whenever a check ends, for the attempts waiting on one.
    settled: Notify,
}

#[derive(Debug, Default)]
struct Entry {
    failures: VecDeque<Instant>,
    blocked_until: Option<Instant>,
    /// Checks started and not yet ended.
    running: u32,
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
    /// A guard with these limits, reading time from `clock`.
    pub fn new(limits: GuardLimits, clock: Arc<dyn Clock>) -> Self {
        IpGuard {
            limits,
            clock,
            entries: Mutex::new(HashMap::new()),
            settled: Notify::new(),
        }
    }

    /// Starts a password check from `ip`: `None` when the address is
    /// blocked, or becomes blocked while this attempt waits for the checks
    /// already running from it (see the module's introduction).
    pub async fn begin(&self, ip: IpAddr) -> Option<Attempt<'_>> {
        if self.limits.max_failures == 0 {
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
                if entry.blocked_until.is_some_and(|until| until > now) {
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

    /// Whether binds from `ip` are refused right now.
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        let now = self.clock.now();
        let entries = self.lock();
        entries
            .get(&key(ip))
            .and_then(|entry| entry.blocked_until)
            .is_some_and(|until| until > now)
    }

    /// Counts one failure; `true` when it starts a block.
    fn count_failure(&self, entry: &mut Entry, now: Instant) -> bool {
        if self.limits.max_failures == 0 || entry.blocked_until.is_some_and(|until| until > now) {
            return false;
        }
        self.forget_old_failures(entry, now);
        entry.failures.push_back(now);
        if entry.failures.len() >= self.limits.max_failures as usize {
            entry.failures.clear();
            entry.blocked_until = Some(now + self.limits.block);
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
                || entry.blocked_until.is_some_and(|until| until > now)
                || entry
                    .failures
                    .back()
                    .is_some_and(|&last| now.duration_since(last) < window)
        });
    }

    /// Addresses (or /64 prefixes) blocked right now, for operators.
    pub fn blocked(&self) -> Vec<IpAddr> {
        let now = self.clock.now();
        self.lock()
            .iter()
            .filter(|(_, entry)| entry.blocked_until.is_some_and(|until| until > now))
            .map(|(ip, _)| *ip)
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
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
        (IpGuard::new(limits, clock.clone()), clock)
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
