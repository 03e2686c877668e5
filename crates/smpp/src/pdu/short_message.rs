//! submit_sm and deliver_sm (one layout), and the resps that carry a message_id.

use bytes::Bytes;

use crate::status::CommandStatus;
use crate::tlv::Tlv;
use crate::types::{Address, COctetString};
use crate::wire::{BodyResult, Reader, Sink, put_address, put_cstr, put_short_message, put_tlvs};

/// Maximum source_addr / destination_addr length in submit_sm and deliver_sm, NUL included.
pub const ADDR_MAX: usize = 21;
/// Maximum message_id length, NUL included.
pub const MESSAGE_ID_MAX: usize = 65;
/// Maximum length of an SMPP time field, NUL included (16 characters).
pub const TIME_MAX: usize = 17;

/// The body of submit_sm (ESME to SMSC) and deliver_sm (SMSC to ESME: MO
/// messages and delivery receipts), which share one layout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitSm {
    /// service_type: the SMS application service (often empty).
    pub service_type: COctetString,
    /// The sender.
    pub source: Address,
    /// The recipient.
    pub destination: Address,
    /// Message mode and type, UDHI; see [`crate::types::esm_class`].
    pub esm_class: u8,
    /// GSM protocol identifier.
    pub protocol_id: u8,
    /// 0 (lowest) to 3.
    pub priority_flag: u8,
    /// When to deliver (SMPP time format), empty for now.
    pub schedule_delivery_time: COctetString,
    /// When to give up (SMPP time format), empty for the SMSC's default.
    pub validity_period: COctetString,
    /// Which receipts are wanted; see [`crate::types::registered_delivery`].
    pub registered_delivery: u8,
    /// Whether to replace an earlier message with the same source, destination and service_type.
    pub replace_if_present_flag: u8,
    /// The alphabet and message class of short_message.
    pub data_coding: u8,
    /// A canned message's id, 0 if none.
    pub sm_default_msg_id: u8,
    /// Up to 254 octets of message (with its UDH if UDHI is set); empty when
    /// message_payload is used instead.
    pub short_message: Bytes,
    /// The optional parameters.
    pub tlvs: Vec<Tlv>,
}

/// deliver_sm has the same layout as submit_sm.
pub type DeliverSm = SubmitSm;

impl SubmitSm {
    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        Ok(SubmitSm {
            service_type: r.cstr("service_type", 6, CommandStatus::ESME_RINVSERTYP)?,
            source: r.address(
                ["source_addr_ton", "source_addr_npi", "source_addr"],
                ADDR_MAX,
                CommandStatus::ESME_RINVSRCADR,
            )?,
            destination: r.address(
                ["dest_addr_ton", "dest_addr_npi", "destination_addr"],
                ADDR_MAX,
                CommandStatus::ESME_RINVDSTADR,
            )?,
            esm_class: r.u8("esm_class")?,
            protocol_id: r.u8("protocol_id")?,
            priority_flag: r.u8("priority_flag")?,
            schedule_delivery_time: r.cstr(
                "schedule_delivery_time",
                TIME_MAX,
                CommandStatus::ESME_RINVSCHED,
            )?,
            validity_period: r.cstr("validity_period", TIME_MAX, CommandStatus::ESME_RINVEXPIRY)?,
            registered_delivery: r.u8("registered_delivery")?,
            replace_if_present_flag: r.u8("replace_if_present_flag")?,
            data_coding: r.u8("data_coding")?,
            sm_default_msg_id: r.u8("sm_default_msg_id")?,
            short_message: r.short_message()?,
            tlvs: r.tlvs()?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.service_type);
        put_address(dst, &self.source);
        put_address(dst, &self.destination);
        dst.u8(self.esm_class);
        dst.u8(self.protocol_id);
        dst.u8(self.priority_flag);
        put_cstr(dst, &self.schedule_delivery_time);
        put_cstr(dst, &self.validity_period);
        dst.u8(self.registered_delivery);
        dst.u8(self.replace_if_present_flag);
        dst.u8(self.data_coding);
        dst.u8(self.sm_default_msg_id);
        put_short_message(dst, &self.short_message);
        put_tlvs(dst, &self.tlvs);
    }

    /// Whether esm_class marks this as a delivery receipt (or another SMSC
    /// acknowledgement) rather than a message.
    pub fn is_receipt(&self) -> bool {
        self.esm_class & crate::types::esm_class::TYPE_MASK != 0
    }

    /// Whether short_message starts with a User Data Header.
    pub fn has_udh(&self) -> bool {
        self.esm_class & crate::types::esm_class::UDHI != 0
    }
}

/// The body of submit_sm_resp, deliver_sm_resp and data_sm_resp: a
/// message_id (unused, empty, in deliver_sm_resp) and, in SMPP 5.0, TLVs
/// such as additional_status_info_text or network_error_code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageIdResp {
    /// The id the receiver gave the message.
    pub message_id: COctetString,
    /// The optional parameters.
    pub tlvs: Vec<Tlv>,
}

impl MessageIdResp {
    /// A response carrying just a message id.
    pub fn new(message_id: COctetString) -> Self {
        MessageIdResp {
            message_id,
            tlvs: Vec::new(),
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        Ok(MessageIdResp {
            message_id: r.cstr("message_id", MESSAGE_ID_MAX, CommandStatus::ESME_RINVMSGID)?,
            tlvs: r.tlvs()?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.message_id);
        put_tlvs(dst, &self.tlvs);
    }

    pub(crate) fn is_blank(&self) -> bool {
        self.message_id.is_empty() && self.tlvs.is_empty()
    }
}
