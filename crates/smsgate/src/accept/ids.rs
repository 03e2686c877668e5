//! Our message ids: ULIDs (26 characters of Crockford base32: 48 bits of
//! milliseconds, then 80 bits that are random at the start of each
//! millisecond and counted up within it).
//!
//! They fit SMPP's 64-character message_id, are unique without asking the
//! store, and sort by time as text. One monotonic generator per node (behind
//! a mutex held for nanoseconds, never across an await) makes the ids of one
//! node sort in the order they were handed out, even within a millisecond
//! and when the wall clock steps back.

use std::sync::Mutex;
use std::time::SystemTime;

use ulid::Generator;

/// Hands out message ids.
#[derive(Default)]
pub struct MessageIds {
    generator: Mutex<Generator>,
}

impl MessageIds {
    /// A generator.
    pub fn new() -> Self {
        MessageIds::default()
    }

    /// The next id, for a message accepted at `now`. `None` only if more
    /// than 2^80 ids were asked for within one millisecond.
    pub fn next(&self, now: SystemTime) -> Option<String> {
        self.generator
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .generate_from_datetime(now)
            .ok()
            .map(|ulid| ulid.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::Duration;

    #[test]
    fn ids_sort_in_the_order_they_were_handed_out() {
        let ids = MessageIds::new();
        let now = SystemTime::now();
        let handed_out: Vec<String> = (0..10_000)
            .map(|i| ids.next(now + Duration::from_micros(i / 10)).expect("id"))
            .collect();
        let mut sorted = handed_out.clone();
        sorted.sort();
        assert_eq!(sorted, handed_out);
        assert_eq!(
            handed_out.iter().collect::<HashSet<_>>().len(),
            handed_out.len()
        );
    }

    #[test]
    fn ids_keep_sorting_when_the_clock_steps_back() {
        let ids = MessageIds::new();
        let now = SystemTime::now();
        let first = ids.next(now).expect("id");
        let second = ids.next(now - Duration::from_secs(5)).expect("id");
        assert!(second > first);
    }

    #[test]
    fn ids_fit_an_smpp_message_id() {
        let id = MessageIds::new().next(SystemTime::now()).expect("id");
        assert_eq!(id.len(), 26);
        assert!(id.len() <= 64);
    }
}
