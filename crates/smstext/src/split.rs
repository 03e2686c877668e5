//! Counting and cutting text into SMS segments.
//!
//! One SMS carries 140 octets of user data: 160 GSM septets, 140 Latin-1 or
//! binary octets, or 70 UCS-2 code units. A longer message is sent as
//! segments that each give up room to a concatenation UDH — 6 octets with an
//! 8-bit reference, leaving 153 / 134 / 67, or 7 octets with a 16-bit one,
//! leaving 152 / 133 / 66. A segment never ends inside a GSM escape sequence
//! or a UTF-16 surrogate pair, because receivers that decode each segment on
//! its own (some handsets, many gateways) would show garbage at the cut; so a
//! segment may carry one unit less.
//!
//! [`count_segments`] and [`split`] cut at the same places: the count a
//! customer is charged for is the number of segments that are sent.

use crate::encoding::{best_encoding, bytes_per_unit};
use crate::gsm7::{self, PackError};
use crate::{Concat, EncodeOptions, Encoded, Encoding};
use std::iter;
use thiserror::Error;

/// Most segments a concatenated message can have: the part count is one octet.
pub const MAX_SEGMENTS: usize = 255;

/// Octets of user data in one SMS.
const USER_DATA_OCTETS: usize = 140;

/// The concatenation header multipart segments will carry, which decides the
/// room left for text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConcatHeader {
    /// IEI 0x00, 8-bit reference, a 6-octet UDH: what nearly every sender
    /// uses, and how SMSCs re-encode sar_* TLVs.
    #[default]
    Ref8,
    /// IEI 0x08, 16-bit reference, a 7-octet UDH: fewer reference collisions
    /// for busy senders, one unit less per segment.
    Ref16,
}

impl ConcatHeader {
    /// Octets of the UDH, UDHL included.
    fn len(self) -> usize {
        match self {
            ConcatHeader::Ref8 => 6,
            ConcatHeader::Ref16 => 7,
        }
    }
}

/// Units of `encoding` that fit in one SMS after a UDH of `header` (or none).
fn capacity(encoding: Encoding, header: Option<ConcatHeader>) -> usize {
    let octets = USER_DATA_OCTETS - header.map_or(0, ConcatHeader::len);
    match encoding {
        // The UDH plus its fill bits occupy whole septets.
        Encoding::Gsm7 | Encoding::Ascii => octets * 8 / 7,
        Encoding::Latin1 | Encoding::Binary => octets,
        Encoding::Ucs2 => octets / 2,
    }
}

/// How many segments a text costs, as [`count_segments`] reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The encoding [`encode_best`](crate::encode_best) picks for the text.
    pub encoding: Encoding,
    /// Segments sent: 1 for a text that fits one SMS (the empty text too).
    /// May exceed [`MAX_SEGMENTS`], in which case [`split`] refuses the text.
    pub segments: usize,
    /// Length in units: septets (an extension character counts two), octets
    /// or UTF-16 code units (an astral character counts two).
    pub units: usize,
    /// Units still free in the last segment, e.g. for a "characters left"
    /// counter. A two-unit character may not fit even when this is 1.
    pub units_left_in_last: usize,
}

/// Counts the segments `text` costs in the encoding
/// [`encode_best`](crate::encode_best) picks, cutting where [`split`] would
/// with a `header` UDH (SAR and message_payload cost what
/// [`ConcatHeader::Ref8`] does: the SMSC adds that UDH when it splits).
/// Allocates nothing: it is run on every message.
pub fn count_segments(text: &str, options: EncodeOptions, header: ConcatHeader) -> SegmentInfo {
    let encoding = best_encoding(text, options);
    let char_units = text.chars().map(move |c| match encoding {
        Encoding::Gsm7 => gsm7::code_for(c).map_or(1, gsm7::Code::septets),
        Encoding::Ucs2 => c.len_utf16(),
        Encoding::Ascii | Encoding::Latin1 | Encoding::Binary => 1,
    });
    let units = char_units.clone().sum();
    let single = capacity(encoding, None);
    if units <= single {
        return SegmentInfo {
            encoding,
            segments: 1,
            units,
            units_left_in_last: single - units,
        };
    }
    let per_segment = capacity(encoding, Some(header));
    let (segments, last) = segment_sizes(char_units, per_segment)
        .fold((0, 0), |(segments, _), size| (segments + 1, size));
    SegmentInfo {
        encoding,
        segments,
        units,
        units_left_in_last: per_segment - last,
    }
}

/// Sizes of the segments that indivisible tokens of the given sizes fill,
/// greedily and in order, up to `limit` each.
fn segment_sizes(tokens: impl Iterator<Item = usize>, limit: usize) -> impl Iterator<Item = usize> {
    let mut tokens = tokens.peekable();
    iter::from_fn(move || {
        let mut size = tokens.next()?;
        while let Some(token) = tokens.next_if(|&token| size + token <= limit) {
            size += token;
        }
        Some(size)
    })
}

/// Octet lengths of the indivisible pieces of `data`: an escape and the
/// septet after it, a surrogate pair, otherwise one unit.
fn token_lengths(encoding: Encoding, data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut rest = data;
    iter::from_fn(move || {
        let wanted = match encoding {
            Encoding::Gsm7 if rest.first() == Some(&gsm7::ESCAPE) => 2,
            Encoding::Ucs2 if crate::ucs2::starts_with_high_surrogate(rest) => 4,
            encoding => bytes_per_unit(encoding),
        };
        let (token, tail) = rest.split_at(wanted.min(rest.len()));
        rest = tail;
        (!token.is_empty()).then_some(token.len())
    })
}

/// How a message longer than one SMS is carried in SMPP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitMethod {
    /// Segments with a concatenation UDH, IEI 0x00, this 8-bit reference.
    Udh8(u8),
    /// Segments with a concatenation UDH, IEI 0x08, this 16-bit reference.
    Udh16(u16),
    /// Segments without UDH, numbered by the sar_* TLVs under this
    /// reference. They are sized as for [`ConcatHeader::Ref8`], because the
    /// SMSC adds that UDH before delivering them.
    Sar(u16),
    /// No split: the whole message in one message_payload TLV, which the
    /// SMSC splits itself.
    MessagePayload,
}

/// One submit_sm's worth of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    encoding: Encoding,
    udh: Option<Vec<u8>>,
    sar: Option<Concat>,
    payload: Vec<u8>,
}

impl Segment {
    /// The encoding of the payload; submit with its
    /// [`data_coding`](Encoding::data_coding).
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The concatenation UDH, when splitting with [`SplitMethod::Udh8`] or
    /// [`SplitMethod::Udh16`] gave more than one segment. When present, set
    /// UDHI (0x40) in esm_class.
    pub fn udh(&self) -> Option<&[u8]> {
        self.udh.as_deref()
    }

    /// The values for the sar_msg_ref_num, sar_total_segments and
    /// sar_segment_seqnum TLVs, when splitting with [`SplitMethod::Sar`] gave
    /// more than one segment.
    pub fn sar(&self) -> Option<Concat> {
        self.sar
    }

    /// This segment's text octets, without UDH (GSM 7-bit unpacked).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The short_message (or message_payload) to submit: the UDH, if any,
    /// then the payload, GSM 7-bit unpacked as SMPP carries it.
    pub fn short_message(&self) -> Vec<u8> {
        let udh = self.udh().unwrap_or_default();
        [udh, &self.payload].concat()
    }

    /// The short_message with GSM 7-bit text packed, for carriers that want
    /// packed septets: the UDH, fill bits up to the next septet boundary
    /// (23.040 §9.2.3.24), then the packed payload. An error for any other
    /// encoding, whose octets need no packing.
    pub fn packed_short_message(&self) -> Result<Vec<u8>, PackError> {
        if self.encoding != Encoding::Gsm7 {
            return Err(PackError::NotGsm7(self.encoding));
        }
        let udh = self.udh().unwrap_or_default();
        let packed = gsm7::pack_septets(&self.payload, gsm7::fill_bits_after_udh(udh.len()))?;
        Ok([udh, &packed].concat())
    }
}

/// Cuts an encoded message into the segments to submit. A message that fits
/// one SMS is one segment without UDH or SAR values, whatever the method.
pub fn split(encoded: &Encoded, method: SplitMethod) -> Result<Vec<Segment>, SplitError> {
    let encoding = encoded.encoding();
    let data = encoded.data();
    let whole = || {
        vec![Segment {
            encoding,
            udh: None,
            sar: None,
            payload: data.to_vec(),
        }]
    };
    let (udh_header, reference) = match method {
        SplitMethod::Udh8(reference) => (Some(ConcatHeader::Ref8), u16::from(reference)),
        SplitMethod::Udh16(reference) => (Some(ConcatHeader::Ref16), reference),
        SplitMethod::Sar(reference) => (None, reference),
        SplitMethod::MessagePayload => return Ok(whole()),
    };
    let bytes_per_unit = bytes_per_unit(encoding);
    if data.len() <= capacity(encoding, None) * bytes_per_unit {
        return Ok(whole());
    }
    let limit = capacity(encoding, Some(udh_header.unwrap_or_default())) * bytes_per_unit;
    let sizes: Vec<usize> = segment_sizes(token_lengths(encoding, data), limit).collect();
    let total = u8::try_from(sizes.len()).map_err(|_| SplitError::TooManySegments {
        segments: sizes.len(),
    })?;
    let mut rest = data;
    let payloads = sizes.into_iter().map_while(|size| {
        let (payload, tail) = rest.split_at_checked(size)?;
        rest = tail;
        Some(payload)
    });
    Ok(Concat::parts(reference, total)
        .zip(payloads)
        .map(|(concat, payload)| Segment {
            encoding,
            udh: udh_header.map(|header| concat.to_udh(header)),
            sar: udh_header.is_none().then_some(concat),
            payload: payload.to_vec(),
        })
        .collect())
}

/// Why a message cannot be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SplitError {
    /// The part count is one octet.
    #[error(
        "the message needs {segments} segments, more than the {MAX_SEGMENTS} a concatenated SMS can have; shorten it or send it as message_payload"
    )]
    TooManySegments {
        /// Segments the message would need.
        segments: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode, encode_best, parse_udh};

    fn count(text: &str) -> SegmentInfo {
        count_segments(text, EncodeOptions::default(), ConcatHeader::Ref8)
    }

    fn count16(text: &str) -> SegmentInfo {
        count_segments(text, EncodeOptions::default(), ConcatHeader::Ref16)
    }

    fn split_best(text: &str, method: SplitMethod) -> Vec<Segment> {
        split(&encode_best(text, EncodeOptions::default()), method).unwrap()
    }

    fn payload_lens(segments: &[Segment]) -> Vec<usize> {
        segments
            .iter()
            .map(|segment| segment.payload().len())
            .collect()
    }

    #[test]
    fn capacities_match_the_well_known_limits() {
        let limits = |header| {
            [Encoding::Gsm7, Encoding::Latin1, Encoding::Ucs2]
                .map(|encoding| capacity(encoding, header))
        };
        assert_eq!(limits(None), [160, 140, 70]);
        assert_eq!(limits(Some(ConcatHeader::Ref8)), [153, 134, 67]);
        assert_eq!(limits(Some(ConcatHeader::Ref16)), [152, 133, 66]);
    }

    #[test]
    fn empty_text_is_one_segment() {
        let info = count("");
        assert_eq!(
            (info.segments, info.units, info.units_left_in_last),
            (1, 0, 160)
        );
        assert_eq!(payload_lens(&split_best("", SplitMethod::Udh8(1))), [0]);
    }

    #[test]
    fn gsm_160_chars_fit_one_segment_and_161_need_two() {
        let info = count(&"a".repeat(160));
        assert_eq!(
            (info.encoding, info.segments, info.units_left_in_last),
            (Encoding::Gsm7, 1, 0)
        );
        let info = count(&"a".repeat(161));
        assert_eq!(
            (info.segments, info.units, info.units_left_in_last),
            (2, 161, 153 - 8)
        );
        assert_eq!(
            payload_lens(&split_best(&"a".repeat(161), SplitMethod::Udh8(1))),
            [153, 8]
        );
    }

    #[test]
    fn gsm_306_chars_fit_two_segments_and_307_need_three() {
        assert_eq!(count(&"a".repeat(306)).segments, 2);
        assert_eq!(count(&"a".repeat(306)).units_left_in_last, 0);
        assert_eq!(count(&"a".repeat(307)).segments, 3);
    }

    #[test]
    fn gsm_16_bit_reference_leaves_152_septets() {
        assert_eq!(count16(&"a".repeat(304)).segments, 2);
        assert_eq!(count16(&"a".repeat(305)).segments, 3);
        assert_eq!(
            payload_lens(&split_best(&"a".repeat(305), SplitMethod::Udh16(1))),
            [152, 152, 1]
        );
    }

    #[test]
    fn euro_sign_costs_two_septets() {
        let info = count("€");
        assert_eq!((info.units, info.units_left_in_last), (2, 158));
        assert_eq!(count(&"€".repeat(80)).segments, 1);
        assert_eq!(count(&"€".repeat(81)).segments, 2);
    }

    #[test]
    fn escape_sequence_straddling_a_boundary_moves_to_the_next_segment() {
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        let info = count(&text);
        assert_eq!(
            (info.segments, info.units, info.units_left_in_last),
            (2, 164, 153 - 12)
        );
        let segments = split_best(&text, SplitMethod::Udh8(1));
        assert_eq!(payload_lens(&segments), [152, 12]);
        assert_eq!(&segments[1].payload()[..2], [gsm7::ESCAPE, 0x65]);
    }

    #[test]
    fn escape_sequence_ending_exactly_at_the_boundary_stays() {
        let text = format!("{}€{}", "a".repeat(151), "a".repeat(10));
        assert_eq!(
            payload_lens(&split_best(&text, SplitMethod::Udh8(1))),
            [153, 10]
        );
    }

    #[test]
    fn ucs2_70_units_fit_one_segment_and_71_need_two() {
        assert_eq!(count(&"ж".repeat(70)).segments, 1);
        let info = count(&"ж".repeat(71));
        assert_eq!(
            (info.encoding, info.segments, info.units_left_in_last),
            (Encoding::Ucs2, 2, 63)
        );
        assert_eq!(
            payload_lens(&split_best(&"ж".repeat(71), SplitMethod::Udh8(1))),
            [134, 8]
        );
    }

    #[test]
    fn ucs2_16_bit_reference_leaves_66_units() {
        assert_eq!(
            payload_lens(&split_best(&"ж".repeat(71), SplitMethod::Udh16(1))),
            [132, 10]
        );
        assert_eq!(count16(&"ж".repeat(132)).segments, 2);
        assert_eq!(count16(&"ж".repeat(133)).segments, 3);
    }

    #[test]
    fn surrogate_pair_is_never_split_across_segments() {
        let text = format!("{}😀{}", "ж".repeat(66), "ж".repeat(3));
        let info = count(&text);
        assert_eq!(
            (info.segments, info.units, info.units_left_in_last),
            (2, 71, 62)
        );
        let segments = split_best(&text, SplitMethod::Udh8(1));
        assert_eq!(payload_lens(&segments), [132, 10]);
        assert_eq!(&segments[1].payload()[..4], [0xD8, 0x3D, 0xDE, 0x00]);
    }

    #[test]
    fn emoji_counts_two_units() {
        let info = count("😀");
        assert_eq!(
            (info.encoding, info.units, info.units_left_in_last),
            (Encoding::Ucs2, 2, 68)
        );
        assert_eq!(count(&"😀".repeat(35)).segments, 1);
        assert_eq!(count(&"😀".repeat(36)).segments, 2);
    }

    #[test]
    fn latin1_140_octets_fit_one_segment_and_141_need_two() {
        let latin1 = EncodeOptions { allow_latin1: true };
        let info = count_segments(&"ç".repeat(140), latin1, ConcatHeader::Ref8);
        assert_eq!((info.encoding, info.segments), (Encoding::Latin1, 1));
        let info = count_segments(&"ç".repeat(141), latin1, ConcatHeader::Ref8);
        assert_eq!((info.segments, info.units_left_in_last), (2, 127));
        assert_eq!(
            count_segments(&"ç".repeat(266), latin1, ConcatHeader::Ref16).segments,
            2
        );
        assert_eq!(
            count_segments(&"ç".repeat(267), latin1, ConcatHeader::Ref16).segments,
            3
        );
    }

    #[test]
    fn forced_ascii_counts_against_the_7_bit_budget() {
        let encoded = encode(&"a".repeat(161), Encoding::Ascii).unwrap();
        assert_eq!(
            payload_lens(&split(&encoded, SplitMethod::Sar(1)).unwrap()),
            [153, 8]
        );
    }

    #[test]
    fn single_segment_has_neither_udh_nor_sar() {
        for method in [
            SplitMethod::Udh8(1),
            SplitMethod::Udh16(1),
            SplitMethod::Sar(1),
        ] {
            let segments = split_best("hi", method);
            assert_eq!(segments.len(), 1);
            assert_eq!((segments[0].udh(), segments[0].sar()), (None, None));
            assert_eq!(segments[0].short_message(), b"hi");
        }
    }

    #[test]
    fn udh_segments_carry_reference_total_and_number() {
        let segments = split_best(&"a".repeat(400), SplitMethod::Udh8(0x2A));
        assert_eq!(segments.len(), 3);
        for (seq, segment) in (1..).zip(&segments) {
            assert_eq!(
                segment.udh(),
                Some(&[0x05, 0x00, 0x03, 0x2A, 0x03, seq][..])
            );
            assert_eq!(segment.sar(), None);
            let short_message = segment.short_message();
            let udh = parse_udh(&short_message).unwrap();
            assert_eq!(udh.concat(), Some(Concat::new(0x2A, 3, seq).unwrap()));
            assert_eq!(&short_message[udh.header_len()..], segment.payload());
        }
    }

    #[test]
    fn sixteen_bit_udh_carries_the_whole_reference() {
        let segments = split_best(&"a".repeat(200), SplitMethod::Udh16(0x1234));
        assert_eq!(
            segments[1].udh(),
            Some(&[0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02][..])
        );
    }

    #[test]
    fn sar_segments_have_no_udh_and_are_sized_for_an_8_bit_udh() {
        let segments = split_best(&"a".repeat(307), SplitMethod::Sar(0xABCD));
        assert_eq!(payload_lens(&segments), [153, 153, 1]);
        for (seq, segment) in (1..).zip(&segments) {
            assert_eq!(segment.udh(), None);
            assert_eq!(segment.sar(), Some(Concat::new(0xABCD, 3, seq).unwrap()));
            assert_eq!(segment.short_message(), segment.payload());
        }
    }

    #[test]
    fn message_payload_is_never_split() {
        let segments = split_best(&"a".repeat(1000), SplitMethod::MessagePayload);
        assert_eq!(payload_lens(&segments), [1000]);
        assert_eq!((segments[0].udh(), segments[0].sar()), (None, None));
    }

    #[test]
    fn more_than_255_segments_is_an_error() {
        let fits = encode_best(&"a".repeat(153 * 255), EncodeOptions::default());
        assert_eq!(
            split(&fits, SplitMethod::Udh8(1)).unwrap().len(),
            MAX_SEGMENTS
        );
        let too_long = encode_best(&"a".repeat(153 * 255 + 1), EncodeOptions::default());
        assert_eq!(
            split(&too_long, SplitMethod::Udh8(1)),
            Err(SplitError::TooManySegments { segments: 256 })
        );
        assert_eq!(count(&"a".repeat(153 * 255 + 1)).segments, 256);
        assert_eq!(
            split(&too_long, SplitMethod::MessagePayload).unwrap().len(),
            1
        );
    }

    #[test]
    fn packed_segment_is_udh_fill_bit_then_septets() {
        let segments = split_best(&"a".repeat(153 * 2), SplitMethod::Udh8(1));
        let packed = segments[0].packed_short_message().unwrap();
        assert_eq!(
            packed.len(),
            140,
            "6 UDH octets + 1 fill bit + 153 septets fill exactly 140 octets"
        );
        assert_eq!(&packed[..6], segments[0].udh().unwrap());
        let septets = crate::unpack_septets(&packed[6..], 1, 153).unwrap();
        assert_eq!(septets, segments[0].payload());
    }

    #[test]
    fn packed_16_bit_segment_needs_no_fill_bits() {
        let segments = split_best(&"a".repeat(152 * 2), SplitMethod::Udh16(1));
        let packed = segments[1].packed_short_message().unwrap();
        assert_eq!(packed.len(), 140);
        assert_eq!(
            crate::unpack_septets(&packed[7..], 0, 152).unwrap(),
            segments[1].payload()
        );
    }

    #[test]
    fn packing_a_ucs2_segment_is_an_error() {
        let segments = split_best("😀", SplitMethod::Udh8(1));
        assert_eq!(
            segments[0].packed_short_message(),
            Err(PackError::NotGsm7(Encoding::Ucs2))
        );
    }
}
