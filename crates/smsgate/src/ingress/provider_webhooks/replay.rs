//! The HMAC signatures already taken, so that a request someone captured
//! cannot be sent again while its timestamp is still within `max_age`.
//!
//! A signature is remembered until its timestamp leaves the window; after
//! that the timestamp check refuses the request anyway. The set is bounded
//! (`max_seen_signatures`): when it is full of signatures still in their
//! window, a new signed request is answered 503, so the provider sends it
//! again once room is made, rather than taken unremembered, which would let
//! its replay through. Only requests whose signature is correct get here,
//! so only the provider can fill it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// The signatures taken within their window, for one connector.
#[derive(Debug)]
pub(super) struct SeenSignatures {
    capacity: usize,
    /// Each signature (its bytes, decoded, so hex in another case or base64
    /// without padding is the same signature) and when it leaves the window.
    seen: Mutex<HashMap<Box<[u8]>, SystemTime>>,
}

/// Why a signature was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotTaken {
    /// It was taken before and is still within its window.
    Replayed,
    /// `capacity` signatures are remembered, all still within their window.
    Full,
}

impl SeenSignatures {
    /// An empty set remembering at most `capacity` signatures.
    pub(super) fn new(capacity: usize) -> SeenSignatures {
        SeenSignatures {
            capacity,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers `signature` until `expires`, unless it is already
    /// remembered or there is no room. Signatures past their window are
    /// dropped only when the set is full: until then they cost nothing but
    /// memory within the bound.
    pub(super) fn take(
        &self,
        signature: &[u8],
        expires: SystemTime,
        now: SystemTime,
    ) -> Result<(), NotTaken> {
        let mut seen = self.lock();
        if seen.contains_key(signature) {
            return Err(NotTaken::Replayed);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, until| *until > now);
            if seen.len() >= self.capacity {
                return Err(NotTaken::Full);
            }
        }
        seen.insert(signature.into(), expires);
        Ok(())
    }

    /// Forgets a signature whose request was answered "not stored; try
    /// again", so that the provider's retry of the very same request is
    /// taken.
    pub(super) fn forget(&self, signature: &[u8]) {
        self.lock().remove(signature);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Box<[u8]>, SystemTime>> {
        // The map is consistent after every statement, so a panic elsewhere
        // while it was locked leaves nothing half-done.
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_signature_is_taken_once() {
        let seen = SeenSignatures::new(10);
        assert_eq!(seen.take(b"sig", at(400), at(100)), Ok(()));
        assert_eq!(seen.take(b"sig", at(400), at(101)), Err(NotTaken::Replayed));
        assert_eq!(seen.take(b"other", at(400), at(101)), Ok(()));
    }

    #[test]
    fn a_full_set_refuses_until_a_signature_leaves_its_window() {
        let seen = SeenSignatures::new(2);
        assert_eq!(seen.take(b"a", at(300), at(0)), Ok(()));
        assert_eq!(seen.take(b"b", at(400), at(0)), Ok(()));
        assert_eq!(seen.take(b"c", at(500), at(299)), Err(NotTaken::Full));
        assert_eq!(
            seen.take(b"a", at(300), at(299)),
            Err(NotTaken::Replayed),
            "a full set still knows its replays"
        );
        assert_eq!(seen.take(b"c", at(500), at(300)), Ok(()), "a has left");
        assert_eq!(seen.take(b"d", at(500), at(300)), Err(NotTaken::Full));
    }

    #[test]
    fn a_forgotten_signature_is_taken_again() {
        let seen = SeenSignatures::new(10);
        assert_eq!(seen.take(b"sig", at(400), at(100)), Ok(()));
        seen.forget(b"sig");
        assert_eq!(seen.take(b"sig", at(400), at(101)), Ok(()));
    }
}
