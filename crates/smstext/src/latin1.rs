//! ISO-8859-1 (Latin-1, data_coding 3) and its 7-bit subset IA5/ASCII
//! (data_coding 1): one octet per character, the code point itself.
//!
//! Latin-1 decoding cannot fail: every octet is a character. ASCII decoding
//! rejects octets above 0x7F rather than guessing which 8-bit alphabet the
//! sender meant.

use crate::DecodeError;

/// Appends the Latin-1 octets of `text` to `out`, or returns the byte offset
/// and character of the first one above U+00FF.
pub(crate) fn encode_into(text: &str, out: &mut Vec<u8>) -> Result<(), (usize, char)> {
    for (offset, c) in text.char_indices() {
        out.push(u8::try_from(c).map_err(|_| (offset, c))?);
    }
    Ok(())
}

/// Appends the ASCII octets of `text` to `out`, or returns the byte offset
/// and character of the first one above U+007F.
pub(crate) fn encode_ascii_into(text: &str, out: &mut Vec<u8>) -> Result<(), (usize, char)> {
    match text.char_indices().find(|(_, c)| !c.is_ascii()) {
        Some(unrepresentable) => Err(unrepresentable),
        None => {
            out.extend_from_slice(text.as_bytes());
            Ok(())
        }
    }
}

/// Decodes Latin-1 octets: each one is the code point of its character.
pub(crate) fn decode(octets: &[u8]) -> String {
    octets.iter().copied().map(char::from).collect()
}

/// Decodes ASCII octets; an octet above 0x7F is an error.
pub(crate) fn decode_ascii(octets: &[u8]) -> Result<String, DecodeError> {
    match octets
        .iter()
        .copied()
        .enumerate()
        .find(|(_, octet)| !octet.is_ascii())
    {
        Some((offset, octet)) => Err(DecodeError::NotAscii { offset, octet }),
        None => Ok(decode(octets)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_latin1_range_round_trips() {
        let all: Vec<u8> = (0..=0xFF).collect();
        let text = decode(&all);
        assert_eq!(text.chars().count(), 256);
        assert!(
            text.chars()
                .zip(0u32..)
                .all(|(c, code_point)| u32::from(c) == code_point)
        );
        let mut encoded = Vec::new();
        encode_into(&text, &mut encoded).unwrap();
        assert_eq!(encoded, all);
    }

    #[test]
    fn char_above_u00ff_is_reported_with_its_byte_offset() {
        let mut out = Vec::new();
        assert_eq!(encode_into("ab€", &mut out), Err((2, '€')));
        assert_eq!(encode_into("é€", &mut Vec::new()), Err((2, '€')));
    }

    #[test]
    fn ascii_round_trips_and_rejects_high_octets() {
        let all: Vec<u8> = (0..=0x7F).collect();
        let text = decode_ascii(&all).unwrap();
        let mut encoded = Vec::new();
        encode_ascii_into(&text, &mut encoded).unwrap();
        assert_eq!(encoded, all);
        assert_eq!(
            decode_ascii(b"ok\xE9"),
            Err(DecodeError::NotAscii {
                offset: 2,
                octet: 0xE9
            })
        );
        assert_eq!(encode_ascii_into("café", &mut Vec::new()), Err((3, 'é')));
    }
}
