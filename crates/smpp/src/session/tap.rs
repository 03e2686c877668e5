//! The tap: a way for the application to see the exact octets of every PDU
//! a session reads and writes (for protocol traces), without the session
//! knowing why or for whom.
//!
//! The session asks [`PduTap::is_on`] once per PDU and does nothing more
//! when it says no, so a tap that is installed but switched off costs one
//! virtual call (in practice an atomic load) per PDU.

use std::fmt;
use std::io;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::codec::SmppCodec;
use crate::error::DecodeError;
use crate::pdu::Pdu;

/// Which way a PDU went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Read from the peer.
    Received,
    /// Written to the peer.
    Sent,
}

impl Direction {
    /// `in` or `out`, as logs show it.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Received => "in",
            Direction::Sent => "out",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sees every PDU of a session as octets on the wire (see the module docs).
///
/// Both methods run on the session's task, between reading and writing:
/// they must not block. Received PDUs are shown before they are decoded, so
/// a malformed one is shown too; a frame whose length cannot be framed at
/// all (below 16 or above the limit) is not.
pub trait PduTap: Send + Sync + 'static {
    /// Whether to show the next PDU to [`PduTap::observe`]. Asked once per
    /// PDU: keep it to an atomic load or two.
    fn is_on(&self) -> bool;

    /// One whole PDU, header included, as read or written.
    fn observe(&self, direction: Direction, pdu: &[u8]);
}

/// The session's codec: [`SmppCodec`], showing each received frame to the
/// tap (when there is one and it is on) before decoding it.
pub(super) struct TappedCodec {
    codec: SmppCodec,
    tap: Option<Arc<dyn PduTap>>,
}

impl TappedCodec {
    pub(super) fn new(codec: SmppCodec, tap: Option<Arc<dyn PduTap>>) -> Self {
        TappedCodec { codec, tap }
    }
}

impl Decoder for TappedCodec {
    type Item = Result<Pdu, DecodeError>;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, io::Error> {
        let Some(frame) = self.codec.next_frame(src)? else {
            return Ok(None);
        };
        Ok(Some(frame.and_then(|frame: Bytes| {
            if let Some(tap) = &self.tap
                && tap.is_on()
            {
                tap.observe(Direction::Received, &frame);
            }
            Pdu::decode(frame, self.codec.limits())
        })))
    }
}

impl Encoder<Pdu> for TappedCodec {
    type Error = io::Error;

    fn encode(&mut self, pdu: Pdu, dst: &mut BytesMut) -> Result<(), io::Error> {
        self.codec.encode(pdu, dst)
    }
}
