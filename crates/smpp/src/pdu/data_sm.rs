//! data_sm (the TLV-based alternative to submit_sm/deliver_sm) and
//! alert_notification.

use crate::status::CommandStatus;
use crate::tlv::Tlv;
use crate::types::{Address, COctetString};
use crate::wire::{BodyResult, Reader, Sink, put_address, put_cstr, put_tlvs};

/// Maximum address length in data_sm and alert_notification, NUL included.
pub const WIDE_ADDR_MAX: usize = 65;

/// The body of data_sm: addressing and flags only; the text travels in the
/// message_payload TLV.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataSm {
    /// service_type.
    pub service_type: COctetString,
    /// The sender.
    pub source: Address,
    /// The recipient.
    pub destination: Address,
    /// Message mode and type, UDHI.
    pub esm_class: u8,
    /// Which receipts are wanted.
    pub registered_delivery: u8,
    /// The alphabet of message_payload.
    pub data_coding: u8,
    /// The optional parameters, normally including message_payload.
    pub tlvs: Vec<Tlv>,
}

impl DataSm {
    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        Ok(DataSm {
            service_type: r.cstr("service_type", 6, CommandStatus::ESME_RINVSERTYP)?,
            source: r.address(
                ["source_addr_ton", "source_addr_npi", "source_addr"],
                WIDE_ADDR_MAX,
                CommandStatus::ESME_RINVSRCADR,
            )?,
            destination: r.address(
                ["dest_addr_ton", "dest_addr_npi", "destination_addr"],
                WIDE_ADDR_MAX,
                CommandStatus::ESME_RINVDSTADR,
            )?,
            esm_class: r.u8("esm_class")?,
            registered_delivery: r.u8("registered_delivery")?,
            data_coding: r.u8("data_coding")?,
            tlvs: r.tlvs()?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.service_type);
        put_address(dst, &self.source);
        put_address(dst, &self.destination);
        dst.u8(self.esm_class);
        dst.u8(self.registered_delivery);
        dst.u8(self.data_coding);
        put_tlvs(dst, &self.tlvs);
    }
}

/// alert_notification: the SMSC tells the ESME a handset became reachable.
/// It has no response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertNotification {
    /// The handset that became available.
    pub source: Address,
    /// The ESME that asked to be alerted.
    pub esme: Address,
    /// Optional: ms_availability_status.
    pub tlvs: Vec<Tlv>,
}

impl AlertNotification {
    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        Ok(AlertNotification {
            source: r.address(
                ["source_addr_ton", "source_addr_npi", "source_addr"],
                WIDE_ADDR_MAX,
                CommandStatus::ESME_RINVSRCADR,
            )?,
            esme: r.address(
                ["esme_addr_ton", "esme_addr_npi", "esme_addr"],
                WIDE_ADDR_MAX,
                CommandStatus::ESME_RINVDSTADR,
            )?,
            tlvs: r.tlvs()?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_address(dst, &self.source);
        put_address(dst, &self.esme);
        put_tlvs(dst, &self.tlvs);
    }
}
