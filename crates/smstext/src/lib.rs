//! SMS text: the alphabets an SMS can travel in (GSM 03.38 with its
//! extension table, IA5/ASCII, Latin-1, UCS-2 as UTF-16), choosing the
//! cheapest one, counting and splitting into segments (concatenation UDH with
//! an 8- or 16-bit reference, SAR TLV values, or one message_payload), and
//! reassembling received segments.
//!
//! This crate knows octets and text, not SMPP: it takes and returns the
//! `data_coding` octet, short_message bytes and TLV values, and leaves PDUs,
//! accounts and routing to the crates that own them. Every function that
//! reads outside input returns a typed error instead of panicking.
//!
//! Sending:
//!
//! ```
//! use smstext::{count_segments, encode_best, split, ConcatHeader, EncodeOptions, Encoding, SplitMethod};
//!
//! let text = "Your code is 1234. Don't share it: {€5 fee}".repeat(5);
//! let info = count_segments(&text, EncodeOptions::default(), ConcatHeader::Ref8);
//! assert_eq!((info.encoding, info.segments), (Encoding::Gsm7, 2));
//!
//! let encoded = encode_best(&text, EncodeOptions::default());
//! let segments = split(&encoded, SplitMethod::Udh8(42))?;
//! assert_eq!(segments.len(), info.segments);
//! for segment in &segments {
//!     // submit_sm with data_coding = segment.encoding().data_coding(),
//!     // esm_class |= 0x40 (UDHI) since segment.udh() is Some,
//!     // short_message = segment.short_message()
//!     assert!(segment.udh().is_some());
//! }
//! # Ok::<(), smstext::SplitError>(())
//! ```
//!
//! Receiving:
//!
//! ```
//! use smstext::{decode, parse_udh, Part, Reassembler, ReassemblyLimits};
//! use std::time::Instant;
//!
//! let mut reassembler = Reassembler::new(ReassemblyLimits::default());
//! let received = [
//!     (0x08, vec![0x05, 0x00, 0x03, 0x07, 0x02, 0x02, 0xD8, 0x3D, 0xDE, 0x00]),
//!     (0x08, vec![0x05, 0x00, 0x03, 0x07, 0x02, 0x01, 0x00, 0x48, 0x00, 0x69]),
//! ];
//! let mut text = None;
//! for (data_coding, short_message) in received {
//!     // esm_class has UDHI set
//!     let udh = parse_udh(&short_message)?;
//!     let concat = udh.concat().expect("a concatenated message");
//!     let part = Part { concat, payload: short_message[udh.header_len()..].to_vec() };
//!     if let Some(complete) = reassembler.insert(("+4412", "+4434"), part, Instant::now()) {
//!         text = Some(decode(data_coding, &complete.payload)?);
//!     }
//! }
//! assert_eq!(text.as_deref(), Some("Hi😀"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod encoding;
mod gsm7;
mod latin1;
mod reassembly;
mod split;
mod ucs2;
mod udh;

pub use encoding::{
    DecodeError, EncodeError, EncodeOptions, Encoded, Encoding, UnsupportedDataCoding, decode,
    encode, encode_best,
};
pub use gsm7::{PackError, fill_bits_after_udh, pack_septets, unpack_septets};
pub use reassembly::{Complete, Incomplete, Part, Reassembler, ReassemblyLimits};
pub use split::{
    ConcatHeader, MAX_SEGMENTS, Segment, SegmentInfo, SplitError, SplitMethod, count_segments,
    split,
};
pub use udh::{Concat, ConcatError, InformationElement, Udh, UdhError, parse_udh};
