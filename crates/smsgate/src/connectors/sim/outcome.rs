//! What happens to each submit: accepted or rejected, with which status,
//! after how long, which final state its receipt will report, and the
//! message id it gets.
//!
//! Every random choice for one submit is drawn at once, when the session
//! reads it, so that with a seed the answers depend only on the order of the
//! requests, not on how their tasks are scheduled.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use smpp::receipt::ReceiptStat;
use smpp::types::registered_delivery;
use smpp::{COctetString, CommandStatus, DeliverSm};

use super::config::{Delay, MessageIdFormat, SimConfig, SimConfigError};
use super::mo;

/// The configuration turned into what each submit draws from.
#[derive(Debug)]
pub(super) struct Plan {
    accept_ratio: f64,
    reject: Weighted<CommandStatus>,
    mix: Weighted<FinalStat>,
    latency: Delay,
    receipt_delay: Delay,
    /// The MO deliver_sm every generated MO message is a copy of.
    pub(super) mo: Vec<DeliverSm>,
}

impl Plan {
    /// Checks the configuration and prepares it; the error names the key.
    pub(super) fn new(config: &SimConfig) -> Result<Plan, SimConfigError> {
        let invalid = |message: String| Err(SimConfigError(message));
        if !(0.0..=1.0).contains(&config.accept_ratio) {
            return invalid(format!(
                "accept_ratio must be between 0.0 and 1.0, not {}",
                config.accept_ratio
            ));
        }
        let weights = config.reject_status.weights();
        if weights.iter().any(|&(status, _)| status == 0) {
            return invalid("reject_status cannot be 0 (ESME_ROK is not a rejection)".into());
        }
        let Some(reject) = Weighted::new(
            weights
                .into_iter()
                .map(|(status, weight)| (CommandStatus(status), weight)),
        ) else {
            return invalid("reject_status needs at least one status with a weight above 0".into());
        };
        let m = config.receipt_mix;
        let Some(mix) = Weighted::new([
            (FinalStat::Delivered, m.delivered),
            (FinalStat::Undeliverable, m.undeliverable),
            (FinalStat::Expired, m.expired),
            (FinalStat::Rejected, m.rejected),
        ]) else {
            return invalid("receipt_mix needs at least one state with a weight above 0".into());
        };
        if config.max_window == 0 {
            return invalid("max_window must be at least 1".into());
        }
        if let Some(interval) = config.mo_interval
            && interval.max().is_zero()
        {
            return invalid("mo_interval must be longer than zero".into());
        }
        Ok(Plan {
            accept_ratio: config.accept_ratio,
            reject,
            mix,
            latency: config.latency,
            receipt_delay: config.receipt_delay,
            mo: mo::message(config)?,
        })
    }

    /// Draws the fate of one submit.
    pub(super) fn decide(&self, rng: &mut dyn RngCore) -> Decision {
        let latency = self.latency.sample(rng);
        let verdict = if rng.random::<f64>() < self.accept_ratio {
            Verdict::Accept {
                stat: self.mix.pick(rng),
                receipt_delay: self.receipt_delay.sample(rng),
            }
        } else {
            Verdict::Reject(self.reject.pick(rng))
        };
        Decision { latency, verdict }
    }
}

/// The fate of one submit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decision {
    /// How long before it is answered.
    pub(super) latency: Duration,
    /// How it is answered.
    pub(super) verdict: Verdict,
}

/// Accepted (and what then happens to the message) or rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// ESME_ROK; the message ends in `stat`, reported after `receipt_delay`.
    Accept {
        stat: FinalStat,
        receipt_delay: Duration,
    },
    /// Answered with this status; there is no message and no receipt.
    Reject(CommandStatus),
}

/// The final states the simulator reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FinalStat {
    Delivered,
    Undeliverable,
    Expired,
    Rejected,
}

impl FinalStat {
    /// The receipt's `stat:` word and message_state.
    pub(super) fn receipt_stat(self) -> ReceiptStat {
        match self {
            FinalStat::Delivered => ReceiptStat::Delivered,
            FinalStat::Undeliverable => ReceiptStat::Undeliverable,
            FinalStat::Expired => ReceiptStat::Expired,
            FinalStat::Rejected => ReceiptStat::Rejected,
        }
    }

    /// The configured error code of this state; 0 for DELIVRD.
    pub(super) fn error_code(self, config: &SimConfig) -> u16 {
        let errors = config.receipt_err;
        match self {
            FinalStat::Delivered => 0,
            FinalStat::Undeliverable => errors.undeliverable,
            FinalStat::Expired => errors.expired,
            FinalStat::Rejected => errors.rejected,
        }
    }
}

/// Whether a message submitted with `registered_delivery` gets a receipt
/// when it ends in `stat`: bits 1..0 are 0 for none, 1 for always, 2 for
/// failures only, and 3 for successes only (SMPP 5.0; reserved in 3.4).
pub(super) fn wants_receipt(registered: u8, stat: FinalStat) -> bool {
    match registered & registered_delivery::RECEIPT_MASK {
        registered_delivery::NO_RECEIPT => false,
        registered_delivery::RECEIPT_ALWAYS => true,
        registered_delivery::RECEIPT_ON_FAILURE => stat != FinalStat::Delivered,
        _ => stat == FinalStat::Delivered,
    }
}

/// Values drawn in proportion to their weights.
#[derive(Debug)]
struct Weighted<T> {
    values: Vec<T>,
    /// The running total of the weights up to and including each value:
    /// a draw below `ends[i]` (and not below `ends[i - 1]`) picks `values[i]`.
    ends: Vec<u64>,
}

impl<T: Copy> Weighted<T> {
    /// `None` if no value has a weight above 0.
    fn new(weighted: impl IntoIterator<Item = (T, u32)>) -> Option<Weighted<T>> {
        let mut values = Vec::new();
        let mut ends = Vec::new();
        let mut total = 0u64;
        for (value, weight) in weighted {
            if weight > 0 {
                total += u64::from(weight);
                values.push(value);
                ends.push(total);
            }
        }
        (total > 0).then_some(Weighted { values, ends })
    }

    /// One value. [`Weighted::new`] never builds an empty table, and a
    /// draw below the last end has fewer than `len` ends at or below it, so
    /// the index is always in range.
    fn pick(&self, rng: &mut dyn RngCore) -> T {
        match self.ends[..] {
            [_] => self.values[0],
            [.., total] => {
                let draw = rng.random_range(0..total);
                self.values[self.ends.partition_point(|&end| end <= draw)]
            }
            [] => unreachable!("Weighted::new refuses an empty table"),
        }
    }
}

/// The simulator's source of randomness: a seeded generator behind a lock
/// when outcomes must repeat, else each thread's own generator (no lock on
/// the hot path).
#[derive(Debug)]
pub(super) struct Dice {
    seeded: Option<Mutex<StdRng>>,
}

impl Dice {
    pub(super) fn new(seed: Option<u64>) -> Dice {
        Dice {
            seeded: seed.map(|seed| Mutex::new(StdRng::seed_from_u64(seed))),
        }
    }

    /// Runs `draw` with the generator. The lock is held only for `draw`,
    /// which never awaits.
    pub(super) fn roll<T>(&self, draw: impl FnOnce(&mut dyn RngCore) -> T) -> T {
        match &self.seeded {
            Some(rng) => draw(&mut *rng.lock().unwrap_or_else(PoisonError::into_inner)),
            None => draw(&mut rand::rng()),
        }
    }
}

/// Hands out message ids: a counter from a random start, so that two
/// simulators (or two runs) give different ids, as two carriers do, and a
/// test that matches receipts to the wrong provider's ids fails.
#[derive(Debug)]
pub(super) struct MessageIds {
    format: MessageIdFormat,
    next: AtomicU64,
}

impl MessageIds {
    pub(super) fn new(format: MessageIdFormat, dice: &Dice) -> MessageIds {
        // 2^36 and up writes as at least ten hex digits; below 2^40 leaves
        // room for a trillion messages before the eleventh.
        let start = dice.roll(|rng| rng.random_range(1u64 << 36..1u64 << 39));
        MessageIds {
            format,
            next: AtomicU64::new(start),
        }
    }

    /// The next id.
    pub(super) fn next(&self) -> COctetString {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let text = match self.format {
            MessageIdFormat::Hex => format!("{n:010x}"),
            MessageIdFormat::Decimal => n.to_string(),
            MessageIdFormat::Uuid => uuid_like(n),
        };
        // Hex digits and dashes never contain a NUL.
        COctetString::try_from(text).unwrap_or_default()
    }
}

/// A version-4-shaped UUID from a counter. splitmix64 is a bijection on
/// u64, so distinct counters give distinct ids.
fn uuid_like(n: u64) -> String {
    let high = splitmix64(n);
    let low = splitmix64(n ^ 0x9E37_79B9_7F4A_7C15);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0x0FFF,
        ((low >> 48) & 0x3FFF) | 0x8000,
        low & 0xFFFF_FFFF_FFFF
    )
}

fn splitmix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::sim::config::ReceiptMix;

    #[test]
    fn registered_delivery_picks_which_outcomes_get_a_receipt() {
        use FinalStat::*;
        for stat in [Delivered, Undeliverable, Expired, Rejected] {
            assert!(!wants_receipt(0, stat));
            assert!(wants_receipt(1, stat));
            assert_eq!(wants_receipt(2, stat), stat != Delivered);
            assert_eq!(wants_receipt(3, stat), stat == Delivered);
            // Bits above the receipt bits (intermediate notifications) do not matter.
            assert!(wants_receipt(0x11, stat));
        }
    }

    #[test]
    fn weights_decide_how_often_each_value_is_drawn() {
        let weighted = Weighted::new([('a', 1), ('b', 0), ('c', 3)]).expect("weights");
        let mut rng = StdRng::seed_from_u64(1);
        let draws: Vec<char> = (0..4000).map(|_| weighted.pick(&mut rng)).collect();
        let count = |c| draws.iter().filter(|&&d| d == c).count();
        assert_eq!(count('b'), 0);
        assert!((800..1200).contains(&count('a')), "{}", count('a'));
        assert!((2800..3200).contains(&count('c')), "{}", count('c'));
        assert!(Weighted::new([('a', 0)]).is_none());
    }

    #[test]
    fn the_same_seed_draws_the_same_decisions() {
        let config = SimConfig {
            accept_ratio: 0.5,
            receipt_mix: ReceiptMix {
                delivered: 1,
                undeliverable: 1,
                expired: 1,
                rejected: 1,
            },
            latency: "1ms..9ms".parse().expect("range"),
            ..SimConfig::default()
        };
        let plan = Plan::new(&config).expect("valid");
        let run = |seed| {
            let dice = Dice::new(Some(seed));
            (0..50)
                .map(|_| dice.roll(|rng| plan.decide(rng)))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn message_ids_are_unique_and_in_the_configured_format() {
        let dice = Dice::new(Some(3));
        let hex = MessageIds::new(MessageIdFormat::Hex, &dice);
        let (a, b) = (hex.next(), hex.next());
        assert_ne!(a, b);
        assert_eq!(a.len(), 10);
        assert!(a.as_bytes().iter().all(u8::is_ascii_hexdigit));

        let decimal = MessageIds::new(MessageIdFormat::Decimal, &dice).next();
        assert!(decimal.as_bytes().iter().all(u8::is_ascii_digit));

        let uuid = MessageIds::new(MessageIdFormat::Uuid, &dice).next();
        let text = uuid.to_str().expect("ascii");
        let groups: Vec<usize> = text.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{text}");
        assert_eq!(text.as_bytes()[14], b'4', "version 4: {text}");
    }
}
