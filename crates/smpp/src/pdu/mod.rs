//! PDUs: the header, the body of every operation, and the dispatch between
//! wire bytes and typed values.
//!
//! Decoding works on one complete frame (see [`crate::codec`]); encoding
//! writes straight into the caller's buffer and patches `command_length` in
//! afterwards, so no intermediate buffer is allocated.

mod bind;
mod data_sm;
mod message_ops;
mod short_message;
mod submit_multi;

pub use bind::{Bind, BindResp, Outbind};
pub use data_sm::{AlertNotification, DataSm};
pub use message_ops::{CancelSm, QuerySm, QuerySmResp, ReplaceSm};
pub use short_message::{DeliverSm, MessageIdResp, SubmitSm};
pub use submit_multi::{DestAddress, SubmitMulti, SubmitMultiResp, UnsuccessSme};

use bytes::{Bytes, BytesMut};

use crate::command::CommandId;
use crate::error::{DecodeError, DecodeErrorKind};
use crate::status::CommandStatus;
use crate::wire::{BodyError, BodyResult, Fill, Measure, Reader, Sink};

/// Length of the PDU header: command_length, command_id, command_status, sequence_number.
pub const HEADER_LEN: usize = 16;

/// The smallest and largest sequence numbers the spec allows (0 is not used
/// in requests; 0x7FFFFFFF is the top).
pub const MAX_SEQUENCE: u32 = 0x7FFF_FFFF;

/// Limits applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The largest command_length accepted; larger frames are skipped and
    /// answered with generic_nack ESME_RINVCMDLEN. Default 64 KiB.
    pub max_command_length: u32,
    /// The maximum length (NUL included) of system_id and password in binds.
    /// SMPP 3.4 says 16 and 9, but many clients send longer credentials; a
    /// server that wants to accept them raises this. `None` keeps the spec's.
    pub max_credential_len: Option<usize>,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_command_length: 64 * 1024,
            max_credential_len: None,
        }
    }
}

/// One PDU: header fields and a typed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    /// sequence_number: pairs a response with its request.
    pub sequence: u32,
    /// command_status: ESME_ROK in requests; the result in responses.
    pub status: CommandStatus,
    /// The operation and its fields; the command_id follows from it.
    pub body: Body,
}

/// The body of every PDU we implement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Body {
    GenericNack,
    BindReceiver(Bind),
    BindReceiverResp(BindResp),
    BindTransmitter(Bind),
    BindTransmitterResp(BindResp),
    BindTransceiver(Bind),
    BindTransceiverResp(BindResp),
    Outbind(Outbind),
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    SubmitSm(SubmitSm),
    SubmitSmResp(MessageIdResp),
    DeliverSm(DeliverSm),
    DeliverSmResp(MessageIdResp),
    DataSm(DataSm),
    DataSmResp(MessageIdResp),
    SubmitMulti(SubmitMulti),
    SubmitMultiResp(SubmitMultiResp),
    QuerySm(QuerySm),
    QuerySmResp(QuerySmResp),
    CancelSm(CancelSm),
    CancelSmResp,
    ReplaceSm(ReplaceSm),
    ReplaceSmResp,
    AlertNotification(AlertNotification),
}

impl Body {
    /// The command_id of this body.
    pub fn command_id(&self) -> CommandId {
        match self {
            Body::GenericNack => CommandId::GenericNack,
            Body::BindReceiver(_) => CommandId::BindReceiver,
            Body::BindReceiverResp(_) => CommandId::BindReceiverResp,
            Body::BindTransmitter(_) => CommandId::BindTransmitter,
            Body::BindTransmitterResp(_) => CommandId::BindTransmitterResp,
            Body::BindTransceiver(_) => CommandId::BindTransceiver,
            Body::BindTransceiverResp(_) => CommandId::BindTransceiverResp,
            Body::Outbind(_) => CommandId::Outbind,
            Body::Unbind => CommandId::Unbind,
            Body::UnbindResp => CommandId::UnbindResp,
            Body::EnquireLink => CommandId::EnquireLink,
            Body::EnquireLinkResp => CommandId::EnquireLinkResp,
            Body::SubmitSm(_) => CommandId::SubmitSm,
            Body::SubmitSmResp(_) => CommandId::SubmitSmResp,
            Body::DeliverSm(_) => CommandId::DeliverSm,
            Body::DeliverSmResp(_) => CommandId::DeliverSmResp,
            Body::DataSm(_) => CommandId::DataSm,
            Body::DataSmResp(_) => CommandId::DataSmResp,
            Body::SubmitMulti(_) => CommandId::SubmitMulti,
            Body::SubmitMultiResp(_) => CommandId::SubmitMultiResp,
            Body::QuerySm(_) => CommandId::QuerySm,
            Body::QuerySmResp(_) => CommandId::QuerySmResp,
            Body::CancelSm(_) => CommandId::CancelSm,
            Body::CancelSmResp => CommandId::CancelSmResp,
            Body::ReplaceSm(_) => CommandId::ReplaceSm,
            Body::ReplaceSmResp => CommandId::ReplaceSmResp,
            Body::AlertNotification(_) => CommandId::AlertNotification,
        }
    }

    /// Whether this is a response.
    pub fn is_response(&self) -> bool {
        self.command_id().is_response()
    }

    /// A response body of the given kind with every field empty: what an
    /// error response carries. `None` if `resp` is not a response we implement.
    pub fn empty_response(resp: CommandId) -> Option<Body> {
        Some(match resp {
            CommandId::GenericNack => Body::GenericNack,
            CommandId::BindReceiverResp => Body::BindReceiverResp(BindResp::default()),
            CommandId::BindTransmitterResp => Body::BindTransmitterResp(BindResp::default()),
            CommandId::BindTransceiverResp => Body::BindTransceiverResp(BindResp::default()),
            CommandId::UnbindResp => Body::UnbindResp,
            CommandId::EnquireLinkResp => Body::EnquireLinkResp,
            CommandId::SubmitSmResp => Body::SubmitSmResp(MessageIdResp::default()),
            CommandId::DeliverSmResp => Body::DeliverSmResp(MessageIdResp::default()),
            CommandId::DataSmResp => Body::DataSmResp(MessageIdResp::default()),
            CommandId::SubmitMultiResp => Body::SubmitMultiResp(SubmitMultiResp::default()),
            CommandId::QuerySmResp => Body::QuerySmResp(QuerySmResp::default()),
            CommandId::CancelSmResp => Body::CancelSmResp,
            CommandId::ReplaceSmResp => Body::ReplaceSmResp,
            _ => return None,
        })
    }
}

impl Pdu {
    /// A request or response with status ESME_ROK.
    pub fn new(sequence: u32, body: Body) -> Self {
        Pdu {
            sequence,
            status: CommandStatus::ESME_ROK,
            body,
        }
    }

    /// The response to the request `self` with the given status and an
    /// otherwise empty body (for errors and for bodiless responses); `None`
    /// for PDUs that have no response.
    pub fn error_response(&self, status: CommandStatus) -> Option<Pdu> {
        let resp = self.body.command_id().response()?;
        Some(Pdu {
            sequence: self.sequence,
            status,
            body: Body::empty_response(resp)?,
        })
    }

    /// Appends the wire form of this PDU to `dst`.
    ///
    /// The body is measured first and `dst` grown once to the exact size,
    /// then filled: no capacity check or reallocation per field.
    pub fn encode(&self, dst: &mut BytesMut) {
        // An error response with nothing to say has no body at all (SMPP 3.4
        // 4.4.2: "The submit_sm_resp PDU Body is not returned if the
        // command_status field contains a non-zero value").
        let with_body = self.status.is_ok() || !self.body_is_blank();
        let mut measure = Measure::default();
        if with_body {
            self.encode_body(&mut measure);
        }
        let length = HEADER_LEN + measure.0;
        let start = dst.len();
        dst.resize(start + length, 0);
        let mut fill = Fill::new(&mut dst[start..]);
        fill.u32(length as u32);
        fill.u32(self.body.command_id().value());
        fill.u32(self.status.0);
        fill.u32(self.sequence);
        if with_body {
            self.encode_body(&mut fill);
        }
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode(&mut buf);
        buf.freeze()
    }

    fn body_is_blank(&self) -> bool {
        match &self.body {
            Body::BindReceiverResp(r)
            | Body::BindTransmitterResp(r)
            | Body::BindTransceiverResp(r) => r.is_blank(),
            Body::SubmitSmResp(r) | Body::DeliverSmResp(r) | Body::DataSmResp(r) => r.is_blank(),
            Body::SubmitMultiResp(r) => r.is_blank(),
            Body::QuerySmResp(r) => r.is_blank(),
            _ => false,
        }
    }

    fn encode_body(&self, dst: &mut impl Sink) {
        match &self.body {
            Body::GenericNack
            | Body::Unbind
            | Body::UnbindResp
            | Body::EnquireLink
            | Body::EnquireLinkResp
            | Body::CancelSmResp
            | Body::ReplaceSmResp => {}
            Body::BindReceiver(b) | Body::BindTransmitter(b) | Body::BindTransceiver(b) => {
                b.encode(dst)
            }
            Body::BindReceiverResp(r)
            | Body::BindTransmitterResp(r)
            | Body::BindTransceiverResp(r) => r.encode(dst),
            Body::Outbind(o) => o.encode(dst),
            Body::SubmitSm(sm) | Body::DeliverSm(sm) => sm.encode(dst),
            Body::SubmitSmResp(r) | Body::DeliverSmResp(r) | Body::DataSmResp(r) => r.encode(dst),
            Body::DataSm(d) => d.encode(dst),
            Body::SubmitMulti(m) => m.encode(dst),
            Body::SubmitMultiResp(r) => r.encode(dst),
            Body::QuerySm(q) => q.encode(dst),
            Body::QuerySmResp(r) => r.encode(dst),
            Body::CancelSm(c) => c.encode(dst),
            Body::ReplaceSm(r) => r.encode(dst),
            Body::AlertNotification(a) => a.encode(dst),
        }
    }

    /// Decodes one complete frame: exactly `command_length` octets, header
    /// included, as split off by the codec.
    pub fn decode(frame: Bytes, limits: &DecodeLimits) -> Result<Pdu, DecodeError> {
        let header = |at: usize| -> u32 {
            match frame.get(at..at + 4) {
                Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                None => 0,
            }
        };
        let (length, command_id, status, sequence) = (header(0), header(4), header(8), header(12));
        let fail = |status: CommandStatus, kind: DecodeErrorKind| DecodeError {
            command_id,
            sequence,
            status,
            kind,
        };
        if frame.len() < HEADER_LEN || (length as usize) < HEADER_LEN {
            return Err(fail(
                CommandStatus::ESME_RINVCMDLEN,
                DecodeErrorKind::LengthTooShort { length },
            ));
        }
        if length as usize != frame.len() {
            return Err(fail(
                CommandStatus::ESME_RINVCMDLEN,
                DecodeErrorKind::LengthMismatch {
                    length,
                    actual: frame.len(),
                },
            ));
        }
        let Some(id) = CommandId::from_value(command_id) else {
            return Err(fail(
                CommandStatus::ESME_RINVCMDID,
                DecodeErrorKind::UnknownCommand,
            ));
        };
        let status = CommandStatus(status);
        decode_body(id, &frame, limits)
            .map(|body| Pdu {
                sequence,
                status,
                body,
            })
            .map_err(|e| fail(e.status, e.kind))
    }
}

/// Reads a response body that may be entirely absent (error responses, and
/// some SMSCs' deliver_sm_resp): an empty body yields the blank value.
fn optional_body<T: Default>(
    reader: &mut Reader<'_>,
    decode: impl FnOnce(&mut Reader<'_>) -> BodyResult<T>,
) -> BodyResult<T> {
    if reader.is_empty() {
        Ok(T::default())
    } else {
        decode(reader)
    }
}

/// Decodes the body of `frame` (which starts after the header).
fn decode_body(id: CommandId, frame: &Bytes, limits: &DecodeLimits) -> BodyResult<Body> {
    let r = &mut Reader::new(frame, HEADER_LEN);
    let decoded = match id {
        CommandId::GenericNack => Body::GenericNack,
        CommandId::Unbind => Body::Unbind,
        CommandId::UnbindResp => Body::UnbindResp,
        CommandId::EnquireLink => Body::EnquireLink,
        CommandId::EnquireLinkResp => Body::EnquireLinkResp,
        CommandId::CancelSmResp => Body::CancelSmResp,
        CommandId::ReplaceSmResp => Body::ReplaceSmResp,
        CommandId::BindReceiver => Body::BindReceiver(Bind::decode(r, limits)?),
        CommandId::BindTransmitter => Body::BindTransmitter(Bind::decode(r, limits)?),
        CommandId::BindTransceiver => Body::BindTransceiver(Bind::decode(r, limits)?),
        CommandId::BindReceiverResp => Body::BindReceiverResp(optional_body(r, BindResp::decode)?),
        CommandId::BindTransmitterResp => {
            Body::BindTransmitterResp(optional_body(r, BindResp::decode)?)
        }
        CommandId::BindTransceiverResp => {
            Body::BindTransceiverResp(optional_body(r, BindResp::decode)?)
        }
        CommandId::Outbind => Body::Outbind(Outbind::decode(r, limits)?),
        CommandId::SubmitSm => Body::SubmitSm(SubmitSm::decode(r)?),
        CommandId::DeliverSm => Body::DeliverSm(SubmitSm::decode(r)?),
        CommandId::SubmitSmResp => Body::SubmitSmResp(optional_body(r, MessageIdResp::decode)?),
        CommandId::DeliverSmResp => Body::DeliverSmResp(optional_body(r, MessageIdResp::decode)?),
        CommandId::DataSmResp => Body::DataSmResp(optional_body(r, MessageIdResp::decode)?),
        CommandId::DataSm => Body::DataSm(DataSm::decode(r)?),
        CommandId::SubmitMulti => Body::SubmitMulti(SubmitMulti::decode(r)?),
        CommandId::SubmitMultiResp => {
            Body::SubmitMultiResp(optional_body(r, SubmitMultiResp::decode)?)
        }
        CommandId::QuerySm => Body::QuerySm(QuerySm::decode(r)?),
        CommandId::QuerySmResp => Body::QuerySmResp(optional_body(r, QuerySmResp::decode)?),
        CommandId::CancelSm => Body::CancelSm(CancelSm::decode(r)?),
        CommandId::ReplaceSm => Body::ReplaceSm(ReplaceSm::decode(r)?),
        CommandId::AlertNotification => Body::AlertNotification(AlertNotification::decode(r)?),
        CommandId::BroadcastSm
        | CommandId::BroadcastSmResp
        | CommandId::QueryBroadcastSm
        | CommandId::QueryBroadcastSmResp
        | CommandId::CancelBroadcastSm
        | CommandId::CancelBroadcastSmResp => {
            return Err(BodyError::new(
                CommandStatus::ESME_RINVCMDID,
                DecodeErrorKind::UnsupportedCommand,
            ));
        }
    };
    // Whatever the body's decoder did not consume is an error: PDUs with an
    // optional part consume everything as TLVs, so this only fires for
    // fixed bodies.
    r.finish()?;
    Ok(decoded)
}
