//! The simulator's settings: how the simulated provider answers, when its
//! receipts come and what they say, and who may bind.
//!
//! Every key has its default here, in [`SimConfig::default`], and nowhere
//! else: the `smsgate sim` command, tests and (later) a `[connectors.*]`
//! table with `kind = "sim"` all start from it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::{Rng, RngCore};
use serde::Deserialize;

/// How a simulated provider behaves. A TOML table with these keys (all
/// optional):
///
/// ```toml
/// latency = "5ms"                 # or a range: "2ms..20ms"
/// accept_ratio = 0.9
/// reject_status = 0x45            # or weighted: [[0x45, 3], [0x58, 1]]
/// receipt_delay = "1s"            # or a range: "200ms..3s"
/// receipt_mix = { delivered = 90, undeliverable = 8, expired = 2 }
/// receipt_err = { undeliverable = 1, expired = 27, rejected = 13 }
/// receipt_retries = 3
/// receipt_retry_delay = "1s"
/// max_held_receipts = 100000
/// mo_interval = "10s"             # absent: no MO messages
/// mo_source = "447700900123"
/// mo_destination = "12345"
/// mo_text = "Hello from smsgate sim"
/// system_id = ""                  # empty: any system_id may bind
/// password = ""                   # empty: any password
/// seed = 42                       # absent: different outcomes every run
/// max_window = 10               # the ESME's unanswered submits per bind
/// receipt_window = 10           # our unanswered deliver_sm per bind; absent: max_window; 0: no limit
/// message_id_format = "hex"       # or "decimal", "uuid"
/// receipt_ids_in_decimal = false  # true: hex ids appear in decimal in receipts
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// How long the provider takes to answer each submit_sm / data_sm.
    /// Each request waits on its own, so a slow answer never holds up the
    /// session's other requests. Default 5 ms.
    pub latency: Delay,
    /// The share of submits answered ESME_ROK (0.0 to 1.0); the rest get a
    /// [`SimConfig::reject_status`]. Default 1.0.
    pub accept_ratio: f64,
    /// The command_status of the submits that are not accepted: one code,
    /// or several drawn by weight. Default ESME_RSUBMITFAIL (0x45), which
    /// the provider guides use for "recipient not reachable on this channel".
    pub reject_status: RejectStatus,
    /// How long after its submit_sm_resp an accepted message's receipt
    /// comes. Default 1 s.
    pub receipt_delay: Delay,
    /// How often each final state is drawn for an accepted message.
    /// Default: every message DELIVRD.
    pub receipt_mix: ReceiptMix,
    /// The `err:` code (and network_error_code TLV) of each failed state.
    pub receipt_err: ReceiptErrors,
    /// How many times a receipt the ESME refuses (an error deliver_sm_resp,
    /// or none in time) is sent again before it is dropped and counted.
    /// Default 3.
    pub receipt_retries: u32,
    /// The wait before the first resend of a refused receipt; it doubles
    /// for each further one. Default 1 s.
    #[serde(with = "crate::settings::duration")]
    pub receipt_retry_delay: Duration,
    /// Receipts kept, per system_id, while it has no receiver or
    /// transceiver bound (they go out when one binds); past it, new
    /// receipts are dropped and counted. Default 100 000.
    pub max_held_receipts: usize,
    /// How often every system_id with a receiver or transceiver bound gets
    /// an MO message (a fixed interval or a range). Absent: never. Default
    /// absent.
    pub mo_interval: Option<Delay>,
    /// The MO sender (the handset): digits, or an alphanumeric sender id.
    pub mo_source: String,
    /// The MO recipient (our number or short code).
    pub mo_destination: String,
    /// The MO text, encoded as GSM 7-bit if it can be, else UCS-2.
    pub mo_text: String,
    /// The system_id binds must give; empty accepts any. A wrong one is
    /// answered ESME_RINVPASWD, like a wrong password, so a client cannot
    /// learn which ids exist. Default empty.
    pub system_id: String,
    /// The password binds must give; empty accepts any. Default empty.
    pub password: String,
    /// Seeds the outcomes (accept or reject, reject status, receipt state,
    /// latencies, message ids), so that the same requests in the same order
    /// get the same answers: tests can assert on them. MO timing is not
    /// seeded. Absent: different every run. Default absent.
    pub seed: Option<u64>,
    /// The ESME's unanswered submits each session accepts; more are
    /// answered ESME_RTHROTTLED, as a carrier does. Unless
    /// [`SimConfig::receipt_window`] says otherwise, also how many of our
    /// deliver_sm (receipts, MO) each session leaves unanswered at once.
    /// Default 10, a common carrier window.
    pub max_window: usize,
    /// How many deliver_sm (receipts and MO) each session has unanswered
    /// at once; the next one waits for an answer. 0 means no limit: every
    /// receipt that is due goes out at once, as a carrier bursting a
    /// backlog does, to see whether the ESME keeps up. Absent: the same as
    /// [`SimConfig::max_window`], as the simulator always did. Default
    /// absent.
    pub receipt_window: Option<usize>,
    /// How message ids are written; carriers differ, and matching receipts
    /// to submits must cope with each. Default hex.
    pub message_id_format: MessageIdFormat,
    /// Receipts write a hex message id in decimal, as some carriers do
    /// (the submit's answer says `0000001a2b`, its receipt `6699`). Default false.
    pub receipt_ids_in_decimal: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            latency: Delay::fixed(Duration::from_millis(5)),
            accept_ratio: 1.0,
            reject_status: RejectStatus::Single(0x45),
            receipt_delay: Delay::fixed(Duration::from_secs(1)),
            receipt_mix: ReceiptMix::default(),
            receipt_err: ReceiptErrors::default(),
            receipt_retries: 3,
            receipt_retry_delay: Duration::from_secs(1),
            max_held_receipts: 100_000,
            mo_interval: None,
            // A number from Ofcom's range reserved for drama: never a real handset.
            mo_source: "447700900123".into(),
            mo_destination: "12345".into(),
            mo_text: "Hello from smsgate sim".into(),
            system_id: String::new(),
            password: String::new(),
            seed: None,
            max_window: 10,
            receipt_window: None,
            message_id_format: MessageIdFormat::Hex,
            receipt_ids_in_decimal: false,
        }
    }
}

/// A duration that is either fixed or drawn uniformly from a range, written
/// `"5ms"` or `"2ms..20ms"` (any [`humantime`] durations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Delay {
    min: Duration,
    max: Duration,
}

impl Delay {
    /// Always `duration`.
    pub const fn fixed(duration: Duration) -> Delay {
        Delay {
            min: duration,
            max: duration,
        }
    }

    /// Anything from `min` to `max`, both included.
    pub fn range(min: Duration, max: Duration) -> Result<Delay, DelayError> {
        if min > max {
            return Err(DelayError(format!(
                "the range {}..{} ends before it starts",
                humantime::format_duration(min),
                humantime::format_duration(max)
            )));
        }
        Ok(Delay { min, max })
    }

    /// The shortest delay.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The longest delay.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// One delay drawn from the range.
    pub(super) fn sample(&self, rng: &mut dyn RngCore) -> Duration {
        if self.min == self.max {
            return self.min;
        }
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.random_range(nanos(self.min)..=nanos(self.max)))
    }
}

impl FromStr for Delay {
    type Err = DelayError;

    fn from_str(text: &str) -> Result<Delay, DelayError> {
        let parse = |part: &str| {
            humantime::parse_duration(part.trim())
                .map_err(|e| DelayError(format!("invalid duration {:?}: {e}", part.trim())))
        };
        match text.split_once("..") {
            Some((min, max)) => Delay::range(parse(min)?, parse(max)?),
            None => Ok(Delay::fixed(parse(text)?)),
        }
    }
}

impl TryFrom<String> for Delay {
    type Error = DelayError;

    fn try_from(text: String) -> Result<Delay, DelayError> {
        text.parse()
    }
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.min))?;
        if self.max != self.min {
            write!(f, "..{}", humantime::format_duration(self.max))?;
        }
        Ok(())
    }
}

/// A [`Delay`] that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} (write a duration like \"5ms\", or a range like \"2ms..20ms\")")]
pub struct DelayError(String);

/// The statuses a rejected submit is answered with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum RejectStatus {
    /// Always this command_status (`reject_status = 0x45`).
    Single(u32),
    /// `[status, weight]` pairs, each drawn in proportion to its weight
    /// (`reject_status = [[0x45, 3], [0x58, 1]]`).
    Weighted(Vec<(u32, u32)>),
}

impl RejectStatus {
    /// The statuses with their weights.
    pub(super) fn weights(&self) -> Vec<(u32, u32)> {
        match self {
            RejectStatus::Single(status) => vec![(*status, 1)],
            RejectStatus::Weighted(weights) => weights.clone(),
        }
    }
}

/// Relative weights of the final state of accepted messages. A state left
/// out of a configured table has weight 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptMix {
    /// DELIVRD.
    #[serde(default)]
    pub delivered: u32,
    /// UNDELIV.
    #[serde(default)]
    pub undeliverable: u32,
    /// EXPIRED.
    #[serde(default)]
    pub expired: u32,
    /// REJECTD.
    #[serde(default)]
    pub rejected: u32,
}

impl Default for ReceiptMix {
    fn default() -> Self {
        ReceiptMix {
            delivered: 1,
            undeliverable: 0,
            expired: 0,
            rejected: 0,
        }
    }
}

/// The error code a receipt of each failed state carries, in `err:` (as
/// three decimal digits) and in the network_error_code TLV (as a GSM MAP
/// error). 0 leaves the TLV out and writes `err:000`. A state left out of a
/// configured table keeps its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReceiptErrors {
    /// For UNDELIV. Default 1, MAP "unknown subscriber".
    pub undeliverable: u16,
    /// For EXPIRED. Default 27, MAP "absent subscriber": the handset was
    /// off for the whole validity period.
    pub expired: u16,
    /// For REJECTD. Default 13, MAP "call barred".
    pub rejected: u16,
}

impl Default for ReceiptErrors {
    fn default() -> Self {
        ReceiptErrors {
            undeliverable: 1,
            expired: 27,
            rejected: 13,
        }
    }
}

/// How the simulator writes message ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageIdFormat {
    /// Ten or more lowercase hex digits (`0a1b2c3d4e`).
    Hex,
    /// Decimal digits (`43218765432`).
    Decimal,
    /// A random-looking UUID (`9f1c0a52-7d3e-4b1a-8c2f-5e6d7a8b9c0d`).
    Uuid,
}

/// The most deliver_sm a session has unanswered with `receipt_window = 0`:
/// no limit in practice (far more than the receipts a simulator holds,
/// [`SimConfig::max_held_receipts`]), yet small enough for the session's
/// semaphore and channels, which cannot count to `usize::MAX`.
const UNLIMITED_RECEIPT_WINDOW: usize = 1 << 24;

impl SimConfig {
    /// How many deliver_sm each session may have unanswered, with
    /// [`SimConfig::receipt_window`]'s absent and 0 resolved.
    pub(super) fn receipt_window_limit(&self) -> usize {
        match self.receipt_window {
            None => self.max_window,
            Some(0) => UNLIMITED_RECEIPT_WINDOW,
            Some(window) => window,
        }
    }
}

/// Settings that cannot work together or at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid simulator settings: {0}")]
pub struct SimConfigError(pub(super) String);

impl SimConfig {
    /// Checks what serde cannot: ranges, weights, and that the MO message
    /// and addresses fit in a PDU. [`super::SimServer::start`] checks the
    /// same.
    pub fn validate(&self) -> Result<(), SimConfigError> {
        super::outcome::Plan::new(self).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_gives_the_defaults() {
        let config: SimConfig = toml::from_str("").expect("empty is valid");
        assert_eq!(config, SimConfig::default());
        config.validate().expect("the defaults are valid");
    }

    #[test]
    fn every_key_reads_from_toml() {
        let config: SimConfig = toml::from_str(
            r#"
            latency = "2ms..20ms"
            accept_ratio = 0.9
            reject_status = [[0x45, 3], [0x58, 1]]
            receipt_delay = "250ms"
            receipt_mix = { delivered = 90, undeliverable = 8, expired = 2 }
            receipt_err = { undeliverable = 5 }
            receipt_retries = 1
            receipt_retry_delay = "10ms"
            max_held_receipts = 7
            mo_interval = "10s"
            mo_source = "447700900999"
            mo_destination = "555"
            mo_text = "hi"
            system_id = "acme"
            password = "secret"
            seed = 42
            max_window = 50
            receipt_window = 0
            message_id_format = "uuid"
            "#,
        )
        .expect("valid");
        assert_eq!(
            config.latency,
            Delay::range(Duration::from_millis(2), Duration::from_millis(20)).expect("range")
        );
        assert_eq!(
            config.reject_status,
            RejectStatus::Weighted(vec![(0x45, 3), (0x58, 1)])
        );
        assert_eq!(
            config.receipt_mix,
            ReceiptMix {
                delivered: 90,
                undeliverable: 8,
                expired: 2,
                rejected: 0
            }
        );
        assert_eq!(config.receipt_err.undeliverable, 5);
        assert_eq!(config.receipt_err.expired, 27, "unset codes keep defaults");
        assert_eq!(
            config.mo_interval,
            Some(Delay::fixed(Duration::from_secs(10)))
        );
        assert_eq!(config.seed, Some(42));
        assert_eq!(config.receipt_window, Some(0));
        assert_eq!(config.message_id_format, MessageIdFormat::Uuid);
        config.validate().expect("valid");
    }

    #[test]
    fn receipt_window_follows_max_window_unless_set_and_zero_is_no_limit() {
        let mut config = SimConfig {
            max_window: 25,
            ..SimConfig::default()
        };
        assert_eq!(config.receipt_window_limit(), 25, "absent: max_window");
        config.receipt_window = Some(3);
        assert_eq!(config.receipt_window_limit(), 3);
        config.receipt_window = Some(0);
        assert!(config.receipt_window_limit() >= 1_000_000, "0: no limit");
        assert_eq!(
            SimConfig::default().receipt_window_limit(),
            10,
            "the default is the window the simulator always had"
        );
    }

    #[test]
    fn a_single_reject_status_is_a_plain_integer() {
        let config: SimConfig = toml::from_str("reject_status = 0x58").expect("valid");
        assert_eq!(config.reject_status, RejectStatus::Single(0x58));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<SimConfig>("latncy = \"5ms\"").is_err());
        assert!(toml::from_str::<SimConfig>("receipt_mix = { delivred = 1 }").is_err());
    }

    #[test]
    fn delays_are_fixed_or_ranges_and_print_as_written() {
        let fixed: Delay = "5ms".parse().expect("fixed");
        assert_eq!(
            (fixed.min(), fixed.max()),
            (Duration::from_millis(5), Duration::from_millis(5))
        );
        let range: Delay = "1s .. 2s".parse().expect("range");
        assert_eq!(
            (range.min(), range.max()),
            (Duration::from_secs(1), Duration::from_secs(2))
        );
        assert_eq!(range.to_string(), "1s..2s");
        assert!("2s..1s".parse::<Delay>().is_err());
        assert!("soon".parse::<Delay>().is_err());
    }

    #[test]
    fn sampled_delays_stay_within_their_range() {
        let delay: Delay = "10ms..20ms".parse().expect("range");
        let mut rng = rand::rng();
        for _ in 0..100 {
            let d = delay.sample(&mut rng);
            assert!(d >= delay.min() && d <= delay.max(), "{d:?}");
        }
    }

    #[test]
    fn impossible_settings_are_refused_with_the_key_named() {
        let invalid = |change: fn(&mut SimConfig)| {
            let mut config = SimConfig::default();
            change(&mut config);
            config.validate().expect_err("invalid").to_string()
        };
        assert!(invalid(|c| c.accept_ratio = 1.5).contains("accept_ratio"));
        assert!(invalid(|c| c.accept_ratio = f64::NAN).contains("accept_ratio"));
        assert!(invalid(|c| c.receipt_mix.delivered = 0).contains("receipt_mix"));
        assert!(invalid(|c| c.reject_status = RejectStatus::Single(0)).contains("reject_status"));
        assert!(
            invalid(|c| c.reject_status = RejectStatus::Weighted(vec![(0x45, 0)]))
                .contains("reject_status")
        );
        assert!(invalid(|c| c.max_window = 0).contains("max_window"));
        assert!(
            invalid(|c| c.mo_interval = Some(Delay::fixed(Duration::ZERO))).contains("mo_interval")
        );
        assert!(invalid(|c| c.mo_source = "1".repeat(21)).contains("mo_source"));
        assert!(invalid(|c| c.mo_destination = "a\0b".into()).contains("mo_destination"));
        assert!(invalid(|c| c.mo_text = "x".repeat(153 * 256)).contains("mo_text"));
    }
}
