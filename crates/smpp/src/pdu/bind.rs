//! bind_transmitter / bind_receiver / bind_transceiver, their resps, and outbind.

use super::DecodeLimits;
use crate::status::CommandStatus;
use crate::tlv::Tlv;
use crate::types::{Address, COctetString};
use crate::wire::{BodyResult, Reader, Sink, put_address, put_cstr, put_tlvs};

/// SMPP 3.4's maximum system_id length, NUL included.
pub const SYSTEM_ID_MAX: usize = 16;
/// SMPP 3.4's maximum password length, NUL included.
pub const PASSWORD_MAX: usize = 9;

/// The body of the three bind requests (they share one layout).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bind {
    /// Who is binding (the account).
    pub system_id: COctetString,
    /// Its password.
    pub password: COctetString,
    /// The kind of ESME (often empty).
    pub system_type: COctetString,
    /// 0x34 for SMPP 3.4, 0x50 for 5.0; 0x33 and lower for 3.3 and older.
    pub interface_version: u8,
    /// The range of addresses served by this ESME (ton, npi, regular expression).
    pub address_range: Address,
}

impl Bind {
    pub(crate) fn decode(r: &mut Reader<'_>, limits: &DecodeLimits) -> BodyResult<Self> {
        Ok(Bind {
            system_id: r.cstr(
                "system_id",
                limits.max_credential_len.unwrap_or(SYSTEM_ID_MAX),
                CommandStatus::ESME_RINVSYSID,
            )?,
            password: r.cstr(
                "password",
                limits.max_credential_len.unwrap_or(PASSWORD_MAX),
                CommandStatus::ESME_RINVPASWD,
            )?,
            system_type: r.cstr("system_type", 13, CommandStatus::ESME_RINVSYSTYP)?,
            interface_version: r.u8("interface_version")?,
            address_range: r.address(
                ["addr_ton", "addr_npi", "address_range"],
                41,
                CommandStatus::ESME_RINVPARLEN,
            )?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.system_id);
        put_cstr(dst, &self.password);
        put_cstr(dst, &self.system_type);
        dst.u8(self.interface_version);
        put_address(dst, &self.address_range);
    }
}

/// The body of the three bind resps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindResp {
    /// The SMSC's own id.
    pub system_id: COctetString,
    /// Optional: sc_interface_version tells which SMPP version the SMSC speaks.
    pub tlvs: Vec<Tlv>,
}

impl BindResp {
    pub(crate) fn decode(r: &mut Reader<'_>) -> BodyResult<Self> {
        Ok(BindResp {
            system_id: r.cstr("system_id", SYSTEM_ID_MAX, CommandStatus::ESME_RINVSYSID)?,
            tlvs: r.tlvs()?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.system_id);
        put_tlvs(dst, &self.tlvs);
    }

    pub(crate) fn is_blank(&self) -> bool {
        self.system_id.is_empty() && self.tlvs.is_empty()
    }
}

/// outbind: an SMSC asks an ESME to bind as receiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbind {
    /// The SMSC's id.
    pub system_id: COctetString,
    /// The password the ESME checks.
    pub password: COctetString,
}

impl Outbind {
    pub(crate) fn decode(r: &mut Reader<'_>, limits: &DecodeLimits) -> BodyResult<Self> {
        Ok(Outbind {
            system_id: r.cstr(
                "system_id",
                limits.max_credential_len.unwrap_or(SYSTEM_ID_MAX),
                CommandStatus::ESME_RINVSYSID,
            )?,
            password: r.cstr(
                "password",
                limits.max_credential_len.unwrap_or(PASSWORD_MAX),
                CommandStatus::ESME_RINVPASWD,
            )?,
        })
    }

    pub(crate) fn encode(&self, dst: &mut impl Sink) {
        put_cstr(dst, &self.system_id);
        put_cstr(dst, &self.password);
    }
}
