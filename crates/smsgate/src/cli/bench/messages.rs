//! The submit_sm the load generator sends: one fixed text per kind,
//! encoded once at start, and a different destination per message so the
//! gateway stores and routes each as a real customer's message.

use bytes::Bytes;
use clap::ValueEnum;
use smpp::types::{esm_class, npi, registered_delivery, ton};
use smpp::{Address, Body, COctetString, SubmitSm};
use smstext::{Encoding, SplitMethod};

use super::super::CliError;
use super::args::DESTINATION_DIGITS;

/// One segment of GSM 7-bit text (ASCII letters only, which every
/// alphabet table agrees on).
const GSM_TEXT: &str = "smsgate bench: a test message from the SMPP load generator";
/// One segment that needs UCS-2.
const UCS2_TEXT: &str = "smsgate bench: Привет, 你好, test message";
/// Segments of the long text, for the check that it really splits so.
const LONG_SEGMENTS: usize = 3;
/// Where the reference octet sits in a concatenation UDH
/// (`05 00 03 REF TOTAL SEQ`).
const UDH_REFERENCE: usize = 3;
/// The longest alphanumeric sender id a handset shows.
const ALPHANUMERIC_MAX: usize = 11;
/// The longest numeric sender SMPP 3.4 carries (source_addr is 21 octets).
const NUMERIC_MAX: usize = 20;

/// What each message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Text {
    /// One GSM 7-bit segment.
    Gsm,
    /// One UCS-2 segment.
    Ucs2,
    /// Three GSM 7-bit segments, each its own submit_sm with a
    /// concatenation UDH.
    Long,
}

impl Text {
    /// As written on the command line.
    pub(super) fn name(self) -> &'static str {
        match self {
            Text::Gsm => "gsm",
            Text::Ucs2 => "ucs2",
            Text::Long => "long",
        }
    }
}

/// The messages of a run: everything but the destination is the same.
#[derive(Debug)]
pub(super) struct Messages {
    source: Address,
    /// The digits every destination starts with.
    prefix: String,
    /// Destinations before the counter wraps: 10 to the power of the
    /// digits left after the prefix.
    destinations: u64,
    /// Digits of the counter, zero-padded.
    counter_width: usize,
    registered_delivery: u8,
    data_coding: u8,
    esm_class: u8,
    /// short_message of each part; one for a single-segment text.
    parts: Vec<Bytes>,
}

impl Messages {
    /// Encodes the text of `kind` and checks the sender and the prefix.
    pub(super) fn new(
        kind: Text,
        source: &str,
        prefix: &str,
        receipts: bool,
    ) -> Result<Messages, CliError> {
        if prefix.is_empty()
            || prefix.len() >= DESTINATION_DIGITS
            || !prefix.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(format!(
                "--destination-prefix must be 1 to {} digits, not {prefix:?}",
                DESTINATION_DIGITS - 1
            )
            .into());
        }
        let counter_width = DESTINATION_DIGITS - prefix.len();
        let (data_coding, esm_class, parts) = encode(kind)?;
        Ok(Messages {
            source: source_address(source)?,
            prefix: prefix.to_string(),
            destinations: 10u64.pow(u32::try_from(counter_width).unwrap_or(u32::MAX)),
            counter_width,
            registered_delivery: if receipts {
                registered_delivery::RECEIPT_ALWAYS
            } else {
                registered_delivery::NO_RECEIPT
            },
            data_coding,
            esm_class,
            parts,
        })
    }

    /// submit_sm per message: 3 for `long`, else 1.
    pub(super) fn parts(&self) -> usize {
        self.parts.len()
    }

    /// The submit_sm of part `part` (from 0) of message number `message`.
    pub(super) fn submit_sm(&self, message: u64, part: usize) -> Body {
        let counter = message % self.destinations;
        let number = format!(
            "{}{counter:0width$}",
            self.prefix,
            width = self.counter_width
        );
        let destination = Address::new(
            ton::INTERNATIONAL,
            npi::ISDN,
            // Digits only, checked in `new`: never a NUL.
            COctetString::try_from(number.as_str()).unwrap_or_default(),
        );
        let short_message = match self.parts.get(part) {
            Some(text) if self.parts.len() > 1 => {
                // Each message its own reference, so a handset would not
                // mix the parts of two messages.
                let mut octets = text.to_vec();
                if let Some(reference) = octets.get_mut(UDH_REFERENCE) {
                    *reference = (message % 256) as u8;
                }
                Bytes::from(octets)
            }
            Some(text) => text.clone(),
            None => Bytes::new(),
        };
        Body::SubmitSm(SubmitSm {
            source: self.source.clone(),
            destination,
            esm_class: self.esm_class,
            registered_delivery: self.registered_delivery,
            data_coding: self.data_coding,
            short_message,
            ..SubmitSm::default()
        })
    }
}

/// data_coding, esm_class and the short_message of each part of `kind`.
fn encode(kind: Text) -> Result<(u8, u8, Vec<Bytes>), CliError> {
    let single = |text: &str, encoding: Encoding| -> Result<(u8, u8, Vec<Bytes>), CliError> {
        let encoded = smstext::encode(text, encoding)?;
        Ok((
            encoding.data_coding(),
            0,
            vec![Bytes::copy_from_slice(encoded.data())],
        ))
    };
    match kind {
        Text::Gsm => single(GSM_TEXT, Encoding::Gsm7),
        Text::Ucs2 => single(UCS2_TEXT, Encoding::Ucs2),
        Text::Long => {
            let text = long_text();
            let encoded = smstext::encode(&text, Encoding::Gsm7)?;
            let segments = smstext::split(&encoded, SplitMethod::Udh8(0))?;
            if segments.len() != LONG_SEGMENTS {
                return Err(format!(
                    "the long text split into {} segments, not {LONG_SEGMENTS}",
                    segments.len()
                )
                .into());
            }
            let parts = segments
                .iter()
                .map(|segment| Bytes::from(segment.short_message()))
                .collect();
            Ok((Encoding::Gsm7.data_coding(), esm_class::UDHI, parts))
        }
    }
}

/// 400 GSM characters: more than two segments of 153, less than three.
fn long_text() -> String {
    let sentence = "smsgate bench: part of a long message in three segments. ";
    sentence.repeat(8).chars().take(400).collect()
}

/// The sender as SMPP addresses it: digits are an international number,
/// anything else an alphanumeric sender id.
fn source_address(source: &str) -> Result<Address, CliError> {
    let numeric = !source.is_empty() && source.bytes().all(|b| b.is_ascii_digit());
    let (ton, npi, max) = if numeric {
        (ton::INTERNATIONAL, npi::ISDN, NUMERIC_MAX)
    } else {
        (ton::ALPHANUMERIC, npi::UNKNOWN, ALPHANUMERIC_MAX)
    };
    if source.is_empty() || source.chars().count() > max {
        return Err(format!(
            "--source must be 1 to {max} characters for a {} sender, not {source:?}",
            if numeric { "numeric" } else { "alphanumeric" }
        )
        .into());
    }
    let addr = COctetString::try_from(source)
        .map_err(|_| format!("--source {source:?} contains a NUL"))?;
    Ok(Address::new(ton, npi, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submit(messages: &Messages, message: u64, part: usize) -> SubmitSm {
        match messages.submit_sm(message, part) {
            Body::SubmitSm(sm) => sm,
            other => panic!("not a submit_sm: {other:?}"),
        }
    }

    #[test]
    fn destinations_are_the_prefix_and_a_padded_counter_of_twelve_digits() {
        let messages = Messages::new(Text::Gsm, "smsgate", "4479", true).expect("valid");
        assert_eq!(submit(&messages, 0, 0).destination.addr, "447900000000");
        assert_eq!(submit(&messages, 1234, 0).destination.addr, "447900001234");
        assert_eq!(
            submit(&messages, 100_000_000, 0).destination.addr,
            "447900000000",
            "the counter wraps"
        );
        assert!(Messages::new(Text::Gsm, "smsgate", "44x", true).is_err());
        assert!(Messages::new(Text::Gsm, "smsgate", "447911223344", true).is_err());
    }

    #[test]
    fn long_messages_are_three_udh_parts_with_a_reference_per_message() {
        let messages = Messages::new(Text::Long, "smsgate", "4479", true).expect("valid");
        assert_eq!(messages.parts(), 3);
        for part in 0..3 {
            let sm = submit(&messages, 7, part);
            assert_eq!(sm.esm_class, esm_class::UDHI);
            let udh = smstext::parse_udh(&sm.short_message).expect("a UDH");
            let concat = udh.concat().expect("concatenation");
            assert_eq!(
                (concat.reference(), concat.total(), concat.seq()),
                (7, 3, part as u8 + 1)
            );
        }
    }

    #[test]
    fn receipts_and_text_kinds_set_the_pdu_fields() {
        let gsm = Messages::new(Text::Gsm, "smsgate", "4479", true).expect("valid");
        let sm = submit(&gsm, 0, 0);
        assert_eq!((sm.data_coding, sm.registered_delivery), (0, 1));
        assert_eq!(sm.source.ton, ton::ALPHANUMERIC);
        let ucs2 = Messages::new(Text::Ucs2, "447700900123", "4479", false).expect("valid");
        let sm = submit(&ucs2, 0, 0);
        assert_eq!((sm.data_coding, sm.registered_delivery), (8, 0));
        assert_eq!(sm.source.ton, ton::INTERNATIONAL);
        assert!(sm.short_message.len() <= 140);
    }

    #[test]
    fn senders_too_long_for_their_kind_are_refused() {
        assert!(source_address("TwelveLetter").is_err());
        assert!(source_address("123456789012345678901").is_err());
        assert!(source_address("").is_err());
    }
}
