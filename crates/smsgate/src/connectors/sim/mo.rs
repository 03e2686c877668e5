//! Mobile-originated messages: a handset "replies" every `mo_interval`, to
//! each system_id that has a receiver or transceiver bound.
//!
//! MO messages are not kept for later like receipts: one generated while
//! nobody can receive it is simply not generated, as a test or a benchmark
//! wants a steady trickle, not a burst after each bind.

use std::sync::Arc;

use bytes::Bytes;
use smpp::session::SessionHandle;
use smpp::types::{npi, ton};
use smpp::{Address, Body, COctetString, DeliverSm};
use smstext::EncodeOptions;

use super::config::{Delay, SimConfig, SimConfigError};
use super::{Shared, bump};

/// The longest short_message.
const SHORT_MESSAGE_MAX: usize = 254;
/// The longest source_addr / destination_addr of a deliver_sm, NUL excluded.
const ADDRESS_MAX: usize = 20;

/// The MO deliver_sm the configuration describes.
pub(super) fn message(config: &SimConfig) -> Result<DeliverSm, SimConfigError> {
    let encoded = smstext::encode_best(&config.mo_text, EncodeOptions::default());
    if encoded.data().len() > SHORT_MESSAGE_MAX {
        return Err(SimConfigError(format!(
            "mo_text is {} octets as {}; one SMS holds at most {SHORT_MESSAGE_MAX}",
            encoded.data().len(),
            encoded.encoding()
        )));
    }
    Ok(DeliverSm {
        source: address("mo_source", &config.mo_source)?,
        destination: address("mo_destination", &config.mo_destination)?,
        data_coding: encoded.encoding().data_coding(),
        short_message: Bytes::from(encoded.into_data()),
        ..DeliverSm::default()
    })
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
    let request = session.request(Body::DeliverSm(shared.plan.mo.clone()));
    tokio::select! {
        _ = request => {}
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
        let mo = message(&config).expect("valid");
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
        let mo = message(&config).expect("valid");
        assert_eq!(mo.data_coding, 0x08);
        assert_eq!(mo.short_message.len(), 12);
    }
}
