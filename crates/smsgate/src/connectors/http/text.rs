//! The text a segment carries, as an HTTP provider takes it: decoded from
//! the segment's alphabet (its UDH dropped), and checked against the
//! characters the connector's provider can carry.
//!
//! Errors are the detail of a refusal before sending: the segment cannot
//! go over this connector, whatever the provider would say.

use smpp::Tlv;
use smstext::{EncodeError, Encoding};

use super::config::Charset;
use crate::connectors::OutboundSegment;

/// esm_class bit saying the short_message starts with a UDH.
const UDHI: u8 = 0x40;

/// The segment's text: short_message (or, if that is empty, a
/// message_payload TLV) without its UDH, decoded per data_coding.
pub(super) fn segment_text(segment: &OutboundSegment) -> Result<String, String> {
    let payload = if segment.short_message.is_empty() {
        segment
            .tlvs
            .iter()
            .find_map(|tlv| match tlv {
                Tlv::MessagePayload(payload) => Some(payload.as_ref()),
                _ => None,
            })
            .unwrap_or_default()
    } else {
        segment.short_message.as_ref()
    };
    let text = if segment.esm_class & UDHI != 0 {
        let udh = smstext::parse_udh(payload)
            .map_err(|e| format!("the segment's UDH cannot be read: {e}"))?;
        payload.get(udh.header_len()..).unwrap_or_default()
    } else {
        payload
    };
    smstext::decode(segment.data_coding, text)
        .map_err(|e| format!("the segment's text cannot be decoded: {e}"))
}

/// Checks that the provider can carry every character of `text`.
pub(super) fn check_charset(text: &str, charset: Charset) -> Result<(), String> {
    let unsendable = |character: char, set: &str| {
        Err(format!(
            "the text has {character:?} (U+{:04X}), outside {set}, the only characters this connector's provider can carry",
            u32::from(character)
        ))
    };
    match charset {
        Charset::Unicode => Ok(()),
        Charset::Ucs2 => match text.chars().find(|&c| u32::from(c) > 0xFFFF) {
            Some(character) => unsendable(character, "UCS-2"),
            None => Ok(()),
        },
        Charset::Gsm7 => match smstext::encode(text, Encoding::Gsm7) {
            Err(EncodeError::Unrepresentable { character, .. }) => {
                unsendable(character, "the GSM 03.38 alphabet")
            }
            Err(EncodeError::NotText) | Ok(_) => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use smpp::types::{npi, ton};
    use smpp::{Address, COctetString};

    use super::*;

    fn segment(data_coding: u8, esm_class: u8, short_message: &[u8]) -> OutboundSegment {
        OutboundSegment {
            message_id: "m1".into(),
            source: Address::new(
                ton::ALPHANUMERIC,
                npi::UNKNOWN,
                COctetString::from_static("Shop"),
            ),
            destination: Address::new(
                ton::INTERNATIONAL,
                npi::ISDN,
                COctetString::from_static("447700900123"),
            ),
            esm_class,
            protocol_id: 0,
            priority: 0,
            data_coding,
            registered_delivery: 0,
            validity_period: COctetString::empty(),
            short_message: Bytes::copy_from_slice(short_message),
            tlvs: Vec::new(),
        }
    }

    #[test]
    fn gsm_septets_decode_with_the_extension_table() {
        // "€5 {ok}" unpacked: ESC 0x65, '5', ' ', ESC 0x28, 'o', 'k', ESC 0x29.
        let septets = [0x1B, 0x65, b'5', b' ', 0x1B, 0x28, b'o', b'k', 0x1B, 0x29];
        assert_eq!(segment_text(&segment(0, 0, &septets)), Ok("€5 {ok}".into()));
    }

    #[test]
    fn latin1_and_ucs2_decode() {
        assert_eq!(segment_text(&segment(3, 0, b"caf\xE9")), Ok("café".into()));
        let ucs2 = [0x04, 0x1F, 0x04, 0x40, 0xD8, 0x3D, 0xDE, 0x00];
        assert_eq!(segment_text(&segment(8, 0, &ucs2)), Ok("Пр😀".into()));
    }

    #[test]
    fn a_udh_is_dropped_when_udhi_is_set() {
        let with_udh = [0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x00, 0x48, 0x00, 0x69];
        assert_eq!(segment_text(&segment(8, 0x40, &with_udh)), Ok("Hi".into()));
        let gsm = [0x05, 0x00, 0x03, 0x2A, 0x02, 0x02, b'H', b'i'];
        assert_eq!(segment_text(&segment(0, 0x43, &gsm)), Ok("Hi".into()));
    }

    #[test]
    fn message_payload_is_used_when_short_message_is_empty() {
        let mut with_payload = segment(0, 0, b"");
        with_payload.tlvs = vec![Tlv::MessagePayload(Bytes::from_static(b"long"))];
        assert_eq!(segment_text(&with_payload), Ok("long".into()));
    }

    #[test]
    fn binary_odd_ucs2_and_broken_udh_cannot_be_sent() {
        assert!(segment_text(&segment(4, 0, b"\x01\x02")).is_err());
        assert!(segment_text(&segment(8, 0, b"\x00\x48\x00")).is_err());
        assert!(segment_text(&segment(0, 0, b"\x80")).is_err());
        let err = segment_text(&segment(0, 0x40, &[0x09, 0x00])).expect_err("refused");
        assert!(err.contains("UDH"), "{err}");
        assert!(segment_text(&segment(0x05, 0, b"x")).is_err());
    }

    #[test]
    fn ucs2_charset_refuses_characters_outside_the_bmp() {
        assert_eq!(check_charset("Привет €", Charset::Ucs2), Ok(()));
        let err = check_charset("ok 😀", Charset::Ucs2).expect_err("refused");
        assert!(err.contains("U+1F600"), "{err}");
        assert_eq!(check_charset("ok 😀", Charset::Unicode), Ok(()));
    }

    #[test]
    fn gsm7_charset_refuses_characters_outside_gsm_03_38() {
        assert_eq!(check_charset("Hello €[]{} ÄÖÜ", Charset::Gsm7), Ok(()));
        let err = check_charset("Привет", Charset::Gsm7).expect_err("refused");
        assert!(err.contains("U+041F"), "{err}");
    }
}
