//! Operations on a message already submitted: query_sm, cancel_sm, replace_sm.

use bytes::Bytes;

use super::short_message::{ADDR_MAX, MESSAGE_ID_MAX, TIME_MAX};
use crate::status::CommandStatus;
use crate::tlv::Tlv;
use crate::types::{Address, COctetString};
use crate::wire::{BodyResult, Reader, Sink, put_address, put_cstr, put_short_message, put_tlvs};

/// query_sm: ask for a message's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuerySm {
    /// The id the SMSC gave in submit_sm_resp.
    pub message_id: COctetString,
    /// The source address used in the submit.
    pub source: Address,
}

impl QuerySm {
    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        Ok(QuerySm {
            message_id: r.cstr("message_id", MESSAGE_ID_MAX, CommandStatus::ESME_RINVMSGID)?,
            source: r.address(
                ["source_addr_ton", "source_addr_npi", "source_addr"],
                ADDR_MAX,
                CommandStatus::ESME_RINVSRCADR,
            )?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.message_id);
        put_address(dst, &self.source);
    }
}

/// query_sm_resp: a message's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuerySmResp {
    /// The id queried.
    pub message_id: COctetString,
    /// When the message reached its final state (SMPP time), empty if not yet.
    pub final_date: COctetString,
    /// The state, as in the message_state TLV.
    pub message_state: u8,
    /// The network error code, if any.
    pub error_code: u8,
}

impl QuerySmResp {
    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        Ok(QuerySmResp {
            message_id: r.cstr("message_id", MESSAGE_ID_MAX, CommandStatus::ESME_RINVMSGID)?,
            final_date: r.cstr("final_date", TIME_MAX, CommandStatus::ESME_RINVPARLEN)?,
            message_state: r.u8("message_state")?,
            error_code: r.u8("error_code")?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.message_id);
        put_cstr(dst, &self.final_date);
        dst.u8(self.message_state);
        dst.u8(self.error_code);
    }

    pub(crate) fn is_blank(&self) -> bool {
        *self == QuerySmResp::default()
    }
}

/// cancel_sm: withdraw a message not yet delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CancelSm {
    /// service_type.
    pub service_type: COctetString,
    /// The message to cancel; empty to cancel all from source to destination.
    pub message_id: COctetString,
    /// The source address used in the submit.
    pub source: Address,
    /// The destination address used in the submit.
    pub destination: Address,
}

impl CancelSm {
    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        Ok(CancelSm {
            service_type: r.cstr("service_type", 6, CommandStatus::ESME_RINVSERTYP)?,
            message_id: r.cstr("message_id", MESSAGE_ID_MAX, CommandStatus::ESME_RINVMSGID)?,
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
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.service_type);
        put_cstr(dst, &self.message_id);
        put_address(dst, &self.source);
        put_address(dst, &self.destination);
    }
}

/// replace_sm: change a message not yet delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaceSm {
    /// The message to replace.
    pub message_id: COctetString,
    /// The source address used in the submit.
    pub source: Address,
    /// New schedule (SMPP time), empty to keep.
    pub schedule_delivery_time: COctetString,
    /// New validity (SMPP time), empty to keep.
    pub validity_period: COctetString,
    /// New receipt request.
    pub registered_delivery: u8,
    /// New canned message id.
    pub sm_default_msg_id: u8,
    /// New text.
    pub short_message: Bytes,
    /// Optional parameters (SMPP 5.0 allows message_payload here).
    pub tlvs: Vec<Tlv>,
}

impl ReplaceSm {
    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        Ok(ReplaceSm {
            message_id: r.cstr("message_id", MESSAGE_ID_MAX, CommandStatus::ESME_RINVMSGID)?,
            source: r.address(
                ["source_addr_ton", "source_addr_npi", "source_addr"],
                ADDR_MAX,
                CommandStatus::ESME_RINVSRCADR,
            )?,
            schedule_delivery_time: r.cstr(
                "schedule_delivery_time",
                TIME_MAX,
                CommandStatus::ESME_RINVSCHED,
            )?,
            validity_period: r.cstr("validity_period", TIME_MAX, CommandStatus::ESME_RINVEXPIRY)?,
            registered_delivery: r.u8("registered_delivery")?,
            sm_default_msg_id: r.u8("sm_default_msg_id")?,
            short_message: r.short_message()?,
            tlvs: r.tlvs()?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.message_id);
        put_address(dst, &self.source);
        put_cstr(dst, &self.schedule_delivery_time);
        put_cstr(dst, &self.validity_period);
        dst.u8(self.registered_delivery);
        dst.u8(self.sm_default_msg_id);
        put_short_message(dst, &self.short_message);
        put_tlvs(dst, &self.tlvs);
    }
}
