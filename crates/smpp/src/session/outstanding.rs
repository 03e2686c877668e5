//! Our requests awaiting their responses: sequence numbers, deadlines and
//! who is waiting.

use std::collections::{BTreeSet, HashMap};

use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio::time::Instant;

use super::RequestError;
use crate::pdu::{MAX_SEQUENCE, Pdu};

/// Who waits for the response to one of our requests.
#[derive(Debug)]
pub(super) enum Waiter {
    /// A [`super::SessionHandle::request`] caller. Holding `_slot` holds its
    /// window slot; dropping the waiter, on any path, frees it.
    Caller {
        reply: oneshot::Sender<Result<Pdu, RequestError>>,
        _slot: OwnedSemaphorePermit,
    },
    /// The session's own keepalive enquire_link.
    Keepalive,
    /// A [`super::SessionHandle::unbind`] caller.
    Unbind {
        reply: oneshot::Sender<Result<(), RequestError>>,
    },
}

#[derive(Debug)]
struct Pending {
    deadline: Instant,
    waiter: Waiter,
}

/// The table of our outstanding requests, keyed by sequence number.
///
/// It also hands out the sequence numbers: 1 to 0x7FFFFFFF, wrapping back to
/// 1, skipping any still outstanding (which only a response slower than two
/// billion requests could cause).
#[derive(Debug)]
pub(super) struct Outstanding {
    next_sequence: u32,
    pending: HashMap<u32, Pending>,
    /// The same requests ordered by deadline, so that the session's one timer
    /// can be set to the earliest without a scan.
    deadlines: BTreeSet<(Instant, u32)>,
}

impl Outstanding {
    pub(super) fn new() -> Self {
        Outstanding::starting_at(1)
    }

    fn starting_at(sequence: u32) -> Self {
        Outstanding {
            next_sequence: sequence,
            pending: HashMap::new(),
            deadlines: BTreeSet::new(),
        }
    }

    /// Records a request about to be sent and returns its sequence number.
    pub(super) fn insert(&mut self, waiter: Waiter, deadline: Instant) -> u32 {
        let sequence = self.allocate_sequence();
        self.pending.insert(sequence, Pending { deadline, waiter });
        self.deadlines.insert((deadline, sequence));
        sequence
    }

    /// Removes the request with this sequence number, if it is outstanding.
    pub(super) fn take(&mut self, sequence: u32) -> Option<Waiter> {
        let pending = self.pending.remove(&sequence)?;
        self.deadlines.remove(&(pending.deadline, sequence));
        Some(pending.waiter)
    }

    /// The earliest deadline of any outstanding request.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    /// Removes and returns one request whose deadline is at or before `now`,
    /// earliest first.
    pub(super) fn take_expired(&mut self, now: Instant) -> Option<Waiter> {
        let &(deadline, sequence) = self.deadlines.first()?;
        if deadline > now {
            return None;
        }
        self.take(sequence)
    }

    /// Removes every outstanding request.
    pub(super) fn take_all(&mut self) -> impl Iterator<Item = Waiter> + '_ {
        self.deadlines.clear();
        self.pending.drain().map(|(_, pending)| pending.waiter)
    }

    fn allocate_sequence(&mut self) -> u32 {
        loop {
            let sequence = self.next_sequence;
            self.next_sequence = if sequence >= MAX_SEQUENCE {
                1
            } else {
                sequence + 1
            };
            if !self.pending.contains_key(&sequence) {
                return sequence;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn sequence_numbers_start_at_one_and_count_up() {
        let mut table = Outstanding::new();
        let now = Instant::now();
        assert_eq!(table.insert(Waiter::Keepalive, now), 1);
        assert_eq!(table.insert(Waiter::Keepalive, now), 2);
    }

    #[test]
    fn sequence_numbers_wrap_from_the_maximum_to_one() {
        let mut table = Outstanding::starting_at(MAX_SEQUENCE);
        let now = Instant::now();
        assert_eq!(table.insert(Waiter::Keepalive, now), MAX_SEQUENCE);
        assert_eq!(table.insert(Waiter::Keepalive, now), 1);
    }

    #[test]
    fn sequence_numbers_still_outstanding_are_skipped_after_a_wrap() {
        let mut table = Outstanding::new();
        let now = Instant::now();
        assert_eq!(table.insert(Waiter::Keepalive, now), 1);
        table.next_sequence = 1;
        assert_eq!(table.insert(Waiter::Keepalive, now), 2);
    }

    #[test]
    fn expired_requests_come_out_earliest_first_and_only_when_due() {
        let mut table = Outstanding::new();
        let now = Instant::now();
        let late = table.insert(Waiter::Keepalive, now + Duration::from_secs(2));
        let early = table.insert(Waiter::Keepalive, now + Duration::from_secs(1));
        assert_eq!(table.next_deadline(), Some(now + Duration::from_secs(1)));
        assert!(table.take_expired(now).is_none());
        assert!(table.take_expired(now + Duration::from_secs(1)).is_some());
        assert!(
            table.take(early).is_none(),
            "the early one was taken by expiry"
        );
        assert!(table.take(late).is_some());
        assert_eq!(table.next_deadline(), None);
    }
}
