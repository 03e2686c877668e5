//! Brute-force protection: an address that fails too many binds is refused
//! for a while without its credentials being checked.
//!
//! Failures are counted per IPv4 address and per IPv6 /64 (one subscriber's
//! prefix: counting single IPv6 addresses would let an attacker rotate
//! through 2^64 of them). The block is logged once when it starts, not per
//! refused attempt.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
}

#[derive(Debug, Default)]
struct Entry {
    failures: VecDeque<Instant>,
    blocked_until: Option<Instant>,
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
        }
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

    /// Records a failed bind from `ip`. Returns `true` when this failure
    /// starts a block (the caller logs it, once).
    pub fn record_failure(&self, ip: IpAddr) -> bool {
        if self.limits.max_failures == 0 {
            return false;
        }
        let now = self.clock.now();
        let mut entries = self.lock();
        if entries.len() >= SWEEP_AT {
            let window = self.limits.window;
            entries.retain(|_, entry| {
                entry.blocked_until.is_some_and(|until| until > now)
                    || entry
                        .failures
                        .back()
                        .is_some_and(|&last| now.duration_since(last) < window)
            });
        }
        let entry = entries.entry(key(ip)).or_default();
        if entry.blocked_until.is_some_and(|until| until > now) {
            return false;
        }
        while entry
            .failures
            .front()
            .is_some_and(|&first| now.duration_since(first) >= self.limits.window)
        {
            entry.failures.pop_front();
        }
        entry.failures.push_back(now);
        if entry.failures.len() >= self.limits.max_failures as usize {
            entry.failures.clear();
            entry.blocked_until = Some(now + self.limits.block);
            return true;
        }
        false
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

/// IPv4 addresses count alone; IPv6 ones by their /64. IPv4-mapped IPv6
/// addresses count as the IPv4 address they carry.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

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
            assert!(!guard.record_failure(ip));
        }
        assert!(!guard.is_blocked(ip));
        assert!(
            guard.record_failure(ip),
            "the fifth failure starts the block"
        );
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
            guard.record_failure(ip);
        }
        clock.advance(Duration::from_secs(601));
        assert!(!guard.record_failure(ip));
        assert!(!guard.is_blocked(ip));
    }

    #[test]
    fn a_block_is_reported_once() {
        let (guard, _) = guard();
        let ip: IpAddr = "192.0.2.9".parse().expect("ip");
        let starts = (0..20).filter(|_| guard.record_failure(ip)).count();
        assert_eq!(starts, 1);
    }

    #[test]
    fn other_addresses_are_not_affected() {
        let (guard, _) = guard();
        for _ in 0..5 {
            guard.record_failure("192.0.2.10".parse().expect("ip"));
        }
        assert!(!guard.is_blocked("192.0.2.11".parse().expect("ip")));
    }

    #[test]
    fn ipv6_addresses_in_one_slash_64_share_a_count() {
        let (guard, _) = guard();
        for i in 1..=5u16 {
            guard.record_failure(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, i)));
        }
        assert!(guard.is_blocked("2001:db8:1:2::ffff".parse().expect("ip")));
        assert!(!guard.is_blocked("2001:db8:1:3::1".parse().expect("ip")));
    }
}
