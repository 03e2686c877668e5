//! Properties over arbitrary input: round trips through the public API, and
//! no panic on any bytes.

use proptest::prelude::*;
use proptest::sample::Index;
use smstext::{
    ConcatHeader, EncodeOptions, Encoding, Part, Reassembler, ReassemblyLimits, SplitMethod,
    count_segments, decode, encode, encode_best, pack_septets, parse_udh, split, unpack_septets,
};
use std::time::Instant;

/// Characters of the GSM default alphabet and its extension table.
const GSM_CHARS: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà\u{0C}^{}\\[~]|€";

fn gsm_text() -> impl Strategy<Value = String> {
    let chars: Vec<char> = GSM_CHARS.chars().collect();
    prop::collection::vec(prop::sample::select(chars), 0..700).prop_map(String::from_iter)
}

fn latin1_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>().prop_map(char::from), 0..700).prop_map(String::from_iter)
}

fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..400).prop_map(String::from_iter)
}

/// Text in one encoding, with that encoding.
fn text_and_encoding() -> impl Strategy<Value = (String, Encoding)> {
    prop_oneof![
        gsm_text().prop_map(|text| (text, Encoding::Gsm7)),
        latin1_text().prop_map(|text| (text, Encoding::Latin1)),
        any_text().prop_map(|text| (text, Encoding::Ucs2)),
    ]
}

fn method() -> impl Strategy<Value = SplitMethod> {
    prop_oneof![
        any::<u8>().prop_map(SplitMethod::Udh8),
        any::<u16>().prop_map(SplitMethod::Udh16),
        any::<u16>().prop_map(SplitMethod::Sar),
    ]
}

fn options() -> impl Strategy<Value = EncodeOptions> {
    any::<bool>().prop_map(|allow_latin1| EncodeOptions { allow_latin1 })
}

proptest! {
    #[test]
    fn any_text_round_trips_through_encode_best_and_decode(text in any_text(), options in options()) {
        let encoded = encode_best(&text, options);
        prop_assert_eq!(decode(encoded.encoding().data_coding(), encoded.data()).unwrap(), text);
    }

    #[test]
    fn gsm_and_latin1_text_round_trip_in_their_own_encoding((text, encoding) in text_and_encoding()) {
        let encoded = encode(&text, encoding).unwrap();
        prop_assert_eq!(decode(encoding.data_coding(), encoded.data()).unwrap(), text);
    }

    #[test]
    fn count_agrees_with_encode_best_and_split(text in any_text(), options in options(), method in method()) {
        let header = match method {
            SplitMethod::Udh16(_) => ConcatHeader::Ref16,
            _ => ConcatHeader::Ref8,
        };
        let info = count_segments(&text, options, header);
        let encoded = encode_best(&text, options);
        prop_assert_eq!(info.encoding, encoded.encoding());
        prop_assert_eq!(info.units, encoded.units());
        prop_assert_eq!(info.segments, split(&encoded, method).unwrap().len());
    }

    #[test]
    fn split_then_reassemble_in_any_order_with_duplicates_gives_back_the_text(
        (text, encoding) in text_and_encoding(),
        method in method(),
        order in prop::collection::vec(any::<u32>(), 255),
        duplicates in prop::collection::vec(any::<Index>(), 0..4),
    ) {
        let encoded = encode(&text, encoding).unwrap();
        let segments = split(&encoded, method).unwrap();
        let parts: Vec<Part> = segments
            .iter()
            .map(|segment| {
                let short_message = segment.short_message();
                match (segment.udh(), segment.sar()) {
                    (Some(_), _) => {
                        let udh = parse_udh(&short_message).unwrap();
                        Part { concat: udh.concat().unwrap(), payload: short_message[udh.header_len()..].to_vec() }
                    }
                    (None, Some(concat)) => Part { concat, payload: short_message },
                    (None, None) => {
                        let concat = smstext::Concat::new(0, 1, 1).unwrap();
                        Part { concat, payload: short_message }
                    }
                }
            })
            .collect();
        let mut arrivals: Vec<(u32, &Part)> = parts.iter().zip(&order).map(|(part, &key)| (key, part)).collect();
        arrivals.sort_by_key(|&(key, _)| key);
        let mut arrivals: Vec<&Part> = arrivals.into_iter().map(|(_, part)| part).collect();
        // A message of one segment completes on arrival, so only parts of a
        // longer one can be recognised as duplicates.
        let duplicates = if parts.len() > 1 { duplicates.as_slice() } else { &[] };
        for duplicate in duplicates {
            let part = *duplicate.get(&arrivals);
            arrivals.insert(duplicate.index(arrivals.len()), part);
        }
        let mut reassembler = Reassembler::new(ReassemblyLimits::default());
        let now = Instant::now();
        let mut completed = Vec::new();
        for part in arrivals {
            completed.extend(reassembler.insert("conversation", part.clone(), now));
        }
        prop_assert_eq!(completed.len(), 1);
        prop_assert_eq!(decode(encoding.data_coding(), &completed[0].payload).unwrap(), text);
    }

    #[test]
    fn packing_then_unpacking_is_identity(
        septets in prop::collection::vec(0u8..0x80, 0..400),
        fill_bits in 0u8..7,
    ) {
        let packed = pack_septets(&septets, fill_bits).unwrap();
        prop_assert_eq!(packed.len(), (usize::from(fill_bits) + 7 * septets.len()).div_ceil(8));
        prop_assert_eq!(unpack_septets(&packed, fill_bits, septets.len()).unwrap(), septets);
    }

    #[test]
    fn parse_udh_never_panics_and_stays_in_bounds(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(udh) = parse_udh(&bytes) {
            prop_assert!(udh.header_len() <= bytes.len());
            prop_assert_eq!(udh.header_len(), usize::from(bytes[0]) + 1);
            let _ = udh.concat();
        }
    }

    #[test]
    fn decode_never_panics(data_coding in any::<u8>(), bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode(data_coding, &bytes);
    }

    #[test]
    fn unpack_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        fill_bits in any::<u8>(),
        septets in any::<usize>(),
    ) {
        let _ = unpack_septets(&bytes, fill_bits, septets);
        let _ = unpack_septets(&bytes, fill_bits, septets % 400);
    }
}
