//! Mobile-originated messages: a handset "replies" every `mo_interval`, to
//! each system_id that has a receiver or transceiver bound.
//!
//! MO messages are not kept for later like receipts: one generated while
//! nobody can receive it is simply not generated, as a test or a benchmark
//! wants a steady trickle, not a burst after each bind.

use std::sync::Arc;

use bytes::Bytes;
use smpp::session::SessionHandle;
use smpp::types::esm_class;
use smpp::types::{npi, ton};
use smpp::{Address, Body, COctetString, DeliverSm};
use smstext::{EncodeOptions, SplitMethod};

/// The concatenation reference of the simulator's long MO messages.
const MO_REFERENCE: u8 = 0x5A;

use super::config::{Delay, SimConfig, SimConfigError};
use super::{Shared, bump};

/// The longest short_message.
const SHORT_MESSAGE_MAX: usize = 254;
/// The longest source_addr / destination_addr of a deliver_sm, NUL excluded.
const ADDRESS_MAX: usize = 20;

/// The MO deliver_sm the configuration describes: one, or for a text
/// longer than one SMS, its segments with a concatenation UDH (as a
/// network delivers a long message from a handset), sent in order.
pub(super) fn message(config: &SimConfig) -> Result<Vec<DeliverSm>, SimConfigError> {
    let encoded = smstext::encode_best(&config.mo_text, EncodeOptions::default());
    let segments = smstext::split(&encoded, SplitMethod::Udh8(MO_REFERENCE))
        .map_err(|e| SimConfigError(format!("mo_text cannot be split: {e}")))?;
    let source = address("mo_source", &config.mo_source)?;
    let destination = address("mo_destination", &config.mo_destination)?;
    segments
        .iter()
        .map(|segment| {
            let short_message = segment.short_message();
            if short_message.len() > SHORT_MESSAGE_MAX {
                return Err(SimConfigError(format!(
                    "a segment of mo_text is {} octets; one SMS holds at most {SHORT_MESSAGE_MAX}",
                    short_message.len()
                )));
            }
            Ok(DeliverSm {
                source: source.clone(),
                destination: destination.clone(),
                esm_class: if segment.udh().is_some() {
                    esm_class::UDHI
                } else {
                    0
                },
                data_coding: segment.encoding().data_coding(),
                short_message: Bytes::from(short_message),
                ..DeliverSm::default()
            })
        })
        .collect()
}

/// An address with the TON and NPI its text implies: a long number is
/// international, a short one a short code, anything else an
/// alphanumeric sender id.
fn address(key: &str, text: &str) -> Result<Address, SimConfigError> {
    if text.is_empty() || text.len() > ADDRESS_MAX {
        return Err(SimConfigError(format!(
            "{key} must be 1 to {ADDRESS_MAX} characters, not {text:?}"
        )));
    }
    let addr =
        COctetString::try_from(text).map_err(|e| SimConfigError(format!("{key} {text:?}: {e}")))?;
    let digits = text.bytes().all(|b| b.is_ascii_digit());
    Ok(match (digits, text.len()) {
        (true, 9..) => Address::new(ton::INTERNATIONAL, npi::ISDN, addr),
        (true, _) => Address::new(ton::ABBREVIATED, npi::ISDN, addr),
        (false, _) => Address::new(ton::ALPHANUMERIC, npi::UNKNOWN, addr),
    })
}

/// Sends an MO to every system_id with a receiving session, every
/// `interval`, until shutdown.
pub(super) async fn generate(shared: Arc<Shared>, interval: Delay) {
    loop {
        let wait = interval.sample(&mut rand::rng());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.shutdown.cancelled() => return,
        }
        // Collected first, so the routing lock is released before sending.
        let targets = shared.receivers().mo_targets();
        for session in targets {
            shared.tasks.spawn(send(Arc::clone(&shared), session));
        }
    }
}

/// Sends one MO. It is not sent again if the ESME refuses it.
async fn send(shared: Arc<Shared>, session: SessionHandle) {
    bump(&shared.counters.mo_sent);
    let segments = async {
        let mut all_ok = true;
        for segment in &shared.plan.mo {
            // The next segment only after this one's answer, so they arrive in order.
            match session.request(Body::DeliverSm(segment.clone())).await {
                Ok(answer) => all_ok &= answer.status.is_ok(),
                Err(_) => return,
            }
        }
        if all_ok {
            bump(&shared.counters.mo_acknowledged);
        }
    };
    tokio::select! {
        () = segments => {}
        () = shared.shutdown.cancelled() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mo_addresses_get_the_ton_their_text_implies() {
        let config = SimConfig {
            mo_source: "447700900123".into(),
            mo_destination: "Shop".into(),
            ..SimConfig::default()
        };
        let mo = &message(&config).expect("valid")[0];
        assert_eq!(
            (mo.source.ton, mo.source.npi),
            (ton::INTERNATIONAL, npi::ISDN)
        );
        assert_eq!(mo.destination.ton, ton::ALPHANUMERIC);
        let short = address("mo_destination", "12345").expect("valid");
        assert_eq!(short.ton, ton::ABBREVIATED);
    }

    #[test]
    fn mo_text_outside_gsm_goes_as_ucs2() {
        let config = SimConfig {
            mo_text: "Привет".into(),
            ..SimConfig::default()
        };
        let mo = &message(&config).expect("valid")[0];
        assert_eq!(mo.data_coding, 0x08);
        assert_eq!(mo.short_message.len(), 12);
    }

    #[test]
    fn long_mo_text_goes_in_segments_with_a_concatenation_udh() {
        let config = SimConfig {
            mo_text: "x".repeat(200),
            ..SimConfig::default()
        };
        let segments = message(&config).expect("valid");
        assert_eq!(segments.len(), 2);
        for (index, segment) in segments.iter().enumerate() {
            assert_eq!(segment.esm_class, esm_class::UDHI);
            let udh = smstext::parse_udh(&segment.short_message).expect("udh");
            let concat = udh.concat().expect("concatenation element");
            assert_eq!((concat.total(), concat.seq()), (2, index as u8 + 1));
        }
    }
}
