//! A stored message in the form a connector's carrier takes long messages
//! (`[connectors.NAME] long_messages`):
//!
//! - `udh` (default): every part carries a concatenation UDH. A part the
//!   customer numbered with SAR TLVs gets the UDH instead; a long message
//!   sent whole (message_payload, or a short_message longer than one SMS)
//!   is split into UDH segments.
//! - `sar`: parts are numbered by the sar_* TLVs, no UDH: a UDH part loses
//!   its concatenation header for the TLVs; a long message is split so.
//! - `payload`: a long message goes whole in message_payload, for carriers
//!   that split themselves; parts the customer split go as they came.
//!
//! A message the customer split stays one submit per stored part; a long
//! message sent whole becomes several submits here, one per segment.

use bytes::Bytes;
use serde::Deserialize;
use smpp::Tlv;
use smpp::types::esm_class;
use smstext::{Encoding, SplitMethod};

use crate::store::{MessageRecord, PartInfo};

/// How a carrier wants long messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LongMessages {
    /// A concatenation UDH in each segment.
    #[default]
    Udh,
    /// The sar_* TLVs on each segment.
    Sar,
    /// The whole message in message_payload.
    Payload,
}

/// The most octets of one SMS's user data.
const SMS_OCTETS: usize = 140;

/// One submit's content: esm_class, short_message and TLVs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shaped {
    /// esm_class (UDHI set when short_message starts with a UDH).
    pub esm_class: u8,
    /// The octets for short_message (empty when in message_payload).
    pub short_message: Bytes,
    /// SAR or message_payload TLVs.
    pub tlvs: Vec<Tlv>,
}

/// The submits for `message` on a carrier wanting `policy`.
pub fn shape(message: &MessageRecord, policy: LongMessages) -> Vec<Shaped> {
    let payload = &message.payload;
    let has_udh = message.esm_class & esm_class::UDHI != 0;
    if let Some(part) = message.part {
        return vec![shape_part(
            message.esm_class,
            payload,
            has_udh,
            part,
            policy,
        )];
    }
    if has_udh || payload.len() <= SMS_OCTETS {
        return vec![Shaped {
            esm_class: message.esm_class,
            short_message: Bytes::from(payload.clone()),
            tlvs: Vec::new(),
        }];
    }
    if policy == LongMessages::Payload {
        return vec![whole(message)];
    }
    split(message, policy).unwrap_or_else(|| vec![whole(message)])
}

/// The whole message in message_payload.
fn whole(message: &MessageRecord) -> Shaped {
    Shaped {
        esm_class: message.esm_class,
        short_message: Bytes::new(),
        tlvs: vec![Tlv::MessagePayload(Bytes::from(message.payload.clone()))],
    }
}

/// A part the customer split, numbered as the carrier wants.
fn shape_part(
    esm: u8,
    payload: &[u8],
    has_udh: bool,
    part: PartInfo,
    policy: LongMessages,
) -> Shaped {
    let sar_tlvs = || {
        vec![
            Tlv::SarMsgRefNum(part.reference),
            Tlv::SarTotalSegments(part.total),
            Tlv::SarSegmentSeqnum(part.seq),
        ]
    };
    match (policy, has_udh) {
        // As it came: its own UDH, or its SAR numbering.
        (LongMessages::Udh | LongMessages::Payload, true) => Shaped {
            esm_class: esm,
            short_message: Bytes::copy_from_slice(payload),
            tlvs: Vec::new(),
        },
        (LongMessages::Payload | LongMessages::Sar, false) => Shaped {
            esm_class: esm,
            short_message: Bytes::copy_from_slice(payload),
            tlvs: sar_tlvs(),
        },
        (LongMessages::Udh, false) => {
            let mut short_message = concat_udh(part);
            short_message.extend_from_slice(payload);
            Shaped {
                esm_class: esm | esm_class::UDHI,
                short_message: Bytes::from(short_message),
                tlvs: Vec::new(),
            }
        }
        (LongMessages::Sar, true) => {
            let body = payload
                .first()
                .and_then(|len| payload.get(1 + usize::from(*len)..))
                .unwrap_or_default();
            Shaped {
                esm_class: esm & !esm_class::UDHI,
                short_message: Bytes::copy_from_slice(body),
                tlvs: sar_tlvs(),
            }
        }
    }
}

/// A concatenation UDH for a part: 8-bit reference when it fits, else 16-bit.
fn concat_udh(part: PartInfo) -> Vec<u8> {
    match u8::try_from(part.reference) {
        Ok(reference) => vec![5, 0x00, 3, reference, part.total, part.seq],
        Err(_) => {
            let [high, low] = part.reference.to_be_bytes();
            vec![6, 0x08, 4, high, low, part.total, part.seq]
        }
    }
}

/// A long message sent whole, split into segments with a UDH or SAR.
/// `None` when its text cannot be read in its data_coding (then it goes
/// whole in message_payload).
fn split(message: &MessageRecord, policy: LongMessages) -> Option<Vec<Shaped>> {
    let encoding = Encoding::from_data_coding(message.data_coding).ok()?;
    let text = smstext::decode(message.data_coding, &message.payload).ok()?;
    let encoded = smstext::encode(&text, encoding).ok()?;
    let method = match policy {
        LongMessages::Sar => SplitMethod::Sar(rand::random::<u16>()),
        _ => SplitMethod::Udh8(rand::random::<u8>()),
    };
    let segments = smstext::split(&encoded, method).ok()?;
    Some(
        segments
            .iter()
            .map(|segment| Shaped {
                esm_class: if segment.udh().is_some() {
                    message.esm_class | esm_class::UDHI
                } else {
                    message.esm_class
                },
                short_message: Bytes::from(segment.short_message()),
                tlvs: segment
                    .sar()
                    .map(|concat| {
                        vec![
                            Tlv::SarMsgRefNum(concat.reference()),
                            Tlv::SarTotalSegments(concat.total()),
                            Tlv::SarSegmentSeqnum(concat.seq()),
                        ]
                    })
                    .unwrap_or_default(),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::store::{Direction, MessageState, Origin, StoredAddress};

    fn message(payload: &[u8], esm_class: u8, part: Option<PartInfo>) -> MessageRecord {
        let address = StoredAddress {
            ton: 1,
            npi: 1,
            addr: "447911123456".into(),
        };
        MessageRecord {
            id: "m".into(),
            group_id: "m".into(),
            account: "a".into(),
            state: MessageState::Queued,
            source: address.clone(),
            destination: address,
            esm_class,
            data_coding: 0,
            registered_delivery: 1,
            schedule_at: None,
            expires_at: None,
            payload: payload.to_vec(),
            part,
            segments: 1,
            cost: 1,
            origin: Origin {
                protocol: "smpp".into(),
                remote_addr: None,
                tls: false,
                session_id: None,
            },
            accepted_at: SystemTime::now(),
            direction: Direction::Mt,
            connector: None,
            tags: Vec::new(),
            client_ref: None,
            trace: Vec::new(),
        }
    }

    const PART: PartInfo = PartInfo {
        reference: 0x42,
        total: 2,
        seq: 1,
    };

    #[test]
    fn a_short_message_goes_as_it_is_whatever_the_policy() {
        for policy in [LongMessages::Udh, LongMessages::Sar, LongMessages::Payload] {
            let shaped = shape(&message(b"hello", 0, None), policy);
            assert_eq!(shaped.len(), 1);
            assert_eq!(&shaped[0].short_message[..], b"hello");
            assert!(shaped[0].tlvs.is_empty());
        }
    }

    #[test]
    fn a_sar_part_gets_a_udh_for_a_udh_carrier_and_keeps_its_tlvs_for_a_sar_one() {
        let part = message(b"first half", 0, Some(PART));
        let udh = &shape(&part, LongMessages::Udh)[0];
        assert_eq!(udh.esm_class, esm_class::UDHI);
        assert_eq!(&udh.short_message[..6], &[5, 0, 3, 0x42, 2, 1]);
        assert_eq!(&udh.short_message[6..], b"first half");
        let sar = &shape(&part, LongMessages::Sar)[0];
        assert_eq!(&sar.short_message[..], b"first half");
        assert!(sar.tlvs.contains(&Tlv::SarMsgRefNum(0x42)));
        assert!(sar.tlvs.contains(&Tlv::SarSegmentSeqnum(1)));
    }

    #[test]
    fn a_udh_part_loses_its_udh_for_sar_tlvs_on_a_sar_carrier() {
        let mut payload = vec![5, 0, 3, 0x42, 2, 1];
        payload.extend_from_slice(b"first half");
        let part = message(&payload, esm_class::UDHI, Some(PART));
        let sar = &shape(&part, LongMessages::Sar)[0];
        assert_eq!(sar.esm_class & esm_class::UDHI, 0);
        assert_eq!(&sar.short_message[..], b"first half");
        assert!(sar.tlvs.contains(&Tlv::SarTotalSegments(2)));
        let kept = &shape(&part, LongMessages::Udh)[0];
        assert_eq!(&kept.short_message[..], &payload[..]);
    }

    #[test]
    fn a_long_whole_message_is_split_for_udh_and_sar_carriers_and_kept_whole_for_payload() {
        let text = "x".repeat(300);
        let long = message(text.as_bytes(), 0, None);
        let udh = shape(&long, LongMessages::Udh);
        assert_eq!(udh.len(), 2, "153 + 147 characters");
        assert!(udh.iter().all(|s| s.esm_class & esm_class::UDHI != 0));
        let sar = shape(&long, LongMessages::Sar);
        assert_eq!(sar.len(), 2);
        assert!(sar.iter().all(|s| s.tlvs.len() == 3));
        let whole = shape(&long, LongMessages::Payload);
        assert_eq!(whole.len(), 1);
        assert!(whole[0].short_message.is_empty());
        assert_eq!(
            whole[0].tlvs,
            vec![Tlv::MessagePayload(Bytes::from(text.into_bytes()))]
        );
    }
}
