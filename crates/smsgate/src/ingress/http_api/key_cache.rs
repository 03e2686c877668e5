//! API keys found recently, with their accounts: a customer posting
//! thousands of single-message requests a second over one key costs one
//! store read per key every [`KEY_CACHE_TTL`], not one per request (the
//! read, with its account, was a sixth of the API's CPU under load).
//!
//! What that costs: a key revoked, or an account disabled or changed, from
//! the command line or another node takes effect on this node at most
//! [`KEY_CACHE_TTL`] later (through this node's admin API, at once: it
//! empties the cache).
//! Credits are never taken from here: charging is the store's, and
//! `/balance` and `/status` read the account again.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::store::Account;

/// How long a key found in the store is taken as it was.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(2);
/// At most this many keys are remembered; a full cache first drops what
/// has lapsed, and if that frees nothing, everything (the next requests
/// read the store again). Unknown keys are never remembered, so guessing
/// keys cannot fill it.
pub const KEY_CACHE_MAX: usize = 10_000;

/// Keys (by their SHA-256, as the store finds them) and their accounts.
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    keys: HashMap<String, (Account, Instant)>,
    /// Counts [`KeyCache::clear`]s: a lookup that began before one must
    /// not put back what it found (it may be the key just revoked).
    generation: u64,
}

impl KeyCache {
    /// The account of a key found less than [`KEY_CACHE_TTL`] before `now`.
    pub fn get(&self, key_hash: &str, now: Instant) -> Option<Account> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (account, found) = entries.keys.get(key_hash)?;
        (now.saturating_duration_since(*found) < KEY_CACHE_TTL).then(|| account.clone())
    }

    /// Forgets every key: an account or a key changed.
    pub fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.keys.clear();
        entries.generation += 1;
    }

    /// What to hand [`KeyCache::insert`] for a store lookup starting now.
    pub fn generation(&self) -> u64 {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .generation
    }

    /// Remembers that `key_hash` was found for `account` at `now` by a
    /// lookup that began at `generation`; nothing if the cache was cleared
    /// since.
    pub fn insert(&self, key_hash: &str, account: &Account, now: Instant, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.generation != generation {
            return;
        }
        let keys = &mut entries.keys;
        if keys.len() >= KEY_CACHE_MAX && !keys.contains_key(key_hash) {
            keys.retain(|_, (_, found)| now.saturating_duration_since(*found) < KEY_CACHE_TTL);
            if keys.len() >= KEY_CACHE_MAX {
                keys.clear();
            }
        }
        keys.insert(key_hash.to_string(), (account.clone(), now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::BindType;

    fn account(system_id: &str) -> Account {
        Account {
            system_id: system_id.to_string(),
            password_hash: String::new(),
            enabled: true,
            credits: 10,
            max_binds: 1,
            tps: None,
            window: 10,
            deliver_window: 10,
            bind_types: vec![BindType::Transceiver],
            allowed_ips: Vec::new(),
            allowed_senders: Vec::new(),
            default_sender: None,
            address_ranges: Vec::new(),
            group: None,
            callback_url: None,
            created_at: std::time::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_key_is_remembered_for_its_time_and_then_read_again() {
        let cache = KeyCache::default();
        let t0 = Instant::now();
        assert_eq!(cache.get("k", t0), None);
        cache.insert("k", &account("acme"), t0, 0);
        let hit = cache.get("k", t0 + KEY_CACHE_TTL / 2).expect("fresh");
        assert_eq!(hit.system_id, "acme");
        assert_eq!(cache.get("k", t0 + KEY_CACHE_TTL), None, "lapsed");
    }

    #[test]
    fn a_lookup_that_began_before_a_clear_does_not_put_its_key_back() {
        let cache = KeyCache::default();
        let t0 = Instant::now();
        let before = cache.generation();
        // The key is revoked (and the cache cleared) while the lookup that
        // still found it is on its way back.
        cache.clear();
        cache.insert("k", &account("acme"), t0, before);
        assert_eq!(cache.get("k", t0), None);
        cache.insert("k", &account("acme"), t0, cache.generation());
        assert!(cache.get("k", t0).is_some());
    }

    #[test]
    fn a_full_cache_makes_room_and_never_grows_past_its_bound() {
        let cache = KeyCache::default();
        let t0 = Instant::now();
        for n in 0..KEY_CACHE_MAX {
            cache.insert(&format!("k{n}"), &account("acme"), t0, 0);
        }
        // All fresh: the next key empties it rather than grow it.
        cache.insert("one more", &account("other"), t0, 0);
        let len = cache
            .entries
            .lock()
            .map(|e| e.keys.len())
            .unwrap_or_default();
        assert_eq!(len, 1);
        assert!(cache.get("one more", t0).is_some());
        assert!(cache.get("k0", t0).is_none());
        // Lapsed entries are what goes first.
        for n in 0..KEY_CACHE_MAX - 1 {
            cache.insert(&format!("k{n}"), &account("acme"), t0 + KEY_CACHE_TTL, 0);
        }
        cache.insert("last", &account("acme"), t0 + KEY_CACHE_TTL, 0);
        assert!(cache.get("k0", t0 + KEY_CACHE_TTL).is_some());
        assert!(cache.get("one more", t0 + KEY_CACHE_TTL).is_none());
    }
}
