//! submit_multi: one message to many destinations, and its resp listing the
//! destinations that failed.

use bytes::Bytes;

use super::short_message::{ADDR_MAX, MESSAGE_ID_MAX, TIME_MAX};
use crate::error::DecodeErrorKind;
use crate::status::CommandStatus;
use crate::tlv::Tlv;
use crate::types::{Address, COctetString};
use crate::wire::{
    BodyError, BodyResult, Reader, Sink, put_address, put_cstr, put_short_message, put_tlvs,
};

/// One destination of a submit_multi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestAddress {
    /// dest_flag 1: an SME address.
    Sme(Address),
    /// dest_flag 2: the name of a distribution list held by the SMSC.
    DistributionList(COctetString),
}

/// The body of submit_multi.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitMulti {
    /// service_type.
    pub service_type: COctetString,
    /// The sender.
    pub source: Address,
    /// The recipients (at most 255 can be encoded).
    pub destinations: Vec<DestAddress>,
    /// Message mode and type, UDHI.
    pub esm_class: u8,
    /// GSM protocol identifier.
    pub protocol_id: u8,
    /// 0 (lowest) to 3.
    pub priority_flag: u8,
    /// When to deliver (SMPP time format), empty for now.
    pub schedule_delivery_time: COctetString,
    /// When to give up (SMPP time format), empty for the default.
    pub validity_period: COctetString,
    /// Which receipts are wanted.
    pub registered_delivery: u8,
    /// Whether to replace an earlier message.
    pub replace_if_present_flag: u8,
    /// The alphabet of short_message.
    pub data_coding: u8,
    /// A canned message's id, 0 if none.
    pub sm_default_msg_id: u8,
    /// The message.
    pub short_message: Bytes,
    /// The optional parameters.
    pub tlvs: Vec<Tlv>,
}

impl SubmitMulti {
    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        let service_type = r.cstr("service_type", 6, CommandStatus::ESME_RINVSERTYP)?;
        let source = r.address(
            ["source_addr_ton", "source_addr_npi", "source_addr"],
            ADDR_MAX,
            CommandStatus::ESME_RINVSRCADR,
        )?;
        let count = r.u8("number_of_dests")?;
        let mut destinations = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            destinations.push(match r.u8("dest_flag")? {
                1 => DestAddress::Sme(r.address(
                    ["dest_addr_ton", "dest_addr_npi", "destination_addr"],
                    ADDR_MAX,
                    CommandStatus::ESME_RINVDSTADR,
                )?),
                2 => DestAddress::DistributionList(r.cstr(
                    "dl_name",
                    ADDR_MAX,
                    CommandStatus::ESME_RINVDLNAME,
                )?),
                flag => {
                    return Err(BodyError::new(
                        CommandStatus::ESME_RINVDESTFLAG,
                        DecodeErrorKind::InvalidValue {
                            field: "dest_flag",
                            value: u32::from(flag),
                        },
                    ));
                }
            });
        }
        Ok(SubmitMulti {
            service_type,
            source,
            destinations,
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
        let count = self.destinations.len().min(255);
        dst.u8(count as u8);
        for destination in &self.destinations[..count] {
            match destination {
                DestAddress::Sme(address) => {
                    dst.u8(1);
                    put_address(dst, address);
                }
                DestAddress::DistributionList(name) => {
                    dst.u8(2);
                    put_cstr(dst, name);
                }
            }
        }
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
}

/// A destination of a submit_multi that was not accepted, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsuccessSme {
    /// The destination.
    pub address: Address,
    /// The command_status it would have had on its own.
    pub error_status_code: CommandStatus,
}

/// The body of submit_multi_resp.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitMultiResp {
    /// The id given to the message.
    pub message_id: COctetString,
    /// The destinations that failed (at most 255 can be encoded).
    pub unsuccess: Vec<UnsuccessSme>,
    /// Optional parameters (SMPP 5.0).
    pub tlvs: Vec<Tlv>,
}

impl SubmitMultiResp {
    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        let message_id = r.cstr("message_id", MESSAGE_ID_MAX, CommandStatus::ESME_RINVMSGID)?;
        let count = r.u8("no_unsuccess")?;
        let mut unsuccess = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            unsuccess.push(UnsuccessSme {
                address: r.address(
                    ["dest_addr_ton", "dest_addr_npi", "destination_addr"],
                    ADDR_MAX,
                    CommandStatus::ESME_RINVDSTADR,
                )?,
                error_status_code: CommandStatus(r.u32("error_status_code")?),
            });
        }
        Ok(SubmitMultiResp {
            message_id,
            unsuccess,
            tlvs: r.tlvs()?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.message_id);
        let count = self.unsuccess.len().min(255);
        dst.u8(count as u8);
        for sme in &self.unsuccess[..count] {
            put_address(dst, &sme.address);
            dst.u32(sme.error_status_code.0);
        }
        put_tlvs(dst, &self.tlvs);
    }

    pub(crate) fn is_blank(&self) -> bool {
        self.message_id.is_empty() && self.unsuccess.is_empty() && self.tlvs.is_empty()
    }
}
