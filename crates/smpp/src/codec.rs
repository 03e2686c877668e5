//! Framing: cut the byte stream into PDUs, frame first and decode second.
//!
//! The decoder splits off exactly `command_length` octets before it looks
//! inside, so a malformed body can never make it lose its place in the
//! stream: the error is reported with the PDU's sequence number and the next
//! PDU is read from where this one ended. The only unrecoverable input is a
//! command_length below 16, after which the stream has no known boundary.
//! A frame above the maximum length is skipped as it arrives, without
//! buffering it.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::{DecodeError, DecodeErrorKind};
use crate::pdu::{DecodeLimits, HEADER_LEN, Pdu};
use crate::status::CommandStatus;

/// The tokio-util codec for SMPP.
///
/// Its items are `Result<Pdu, DecodeError>`: a malformed PDU is an item, not
/// the end of the stream, so the session can answer it and go on. The
/// codec's own `io::Error` is returned only after a fatal decode error, if the
/// caller keeps reading anyway.
#[derive(Debug, Clone, Default)]
pub struct SmppCodec {
    limits: DecodeLimits,
    /// Octets of an oversized frame still to be thrown away.
    skip: usize,
    /// Set after a fatal error: the stream has no known PDU boundary.
    broken: bool,
}

impl SmppCodec {
    /// A codec with the given limits.
    pub fn new(limits: DecodeLimits) -> Self {
        SmppCodec {
            limits,
            skip: 0,
            broken: false,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }
}

fn be_u32(src: &[u8], at: usize) -> u32 {
    match src.get(at..at + 4) {
        Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

impl SmppCodec {
    /// The framing half of [`Decoder::decode`]: splits off the next whole
    /// PDU, undecoded, so the session can show its exact octets to a
    /// [`crate::session::PduTap`] before it is decoded. `Ok(None)` until a
    /// whole frame is buffered; an `Err` item for a length that cannot be
    /// framed.
    pub(crate) fn next_frame(
        &mut self,
        src: &mut BytesMut,
    ) -> Result<Option<Result<Bytes, DecodeError>>, io::Error> {
        if self.broken {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "SMPP stream lost its framing after an invalid command_length",
            ));
        }
        if self.skip > 0 {
            let n = self.skip.min(src.len());
            src.advance(n);
            self.skip -= n;
            if self.skip > 0 {
                return Ok(None);
            }
        }
        if src.len() < 4 {
            return Ok(None);
        }
        let length = be_u32(src, 0);
        if (length as usize) < HEADER_LEN {
            self.broken = true;
            let error = DecodeError {
                command_id: be_u32(src, 4),
                sequence: be_u32(src, 12),
                status: CommandStatus::ESME_RINVCMDLEN,
                kind: DecodeErrorKind::LengthTooShort { length },
            };
            src.clear();
            return Ok(Some(Err(error)));
        }
        if src.len() < HEADER_LEN {
            return Ok(None);
        }
        if length > self.limits.max_command_length {
            let error = DecodeError {
                command_id: be_u32(src, 4),
                sequence: be_u32(src, 12),
                status: CommandStatus::ESME_RINVCMDLEN,
                kind: DecodeErrorKind::LengthTooLong {
                    length,
                    max: self.limits.max_command_length,
                },
            };
            let n = (length as usize).min(src.len());
            src.advance(n);
            self.skip = length as usize - n;
            return Ok(Some(Err(error)));
        }
        let length = length as usize;
        if src.len() < length {
            src.reserve(length - src.len());
            return Ok(None);
        }
        Ok(Some(Ok(src.split_to(length).freeze())))
    }
}

impl Decoder for SmppCodec {
    type Item = Result<Pdu, DecodeError>;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, io::Error> {
        Ok(self
            .next_frame(src)?
            .map(|frame| frame.and_then(|frame| Pdu::decode(frame, &self.limits))))
    }
}

impl Encoder<&Pdu> for SmppCodec {
    type Error = io::Error;

    fn encode(&mut self, pdu: &Pdu, dst: &mut BytesMut) -> Result<(), io::Error> {
        pdu.encode(dst);
        Ok(())
    }
}

impl Encoder<Pdu> for SmppCodec {
    type Error = io::Error;

    fn encode(&mut self, pdu: Pdu, dst: &mut BytesMut) -> Result<(), io::Error> {
        pdu.encode(dst);
        Ok(())
    }
}
