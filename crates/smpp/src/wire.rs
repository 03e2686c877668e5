//! Bounds-checked reading of a PDU body, and the writing helpers.
//!
//! The reader works on the `Bytes` of one frame that the codec has already
//! split off, so no read can run into the next PDU; string and octet fields
//! are sliced out of it without copying.

use bytes::Bytes;

use crate::error::DecodeErrorKind;
use crate::status::CommandStatus;
use crate::tlv::Tlv;
use crate::types::{Address, COctetString};

/// A decoding failure inside a body, before the header's ids are attached.
#[derive(Debug)]
pub(crate) struct BodyError {
    pub status: CommandStatus,
    pub kind: DecodeErrorKind,
}

impl BodyError {
    pub(crate) fn new(status: CommandStatus, kind: DecodeErrorKind) -> Self {
        BodyError { status, kind }
    }
}

pub(crate) type BodyResult<T> = Result<T, BodyError>;

/// A cursor over a PDU body.
pub(crate) struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader of `buf` from offset `pos` (the frame, after its header).
    pub(crate) fn new(buf: &'a Bytes, pos: usize) -> Self {
        Reader { buf, pos }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn truncated(field: &'static str) -> BodyError {
        BodyError::new(
            CommandStatus::ESME_RINVCMDLEN,
            DecodeErrorKind::Truncated { field },
        )
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> BodyResult<u8> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(Self::truncated(field)),
        }
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> BodyResult<u32> {
        let octets = self
            .buf
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| Self::truncated(field))?;
        self.pos += 4;
        Ok(u32::from_be_bytes([
            octets[0], octets[1], octets[2], octets[3],
        ]))
    }

    /// A C-octet string of at most `max` octets including its NUL.
    ///
    /// Without a NUL among its first `max` octets, the string is too long
    /// and fails with the field's own `status` ([`DecodeErrorKind::Unterminated`]),
    /// whatever follows. If the body ends before either a NUL or `max`
    /// octets, the field is cut, not too long: [`DecodeErrorKind::Truncated`]
    /// with ESME_RINVCMDLEN, like any other mandatory field the body ends in
    /// (a submit_sm with no body at all is a truncated PDU, not one with a
    /// bad service_type).
    pub(crate) fn cstr(
        &mut self,
        field: &'static str,
        max: usize,
        status: CommandStatus,
    ) -> BodyResult<COctetString> {
        let remaining = self.remaining();
        let window = &self.buf[self.pos..self.pos + max.min(remaining)];
        match window.iter().position(|&b| b == 0) {
            Some(len) => {
                let value = COctetString::from_frame(self.buf, self.pos, len);
                self.pos += len + 1;
                Ok(value)
            }
            None if remaining < max => Err(Self::truncated(field)),
            None => Err(BodyError::new(
                status,
                DecodeErrorKind::Unterminated { field, max },
            )),
        }
    }

    /// `n` octets, sliced without copying.
    pub(crate) fn octets(&mut self, n: usize, field: &'static str) -> BodyResult<Bytes> {
        if self.remaining() < n {
            return Err(Self::truncated(field));
        }
        let value = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(value)
    }

    /// ton, npi and address, the address at most `max` octets with its NUL.
    pub(crate) fn address(
        &mut self,
        names: [&'static str; 3],
        max: usize,
        status: CommandStatus,
    ) -> BodyResult<Address> {
        Ok(Address {
            ton: self.u8(names[0])?,
            npi: self.u8(names[1])?,
            addr: self.cstr(names[2], max, status)?,
        })
    }

    /// sm_length followed by that many octets of short_message.
    pub(crate) fn short_message(&mut self) -> BodyResult<Bytes> {
        let sm_length = self.u8("sm_length")?;
        let remaining = self.remaining();
        if usize::from(sm_length) > remaining {
            return Err(BodyError::new(
                CommandStatus::ESME_RINVMSGLEN,
                DecodeErrorKind::ShortMessageOverrun {
                    sm_length,
                    remaining,
                },
            ));
        }
        self.octets(usize::from(sm_length), "short_message")
    }

    /// The optional part: TLVs up to the end of the body.
    pub(crate) fn tlvs(&mut self) -> BodyResult<Vec<Tlv>> {
        let mut tlvs = Vec::new();
        while !self.is_empty() {
            let header = self.buf.get(self.pos..self.pos + 4).ok_or_else(|| {
                let tag = match self.buf.get(self.pos..self.pos + 2) {
                    Some(t) => u16::from_be_bytes([t[0], t[1]]),
                    None => 0,
                };
                BodyError::new(
                    CommandStatus::ESME_RINVOPTPARSTREAM,
                    DecodeErrorKind::TlvTruncated { tag },
                )
            })?;
            let tag = u16::from_be_bytes([header[0], header[1]]);
            let length = u16::from_be_bytes([header[2], header[3]]);
            let start = self.pos + 4;
            let end = start + usize::from(length);
            if end > self.buf.len() {
                return Err(BodyError::new(
                    CommandStatus::ESME_RINVOPTPARSTREAM,
                    DecodeErrorKind::TlvTruncated { tag },
                ));
            }
            tlvs.push(Tlv::decode(tag, self.buf, start, end)?);
            self.pos = end;
        }
        Ok(tlvs)
    }

    /// The end of a body that has no optional part: nothing may follow.
    pub(crate) fn finish(&self) -> BodyResult<()> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(BodyError::new(
                CommandStatus::ESME_RINVCMDLEN,
                DecodeErrorKind::TrailingBytes { count },
            )),
        }
    }
}

/// Where encoding writes. Every PDU is encoded twice through it: once into
/// [`Measure`] to learn its exact length, once into [`Fill`] over a buffer of
/// that length, so the output buffer is sized once and no write checks for
/// capacity or grows anything.
pub(crate) trait Sink {
    fn u8(&mut self, value: u8);
    fn u16(&mut self, value: u16);
    fn u32(&mut self, value: u32);
    fn bytes(&mut self, value: &[u8]);
}

/// Counts the octets an encoding would write.
#[derive(Default)]
pub(crate) struct Measure(pub usize);

impl Sink for Measure {
    fn u8(&mut self, _: u8) {
        self.0 += 1;
    }
    fn u16(&mut self, _: u16) {
        self.0 += 2;
    }
    fn u32(&mut self, _: u32) {
        self.0 += 4;
    }
    fn bytes(&mut self, value: &[u8]) {
        self.0 += value.len();
    }
}

/// Writes into a buffer sized by [`Measure`]. Writes past its end (which
/// would mean the two passes disagree, a bug the round-trip properties
/// test for) are dropped rather than panicking.
pub(crate) struct Fill<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Fill<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Fill { buf, pos: 0 }
    }

    fn put<const N: usize>(&mut self, octets: [u8; N]) {
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + N) {
            dst.copy_from_slice(&octets);
        }
        self.pos += N;
    }
}

impl Sink for Fill<'_> {
    fn u8(&mut self, value: u8) {
        self.put([value]);
    }
    fn u16(&mut self, value: u16) {
        self.put(value.to_be_bytes());
    }
    fn u32(&mut self, value: u32) {
        self.put(value.to_be_bytes());
    }
    fn bytes(&mut self, value: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + value.len()) {
            dst.copy_from_slice(value);
        }
        self.pos += value.len();
    }
}

pub(crate) fn put_cstr(dst: &mut impl Sink, value: &COctetString) {
    dst.bytes(value.as_bytes());
    dst.u8(0);
}

pub(crate) fn put_address(dst: &mut impl Sink, address: &Address) {
    dst.u8(address.ton);
    dst.u8(address.npi);
    put_cstr(dst, &address.addr);
}

/// Writes sm_length and short_message. A message longer than 255 octets
/// cannot be expressed; it is cut at 255 (callers send such text in
/// message_payload instead, and validate before encoding).
pub(crate) fn put_short_message(dst: &mut impl Sink, sm: &[u8]) {
    let len = sm.len().min(255);
    dst.u8(len as u8);
    dst.bytes(&sm[..len]);
}

pub(crate) fn put_tlvs(dst: &mut impl Sink, tlvs: &[Tlv]) {
    for tlv in tlvs {
        tlv.encode(dst);
    }
}
