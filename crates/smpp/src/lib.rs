//! SMPP 3.4 / 5.0: the protocol as bytes and as typed values.
//!
//! This crate owns the wire: PDUs and TLVs ([`pdu`], [`tlv`]), the
//! command_status codes ([`status`]), a framing codec that can never lose its
//! place in the stream ([`codec`]), the delivery-receipt text ([`receipt`]),
//! SMPP's time formats ([`time`]), and a session layer shared by our server
//! and our client connector ([`session`]). It knows nothing of accounts,
//! routing or storage: those belong to the `smsgate` crate.
//!
//! Decoding never panics: every malformed input becomes a [`DecodeError`]
//! that says which status to answer with and whether the stream can go on.

pub mod codec;
pub mod command;
pub mod error;
pub mod pdu;
pub mod receipt;
pub mod session;
pub mod status;
pub mod time;
pub mod tlv;
pub mod types;
mod wire;

pub use codec::SmppCodec;
pub use command::CommandId;
pub use error::{DecodeError, DecodeErrorKind};
pub use pdu::{
    AlertNotification, Bind, BindResp, Body, CancelSm, DataSm, DecodeLimits, DeliverSm,
    DestAddress, MessageIdResp, Outbind, Pdu, QuerySm, QuerySmResp, ReplaceSm, SubmitMulti,
    SubmitMultiResp, SubmitSm, UnsuccessSme,
};
pub use status::CommandStatus;
pub use tlv::{Tlv, TlvList};
pub use types::{Address, COctetString};
