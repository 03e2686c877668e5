//! Password checks for binds and logins: off the async workers, on a fixed
//! set of threads, counted against the address they come from, and with a
//! short memory of recent successes.
//!
//! An argon2id check costs ~30 ms of CPU and 19 MiB of memory. Run on the
//! async workers, a storm of binds would stall every bound session's
//! traffic; run on the blocking pool, it would keep that memory on every
//! thread it touched. So checks run on the threads of
//! [`PasswordWorkers`](super::workers::PasswordWorkers) and the rest wait as
//! cheap futures; and [`PasswordVerifier::check`] counts each check against
//! its address from the moment it starts (see [`IpGuard::begin`]). Clients
//! that reconnect often (every few minutes, as many do) are spared the cost
//! by remembering a keyed digest of a password that verified, for a short
//! time and only while the stored hash is unchanged.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::ip_guard::IpGuard;
use super::password::{PasswordError, Verification};
use super::workers::PasswordWorkers;
use crate::clock::Clock;
use crate::store::Store;

/// The outcome of [`PasswordVerifier::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The password matches (see [`Verification::Valid`]).
    Valid {
        /// Whether to replace the stored hash.
        needs_upgrade: bool,
    },
    /// Wrong name or password; `blocked_now` when this failure started a
    /// block of the address (log it, once).
    Invalid {
        /// Whether this failure started a block.
        blocked_now: bool,
    },
    /// The address is blocked: refused without a check.
    Blocked,
}

/// Checks passwords against stored hashes.
#[derive(Debug)]
pub struct PasswordVerifier {
    workers: PasswordWorkers,
    cache_ttl: Duration,
    /// A random key mixed into cached digests, so the cache holds nothing
    /// that could be checked against a password outside this process.
    cache_key: [u8; 32],
    cache: Mutex<HashMap<String, CachedSuccess>>,
    clock: Arc<dyn Clock>,
}

#[derive(Debug)]
struct CachedSuccess {
    stored_hash: String,
    digest: [u8; 32],
    expires: Instant,
}

/// Entries kept at most; past it, expired ones are dropped, then all.
const CACHE_LIMIT: usize = 10_000;

impl PasswordVerifier {
    /// A verifier running checks on `concurrency` threads of its own and
    /// remembering successes for `cache_ttl` (zero: never). Fails only if
    /// the threads cannot be started.
    pub fn new(
        concurrency: usize,
        cache_ttl: Duration,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<Self> {
        Ok(PasswordVerifier {
            workers: PasswordWorkers::start(concurrency)?,
            cache_ttl,
            cache_key: rand::random(),
            cache: Mutex::new(HashMap::new()),
            clock,
        })
    }

    /// Checks a login from `ip` (`None`: an address we cannot tell, not
    /// counted): refused at once while the address is blocked, otherwise
    /// counted against it from the start (see [`IpGuard::begin`]) and
    /// checked as [`PasswordVerifier::verify`] does.
    pub async fn check(
        &self,
        guard: &IpGuard,
        ip: Option<IpAddr>,
        system_id: &str,
        stored_hash: Option<&str>,
        password: &str,
    ) -> Check {
        if ip.is_some_and(|ip| guard.is_blocked(ip)) {
            return Check::Blocked;
        }
        let attempt = match ip {
            Some(ip) => match guard.begin(ip).await {
                Some(attempt) => Some(attempt),
                None => return Check::Blocked,
            },
            None => None,
        };
        match self.verify(system_id, stored_hash, password).await {
            Verification::Valid { needs_upgrade } => {
                if let Some(attempt) = attempt {
                    attempt.succeeded();
                }
                Check::Valid { needs_upgrade }
            }
            Verification::Invalid => Check::Invalid {
                blocked_now: attempt.is_some_and(|attempt| attempt.failed()),
            },
        }
    }

    /// An argon2id hash of `password`, made on the password threads.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.workers.hash(password).await
    }

    /// Checks `password` for `system_id`, whose stored hash is
    /// `stored_hash` (`None` if there is no such account: a dummy hash is
    /// checked instead, so the answer takes as long either way).
    pub async fn verify(
        &self,
        system_id: &str,
        stored_hash: Option<&str>,
        password: &str,
    ) -> Verification {
        let digest = self.digest(system_id, password);
        if let Some(stored) = stored_hash
            && self.cached(system_id, stored, &digest)
        {
            return Verification::Valid {
                needs_upgrade: false,
            };
        }
        let verdict = self
            .workers
            .verify(stored_hash.map(String::from), password.to_string())
            .await;
        match (stored_hash, verdict) {
            (None, _) => Verification::Invalid,
            (
                Some(stored),
                Verification::Valid {
                    needs_upgrade: false,
                },
            ) => {
                self.remember(system_id, stored, digest);
                verdict
            }
            (Some(_), verdict) => verdict,
        }
    }

    /// Forgets what was remembered for an account (password changed).
    pub fn forget(&self, system_id: &str) {
        self.lock().remove(system_id);
    }

    fn digest(&self, system_id: &str, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.cache_key);
        hasher.update((system_id.len() as u64).to_be_bytes());
        hasher.update(system_id.as_bytes());
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    fn cached(&self, system_id: &str, stored_hash: &str, digest: &[u8; 32]) -> bool {
        if self.cache_ttl.is_zero() {
            return false;
        }
        let now = self.clock.now();
        let cache = self.lock();
        cache.get(system_id).is_some_and(|entry| {
            entry.expires > now
                && entry.stored_hash == stored_hash
                && constant_time_eq(&entry.digest, digest)
        })
    }

    fn remember(&self, system_id: &str, stored_hash: &str, digest: [u8; 32]) {
        if self.cache_ttl.is_zero() {
            return;
        }
        let now = self.clock.now();
        let mut cache = self.lock();
        if cache.len() >= CACHE_LIMIT {
            cache.retain(|_, entry| entry.expires > now);
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
        }
        cache.insert(
            system_id.to_string(),
            CachedSuccess {
                stored_hash: stored_hash.to_string(),
                digest,
                expires: now + self.cache_ttl,
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedSuccess>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Replaces a legacy (or outdated) hash with argon2id of the password that
/// just verified, off the async workers and without holding up the caller
/// (an SMPP bind or an HTTP request with Basic credentials).
pub fn upgrade_password_hash(
    store: Arc<dyn Store>,
    verifier: Arc<PasswordVerifier>,
    system_id: String,
    password: String,
) {
    tokio::spawn(async move {
        match verifier.hash(password).await {
            Ok(hash) => match store.set_password_hash(&system_id, &hash).await {
                Ok(()) => {
                    verifier.forget(&system_id);
                    info!(system_id = %system_id, "password hash upgraded to argon2id");
                }
                Err(e) => {
                    warn!(system_id = %system_id, error = %e, "cannot store upgraded password hash")
                }
            },
            Err(e) => {
                warn!(system_id = %system_id, error = %e, "cannot hash password for upgrade")
            }
        }
    });
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ip_guard::GuardLimits;
    use crate::accounts::password;
    use crate::clock::ManualClock;

    fn verifier(ttl: Duration) -> (PasswordVerifier, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        let verifier = PasswordVerifier::new(2, ttl, clock.clone()).expect("password threads");
        (verifier, clock)
    }

    #[tokio::test]
    async fn fifty_wrong_passwords_at_once_from_one_address_get_five_checks_and_a_block() {
        let (verifier, clock) = verifier(Duration::from_secs(60));
        let guard = IpGuard::new(
            crate::store::Surface::Smpp,
            GuardLimits {
                max_failures: 5,
                window: Duration::from_secs(600),
                block: Duration::from_secs(900),
            },
            clock,
        );
        let hash = verifier.hash("right".into()).await.expect("hash");
        let ip: IpAddr = "192.0.2.30".parse().expect("ip");
        let checks =
            (0..50).map(|_| verifier.check(&guard, Some(ip), "acme", Some(&hash), "wrong"));
        let outcomes = futures::future::join_all(checks).await;
        let invalid = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Check::Invalid { .. }))
            .count();
        let blocks_started = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Check::Invalid { blocked_now: true }))
            .count();
        let refused = outcomes
            .iter()
            .filter(|outcome| **outcome == Check::Blocked)
            .count();
        assert_eq!((invalid, blocks_started, refused), (5, 1, 45));
        assert_eq!(
            verifier
                .check(&guard, Some(ip), "acme", Some(&hash), "right")
                .await,
            Check::Blocked,
            "the right password is refused too while the address is blocked"
        );
        let other: IpAddr = "192.0.2.31".parse().expect("ip");
        assert_eq!(
            verifier
                .check(&guard, Some(other), "acme", Some(&hash), "right")
                .await,
            Check::Valid {
                needs_upgrade: false
            }
        );
    }

    #[tokio::test]
    async fn right_password_verifies_and_wrong_does_not() {
        let (verifier, _) = verifier(Duration::from_secs(60));
        let hash = password::hash("s3cret").expect("hash");
        assert_eq!(
            verifier.verify("acme", Some(&hash), "s3cret").await,
            Verification::Valid {
                needs_upgrade: false
            }
        );
        assert_eq!(
            verifier.verify("acme", Some(&hash), "s3creT").await,
            Verification::Invalid
        );
    }

    #[tokio::test]
    async fn unknown_account_is_invalid_whatever_the_password() {
        let (verifier, _) = verifier(Duration::from_secs(60));
        assert_eq!(
            verifier.verify("nobody", None, "").await,
            Verification::Invalid
        );
    }

    #[tokio::test]
    async fn cache_serves_a_repeat_bind_until_it_expires_or_the_hash_changes() {
        let (verifier, clock) = verifier(Duration::from_secs(60));
        let hash = password::hash("pw").expect("hash");
        assert!(matches!(
            verifier.verify("a", Some(&hash), "pw").await,
            Verification::Valid { .. }
        ));
        assert!(verifier.cached("a", &hash, &verifier.digest("a", "pw")));
        assert!(!verifier.cached("a", &hash, &verifier.digest("a", "other")));
        assert!(!verifier.cached("a", "$argon2id$changed", &verifier.digest("a", "pw")));
        clock.advance(Duration::from_secs(61));
        assert!(!verifier.cached("a", &hash, &verifier.digest("a", "pw")));
    }

    #[tokio::test]
    async fn legacy_hash_verifies_and_asks_for_an_upgrade_without_being_cached() {
        let (verifier, _) = verifier(Duration::from_secs(60));
        let legacy =
            password::legacy_sha1("DC215545BA63D605FBCD647A9555270F566D918B").expect("hex");
        assert_eq!(
            verifier.verify("Test1", Some(&legacy), "Pwd1").await,
            Verification::Valid {
                needs_upgrade: true
            }
        );
        assert!(!verifier.cached("Test1", &legacy, &verifier.digest("Test1", "Pwd1")));
    }
}
