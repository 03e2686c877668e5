//! Steps 3 and 4: the alphabet (data_coding) and the message itself —
//! lengths, the UDH, and how many segments (and so credits) it costs.
//!
//! Charging rules:
//! - a PDU that carries a concatenation UDH element or SAR TLVs is ONE
//!   segment of a long message the customer split; it is stored as that
//!   part ([`PartInfo`]) and the store links the parts into one message;
//! - anything else (a message_payload, or a short_message longer than one
//!   SMS) costs the segments it will be sent as: counted in the data_coding
//!   the customer chose, cut as `smstext::split` cuts (8-bit reference UDH,
//!   never inside an escape sequence or surrogate pair). Binary is counted
//!   by octets.

use bytes::Bytes;
use smpp::CommandStatus;
use smstext::{Concat, Encoding, SplitMethod};

use super::{AcceptConfig, Rejection, Submission};
use crate::store::PartInfo;

/// The most octets SMPP allows in short_message.
pub const MAX_SHORT_MESSAGE_LEN: usize = 254;
/// Octets of user data in one SMS.
const SMS_OCTETS: usize = 140;
/// Octets of a concatenation UDH with an 8-bit reference.
const CONCAT_UDH_OCTETS: usize = 6;

/// A message whose content passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The alphabet data_coding announced.
    pub encoding: Encoding,
    /// The octets to store: short_message or message_payload, UDH included.
    pub payload: Bytes,
    /// Set when the PDU is one part of a long message.
    pub part: Option<PartInfo>,
    /// Segments it costs: 1 for a part or a message that fits one SMS.
    pub segments: u32,
}

fn too_long(reason: String) -> Rejection {
    Rejection::new(
        CommandStatus::ESME_RINVMSGLEN,
        "invalid_message_length",
        reason,
    )
}

/// Step 3: the data_coding must announce an alphabet we can carry (the
/// text alphabets smstext knows, and 8-bit binary).
pub fn encoding(submission: &Submission) -> Result<Encoding, Rejection> {
    Encoding::from_data_coding(submission.data_coding).map_err(|unsupported| {
        Rejection::new(
            CommandStatus::ESME_RINVDCS,
            "unsupported_data_coding",
            unsupported.to_string(),
        )
    })
}

/// Step 4: lengths, the UDH and the segment count.
///
/// A UDHI flag with a UDH that does not parse is answered with
/// ESME_RINVESMCLASS, not ESME_RINVMSGLEN: the usual cause is a client that
/// sets UDHI by mistake, and the esm_class status points at that. SAR TLVs
/// whose part number is outside 1..=total are answered with
/// ESME_RINVOPTPARAMVAL: sending such a fragment as a message of its own
/// would deliver garbage.
pub fn content(
    submission: &Submission,
    encoding: Encoding,
    config: &AcceptConfig,
) -> Result<Content, Rejection> {
    let short_message = &submission.short_message;
    if short_message.len() > MAX_SHORT_MESSAGE_LEN {
        return Err(too_long(format!(
            "short_message has {} octets; at most {MAX_SHORT_MESSAGE_LEN} are allowed (use message_payload for longer messages)",
            short_message.len()
        )));
    }
    let payload = match &submission.message_payload {
        Some(_) if !short_message.is_empty() => {
            return Err(too_long(
                "both short_message and message_payload are set; send the message in one of them"
                    .into(),
            ));
        }
        Some(payload) if payload.len() > config.max_payload_len => {
            return Err(too_long(format!(
                "message_payload has {} octets; at most {} are allowed",
                payload.len(),
                config.max_payload_len
            )));
        }
        Some(payload) => payload.clone(),
        None => short_message.clone(),
    };
    // As the HTTP API refuses an empty `text`: a message of nothing is a
    // client's mistake, and would be charged and sent as a blank SMS.
    if payload.is_empty() {
        return Err(too_long(
            "the message is empty: short_message (or message_payload) carries no octets".into(),
        ));
    }

    let (udh_concat, body) = if submission.has_udh() {
        let udh = smstext::parse_udh(&payload).map_err(|error| {
            Rejection::new(
                CommandStatus::ESME_RINVESMCLASS,
                "invalid_udh",
                format!("esm_class has UDHI set but the message has no valid UDH: {error}"),
            )
        })?;
        (
            udh.concat(),
            payload.get(udh.header_len()..).unwrap_or_default(),
        )
    } else {
        (None, &payload[..])
    };

    let concat = match (udh_concat, submission.sar) {
        (Some(concat), _) => Some(concat),
        (None, Some((reference, total, seq))) => {
            Some(Concat::new(reference, total, seq).map_err(|error| {
                Rejection::new(
                    CommandStatus::ESME_RINVOPTPARAMVAL,
                    "invalid_sar",
                    format!("the SAR TLVs are invalid: {error}"),
                )
            })?)
        }
        (None, None) => None,
    };
    let (part, segments) = match concat {
        Some(concat) => (
            Some(PartInfo {
                reference: concat.reference(),
                total: concat.total(),
                seq: concat.seq(),
            }),
            1,
        ),
        None => (
            None,
            count_segments(encoding, submission.data_coding, body)?,
        ),
    };
    Ok(Content {
        encoding,
        payload,
        part,
        segments,
    })
}

/// Segments a message body (no UDH) costs in its own encoding. Short bodies
/// are one segment without looking at the text; longer text is decoded and
/// cut as smstext would send it. Text that does not decode in its announced
/// alphabet (packed septets, say) is counted by units, as binary is by octets.
fn count_segments(encoding: Encoding, data_coding: u8, body: &[u8]) -> Result<u32, Rejection> {
    let octets_per_unit = if encoding == Encoding::Ucs2 { 2 } else { 1 };
    let units = body.len().div_ceil(octets_per_unit);
    let (single, per_part) = match encoding {
        Encoding::Gsm7 | Encoding::Ascii => {
            (SMS_OCTETS * 8 / 7, (SMS_OCTETS - CONCAT_UDH_OCTETS) * 8 / 7)
        }
        Encoding::Latin1 | Encoding::Binary => (SMS_OCTETS, SMS_OCTETS - CONCAT_UDH_OCTETS),
        Encoding::Ucs2 => (SMS_OCTETS / 2, (SMS_OCTETS - CONCAT_UDH_OCTETS) / 2),
    };
    if units <= single {
        return Ok(1);
    }
    let text = smstext::decode(data_coding, body)
        .ok()
        .and_then(|text| smstext::encode(&text, encoding).ok());
    let segments = match text {
        Some(encoded) => smstext::split(&encoded, SplitMethod::Udh8(0))
            .map(|segments| segments.len())
            .map_err(|error| too_long(format!("the message is too long: {error}")))?,
        None => units.div_ceil(per_part),
    };
    if segments > smstext::MAX_SEGMENTS {
        return Err(too_long(format!(
            "the message needs {segments} segments; at most {} are possible",
            smstext::MAX_SEGMENTS
        )));
    }
    u32::try_from(segments).map_err(|_| too_long(format!("the message needs {segments} segments")))
}
