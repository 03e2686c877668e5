//! Putting received segments (MO messages, or MT from a customer that
//! splits) back together, whatever order they arrive in.
//!
//! The [`Reassembler`] only joins octets: it knows nothing of SMPP or of
//! encodings. Parts are joined before decoding, so text whose sender cut a
//! GSM escape or a surrogate pair across segments still decodes; decode the
//! result with [`decode`](crate::decode) and the parts' data_coding.
//!
//! It takes the time as a parameter instead of reading the clock, so the
//! caller decides when time passes (and tests need not sleep).

use crate::Concat;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// One received segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// Where it sits in its message: from the UDH
    /// ([`Udh::concat`](crate::Udh::concat)) or from the sar_* TLVs
    /// ([`Concat::new`]).
    pub concat: Concat,
    /// Its text octets, after the UDH (GSM 7-bit unpacked).
    pub payload: Vec<u8>,
}

/// A message whose parts have all arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Complete<K> {
    /// The conversation key the parts were inserted under.
    pub key: K,
    /// The concatenation reference.
    pub reference: u16,
    /// The parts' payloads joined in order.
    pub payload: Vec<u8>,
}

/// A message given up on by [`Reassembler::expire`] because its parts did
/// not all arrive in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incomplete<K> {
    /// The conversation key the parts were inserted under.
    pub key: K,
    /// The concatenation reference.
    pub reference: u16,
    /// How many parts the message announced.
    pub total: u8,
    /// The parts that did arrive, in order, so the caller can still deliver
    /// or log what it has.
    pub parts: Vec<Part>,
}

/// The limits of a [`Reassembler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReassemblyLimits {
    /// How long after its first part a message may wait for the rest.
    /// SMSCs retry failed deliveries for minutes, so parts can be that far
    /// apart; after that, a missing part is not coming.
    pub timeout: Duration,
    /// Most messages waiting for parts at once. When a new message would
    /// exceed it, the oldest waiting one is dropped (and counted in
    /// [`Reassembler::evicted`]), so a flood of first parts cannot exhaust
    /// memory: at most this many messages are held, each with at most 254
    /// received parts (of at most 140 octets each when they come from SMS
    /// over the air).
    pub max_pending: usize,
}

impl Default for ReassemblyLimits {
    /// Ten minutes and 10 000 messages: roomy for real traffic, where a
    /// pending message holds a few hundred octets.
    fn default() -> Self {
        ReassemblyLimits {
            timeout: Duration::from_secs(600),
            max_pending: 10_000,
        }
    }
}

/// Identifies one message being reassembled. The part count belongs to it,
/// so a reference reused for a message of another length does not mix the two.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct MessageId<K> {
    key: K,
    reference: u16,
    total: u8,
}

/// When a pending message was started; the serial number tells apart
/// messages started at the same instant.
type Age = (Instant, u64);

/// A message waiting for parts.
struct Pending {
    age: Age,
    /// The parts received, sorted by number: only what arrived takes memory,
    /// however many parts a (possibly hostile) first part announces.
    received: Vec<Part>,
}

/// Joins the parts of concatenated messages, keyed by a caller-supplied
/// conversation key `K` (typically source and destination address) and the
/// concatenation reference. Parts may arrive in any order; a part already
/// received is ignored, so SMSC retransmissions are harmless. A part that
/// arrives after its message completed starts a new one, which
/// [`expire`](Self::expire) later returns as incomplete: the reassembler
/// cannot tell a late retransmission from a reused reference, and keeping
/// the latter is what does not lose messages.
pub struct Reassembler<K> {
    limits: ReassemblyLimits,
    pending: HashMap<MessageId<K>, Pending>,
    /// The pending messages, oldest first, for expiry and eviction.
    by_age: BTreeMap<Age, MessageId<K>>,
    next_serial: u64,
    evicted: u64,
}

impl<K: Clone + Eq + Hash> Reassembler<K> {
    /// An empty reassembler with these limits.
    pub fn new(limits: ReassemblyLimits) -> Self {
        Reassembler {
            limits,
            pending: HashMap::new(),
            by_age: BTreeMap::new(),
            next_serial: 0,
            evicted: 0,
        }
    }

    /// Adds a part received at `now`; returns the whole message when this
    /// was its last missing part (at once for a message of one part).
    pub fn insert(&mut self, key: K, part: Part, now: Instant) -> Option<Complete<K>> {
        let Part { concat, payload } = part;
        let reference = concat.reference();
        if concat.total() == 1 {
            return Some(Complete {
                key,
                reference,
                payload,
            });
        }
        let id = MessageId {
            key,
            reference,
            total: concat.total(),
        };
        if !self.pending.contains_key(&id) && !self.start(id.clone(), now) {
            return None;
        }
        let message = self.pending.get_mut(&id)?;
        let position = match message
            .received
            .binary_search_by_key(&concat.seq(), |part| part.concat.seq())
        {
            Ok(_) => return None,
            Err(position) => position,
        };
        message.received.insert(position, Part { concat, payload });
        if message.received.len() < usize::from(id.total) {
            return None;
        }
        let (MessageId { key, reference, .. }, message) = self.pending.remove_entry(&id)?;
        self.by_age.remove(&message.age);
        let payload = message
            .received
            .into_iter()
            .flat_map(|part| part.payload)
            .collect();
        Some(Complete {
            key,
            reference,
            payload,
        })
    }

    /// Starts waiting for the parts of `id`, evicting the oldest pending
    /// messages if the limit is reached. False if the limit is zero.
    fn start(&mut self, id: MessageId<K>, now: Instant) -> bool {
        while self.pending.len() >= self.limits.max_pending {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                return false;
            };
            self.pending.remove(&oldest);
            self.evicted += 1;
        }
        let age = (now, self.next_serial);
        self.next_serial += 1;
        self.by_age.insert(age, id.clone());
        self.pending.insert(
            id,
            Pending {
                age,
                received: Vec::new(),
            },
        );
        true
    }

    /// Gives up on every message whose first part arrived at least
    /// [`timeout`](ReassemblyLimits::timeout) before `now`, and returns
    /// them. Call it periodically.
    pub fn expire(&mut self, now: Instant) -> Vec<Incomplete<K>> {
        let mut expired = Vec::new();
        while let Some(oldest) = self.by_age.first_entry() {
            if now.saturating_duration_since(oldest.key().0) < self.limits.timeout {
                break;
            }
            let id = oldest.remove();
            if let Some(message) = self.pending.remove(&id) {
                let MessageId {
                    key,
                    reference,
                    total,
                } = id;
                expired.push(Incomplete {
                    key,
                    reference,
                    total,
                    parts: message.received,
                });
            }
        }
        expired
    }

    /// Messages waiting for parts now.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Messages dropped so far to stay within
    /// [`max_pending`](ReassemblyLimits::max_pending), for metrics.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(reference: u16, total: u8, seq: u8, payload: &str) -> Part {
        Part {
            concat: Concat::new(reference, total, seq).unwrap(),
            payload: payload.as_bytes().to_vec(),
        }
    }

    fn reassembler(max_pending: usize) -> Reassembler<&'static str> {
        Reassembler::new(ReassemblyLimits {
            timeout: Duration::from_secs(60),
            max_pending,
        })
    }

    #[test]
    fn parts_in_order_complete_on_the_last() {
        let mut reassembler = reassembler(10);
        let now = Instant::now();
        assert_eq!(reassembler.insert("a", part(7, 2, 1, "hel"), now), None);
        let complete = reassembler.insert("a", part(7, 2, 2, "lo"), now).unwrap();
        assert_eq!(
            complete,
            Complete {
                key: "a",
                reference: 7,
                payload: b"hello".to_vec()
            }
        );
        assert_eq!(reassembler.pending(), 0);
    }

    #[test]
    fn parts_in_any_order_are_joined_by_number() {
        let mut reassembler = reassembler(10);
        let now = Instant::now();
        assert_eq!(reassembler.insert("a", part(7, 3, 3, "c"), now), None);
        assert_eq!(reassembler.insert("a", part(7, 3, 1, "a"), now), None);
        assert_eq!(
            reassembler
                .insert("a", part(7, 3, 2, "b"), now)
                .unwrap()
                .payload,
            b"abc"
        );
    }

    #[test]
    fn duplicate_part_is_ignored() {
        let mut reassembler = reassembler(10);
        let now = Instant::now();
        assert_eq!(reassembler.insert("a", part(7, 2, 1, "x"), now), None);
        assert_eq!(reassembler.insert("a", part(7, 2, 1, "y"), now), None);
        assert_eq!(
            reassembler
                .insert("a", part(7, 2, 2, "z"), now)
                .unwrap()
                .payload,
            b"xz"
        );
    }

    #[test]
    fn part_after_completion_starts_a_new_message() {
        let mut reassembler = reassembler(10);
        let now = Instant::now();
        reassembler.insert("a", part(7, 2, 1, "x"), now);
        assert!(reassembler.insert("a", part(7, 2, 2, "y"), now).is_some());
        assert_eq!(reassembler.insert("a", part(7, 2, 2, "y"), now), None);
        assert_eq!(reassembler.pending(), 1);
        assert_eq!(
            reassembler.expire(now + Duration::from_secs(60))[0].parts,
            [part(7, 2, 2, "y")]
        );
    }

    #[test]
    fn single_part_message_completes_at_once() {
        let mut reassembler = reassembler(10);
        let complete = reassembler
            .insert("a", part(7, 1, 1, "hi"), Instant::now())
            .unwrap();
        assert_eq!(complete.payload, b"hi");
        assert_eq!(reassembler.pending(), 0);
    }

    #[test]
    fn same_reference_from_different_conversations_does_not_mix() {
        let mut reassembler = reassembler(10);
        let now = Instant::now();
        assert_eq!(reassembler.insert("a", part(7, 2, 1, "a1"), now), None);
        assert_eq!(reassembler.insert("b", part(7, 2, 2, "b2"), now), None);
        assert_eq!(
            reassembler
                .insert("a", part(7, 2, 2, "a2"), now)
                .unwrap()
                .payload,
            b"a1a2"
        );
        assert_eq!(
            reassembler
                .insert("b", part(7, 2, 1, "b1"), now)
                .unwrap()
                .payload,
            b"b1b2"
        );
    }

    #[test]
    fn same_reference_with_another_part_count_is_another_message() {
        let mut reassembler = reassembler(10);
        let now = Instant::now();
        assert_eq!(reassembler.insert("a", part(7, 2, 1, "x"), now), None);
        assert_eq!(reassembler.insert("a", part(7, 3, 2, "y"), now), None);
        assert_eq!(reassembler.pending(), 2);
    }

    #[test]
    fn message_expires_after_the_timeout_with_the_parts_it_has() {
        let mut reassembler = reassembler(10);
        let start = Instant::now();
        reassembler.insert("a", part(7, 3, 2, "b"), start);
        assert_eq!(reassembler.expire(start + Duration::from_secs(59)), vec![]);
        let expired = reassembler.expire(start + Duration::from_secs(60));
        assert_eq!(
            expired,
            vec![Incomplete {
                key: "a",
                reference: 7,
                total: 3,
                parts: vec![part(7, 3, 2, "b")]
            }]
        );
        assert_eq!(reassembler.pending(), 0);
    }

    #[test]
    fn expiry_counts_from_the_first_part() {
        let mut reassembler = reassembler(10);
        let start = Instant::now();
        reassembler.insert("a", part(1, 3, 1, "a"), start);
        reassembler.insert("a", part(1, 3, 2, "b"), start + Duration::from_secs(50));
        reassembler.insert("b", part(2, 2, 1, "c"), start + Duration::from_secs(30));
        let expired = reassembler.expire(start + Duration::from_secs(70));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].parts.len(), 2);
        assert_eq!(reassembler.pending(), 1);
    }

    #[test]
    fn oldest_pending_message_is_evicted_at_the_limit() {
        let mut reassembler = reassembler(2);
        let start = Instant::now();
        reassembler.insert("a", part(1, 2, 1, "a"), start);
        reassembler.insert("a", part(2, 2, 1, "b"), start);
        reassembler.insert("a", part(3, 2, 1, "c"), start);
        assert_eq!(reassembler.pending(), 2);
        assert_eq!(reassembler.evicted(), 1);
        assert_eq!(
            reassembler.insert("a", part(1, 2, 2, "x"), start),
            None,
            "message 1 was evicted"
        );
        assert_eq!(
            reassembler
                .insert("a", part(3, 2, 2, "y"), start)
                .unwrap()
                .payload,
            b"cy"
        );
    }

    #[test]
    fn zero_max_pending_holds_nothing() {
        let mut reassembler = reassembler(0);
        let now = Instant::now();
        assert_eq!(reassembler.insert("a", part(1, 2, 1, "a"), now), None);
        assert_eq!(reassembler.insert("a", part(1, 2, 2, "b"), now), None);
        assert_eq!(reassembler.pending(), 0);
        assert_eq!(
            reassembler
                .insert("a", part(1, 1, 1, "c"), now)
                .unwrap()
                .payload,
            b"c"
        );
    }
}
