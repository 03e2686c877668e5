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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::CommandId;
    use crate::pdu::Body;

    fn frame(command_id: CommandId, sequence: u32, body: &[u8]) -> BytesMut {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&(16 + body.len() as u32).to_be_bytes());
        buf.extend_from_slice(&command_id.value().to_be_bytes());
        buf.extend_from_slice(&0u32.to_be_bytes());
        buf.extend_from_slice(&sequence.to_be_bytes());
        buf.extend_from_slice(body);
        buf
    }

    fn decode_with(limits: DecodeLimits, mut wire: BytesMut) -> Result<Pdu, DecodeError> {
        let item = SmppCodec::new(limits)
            .decode(&mut wire)
            .expect("the codec goes on")
            .expect("a whole frame");
        assert!(wire.is_empty(), "the whole frame was consumed");
        item
    }

    fn decode(wire: BytesMut) -> Result<Pdu, DecodeError> {
        decode_with(DecodeLimits::default(), wire)
    }

    /// The error of a frame that must not decode, checked to be answered
    /// with the PDU's resp (or generic_nack) carrying `status` and `sequence`.
    fn refused(wire: BytesMut, status: CommandStatus) -> DecodeError {
        let error = decode(wire).expect_err("malformed");
        assert_eq!(error.status, status, "{error}");
        assert!(!error.is_fatal(), "{error}");
        let reply = error.reply().expect("answered");
        assert_eq!((reply.sequence, reply.status), (error.sequence, status));
        error
    }

    #[test]
    fn a_submit_sm_with_no_body_is_truncated_not_a_bad_service_type() {
        let error = refused(
            frame(CommandId::SubmitSm, 7, b""),
            CommandStatus::ESME_RINVCMDLEN,
        );
        assert_eq!(
            error.kind,
            DecodeErrorKind::Truncated {
                field: "service_type"
            }
        );
        let reply = error.reply().expect("answered");
        assert_eq!(reply.body.command_id(), CommandId::SubmitSmResp);
        assert_eq!(reply.sequence, 7);
        assert_eq!(reply.to_bytes().len(), HEADER_LEN, "a bare header");
    }

    #[test]
    fn a_bind_with_no_body_is_truncated_not_a_bad_system_id() {
        let error = refused(
            frame(CommandId::BindTransceiver, 8, b""),
            CommandStatus::ESME_RINVCMDLEN,
        );
        assert_eq!(
            error.kind,
            DecodeErrorKind::Truncated { field: "system_id" }
        );
        assert!(matches!(
            error.reply().expect("answered").body,
            Body::BindTransceiverResp(_)
        ));
    }

    #[test]
    fn a_string_cut_by_the_end_of_the_body_within_its_maximum_is_truncated() {
        // service_type, source_addr_ton and _npi, then "4477" and the end.
        let error = refused(
            frame(CommandId::SubmitSm, 9, b"\0\x01\x014477"),
            CommandStatus::ESME_RINVCMDLEN,
        );
        assert_eq!(
            error.kind,
            DecodeErrorKind::Truncated {
                field: "source_addr"
            }
        );
    }

    #[test]
    fn a_string_with_no_nul_in_its_maximum_is_too_long_whatever_follows() {
        // service_type has room for 5 octets and its NUL: 6 octets without a
        // NUL are too long, whether more octets follow or the body ends there.
        for body in [&b"CMTxyz"[..], b"CMTxyz\0\x01\x01"] {
            let error = refused(
                frame(CommandId::SubmitSm, 10, body),
                CommandStatus::ESME_RINVSERTYP,
            );
            assert_eq!(
                error.kind,
                DecodeErrorKind::Unterminated {
                    field: "service_type",
                    max: 6
                },
                "{body:?}"
            );
        }
    }

    #[test]
    fn the_longest_string_that_fits_is_read_and_the_next_field_is_cut() {
        // service_type "CMTxy" + NUL fits its 6; the body then ends in source_addr_ton.
        let error = refused(
            frame(CommandId::SubmitSm, 11, b"CMTxy\0"),
            CommandStatus::ESME_RINVCMDLEN,
        );
        assert_eq!(
            error.kind,
            DecodeErrorKind::Truncated {
                field: "source_addr_ton"
            }
        );
    }

    #[test]
    fn final_date_of_query_sm_resp_has_17_octets_and_its_own_status() {
        let mut body = b"id\0".to_vec();
        body.extend_from_slice(&[b'1'; 17]);
        body.extend_from_slice(&[0, 1, 0]);
        let error = decode(frame(CommandId::QuerySmResp, 12, &body)).expect_err("too long");
        assert_eq!(
            error.kind,
            DecodeErrorKind::Unterminated {
                field: "final_date",
                max: 17
            }
        );
        assert_eq!(error.status, CommandStatus::ESME_RINVPARLEN);
        assert_eq!(error.reply(), None, "a response is not answered");

        let mut body = b"id\0".to_vec();
        body.extend_from_slice(&[b'1'; 16]);
        body.extend_from_slice(&[0, 2, 0]);
        let pdu = decode(frame(CommandId::QuerySmResp, 12, &body)).expect("16 octets fit");
        let Body::QuerySmResp(resp) = pdu.body else {
            panic!("not a query_sm_resp: {:?}", pdu.body)
        };
        assert_eq!(resp.final_date.as_bytes(), &[b'1'; 16]);
        assert_eq!(resp.message_state, 2);
    }

    #[test]
    fn a_huge_credential_limit_does_not_overflow() {
        let limits = DecodeLimits {
            max_credential_len: Some(usize::MAX),
            ..DecodeLimits::default()
        };
        let error =
            decode_with(limits, frame(CommandId::BindTransmitter, 13, b"acme")).expect_err("cut");
        assert_eq!(
            error.kind,
            DecodeErrorKind::Truncated { field: "system_id" }
        );
        assert_eq!(error.status, CommandStatus::ESME_RINVCMDLEN);
    }

    #[test]
    fn a_response_with_no_body_is_still_a_blank_response() {
        let pdu = decode(frame(CommandId::DeliverSmResp, 14, b"")).expect("tolerated");
        assert_eq!(pdu.body, Body::DeliverSmResp(Default::default()));
    }

    #[test]
    fn a_response_whose_message_id_runs_to_the_end_is_truncated_and_not_answered() {
        let error = decode(frame(CommandId::SubmitSmResp, 15, b"abc")).expect_err("cut");
        assert_eq!(
            error.kind,
            DecodeErrorKind::Truncated {
                field: "message_id"
            }
        );
        assert_eq!(error.reply(), None);
    }
}
