//! Password checks for binds: off the async workers, with bounded
//! concurrency, and a short memory of recent successes.
//!
//! An argon2id check costs ~30 ms of CPU. Run on the async workers, a storm
//! of binds would stall every bound session's traffic; run unbounded on the
//! blocking pool, it would queue thousands of threads' worth of work. So a
//! semaphore lets a few checks run at once (on the blocking pool) and the
//! rest wait as cheap futures. Clients that reconnect often (every few
//! minutes, as many do) are spared the cost by remembering a keyed digest of
//! a password that verified, for a short time and only while the stored hash
//! is unchanged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tracing::{info, warn};

use super::password::{self, DUMMY_HASH, Verification};
use crate::clock::Clock;
use crate::store::Store;

/// Checks passwords against stored hashes.
#[derive(Debug)]
pub struct PasswordVerifier {
    permits: Arc<Semaphore>,
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
    /// A verifier running at most `concurrency` checks at once and
    /// remembering successes for `cache_ttl` (zero: never).
    pub fn new(concurrency: usize, cache_ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        PasswordVerifier {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            cache_ttl,
            cache_key: rand::random(),
            cache: Mutex::new(HashMap::new()),
            clock,
        }
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
        let hash = stored_hash.unwrap_or(DUMMY_HASH.as_str()).to_string();
        let candidate = password.to_string();
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return Verification::Invalid;
        };
        let verdict = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            password::verify(&hash, &candidate)
        })
        .await
        .unwrap_or(Verification::Invalid);
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
        let hashed = tokio::task::spawn_blocking(move || password::hash(&password)).await;
        match hashed {
            Ok(Ok(hash)) => match store.set_password_hash(&system_id, &hash).await {
                Ok(()) => {
                    verifier.forget(&system_id);
                    info!(system_id = %system_id, "password hash upgraded to argon2id");
                }
                Err(e) => {
                    warn!(system_id = %system_id, error = %e, "cannot store upgraded password hash")
                }
            },
            Ok(Err(e)) => {
                warn!(system_id = %system_id, error = %e, "cannot hash password for upgrade")
            }
            Err(e) => warn!(system_id = %system_id, error = %e, "password upgrade task failed"),
        }
    });
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn verifier(ttl: Duration) -> (PasswordVerifier, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        (PasswordVerifier::new(2, ttl, clock.clone()), clock)
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
