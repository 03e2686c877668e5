//! Which alphabet a message travels in: the [`Encoding`] enum and its
//! mapping to and from the SMPP `data_coding` octet, choosing the cheapest
//! encoding that represents a text exactly ([`encode_best`]), forcing one
//! ([`encode`]), and turning a received short_message back into text
//! ([`decode`]).
//!
//! The per-alphabet work is done by `gsm7`, `latin1` and `ucs2`; this module
//! only decides between them.

use crate::{gsm7, latin1, ucs2};
use std::fmt;
use thiserror::Error;

/// The alphabet of a message's octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// GSM 7-bit default alphabet with its extension table (data_coding 0,
    /// the SMSC default, which we take to mean GSM 7-bit), carried unpacked:
    /// one septet per octet.
    Gsm7,
    /// IA5 / ASCII (data_coding 1). It travels over the air as 7-bit text,
    /// so it is counted against the 7-bit budgets.
    Ascii,
    /// ISO-8859-1 (data_coding 3). Many carriers do not support it, which is
    /// why [`encode_best`] only picks it when asked to.
    Latin1,
    /// UCS-2 (data_coding 8), read and written as UTF-16BE.
    Ucs2,
    /// 8-bit binary data, not text (data_coding 4 or 2).
    Binary,
}

impl Encoding {
    /// The encoding a received `data_coding` octet announces.
    ///
    /// 0x00–0x0F carry the meanings SMPP 3.4 §5.2.19 gives them; the rest
    /// follow the coding groups of 3GPP TS 23.038 §4: the general and
    /// automatic-deletion groups (0x10–0x7F, alphabet in bits 3–2, message
    /// class ignored, compressed text unsupported), the message-waiting
    /// groups (0xC0–0xEF) and the data coding / message class group
    /// (0xF0–0xFF, bit 2 selects 8-bit data over GSM 7-bit).
    pub fn from_data_coding(data_coding: u8) -> Result<Self, UnsupportedDataCoding> {
        let unsupported = |reason| {
            Err(UnsupportedDataCoding {
                data_coding,
                reason,
            })
        };
        match data_coding {
            0x00 => Ok(Encoding::Gsm7),
            0x01 => Ok(Encoding::Ascii),
            0x02 | 0x04 => Ok(Encoding::Binary),
            0x03 => Ok(Encoding::Latin1),
            0x08 => Ok(Encoding::Ucs2),
            0x05 => unsupported("JIS (X 0208-1990) text"),
            0x06 => unsupported("Cyrillic (ISO-8859-5) text"),
            0x07 => unsupported("Latin/Hebrew (ISO-8859-8) text"),
            0x09 => unsupported("pictogram encoding"),
            0x0A => unsupported("music codes (ISO-2022-JP)"),
            0x0D => unsupported("extended Kanji JIS (X 0212-1990) text"),
            0x0E => unsupported("KS C 5601 text"),
            0x0B | 0x0C | 0x0F => unsupported("a reserved SMPP value"),
            0x10..=0x7F if data_coding & 0x20 != 0 => unsupported("compressed text"),
            0x10..=0x7F => match (data_coding >> 2) & 0b11 {
                0b00 => Ok(Encoding::Gsm7),
                0b01 => Ok(Encoding::Binary),
                0b10 => Ok(Encoding::Ucs2),
                _ => unsupported("a reserved alphabet"),
            },
            0x80..=0xBF => unsupported("a reserved coding group"),
            0xC0..=0xDF => Ok(Encoding::Gsm7),
            0xE0..=0xEF => Ok(Encoding::Ucs2),
            0xF0..=0xFF if data_coding & 0x04 != 0 => Ok(Encoding::Binary),
            0xF0..=0xFF => Ok(Encoding::Gsm7),
        }
    }

    /// The `data_coding` octet to submit this encoding with: the plain SMPP
    /// value (0, 1, 3, 8 or 4), with no message class.
    pub fn data_coding(self) -> u8 {
        match self {
            Encoding::Gsm7 => 0x00,
            Encoding::Ascii => 0x01,
            Encoding::Latin1 => 0x03,
            Encoding::Ucs2 => 0x08,
            Encoding::Binary => 0x04,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Gsm7 => "GSM 7-bit",
            Encoding::Ascii => "IA5/ASCII",
            Encoding::Latin1 => "Latin-1",
            Encoding::Ucs2 => "UCS-2",
            Encoding::Binary => "8-bit binary",
        })
    }
}

/// A `data_coding` octet whose alphabet we cannot turn into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("data_coding {data_coding:#04x} is not supported: it announces {reason}")]
pub struct UnsupportedDataCoding {
    /// The octet as received.
    pub data_coding: u8,
    /// What it announces.
    pub reason: &'static str,
}

/// What [`encode_best`] and [`count_segments`](crate::count_segments) may choose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Whether Latin-1 may be chosen for text GSM 7-bit cannot carry but
    /// Latin-1 can. Off by default because many carriers do not support
    /// data_coding 3 and deliver garbage; UCS-2 always arrives intact.
    pub allow_latin1: bool,
}

/// Text in its wire form: the octets of the short_message (or
/// message_payload) and the encoding they are in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    encoding: Encoding,
    data: Vec<u8>,
}

impl Encoded {
    /// The encoding of [`data`](Self::data).
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The octets: unpacked septets for GSM 7-bit (an extension character is
    /// the escape 0x1B then its septet), UTF-16BE for UCS-2.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The octets, without copying.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// Length in the units the segment limits are counted in: septets for
    /// GSM 7-bit and ASCII, octets for Latin-1, UTF-16 code units for UCS-2.
    pub fn units(&self) -> usize {
        self.data.len() / bytes_per_unit(self.encoding)
    }
}

/// Octets of [`Encoded::data`] per counted unit.
pub(crate) fn bytes_per_unit(encoding: Encoding) -> usize {
    match encoding {
        Encoding::Ucs2 => 2,
        Encoding::Gsm7 | Encoding::Ascii | Encoding::Latin1 | Encoding::Binary => 1,
    }
}

/// Encodes `text` in the cheapest encoding that represents it exactly: GSM
/// 7-bit if every character is in the default alphabet or its extension
/// table, else Latin-1 if allowed and sufficient, else UCS-2 (which
/// represents everything, so this cannot fail).
pub fn encode_best(text: &str, options: EncodeOptions) -> Encoded {
    let mut data = Vec::with_capacity(text.len());
    if gsm7::encode_into(text, &mut data).is_ok() {
        return Encoded {
            encoding: Encoding::Gsm7,
            data,
        };
    }
    data.clear();
    if options.allow_latin1 && latin1::encode_into(text, &mut data).is_ok() {
        return Encoded {
            encoding: Encoding::Latin1,
            data,
        };
    }
    data.clear();
    ucs2::encode_into(text, &mut data);
    Encoded {
        encoding: Encoding::Ucs2,
        data,
    }
}

/// The encoding [`encode_best`] picks for `text`, found without allocating.
pub(crate) fn best_encoding(text: &str, options: EncodeOptions) -> Encoding {
    if text.chars().all(|c| gsm7::code_for(c).is_some()) {
        Encoding::Gsm7
    } else if options.allow_latin1 && text.chars().all(|c| u8::try_from(c).is_ok()) {
        Encoding::Latin1
    } else {
        Encoding::Ucs2
    }
}

/// Encodes `text` in the given encoding, for a carrier or customer that
/// insists on one.
pub fn encode(text: &str, encoding: Encoding) -> Result<Encoded, EncodeError> {
    let mut data = Vec::with_capacity(text.len());
    let written = match encoding {
        Encoding::Gsm7 => gsm7::encode_into(text, &mut data),
        Encoding::Ascii => latin1::encode_ascii_into(text, &mut data),
        Encoding::Latin1 => latin1::encode_into(text, &mut data),
        Encoding::Ucs2 => {
            ucs2::encode_into(text, &mut data);
            Ok(())
        }
        Encoding::Binary => return Err(EncodeError::NotText),
    };
    written.map_err(|(offset, character)| EncodeError::Unrepresentable {
        encoding,
        character,
        offset,
    })?;
    Ok(Encoded { encoding, data })
}

/// Turns a received short_message (or message_payload, or a reassembled
/// message) into text. GSM 7-bit is expected unpacked, as SMPP carries it;
/// unpack packed septets with [`unpack_septets`](crate::unpack_septets) first.
///
/// Framing errors are errors (an octet above 0x7F in GSM 7-bit or ASCII, an
/// odd UCS-2 length); well-framed content we cannot show exactly is kept:
/// unknown GSM extension codes show as their default-alphabet character and
/// lone UTF-16 surrogates as U+FFFD.
pub fn decode(data_coding: u8, octets: &[u8]) -> Result<String, DecodeError> {
    match Encoding::from_data_coding(data_coding)? {
        Encoding::Gsm7 => gsm7::decode(octets),
        Encoding::Ascii => latin1::decode_ascii(octets),
        Encoding::Latin1 => Ok(latin1::decode(octets)),
        Encoding::Ucs2 => ucs2::decode(octets),
        Encoding::Binary => Err(DecodeError::Binary { data_coding }),
    }
}

/// Why text cannot be encoded as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A character has no code in the chosen encoding; [`encode_best`] never fails this way.
    #[error("{character:?} at byte offset {offset} cannot be written in {encoding}")]
    Unrepresentable {
        /// The encoding asked for.
        encoding: Encoding,
        /// The first character it cannot represent.
        character: char,
        /// Its byte offset in the text.
        offset: usize,
    },
    /// Binary is for data, not text; send the octets as they are.
    #[error("text cannot be encoded as 8-bit binary data")]
    NotText,
}

/// Why received octets cannot be turned into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The data_coding announces an alphabet we do not decode.
    #[error(transparent)]
    DataCoding(#[from] UnsupportedDataCoding),
    /// The data_coding announces binary data, which has no text.
    #[error("data_coding {data_coding:#04x} announces 8-bit binary data, not text")]
    Binary {
        /// The octet as received.
        data_coding: u8,
    },
    /// Unpacked GSM 7-bit holds one septet per octet, so the top bit is never set.
    #[error(
        "octet {octet:#04x} at offset {offset} is not a GSM septet (above 0x7f); is the text packed or in another alphabet?"
    )]
    NotASeptet {
        /// Offset of the octet.
        offset: usize,
        /// The octet.
        octet: u8,
    },
    /// IA5/ASCII is a 7-bit alphabet.
    #[error("octet {octet:#04x} at offset {offset} is not ASCII (above 0x7f)")]
    NotAscii {
        /// Offset of the octet.
        offset: usize,
        /// The octet.
        octet: u8,
    },
    /// UCS-2 is two octets per code unit, so the message was cut.
    #[error("UCS-2 text has an odd number of octets ({len}); the message is truncated")]
    OddUcs2Length {
        /// Octets received.
        len: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATIN1: EncodeOptions = EncodeOptions { allow_latin1: true };

    #[test]
    fn plain_text_is_gsm7() {
        let encoded = encode_best("Hello {world} €5", EncodeOptions::default());
        assert_eq!(encoded.encoding(), Encoding::Gsm7);
        assert_eq!(encoded.units(), 19);
    }

    #[test]
    fn latin1_only_text_is_ucs2_unless_latin1_is_allowed() {
        assert_eq!(
            encode_best("ça va", EncodeOptions::default()).encoding(),
            Encoding::Ucs2
        );
        let encoded = encode_best("ça va", LATIN1);
        assert_eq!(encoded.encoding(), Encoding::Latin1);
        assert_eq!(encoded.data(), b"\xE7a va");
    }

    #[test]
    fn euro_sign_forces_ucs2_when_mixed_with_non_gsm_latin1() {
        assert_eq!(encode_best("ç €", LATIN1).encoding(), Encoding::Ucs2);
    }

    #[test]
    fn emoji_is_ucs2_and_counts_two_units() {
        let encoded = encode_best("hi 😀", LATIN1);
        assert_eq!(encoded.encoding(), Encoding::Ucs2);
        assert_eq!(encoded.units(), 5);
    }

    #[test]
    fn best_encoding_agrees_with_encode_best() {
        for text in ["", "abc", "ça", "€", "ç€", "😀", "ÿ", "\u{1B}"] {
            for options in [EncodeOptions::default(), LATIN1] {
                assert_eq!(
                    best_encoding(text, options),
                    encode_best(text, options).encoding(),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn forcing_an_encoding_reports_the_first_unrepresentable_char() {
        assert_eq!(
            encode("a😀", Encoding::Gsm7),
            Err(EncodeError::Unrepresentable {
                encoding: Encoding::Gsm7,
                character: '😀',
                offset: 1
            })
        );
        assert_eq!(
            encode("é", Encoding::Ascii),
            Err(EncodeError::Unrepresentable {
                encoding: Encoding::Ascii,
                character: 'é',
                offset: 0
            })
        );
        assert_eq!(encode("a", Encoding::Binary), Err(EncodeError::NotText));
    }

    #[test]
    fn forcing_ucs2_on_gsm_text_works() {
        let encoded = encode("A€", Encoding::Ucs2).unwrap();
        assert_eq!(encoded.data(), [0x00, 0x41, 0x20, 0xAC]);
        assert_eq!(decode(8, encoded.data()).unwrap(), "A€");
    }

    #[test]
    fn smpp_data_codings_map_to_their_alphabets() {
        let cases = [
            (0x00, Encoding::Gsm7),
            (0x01, Encoding::Ascii),
            (0x02, Encoding::Binary),
            (0x03, Encoding::Latin1),
            (0x04, Encoding::Binary),
            (0x08, Encoding::Ucs2),
        ];
        for (data_coding, encoding) in cases {
            assert_eq!(
                Encoding::from_data_coding(data_coding),
                Ok(encoding),
                "{data_coding:#04x}"
            );
        }
    }

    #[test]
    fn data_coding_round_trips_for_every_encoding() {
        for encoding in [
            Encoding::Gsm7,
            Encoding::Ascii,
            Encoding::Latin1,
            Encoding::Ucs2,
            Encoding::Binary,
        ] {
            assert_eq!(
                Encoding::from_data_coding(encoding.data_coding()),
                Ok(encoding)
            );
        }
    }

    #[test]
    fn general_coding_group_reads_the_alphabet_bits_and_ignores_the_class() {
        assert_eq!(
            Encoding::from_data_coding(0x10),
            Ok(Encoding::Gsm7),
            "class 0"
        );
        assert_eq!(
            Encoding::from_data_coding(0x11),
            Ok(Encoding::Gsm7),
            "class 1"
        );
        assert_eq!(Encoding::from_data_coding(0x15), Ok(Encoding::Binary));
        assert_eq!(Encoding::from_data_coding(0x18), Ok(Encoding::Ucs2));
        assert_eq!(Encoding::from_data_coding(0x19), Ok(Encoding::Ucs2));
        assert_eq!(
            Encoding::from_data_coding(0x48),
            Ok(Encoding::Ucs2),
            "automatic deletion group"
        );
        assert!(
            Encoding::from_data_coding(0x1C).is_err(),
            "reserved alphabet"
        );
    }

    #[test]
    fn compressed_text_is_unsupported() {
        assert_eq!(
            Encoding::from_data_coding(0x38),
            Err(UnsupportedDataCoding {
                data_coding: 0x38,
                reason: "compressed text"
            })
        );
    }

    #[test]
    fn data_coding_group_bit_2_selects_8_bit_over_gsm() {
        assert_eq!(Encoding::from_data_coding(0xF0), Ok(Encoding::Gsm7));
        assert_eq!(Encoding::from_data_coding(0xF1), Ok(Encoding::Gsm7));
        assert_eq!(Encoding::from_data_coding(0xF4), Ok(Encoding::Binary));
        assert_eq!(Encoding::from_data_coding(0xF5), Ok(Encoding::Binary));
    }

    #[test]
    fn message_waiting_groups_are_gsm_or_ucs2() {
        assert_eq!(Encoding::from_data_coding(0xC8), Ok(Encoding::Gsm7));
        assert_eq!(Encoding::from_data_coding(0xD8), Ok(Encoding::Gsm7));
        assert_eq!(Encoding::from_data_coding(0xE8), Ok(Encoding::Ucs2));
    }

    #[test]
    fn unsupported_alphabets_and_reserved_values_are_errors() {
        for data_coding in [
            0x05, 0x06, 0x07, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x80, 0xBF,
        ] {
            assert!(
                Encoding::from_data_coding(data_coding).is_err(),
                "{data_coding:#04x}"
            );
        }
    }

    #[test]
    fn decoding_binary_data_coding_is_an_error() {
        assert_eq!(
            decode(4, b"\x00\x01"),
            Err(DecodeError::Binary { data_coding: 4 })
        );
        assert_eq!(
            decode(0xF6, b""),
            Err(DecodeError::Binary { data_coding: 0xF6 })
        );
    }

    #[test]
    fn decode_dispatches_on_data_coding() {
        assert_eq!(decode(0, &[0x48, 0x69, 0x1B, 0x65]).unwrap(), "Hi€");
        assert_eq!(decode(1, b"Hi").unwrap(), "Hi");
        assert_eq!(decode(3, b"\xE7a").unwrap(), "ça");
        assert_eq!(decode(8, &[0x04, 0x36]).unwrap(), "ж");
        assert_eq!(decode(0x11, &[0x40]).unwrap(), "¡");
        assert!(matches!(decode(0x06, b""), Err(DecodeError::DataCoding(_))));
    }

    #[test]
    fn error_messages_name_the_problem() {
        let error = encode("😀", Encoding::Latin1).unwrap_err();
        assert_eq!(
            error.to_string(),
            "'😀' at byte offset 0 cannot be written in Latin-1"
        );
        let error = decode(0x05, b"").unwrap_err();
        assert_eq!(
            error.to_string(),
            "data_coding 0x05 is not supported: it announces JIS (X 0208-1990) text"
        );
    }
}
