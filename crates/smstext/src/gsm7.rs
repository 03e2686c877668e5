//! The GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1, formerly GSM 03.38)
//! and its extension table, in both the unpacked form (one septet per octet,
//! what SMPP carries with data_coding 0) and the packed form (septets laid
//! end to end, what the air interface and some carriers use).
//!
//! This module owns the two tables and nothing else: choosing an encoding,
//! counting and splitting live in `encoding` and `split`.

use crate::{DecodeError, Encoding};
use thiserror::Error;

/// The escape to the extension table: the septet after it is looked up in
/// [`extension_char`], and the pair counts as two septets.
pub(crate) const ESCAPE: u8 = 0x1B;

/// The default alphabet, indexed by septet. Slot 0x1B is [`ESCAPE`], not a
/// character; the encoder never emits it on its own and the decoder never
/// looks it up here.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table: (septet after [`ESCAPE`], character). 0x0A is the
/// form feed (page break).
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// Marks a Latin-1 code point with no GSM code in [`FROM_LATIN1`].
const NOT_GSM: u8 = 0xFF;
/// Marks an extension-table code in [`FROM_LATIN1`]; the low seven bits are
/// the septet after the escape. Extension septets stay below 0x7F, so no
/// entry collides with [`NOT_GSM`].
const EXTENDED: u8 = 0x80;

/// The encoder's lookup for code points below U+0100, where all but eleven
/// GSM characters live, built from the two tables at compile time so there
/// is a single source of truth and encoding stays one array index per char.
static FROM_LATIN1: [u8; 256] = build_from_latin1();

const fn build_from_latin1() -> [u8; 256] {
    let mut table = [NOT_GSM; 256];
    let mut septet = 0;
    while septet < BASIC.len() {
        let code_point = BASIC[septet] as usize;
        if septet != ESCAPE as usize && code_point < table.len() {
            table[code_point] = septet as u8;
        }
        septet += 1;
    }
    let mut i = 0;
    while i < EXTENSION.len() {
        let (septet, c) = EXTENSION[i];
        if (c as usize) < table.len() {
            table[c as usize] = EXTENDED | septet;
        }
        i += 1;
    }
    table
}

/// How one character is written in GSM 7-bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    /// One septet of the default alphabet.
    Basic(u8),
    /// [`ESCAPE`] followed by this septet of the extension table.
    Extended(u8),
}

impl Code {
    /// Septets the character costs: the escape counts as one.
    pub(crate) fn septets(self) -> usize {
        match self {
            Code::Basic(_) => 1,
            Code::Extended(_) => 2,
        }
    }
}

/// The GSM code of `c`, or `None` if the default alphabet and its extension
/// table cannot represent it exactly.
pub(crate) fn code_for(c: char) -> Option<Code> {
    match u8::try_from(c) {
        Ok(latin1) => match FROM_LATIN1[usize::from(latin1)] {
            NOT_GSM => None,
            code if code & EXTENDED != 0 => Some(Code::Extended(code & !EXTENDED)),
            septet => Some(Code::Basic(septet)),
        },
        // Above U+00FF the tables hold only the Greek capitals and the euro.
        Err(_) if c == '€' => Some(Code::Extended(0x65)),
        Err(_) => (0x10..ESCAPE)
            .find(|&septet| BASIC[usize::from(septet)] == c)
            .map(Code::Basic),
    }
}

/// Appends the unpacked septets of `text` to `out`, or returns the byte
/// offset and character of the first one GSM 7-bit cannot represent.
pub(crate) fn encode_into(text: &str, out: &mut Vec<u8>) -> Result<(), (usize, char)> {
    for (offset, c) in text.char_indices() {
        match code_for(c) {
            Some(Code::Basic(septet)) => out.push(septet),
            Some(Code::Extended(septet)) => out.extend_from_slice(&[ESCAPE, septet]),
            None => return Err((offset, c)),
        }
    }
    Ok(())
}

/// The character shown for `septet` after an escape.
///
/// 23.038 says an unknown extension code is shown as the default alphabet's
/// character for the same septet, and the escape-escape pair (reserved for a
/// further table) as a space, so decoding text from a newer sender degrades
/// gracefully instead of failing.
fn extension_char(septet: u8) -> Option<char> {
    if septet == ESCAPE {
        return Some(' ');
    }
    EXTENSION
        .iter()
        .find(|&&(code, _)| code == septet)
        .map(|&(_, c)| c)
        .or_else(|| BASIC.get(usize::from(septet)).copied())
}

/// Decodes unpacked septets (one per octet).
///
/// An octet above 0x7F is not a septet: it is an error rather than a
/// replacement character, because it means the sender used another alphabet
/// under data_coding 0 and the caller should know, not show garbled text.
/// A lone escape at the very end is shown as a space, as 23.038 asks of an
/// escape the receiver cannot interpret.
pub(crate) fn decode(septets: &[u8]) -> Result<String, DecodeError> {
    let not_a_septet = |offset: usize, octet: u8| DecodeError::NotASeptet { offset, octet };
    let mut text = String::with_capacity(septets.len());
    let mut octets = septets.iter().copied().enumerate();
    while let Some((offset, octet)) = octets.next() {
        let c = if octet == ESCAPE {
            match octets.next() {
                Some((offset, octet)) => {
                    extension_char(octet).ok_or(not_a_septet(offset, octet))?
                }
                None => ' ',
            }
        } else {
            BASIC
                .get(usize::from(octet))
                .copied()
                .ok_or(not_a_septet(offset, octet))?
        };
        text.push(c);
    }
    Ok(text)
}

/// What went wrong packing or unpacking septets.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackError {
    /// Fill bits pad a UDH to the next septet boundary, so there are at most six.
    #[error("{0} fill bits asked for, but a UDH never needs more than 6")]
    FillBits(u8),
    /// Only values 0..=0x7F are septets.
    #[error("value {value:#04x} at offset {offset} is not a septet (above 0x7f)")]
    NotASeptet {
        /// Index of the value in the input.
        offset: usize,
        /// The value.
        value: u8,
    },
    /// The packed octets do not hold exactly the announced number of septets.
    #[error(
        "{septets} septets after {fill_bits} fill bits pack into {expected} octets, but {actual} were given"
    )]
    Length {
        /// Septets the caller announced (e.g. from the UDL).
        septets: usize,
        /// Fill bits before the first septet.
        fill_bits: u8,
        /// Octets those septets occupy.
        expected: usize,
        /// Octets given.
        actual: usize,
    },
    /// Only GSM 7-bit text is packed; other encodings are octets already.
    #[error("only GSM 7-bit text can be packed, this segment is {0}")]
    NotGsm7(Encoding),
}

/// Fill bits that follow a UDH of `udh_len` octets (including the UDHL
/// octet) so that the first septet of text starts on a septet boundary, as
/// 23.040 §9.2.3.24 requires: a 6-octet concatenation UDH needs 1, a 7-octet
/// one needs none.
pub fn fill_bits_after_udh(udh_len: usize) -> u8 {
    // 8 × udh_len modulo 7 depends only on udh_len modulo 7, which keeps the
    // arithmetic from overflowing; the result is below 7, so it fits a u8.
    let udh_bits = (udh_len % 7) * 8;
    ((7 - udh_bits % 7) % 7) as u8
}

/// Packs septets end to end, least significant bit first, after `fill_bits`
/// zero bits (see [`fill_bits_after_udh`]). The output has
/// `ceil((fill_bits + 7 × septets) / 8)` octets; the spare bits of the last
/// octet are zero, so the receiver needs the septet count (the UDL) to tell
/// seven spare bits from a trailing '@'.
pub fn pack_septets(septets: &[u8], fill_bits: u8) -> Result<Vec<u8>, PackError> {
    if fill_bits > 6 {
        return Err(PackError::FillBits(fill_bits));
    }
    let mut packed = Vec::with_capacity(packed_len(septets.len(), fill_bits));
    let mut bits: u32 = 0;
    let mut pending = u32::from(fill_bits);
    for (offset, &value) in septets.iter().enumerate() {
        if value > 0x7F {
            return Err(PackError::NotASeptet { offset, value });
        }
        bits |= u32::from(value) << pending;
        pending += 7;
        while pending >= 8 {
            packed.push((bits & 0xFF) as u8);
            bits >>= 8;
            pending -= 8;
        }
    }
    if pending > 0 {
        packed.push((bits & 0xFF) as u8);
    }
    Ok(packed)
}

/// Unpacks `septets` septets that follow `fill_bits` fill bits. The count is
/// required because the packed form cannot tell seven spare bits from a
/// trailing '@'; `packed` must be exactly as long as [`pack_septets`] makes it.
pub fn unpack_septets(packed: &[u8], fill_bits: u8, septets: usize) -> Result<Vec<u8>, PackError> {
    if fill_bits > 6 {
        return Err(PackError::FillBits(fill_bits));
    }
    let expected = packed_len(septets, fill_bits);
    if packed.len() != expected {
        return Err(PackError::Length {
            septets,
            fill_bits,
            expected,
            actual: packed.len(),
        });
    }
    let mut unpacked = Vec::with_capacity(septets);
    let mut bits: u32 = 0;
    let mut available: u32 = 0;
    let mut skip = u32::from(fill_bits);
    for &octet in packed {
        bits |= u32::from(octet) << available;
        available += 8;
        let skipped = skip.min(available);
        bits >>= skipped;
        available -= skipped;
        skip -= skipped;
        while available >= 7 && unpacked.len() < septets {
            unpacked.push((bits & 0x7F) as u8);
            bits >>= 7;
            available -= 7;
        }
    }
    Ok(unpacked)
}

/// Octets that `septets` septets occupy after `fill_bits` fill bits.
/// Saturates, so an absurd count from a caller yields a length mismatch
/// rather than an overflow.
fn packed_len(septets: usize, fill_bits: u8) -> usize {
    septets
        .saturating_mul(7)
        .saturating_add(usize::from(fill_bits))
        .div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default alphabet written independently of `BASIC`, from the
    /// table in 3GPP TS 23.038 §6.2.1 (and unicode.org's GSM0338.TXT).
    const REFERENCE_BASIC: [(u8, char); 127] = [
        (0x00, '@'),
        (0x01, '£'),
        (0x02, '$'),
        (0x03, '¥'),
        (0x04, 'è'),
        (0x05, 'é'),
        (0x06, 'ù'),
        (0x07, 'ì'),
        (0x08, 'ò'),
        (0x09, 'Ç'),
        (0x0A, '\u{0A}'),
        (0x0B, 'Ø'),
        (0x0C, 'ø'),
        (0x0D, '\u{0D}'),
        (0x0E, 'Å'),
        (0x0F, 'å'),
        (0x10, 'Δ'),
        (0x11, '_'),
        (0x12, 'Φ'),
        (0x13, 'Γ'),
        (0x14, 'Λ'),
        (0x15, 'Ω'),
        (0x16, 'Π'),
        (0x17, 'Ψ'),
        (0x18, 'Σ'),
        (0x19, 'Θ'),
        (0x1A, 'Ξ'),
        (0x1C, 'Æ'),
        (0x1D, 'æ'),
        (0x1E, 'ß'),
        (0x1F, 'É'),
        (0x20, ' '),
        (0x21, '!'),
        (0x22, '"'),
        (0x23, '#'),
        (0x24, '¤'),
        (0x25, '%'),
        (0x26, '&'),
        (0x27, '\''),
        (0x28, '('),
        (0x29, ')'),
        (0x2A, '*'),
        (0x2B, '+'),
        (0x2C, ','),
        (0x2D, '-'),
        (0x2E, '.'),
        (0x2F, '/'),
        (0x30, '0'),
        (0x31, '1'),
        (0x32, '2'),
        (0x33, '3'),
        (0x34, '4'),
        (0x35, '5'),
        (0x36, '6'),
        (0x37, '7'),
        (0x38, '8'),
        (0x39, '9'),
        (0x3A, ':'),
        (0x3B, ';'),
        (0x3C, '<'),
        (0x3D, '='),
        (0x3E, '>'),
        (0x3F, '?'),
        (0x40, '¡'),
        (0x41, 'A'),
        (0x42, 'B'),
        (0x43, 'C'),
        (0x44, 'D'),
        (0x45, 'E'),
        (0x46, 'F'),
        (0x47, 'G'),
        (0x48, 'H'),
        (0x49, 'I'),
        (0x4A, 'J'),
        (0x4B, 'K'),
        (0x4C, 'L'),
        (0x4D, 'M'),
        (0x4E, 'N'),
        (0x4F, 'O'),
        (0x50, 'P'),
        (0x51, 'Q'),
        (0x52, 'R'),
        (0x53, 'S'),
        (0x54, 'T'),
        (0x55, 'U'),
        (0x56, 'V'),
        (0x57, 'W'),
        (0x58, 'X'),
        (0x59, 'Y'),
        (0x5A, 'Z'),
        (0x5B, 'Ä'),
        (0x5C, 'Ö'),
        (0x5D, 'Ñ'),
        (0x5E, 'Ü'),
        (0x5F, '§'),
        (0x60, '¿'),
        (0x61, 'a'),
        (0x62, 'b'),
        (0x63, 'c'),
        (0x64, 'd'),
        (0x65, 'e'),
        (0x66, 'f'),
        (0x67, 'g'),
        (0x68, 'h'),
        (0x69, 'i'),
        (0x6A, 'j'),
        (0x6B, 'k'),
        (0x6C, 'l'),
        (0x6D, 'm'),
        (0x6E, 'n'),
        (0x6F, 'o'),
        (0x70, 'p'),
        (0x71, 'q'),
        (0x72, 'r'),
        (0x73, 's'),
        (0x74, 't'),
        (0x75, 'u'),
        (0x76, 'v'),
        (0x77, 'w'),
        (0x78, 'x'),
        (0x79, 'y'),
        (0x7A, 'z'),
        (0x7B, 'ä'),
        (0x7C, 'ö'),
        (0x7D, 'ñ'),
        (0x7E, 'ü'),
        (0x7F, 'à'),
    ];

    /// The extension table, from the same references.
    const REFERENCE_EXTENSION: [(u8, char); 10] = [
        (0x0A, '\u{0C}'),
        (0x14, '^'),
        (0x28, '{'),
        (0x29, '}'),
        (0x2F, '\\'),
        (0x3C, '['),
        (0x3D, '~'),
        (0x3E, ']'),
        (0x40, '|'),
        (0x65, '€'),
    ];

    fn encode(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_into(text, &mut out).unwrap();
        out
    }

    #[test]
    fn every_default_alphabet_char_has_its_reference_septet_unpacked() {
        for (septet, c) in REFERENCE_BASIC {
            assert_eq!(encode(&c.to_string()), [septet], "{c:?}");
            assert_eq!(decode(&[septet]).unwrap(), c.to_string(), "{septet:#04x}");
        }
    }

    #[test]
    fn every_extension_char_is_escape_then_its_reference_septet_unpacked() {
        for (septet, c) in REFERENCE_EXTENSION {
            assert_eq!(encode(&c.to_string()), [ESCAPE, septet], "{c:?}");
            assert_eq!(
                decode(&[ESCAPE, septet]).unwrap(),
                c.to_string(),
                "{septet:#04x}"
            );
        }
    }

    #[test]
    fn every_char_of_both_tables_round_trips_packed() {
        let all: String = REFERENCE_BASIC
            .iter()
            .chain(&REFERENCE_EXTENSION)
            .map(|&(_, c)| c)
            .collect();
        let septets = encode(&all);
        assert_eq!(septets.len(), 127 + 2 * 10);
        for fill_bits in 0..=6 {
            let packed = pack_septets(&septets, fill_bits).unwrap();
            let unpacked = unpack_septets(&packed, fill_bits, septets.len()).unwrap();
            assert_eq!(decode(&unpacked).unwrap(), all);
        }
    }

    #[test]
    fn tables_hold_no_chars_beyond_the_reference() {
        let known: Vec<char> = REFERENCE_BASIC
            .iter()
            .chain(&REFERENCE_EXTENSION)
            .map(|&(_, c)| c)
            .collect();
        let extra: Vec<char> = (0..=0x2FFFu32)
            .filter_map(char::from_u32)
            .filter(|c| code_for(*c).is_some() && !known.contains(c))
            .collect();
        assert_eq!(extra, Vec::<char>::new());
    }

    #[test]
    fn escape_character_itself_is_not_encodable() {
        assert_eq!(code_for('\u{1B}'), None);
        assert_eq!(
            code_for('\u{A0}'),
            None,
            "NBSP is only how some phones show the escape"
        );
    }

    #[test]
    fn euro_sign_costs_two_septets() {
        assert_eq!(code_for('€').map(Code::septets), Some(2));
        assert_eq!(code_for('e').map(Code::septets), Some(1));
    }

    #[test]
    fn lowercase_c_cedilla_is_not_gsm() {
        assert_eq!(code_for('ç'), None);
    }

    #[test]
    fn unknown_extension_code_shows_the_default_alphabet_char() {
        assert_eq!(decode(&[ESCAPE, 0x41]).unwrap(), "A");
        assert_eq!(decode(&[ESCAPE, 0x00]).unwrap(), "@");
    }

    #[test]
    fn double_escape_shows_a_space_and_decoding_continues() {
        assert_eq!(decode(&[ESCAPE, ESCAPE, 0x41]).unwrap(), " A");
    }

    #[test]
    fn trailing_lone_escape_shows_a_space() {
        assert_eq!(decode(&[0x41, ESCAPE]).unwrap(), "A ");
    }

    #[test]
    fn octet_above_0x7f_is_an_error_with_its_offset() {
        assert_eq!(
            decode(&[0x41, 0x80]),
            Err(DecodeError::NotASeptet {
                offset: 1,
                octet: 0x80
            })
        );
        assert_eq!(
            decode(&[ESCAPE, 0xFF]),
            Err(DecodeError::NotASeptet {
                offset: 1,
                octet: 0xFF
            })
        );
    }

    #[test]
    fn hellohello_packs_to_the_classic_vector() {
        let packed = pack_septets(&encode("hellohello"), 0).unwrap();
        assert_eq!(
            packed,
            [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37]
        );
        assert_eq!(
            decode(&unpack_septets(&packed, 0, 10).unwrap()).unwrap(),
            "hellohello"
        );
    }

    #[test]
    fn seven_eight_and_nine_septets_pack_at_the_octet_boundary() {
        let cases: [(&str, &[u8]); 3] = [
            ("1234567", &[0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x00]),
            ("12345678", &[0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x70]),
            (
                "123456789",
                &[0x31, 0xD9, 0x8C, 0x56, 0xB3, 0xDD, 0x70, 0x39],
            ),
        ];
        for (text, expected) in cases {
            let packed = pack_septets(&encode(text), 0).unwrap();
            assert_eq!(packed, expected, "{text}");
            let unpacked = unpack_septets(&packed, 0, text.len()).unwrap();
            assert_eq!(decode(&unpacked).unwrap(), text);
        }
    }

    #[test]
    fn seven_spare_bits_are_not_read_as_a_trailing_at_sign() {
        let packed = pack_septets(&encode("1234567"), 0).unwrap();
        assert_eq!(unpack_septets(&packed, 0, 7).unwrap().len(), 7);
        assert_eq!(
            decode(&unpack_septets(&packed, 0, 8).unwrap()).unwrap(),
            "1234567@"
        );
    }

    #[test]
    fn concatenation_udh_lengths_need_one_and_zero_fill_bits() {
        assert_eq!(fill_bits_after_udh(6), 1);
        assert_eq!(fill_bits_after_udh(7), 0);
        assert_eq!(fill_bits_after_udh(0), 0);
        for udh_len in 0..300 {
            assert_eq!(
                (udh_len * 8 + usize::from(fill_bits_after_udh(udh_len))) % 7,
                0
            );
        }
    }

    #[test]
    fn fill_bit_shifts_the_first_septet_up_one_bit() {
        assert_eq!(
            pack_septets(&encode("hello"), 1).unwrap(),
            [0xD0, 0x65, 0x36, 0xFB, 0x0D]
        );
        assert_eq!(
            decode(&unpack_septets(&[0xD0, 0x65, 0x36, 0xFB, 0x0D], 1, 5).unwrap()).unwrap(),
            "hello"
        );
    }

    #[test]
    fn packing_rejects_values_that_are_not_septets() {
        assert_eq!(
            pack_septets(&[0x41, 0x80], 0),
            Err(PackError::NotASeptet {
                offset: 1,
                value: 0x80
            })
        );
    }

    #[test]
    fn more_than_six_fill_bits_is_an_error() {
        assert_eq!(pack_septets(&[], 7), Err(PackError::FillBits(7)));
        assert_eq!(unpack_septets(&[], 7, 0), Err(PackError::FillBits(7)));
    }

    #[test]
    fn unpacking_rejects_a_length_that_does_not_match_the_septet_count() {
        assert_eq!(
            unpack_septets(&[0xE8, 0x32], 0, 3),
            Err(PackError::Length {
                septets: 3,
                fill_bits: 0,
                expected: 3,
                actual: 2
            })
        );
        assert!(unpack_septets(&[0; 4], 0, usize::MAX).is_err());
    }
}
