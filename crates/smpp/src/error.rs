//! What can be wrong with received bytes, and what to answer.
//!
//! Every error carries the `command_id` and `sequence_number` of the PDU it
//! came from (when the header got that far), the `command_status` the spec
//! asks us to answer with, and whether the byte stream can go on. The session
//! turns it into a reply with [`DecodeError::reply`].

use crate::command::CommandId;
use crate::pdu::{Body, Pdu};
use crate::status::CommandStatus;

/// A PDU that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode {} (sequence {sequence}): {kind}; answer {status:?}", command_name(*.command_id))]
pub struct DecodeError {
    /// The header's command_id (0 if the header was too short to hold one).
    pub command_id: u32,
    /// The header's sequence_number (0 if the header was too short to hold one).
    pub sequence: u32,
    /// The status to answer with.
    pub status: CommandStatus,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

fn command_name(id: u32) -> String {
    match CommandId::from_value(id) {
        Some(id) => id.name().to_string(),
        None => format!("command {id:#010x}"),
    }
}

/// The ways a PDU can be malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// command_length is below the 16-octet header: where the next PDU
    /// starts cannot be known, so the stream cannot go on.
    #[error("command_length {length} is shorter than the 16-octet header")]
    LengthTooShort {
        /// The length the header claimed.
        length: u32,
    },
    /// command_length differs from the size of the frame it was given with
    /// (only when a caller hands [`crate::Pdu::decode`] a frame it cut itself).
    #[error("command_length {length} does not match the {actual}-octet frame")]
    LengthMismatch {
        /// The length the header claimed.
        length: u32,
        /// The frame's real size.
        actual: usize,
    },
    /// command_length is above the configured maximum; the frame is skipped
    /// unread and the stream goes on after it.
    #[error("command_length {length} exceeds the maximum of {max}")]
    LengthTooLong {
        /// The length the header claimed.
        length: u32,
        /// The configured maximum.
        max: u32,
    },
    /// No SMPP version defines this command_id.
    #[error("unknown command_id")]
    UnknownCommand,
    /// A command of SMPP 5.0 that we recognise but do not implement (broadcast_sm family).
    #[error("unsupported command")]
    UnsupportedCommand,
    /// The body ends inside a mandatory field: before all the octets of an
    /// integer or of short_message, or before the NUL of a C-octet string
    /// that is still within its maximum length.
    #[error("body ends inside {field}")]
    Truncated {
        /// The field that was cut.
        field: &'static str,
    },
    /// A C-octet string has no NUL among the first `max` octets of the body
    /// from where it starts: it is too long, whatever follows. (If the body
    /// ends before its NUL and before `max` octets, that is
    /// [`DecodeErrorKind::Truncated`].)
    #[error("{field} has no NUL terminator within its maximum of {max} octets")]
    Unterminated {
        /// The field.
        field: &'static str,
        /// Its maximum length, NUL included.
        max: usize,
    },
    /// sm_length points past the end of the body.
    #[error("sm_length {sm_length} exceeds the {remaining} octets left in the body")]
    ShortMessageOverrun {
        /// The declared length.
        sm_length: u8,
        /// What the body had left.
        remaining: usize,
    },
    /// A TLV header or value runs past the end of the body.
    #[error("TLV {tag:#06x} is truncated")]
    TlvTruncated {
        /// The tag, or 0 if even the tag was cut.
        tag: u16,
    },
    /// A known TLV has a length its type does not allow.
    #[error("TLV {tag:#06x} has invalid length {length}")]
    TlvLength {
        /// The tag.
        tag: u16,
        /// The length it declared.
        length: u16,
    },
    /// Octets follow the last field of a PDU that has no optional part.
    #[error("{count} unexpected octets after the last field")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A mandatory field holds a value the spec does not allow.
    #[error("{field} has invalid value {value}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// The value found.
        value: u32,
    },
}

impl DecodeError {
    /// Whether the byte stream cannot continue after this error: a
    /// command_length too short to frame anything (or not matching its frame).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            DecodeErrorKind::LengthTooShort { .. } | DecodeErrorKind::LengthMismatch { .. }
        )
    }

    /// The PDU to send back, if any.
    ///
    /// Header-level problems (bad length, unknown or unsupported command) get
    /// generic_nack. A request with a malformed body gets its own resp with the
    /// status, so that the peer can match it to what it sent. A malformed
    /// response gets nothing: answering a response would invite loops.
    pub fn reply(&self) -> Option<Pdu> {
        let body = match (&self.kind, CommandId::from_value(self.command_id)) {
            (
                DecodeErrorKind::LengthTooShort { .. }
                | DecodeErrorKind::LengthMismatch { .. }
                | DecodeErrorKind::LengthTooLong { .. }
                | DecodeErrorKind::UnknownCommand
                | DecodeErrorKind::UnsupportedCommand,
                _,
            )
            | (_, None) => Body::GenericNack,
            (_, Some(id)) if id.is_response() => return None,
            (_, Some(id)) => match id.response() {
                Some(resp) => Body::empty_response(resp)?,
                None => Body::GenericNack,
            },
        };
        Some(Pdu {
            sequence: self.sequence,
            status: self.status,
            body,
        })
    }
}
