//! Step 6: messages per second per account, shared by all its sessions
//! (and its HTTP requests).
//!
//! One GCRA limiter (`governor`) per account, keyed by system_id, created on
//! the account's first submission and rebuilt when its `tps` changes (the
//! account the caller passes is the one it bound with, or re-read). The
//! limiter allows a burst of `tps` and then `tps` per second.
//!
//! It counts submitted PDUs (requests), not segments: it protects the
//! gateway and the customer's agreed request rate, and a client that splits
//! a long message itself sends one PDU per segment anyway. Credits, not
//! the rate, are what a multi-segment message_payload costs more of.
//!
//! Limiters of deleted accounts stay in the map (about a hundred octets each)
//! until the process restarts; the store bounds how many accounts there are.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

type Limiter<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// An account's limiter and the rate it was built for.
struct AccountLimiter<C: Clock> {
    tps: NonZeroU32,
    limiter: Arc<Limiter<C>>,
}

/// The per-account limiters.
pub struct AccountRates<C: Clock = DefaultClock> {
    clock: C,
    limiters: RwLock<HashMap<String, AccountLimiter<C>>>,
}

impl AccountRates {
    /// Limiters on the real clock.
    pub fn new() -> Self {
        AccountRates::with_clock(DefaultClock::default())
    }
}

impl Default for AccountRates {
    fn default() -> Self {
        AccountRates::new()
    }
}

impl<C: Clock + Clone> AccountRates<C> {
    /// Limiters on the given clock (a fake one in tests).
    pub fn with_clock(clock: C) -> Self {
        AccountRates {
            clock,
            limiters: RwLock::new(HashMap::new()),
        }
    }

    /// Takes one message from the account's allowance; `false` if it is
    /// used up for now. An account without a limit (`tps: None` or 0)
    /// always may send.
    pub fn try_acquire(&self, system_id: &str, tps: Option<u32>) -> bool {
        let Some(tps) = tps.and_then(NonZeroU32::new) else {
            return true;
        };
        self.limiter(system_id, tps).check().is_ok()
    }

    fn limiter(&self, system_id: &str, tps: NonZeroU32) -> Arc<Limiter<C>> {
        // A poisoned lock only means another thread panicked while holding
        // it; the map itself is always in a usable state.
        let found = self
            .limiters
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(system_id)
            .filter(|entry| entry.tps == tps)
            .map(|entry| Arc::clone(&entry.limiter));
        if let Some(limiter) = found {
            return limiter;
        }
        let mut limiters = self
            .limiters
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another caller may have built it between the two locks.
        match limiters.get(system_id) {
            Some(entry) if entry.tps == tps => Arc::clone(&entry.limiter),
            _ => {
                let limiter = Arc::new(RateLimiter::direct_with_clock(
                    Quota::per_second(tps),
                    self.clock.clone(),
                ));
                limiters.insert(
                    system_id.to_owned(),
                    AccountLimiter {
                        tps,
                        limiter: Arc::clone(&limiter),
                    },
                );
                limiter
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    #[test]
    fn allows_a_burst_of_tps_then_throttles() {
        let rates = AccountRates::with_clock(FakeRelativeClock::default());
        assert!((0..5).all(|_| rates.try_acquire("acme", Some(5))));
        assert!(!rates.try_acquire("acme", Some(5)));
    }

    #[test]
    fn allowance_refills_with_time() {
        let clock = FakeRelativeClock::default();
        let rates = AccountRates::with_clock(clock.clone());
        assert!((0..2).all(|_| rates.try_acquire("acme", Some(2))));
        assert!(!rates.try_acquire("acme", Some(2)));
        clock.advance(Duration::from_millis(500));
        assert!(rates.try_acquire("acme", Some(2)));
        assert!(!rates.try_acquire("acme", Some(2)));
    }

    #[test]
    fn accounts_have_separate_allowances() {
        let rates = AccountRates::with_clock(FakeRelativeClock::default());
        assert!(rates.try_acquire("acme", Some(1)));
        assert!(!rates.try_acquire("acme", Some(1)));
        assert!(rates.try_acquire("globex", Some(1)));
    }

    #[test]
    fn changed_tps_rebuilds_the_limiter() {
        let rates = AccountRates::with_clock(FakeRelativeClock::default());
        assert!(rates.try_acquire("acme", Some(1)));
        assert!(!rates.try_acquire("acme", Some(1)));
        assert!((0..3).all(|_| rates.try_acquire("acme", Some(3))));
        assert!(!rates.try_acquire("acme", Some(3)));
    }

    #[test]
    fn account_without_limit_is_never_throttled() {
        let rates = AccountRates::with_clock(FakeRelativeClock::default());
        assert!((0..1000).all(|_| rates.try_acquire("acme", None)));
        assert!((0..1000).all(|_| rates.try_acquire("acme", Some(0))));
    }
}
