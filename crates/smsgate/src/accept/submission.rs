//! [`Submission`]: what a customer asked to send, in protocol-neutral terms.
//! Each ingress (submit_sm, data_sm, submit_multi, the HTTP API) builds one
//! and hands it to [`Acceptor::accept`](super::Acceptor::accept); from then
//! on no code asks which protocol it came by.

use bytes::Bytes;
use smpp::{Address, COctetString, DataSm, SubmitMulti, SubmitSm, TlvList};

/// One message to one destination, as the customer submitted it: nothing
/// here is validated yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submission {
    /// Where the customer wants the message's state changes POSTed (HTTP API only).
    pub callback_url: Option<String>,
    /// The customer's own reference, stored and put in status callbacks (HTTP API only).
    pub client_ref: Option<String>,
    /// Labels routes can match on (`tag` filters); HTTP API only, checked by it.
    pub tags: Vec<String>,
    /// The sender; an empty address asks for the account's default sender.
    pub source: Address,
    /// The recipient.
    pub destination: Address,
    /// esm_class: the UDHI bit says whether the message starts with a UDH.
    pub esm_class: u8,
    /// The alphabet of the message octets.
    pub data_coding: u8,
    /// GSM protocol identifier, passed on.
    pub protocol_id: u8,
    /// priority_flag, passed on.
    pub priority: u8,
    /// Which receipts the customer wants.
    pub registered_delivery: u8,
    /// Up to 254 octets of message; empty when `message_payload` carries it.
    pub short_message: Bytes,
    /// The whole message in one TLV (data_sm, or submit_sm for long texts).
    pub message_payload: Option<Bytes>,
    /// When to send it (SMPP time), empty for now.
    pub schedule_delivery_time: COctetString,
    /// When to give up (SMPP time), empty for the gateway's default.
    pub validity_period: COctetString,
    /// sar_msg_ref_num, sar_total_segments, sar_segment_seqnum: this PDU is
    /// one part of a long message numbered by TLVs instead of a UDH.
    pub sar: Option<(u16, u8, u8)>,
}

impl Submission {
    /// A submit_sm.
    pub fn from_submit_sm(sm: &SubmitSm) -> Self {
        Submission {
            callback_url: None,
            client_ref: None,
            tags: Vec::new(),
            source: sm.source.clone(),
            destination: sm.destination.clone(),
            esm_class: sm.esm_class,
            data_coding: sm.data_coding,
            protocol_id: sm.protocol_id,
            priority: sm.priority_flag,
            registered_delivery: sm.registered_delivery,
            short_message: sm.short_message.clone(),
            message_payload: sm.tlvs.message_payload().cloned(),
            schedule_delivery_time: sm.schedule_delivery_time.clone(),
            validity_period: sm.validity_period.clone(),
            sar: sm.tlvs.sar(),
        }
    }

    /// A data_sm: the message travels in message_payload; data_sm has no
    /// protocol_id, priority or times, so those take their defaults.
    pub fn from_data_sm(sm: &DataSm) -> Self {
        Submission {
            callback_url: None,
            client_ref: None,
            tags: Vec::new(),
            source: sm.source.clone(),
            destination: sm.destination.clone(),
            esm_class: sm.esm_class,
            data_coding: sm.data_coding,
            registered_delivery: sm.registered_delivery,
            message_payload: sm.tlvs.message_payload().cloned(),
            sar: sm.tlvs.sar(),
            ..Submission::default()
        }
    }

    /// One destination of a submit_multi: the ingress accepts each SME
    /// destination on its own (and lists the refused ones in
    /// submit_multi_resp); distribution lists are not ours to expand.
    pub fn from_submit_multi(sm: &SubmitMulti, destination: &Address) -> Self {
        Submission {
            callback_url: None,
            client_ref: None,
            tags: Vec::new(),
            source: sm.source.clone(),
            destination: destination.clone(),
            esm_class: sm.esm_class,
            data_coding: sm.data_coding,
            protocol_id: sm.protocol_id,
            priority: sm.priority_flag,
            registered_delivery: sm.registered_delivery,
            short_message: sm.short_message.clone(),
            message_payload: sm.tlvs.message_payload().cloned(),
            schedule_delivery_time: sm.schedule_delivery_time.clone(),
            validity_period: sm.validity_period.clone(),
            sar: sm.tlvs.sar(),
        }
    }

    /// Whether esm_class says the message starts with a User Data Header.
    pub fn has_udh(&self) -> bool {
        self.esm_class & smpp::types::esm_class::UDHI != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smpp::Tlv;

    #[test]
    fn submit_sm_tlvs_become_payload_and_sar() {
        let sm = SubmitSm {
            priority_flag: 2,
            tlvs: vec![
                Tlv::SarMsgRefNum(9),
                Tlv::SarTotalSegments(2),
                Tlv::SarSegmentSeqnum(1),
                Tlv::MessagePayload(Bytes::from_static(b"long text")),
            ],
            ..SubmitSm::default()
        };
        let submission = Submission::from_submit_sm(&sm);
        assert_eq!(submission.sar, Some((9, 2, 1)));
        assert_eq!(
            submission.message_payload.as_deref(),
            Some(&b"long text"[..])
        );
        assert_eq!(submission.priority, 2);
    }

    #[test]
    fn data_sm_has_no_short_message_or_times() {
        let sm = DataSm {
            data_coding: 8,
            tlvs: vec![Tlv::MessagePayload(Bytes::from_static(&[0, 0x48]))],
            ..DataSm::default()
        };
        let submission = Submission::from_data_sm(&sm);
        assert!(submission.short_message.is_empty());
        assert!(submission.validity_period.is_empty());
        assert_eq!(submission.data_coding, 8);
        assert_eq!(submission.message_payload.as_deref(), Some(&[0, 0x48][..]));
    }
}
