//! UCS-2 (data_coding 8), read and written as UTF-16BE so that characters
//! outside the Basic Multilingual Plane (emoji, many CJK ideographs) travel
//! as surrogate pairs and survive both ways; every current handset decodes
//! data_coding 8 this way.
//!
//! Decoding is strict about framing and lenient about content: an odd number
//! of octets is an error (the message was cut), while a lone surrogate, which
//! a Rust `String` cannot hold, becomes U+FFFD so the rest of the text is kept.

use crate::DecodeError;

/// Appends the UTF-16BE code units of `text` to `out`. Every character can be
/// written, so this cannot fail.
pub(crate) fn encode_into(text: &str, out: &mut Vec<u8>) {
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
}

/// Decodes UTF-16BE; lone surrogates become U+FFFD, an odd length is an error.
pub(crate) fn decode(octets: &[u8]) -> Result<String, DecodeError> {
    let (units, rest) = octets.as_chunks::<2>();
    if !rest.is_empty() {
        return Err(DecodeError::OddUcs2Length { len: octets.len() });
    }
    Ok(
        char::decode_utf16(units.iter().map(|&unit| u16::from_be_bytes(unit)))
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
    )
}

/// Whether the code unit starting `octets` is a high (leading) surrogate,
/// which must stay in the same segment as the low surrogate after it.
pub(crate) fn starts_with_high_surrogate(octets: &[u8]) -> bool {
    matches!(octets, [0xD8..=0xDB, _, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(text, &mut out);
        out
    }

    #[test]
    fn emoji_survives_ucs2_round_trip() {
        let encoded = encode("ok 😀");
        assert_eq!(
            encoded,
            [0x00, 0x6F, 0x00, 0x6B, 0x00, 0x20, 0xD8, 0x3D, 0xDE, 0x00]
        );
        assert_eq!(decode(&encoded).unwrap(), "ok 😀");
    }

    #[test]
    fn astral_characters_survive_as_surrogate_pairs() {
        let text = "𝄞 𠜎 🏳️‍🌈 👍🏽";
        assert_eq!(decode(&encode(text)).unwrap(), text);
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(decode(&[0xD8, 0x3D, 0x00, 0x41]).unwrap(), "\u{FFFD}A");
        assert_eq!(decode(&[0x00, 0x41, 0xDE, 0x00]).unwrap(), "A\u{FFFD}");
    }

    #[test]
    fn odd_octet_count_is_an_error() {
        assert_eq!(
            decode(&[0x00, 0x41, 0x00]),
            Err(DecodeError::OddUcs2Length { len: 3 })
        );
    }

    #[test]
    fn high_surrogate_is_recognised_by_its_first_octet() {
        assert!(starts_with_high_surrogate(&[0xD8, 0x3D, 0xDE, 0x00]));
        assert!(!starts_with_high_surrogate(&[0xDE, 0x00]));
        assert!(!starts_with_high_surrogate(&[0x00, 0x41]));
        assert!(!starts_with_high_surrogate(&[0xD8]));
    }
}
