//! An MO callback's fields as the [`ProviderMo`] an SMPP deliver_sm would
//! have given: addresses with the TON and NPI their text implies, and the
//! text as UCS-2 (UTF-16BE), whole. A long text is not split here: the MO
//! router splits (or reassembles) every MO the same way.

use std::time::SystemTime;

use axum::http::StatusCode;
use bytes::Bytes;
use smpp::types::{npi, ton};
use smpp::{Address, COctetString};

use super::Refusal;
use super::config::ProviderWebhookConfig;
use super::fields::Fields;
use crate::connectors::{InboundEvent, ProviderMo};

/// data_coding for UCS-2 (UTF-16BE).
const DATA_CODING_UCS2: u8 = 8;
/// The longest source_addr / destination_addr of a deliver_sm, NUL excluded.
const ADDRESS_MAX: usize = 20;

/// The MO the request describes; 400 when a field is missing or an address
/// cannot be one.
pub(super) fn read(
    connector: &str,
    config: &ProviderWebhookConfig,
    fields: &Fields,
) -> Result<InboundEvent, Refusal> {
    let source = address(&config.key_from, &fields.require(&config.key_from)?)?;
    let destination = address(&config.key_to, &fields.require(&config.key_to)?)?;
    let text = fields.require(&config.key_body)?;
    let short_message: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    Ok(InboundEvent::Mo(ProviderMo {
        connector: connector.to_string(),
        source,
        destination,
        data_coding: DATA_CODING_UCS2,
        esm_class: 0,
        short_message: Bytes::from(short_message),
        tlvs: Vec::new(),
        received_at: SystemTime::now(),
    }))
}

/// `+` and digits, or more than 8 digits: an international number, kept
/// without its `+` (TON 1, NPI 1). Up to 8 digits: a short code (TON 6,
/// NPI 1). Anything else: an alphanumeric sender id (TON 5, NPI 0). The
/// same rule the simulator's MO follows.
fn address(key: &str, text: &str) -> Result<Address, Refusal> {
    let bad = |why: String| Refusal::new(StatusCode::BAD_REQUEST, format!("{key:?} {why}"));
    let text = text.trim();
    if text.is_empty() {
        return Err(bad("is empty".into()));
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (ton, npi, addr) = match text.strip_prefix('+') {
        Some(number) if digits(number) => (ton::INTERNATIONAL, npi::ISDN, number),
        _ if digits(text) && text.len() > 8 => (ton::INTERNATIONAL, npi::ISDN, text),
        _ if digits(text) => (ton::ABBREVIATED, npi::ISDN, text),
        _ => (ton::ALPHANUMERIC, npi::UNKNOWN, text),
    };
    if addr.len() > ADDRESS_MAX {
        return Err(bad(format!(
            "is {} octets long; an SMS address holds at most {ADDRESS_MAX}",
            addr.len()
        )));
    }
    let addr = COctetString::try_from(addr).map_err(|e| bad(e.to_string()))?;
    Ok(Address::new(ton, npi, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> (u8, u8, String) {
        let address = address("From", text).unwrap();
        let addr = address.addr.to_str().unwrap().to_string();
        (address.ton, address.npi, addr)
    }

    #[test]
    fn a_plus_number_is_international_without_its_plus() {
        assert_eq!(parts("+12025550160"), (1, 1, "12025550160".into()));
        assert_eq!(parts(" +4412 "), (1, 1, "4412".into()));
    }

    #[test]
    fn a_long_digit_string_is_international() {
        assert_eq!(parts("447700900123"), (1, 1, "447700900123".into()));
    }

    #[test]
    fn a_short_digit_string_is_a_short_code() {
        assert_eq!(parts("12345"), (6, 1, "12345".into()));
        assert_eq!(parts("12345678"), (6, 1, "12345678".into()));
    }

    #[test]
    fn anything_else_is_alphanumeric() {
        assert_eq!(parts("Acme"), (5, 0, "Acme".into()));
        assert_eq!(parts("+Acme"), (5, 0, "+Acme".into()));
    }

    #[test]
    fn empty_overlong_or_nul_addresses_are_refused() {
        for bad in ["", "  ", "123456789012345678901", "a\0b"] {
            let refusal = address("From", bad).unwrap_err();
            assert_eq!(refusal.status, StatusCode::BAD_REQUEST, "{bad:?}");
            assert!(refusal.reason.starts_with("\"From\""), "{}", refusal.reason);
        }
    }

    #[test]
    fn the_text_is_utf16_big_endian_whole() {
        let fields = Fields::from_urlencoded(
            "From=%2B1202555016&To=12345&Body=h%C3%A9%F0%9F%98%80".as_bytes(),
        )
        .unwrap();
        let Ok(InboundEvent::Mo(mo)) = read("acme", &ProviderWebhookConfig::default(), &fields)
        else {
            panic!("not an MO");
        };
        assert_eq!(mo.data_coding, 8);
        assert_eq!(
            &mo.short_message[..],
            &[0x00, 0x68, 0x00, 0xE9, 0xD8, 0x3D, 0xDE, 0x00]
        );
        assert!(mo.tlvs.is_empty());
        assert_eq!(mo.esm_class, 0);
    }
}
