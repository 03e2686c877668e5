//! Field types shared by the PDUs: C-octet strings and addresses.

use bytes::Bytes;
use std::fmt;

/// A C-octet string as SMPP carries it: octets up to (not including) a NUL.
///
/// Short strings (addresses, system ids, our message ids: up to
/// [`COctetString::INLINE_CAPACITY`] octets) are kept inline, so decoding
/// them costs a small copy and no allocation or reference count; longer ones
/// share the received frame's buffer (`Bytes`) without copying. Octets that
/// are not UTF-8 (SMPP does not require it) survive a round trip unchanged.
/// It never contains a NUL.
#[derive(Clone)]
pub struct COctetString(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, octets: [u8; INLINE] },
    Shared(Bytes),
}

const INLINE: usize = 30;

/// A C-octet string was built from text that contains a NUL octet, which
/// would end the field early on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a C-octet string cannot contain a NUL octet (found at offset {offset})")]
pub struct InteriorNul {
    /// Where the NUL is.
    pub offset: usize,
}

impl COctetString {
    /// Strings up to this many octets are stored inline.
    pub const INLINE_CAPACITY: usize = INLINE;

    /// The empty string (encoded as a single NUL).
    pub const fn empty() -> Self {
        COctetString(Repr::Inline {
            len: 0,
            octets: [0; INLINE],
        })
    }

    /// A string from octets; fails if they contain a NUL.
    pub fn new(octets: impl Into<Bytes>) -> Result<Self, InteriorNul> {
        let octets = octets.into();
        match octets.iter().position(|&b| b == 0) {
            Some(offset) => Err(InteriorNul { offset }),
            None => Ok(COctetString::from_shared(octets)),
        }
    }

    /// A string from a literal. Panics if the literal contains a NUL: a
    /// programming error, never input-dependent.
    pub const fn from_static(text: &'static str) -> Self {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            assert!(bytes[i] != 0, "C-octet string literal contains NUL");
            i += 1;
        }
        if bytes.len() > INLINE {
            return COctetString(Repr::Shared(Bytes::from_static(bytes)));
        }
        let mut octets = [0; INLINE];
        let mut i = 0;
        while i < bytes.len() {
            octets[i] = bytes[i];
            i += 1;
        }
        COctetString(Repr::Inline {
            len: bytes.len() as u8,
            octets,
        })
    }

    /// Internal: octets of a received frame, already known to hold no NUL.
    /// Short ones are copied inline; long ones keep sharing the frame.
    pub(crate) fn from_frame(frame: &Bytes, start: usize, len: usize) -> Self {
        debug_assert!(!frame[start..start + len].contains(&0));
        if len <= INLINE {
            let mut octets = [0; INLINE];
            // A fixed-size copy compiles to a few vector moves, where a
            // variable one is a call to memcpy; octets past `len` are never read.
            match frame.get(start..start + INLINE) {
                Some(window) => octets.copy_from_slice(window),
                None => octets[..len].copy_from_slice(&frame[start..start + len]),
            }
            COctetString(Repr::Inline {
                len: len as u8,
                octets,
            })
        } else {
            COctetString(Repr::Shared(frame.slice(start..start + len)))
        }
    }

    fn from_shared(octets: Bytes) -> Self {
        let len = octets.len();
        COctetString::from_frame(&octets, 0, len)
    }

    /// The octets, without the terminating NUL.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, octets } => &octets[..usize::from(*len)],
            Repr::Shared(bytes) => bytes,
        }
    }

    /// The octets as a `Bytes` handle (copied if stored inline).
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Repr::Inline { .. } => Bytes::copy_from_slice(self.as_bytes()),
            Repr::Shared(bytes) => bytes.clone(),
        }
    }

    /// The text, if the octets are UTF-8 (ASCII in practice).
    pub fn to_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(self.as_bytes())
    }

    /// The text with any invalid UTF-8 replaced by U+FFFD, for logs and display.
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }

    /// Length in octets, without the NUL.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for COctetString {
    fn default() -> Self {
        COctetString::empty()
    }
}

impl PartialEq for COctetString {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for COctetString {}

impl std::hash::Hash for COctetString {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialOrd for COctetString {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for COctetString {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl TryFrom<&str> for COctetString {
    type Error = InteriorNul;
    fn try_from(text: &str) -> Result<Self, InteriorNul> {
        COctetString::new(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl TryFrom<String> for COctetString {
    type Error = InteriorNul;
    fn try_from(text: String) -> Result<Self, InteriorNul> {
        COctetString::new(Bytes::from(text))
    }
}

impl fmt::Debug for COctetString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_string_lossy(), f)
    }
}

impl fmt::Display for COctetString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl PartialEq<str> for COctetString {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for COctetString {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// Type of number (`*_addr_ton`).
pub mod ton {
    /// Unknown.
    pub const UNKNOWN: u8 = 0;
    /// International (E.164 with country code, no `+`).
    pub const INTERNATIONAL: u8 = 1;
    /// National.
    pub const NATIONAL: u8 = 2;
    /// Network specific.
    pub const NETWORK_SPECIFIC: u8 = 3;
    /// Subscriber number.
    pub const SUBSCRIBER: u8 = 4;
    /// Alphanumeric sender id (at most 11 characters).
    pub const ALPHANUMERIC: u8 = 5;
    /// Abbreviated (short code).
    pub const ABBREVIATED: u8 = 6;
}

/// Numbering plan indicator (`*_addr_npi`).
pub mod npi {
    /// Unknown.
    pub const UNKNOWN: u8 = 0;
    /// ISDN / E.164.
    pub const ISDN: u8 = 1;
    /// Data (X.121).
    pub const DATA: u8 = 3;
    /// Telex (F.69).
    pub const TELEX: u8 = 4;
    /// Land mobile (E.212).
    pub const LAND_MOBILE: u8 = 6;
    /// National.
    pub const NATIONAL: u8 = 8;
    /// Private.
    pub const PRIVATE: u8 = 9;
    /// ERMES.
    pub const ERMES: u8 = 10;
    /// Internet (IP).
    pub const INTERNET: u8 = 14;
    /// WAP client id.
    pub const WAP: u8 = 18;
}

/// Bits of `esm_class`.
pub mod esm_class {
    /// Mask of the message mode bits (1..0).
    pub const MODE_MASK: u8 = 0x03;
    /// Mask of the message type bits (5..2).
    pub const TYPE_MASK: u8 = 0x3C;
    /// Message type: SMSC delivery receipt (in deliver_sm).
    pub const DELIVERY_RECEIPT: u8 = 0x04;
    /// Message type: SME delivery acknowledgement.
    pub const DELIVERY_ACK: u8 = 0x08;
    /// Message type: SME manual/user acknowledgement.
    pub const USER_ACK: u8 = 0x10;
    /// Message type: conversation abort (Korean CDMA).
    pub const CONVERSATION_ABORT: u8 = 0x18;
    /// Message type: intermediate delivery notification.
    pub const INTERMEDIATE_NOTIFICATION: u8 = 0x20;
    /// GSM feature: the short_message starts with a User Data Header.
    pub const UDHI: u8 = 0x40;
    /// GSM feature: set reply path.
    pub const REPLY_PATH: u8 = 0x80;
}

/// Bits of `registered_delivery`.
pub mod registered_delivery {
    /// Mask of the SMSC delivery receipt bits (1..0).
    pub const RECEIPT_MASK: u8 = 0x03;
    /// No receipt.
    pub const NO_RECEIPT: u8 = 0x00;
    /// A receipt for the final outcome, success or failure.
    pub const RECEIPT_ALWAYS: u8 = 0x01;
    /// A receipt only when the message fails.
    pub const RECEIPT_ON_FAILURE: u8 = 0x02;
    /// Intermediate notifications requested.
    pub const INTERMEDIATE_NOTIFICATION: u8 = 0x10;
}

/// An address as SMPP carries it: type of number, numbering plan, digits or text.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Address {
    /// Type of number; see [`ton`].
    pub ton: u8,
    /// Numbering plan; see [`npi`].
    pub npi: u8,
    /// The address itself.
    pub addr: COctetString,
}

impl Address {
    /// An address from its parts.
    pub fn new(ton: u8, npi: u8, addr: COctetString) -> Self {
        Address { ton, npi, addr }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}:{:?}", self.ton, self.npi, self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_octet_string_rejects_interior_nul() {
        assert_eq!(
            COctetString::try_from("ab\0c"),
            Err(InteriorNul { offset: 2 })
        );
        assert!(COctetString::try_from("abc").is_ok());
    }

    #[test]
    fn long_and_short_strings_compare_by_content() {
        let long = "x".repeat(COctetString::INLINE_CAPACITY + 5);
        let shared = COctetString::try_from(long.as_str()).expect("no nul");
        assert_eq!(shared.as_bytes(), long.as_bytes());
        assert_eq!(
            COctetString::from_static("abc"),
            COctetString::try_from("abc").expect("ok")
        );
        assert_eq!(COctetString::default(), COctetString::empty());
        assert!(COctetString::from_static("abc") < COctetString::from_static("abd"));
    }

    #[test]
    fn c_octet_string_keeps_non_utf8_octets() {
        let s = COctetString::new(Bytes::from_static(&[0xff, 0x41])).expect("no nul");
        assert!(s.to_str().is_err());
        assert_eq!(s.as_bytes(), &[0xff, 0x41]);
        assert_eq!(s.to_string_lossy(), "\u{fffd}A");
    }
}
