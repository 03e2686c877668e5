//! The User Data Header (3GPP TS 23.040 §9.2.3.24): parsing the one in
//! front of a received short_message whose esm_class has UDHI set, and
//! writing the concatenation header in front of outgoing segments.
//!
//! [`Concat`] — which part of how many, under which reference — is the
//! common currency of splitting and reassembly, whether it travels in a UDH
//! or in the SMPP sar_* TLVs.

use crate::ConcatHeader;
use thiserror::Error;

/// IEI of the concatenation element with an 8-bit reference.
const IEI_CONCAT_8: u8 = 0x00;
/// IEI of the concatenation element with a 16-bit reference.
const IEI_CONCAT_16: u8 = 0x08;

/// Where a segment sits in a concatenated message; the same three values
/// travel in a concatenation UDH or in the sar_msg_ref_num,
/// sar_total_segments and sar_segment_seqnum TLVs.
///
/// Always valid: `1 <= seq <= total`, which [`Concat::new`] checks, so a
/// reassembler can trust it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Concat {
    reference: u16,
    total: u8,
    seq: u8,
}

impl Concat {
    /// Checks that `seq` is in `1..=total`; 23.040 says to ignore the
    /// element otherwise, so the error tells the caller to treat the
    /// message as a single one.
    pub fn new(reference: u16, total: u8, seq: u8) -> Result<Self, ConcatError> {
        if seq == 0 || seq > total {
            return Err(ConcatError { total, seq });
        }
        Ok(Concat {
            reference,
            total,
            seq,
        })
    }

    /// The parts of a message of `total` segments under `reference`, in order.
    pub(crate) fn parts(reference: u16, total: u8) -> impl Iterator<Item = Concat> {
        (1..=total).map(move |seq| Concat {
            reference,
            total,
            seq,
        })
    }

    /// The reference shared by all parts of one message (8-bit references
    /// are widened).
    pub fn reference(self) -> u16 {
        self.reference
    }

    /// How many parts the message has, at least 1.
    pub fn total(self) -> u8 {
        self.total
    }

    /// This part's number, from 1 to [`total`](Self::total).
    pub fn seq(self) -> u8 {
        self.seq
    }

    /// The UDH (UDHL octet included) that carries this in front of a segment.
    /// With [`ConcatHeader::Ref8`] only the low octet of the reference is
    /// sent, as every sender with an 8-bit counter does.
    pub(crate) fn to_udh(self, header: ConcatHeader) -> Vec<u8> {
        let [high, low] = self.reference.to_be_bytes();
        match header {
            ConcatHeader::Ref8 => vec![5, IEI_CONCAT_8, 3, low, self.total, self.seq],
            ConcatHeader::Ref16 => vec![6, IEI_CONCAT_16, 4, high, low, self.total, self.seq],
        }
    }
}

/// A part number outside `1..=total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("part {seq} of {total} is out of range: parts are numbered from 1 to the total")]
pub struct ConcatError {
    /// The announced number of parts.
    pub total: u8,
    /// The announced part number.
    pub seq: u8,
}

/// One information element of a UDH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InformationElement {
    /// Its identifier, e.g. 0x00 and 0x08 for concatenation, 0x04 and 0x05
    /// for application port addressing.
    pub iei: u8,
    /// Its data, without the IEI and length octets.
    pub data: Vec<u8>,
}

/// A parsed UDH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Udh {
    elements: Vec<InformationElement>,
}

impl Udh {
    /// Octets the UDH occupies at the start of the short_message, UDHL
    /// included: the text starts right after.
    pub fn header_len(&self) -> usize {
        1 + self
            .elements
            .iter()
            .map(|element| 2 + element.data.len())
            .sum::<usize>()
    }

    /// The elements in the order they appear.
    pub fn elements(&self) -> &[InformationElement] {
        &self.elements
    }

    /// The concatenation element, 8- or 16-bit reference, if there is a
    /// valid one. Following 23.040, an element with the wrong length or a
    /// part number out of range is ignored, and if several are present the
    /// last one counts.
    pub fn concat(&self) -> Option<Concat> {
        self.elements.iter().rev().find_map(|element| {
            match (element.iei, element.data.as_slice()) {
                (IEI_CONCAT_8, &[reference, total, seq]) => {
                    Concat::new(u16::from(reference), total, seq).ok()
                }
                (IEI_CONCAT_16, &[high, low, total, seq]) => {
                    Concat::new(u16::from_be_bytes([high, low]), total, seq).ok()
                }
                _ => None,
            }
        })
    }
}

/// Parses the UDH at the start of `short_message` (whose esm_class has UDHI
/// set). Every length is checked against the octets present, so truncated or
/// hostile input is an error, never a panic. Unknown elements are kept, not
/// rejected: port addressing and the like are legitimate.
pub fn parse_udh(short_message: &[u8]) -> Result<Udh, UdhError> {
    let (&udhl, rest) = short_message.split_first().ok_or(UdhError::Empty)?;
    let mut header = rest
        .get(..usize::from(udhl))
        .ok_or(UdhError::HeaderBeyondData {
            udhl,
            available: rest.len(),
        })?;
    let mut elements = Vec::new();
    while let Some((&iei, rest)) = header.split_first() {
        let (&len, rest) = rest
            .split_first()
            .ok_or(UdhError::MissingElementLength { iei })?;
        let (data, rest) = rest
            .split_at_checked(usize::from(len))
            .ok_or(UdhError::ElementBeyondHeader { iei, len })?;
        elements.push(InformationElement {
            iei,
            data: data.to_vec(),
        });
        header = rest;
    }
    Ok(Udh { elements })
}

/// Why a UDH cannot be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum UdhError {
    /// UDHI was set but the short_message is empty.
    #[error("the short_message is empty, so it has no UDH (is UDHI set by mistake?)")]
    Empty,
    /// The UDH length octet claims more octets than the message has.
    #[error("the UDH length is {udhl} octets but only {available} follow")]
    HeaderBeyondData {
        /// The UDHL octet.
        udhl: u8,
        /// Octets after it.
        available: usize,
    },
    /// The UDH ends right after an element's identifier.
    #[error(
        "information element {iei:#04x} has no length octet: the UDH ends after its identifier"
    )]
    MissingElementLength {
        /// The element's identifier.
        iei: u8,
    },
    /// An information element runs past the end of the UDH.
    #[error("information element {iei:#04x} of {len} octets runs past the end of the UDH")]
    ElementBeyondHeader {
        /// The element's identifier.
        iei: u8,
        /// Its length octet.
        len: u8,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concat_8_bit_reference_is_found() {
        let udh = parse_udh(&[0x05, 0x00, 0x03, 0x2A, 0x03, 0x02, b'h', b'i']).unwrap();
        assert_eq!(udh.header_len(), 6);
        assert_eq!(udh.concat(), Some(Concat::new(0x2A, 3, 2).unwrap()));
    }

    #[test]
    fn concat_16_bit_reference_is_found() {
        let udh = parse_udh(&[0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01]).unwrap();
        assert_eq!(udh.header_len(), 7);
        assert_eq!(udh.concat(), Some(Concat::new(0x1234, 2, 1).unwrap()));
    }

    #[test]
    fn concat_is_found_among_port_addressing_elements() {
        let short_message = [
            0x0B, // UDHL
            0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, // 16-bit ports
            0x00, 0x03, 0x07, 0x02, 0x01, // concat
            0xAA,
        ];
        let udh = parse_udh(&short_message).unwrap();
        assert_eq!(udh.header_len(), 12);
        assert_eq!(
            udh.elements()[0],
            InformationElement {
                iei: 0x05,
                data: vec![0x0B, 0x84, 0x23, 0xF0]
            }
        );
        assert_eq!(udh.concat(), Some(Concat::new(7, 2, 1).unwrap()));
    }

    #[test]
    fn udh_without_concat_has_none() {
        let udh = parse_udh(&[0x04, 0x04, 0x02, 0x0B, 0x84]).unwrap();
        assert_eq!(udh.concat(), None);
        assert_eq!(parse_udh(&[0x00, b'x']).unwrap().concat(), None);
    }

    #[test]
    fn concat_with_wrong_length_or_part_out_of_range_is_ignored() {
        assert_eq!(
            parse_udh(&[0x04, 0x00, 0x02, 0x01, 0x02]).unwrap().concat(),
            None
        );
        assert_eq!(
            parse_udh(&[0x05, 0x00, 0x03, 0x01, 0x02, 0x03])
                .unwrap()
                .concat(),
            None
        );
        assert_eq!(
            parse_udh(&[0x05, 0x00, 0x03, 0x01, 0x02, 0x00])
                .unwrap()
                .concat(),
            None
        );
        assert_eq!(
            parse_udh(&[0x05, 0x00, 0x03, 0x01, 0x00, 0x00])
                .unwrap()
                .concat(),
            None
        );
    }

    #[test]
    fn last_of_repeated_concat_elements_counts() {
        let udh = parse_udh(&[
            0x0A, 0x00, 0x03, 0x01, 0x02, 0x01, 0x00, 0x03, 0x09, 0x03, 0x03,
        ])
        .unwrap();
        assert_eq!(udh.concat(), Some(Concat::new(9, 3, 3).unwrap()));
    }

    #[test]
    fn udh_length_beyond_data_is_an_error() {
        assert_eq!(
            parse_udh(&[0x05, 0x00, 0x03]),
            Err(UdhError::HeaderBeyondData {
                udhl: 5,
                available: 2
            })
        );
        assert_eq!(parse_udh(&[]), Err(UdhError::Empty));
    }

    #[test]
    fn element_beyond_header_is_an_error() {
        assert_eq!(
            parse_udh(&[0x03, 0x00, 0x03, 0x01, 0x02, 0x03]),
            Err(UdhError::ElementBeyondHeader { iei: 0x00, len: 3 })
        );
        assert_eq!(
            parse_udh(&[0x01, 0x00, 0xFF]),
            Err(UdhError::MissingElementLength { iei: 0x00 })
        );
    }

    #[test]
    fn part_number_out_of_range_is_rejected() {
        assert_eq!(Concat::new(1, 2, 3), Err(ConcatError { total: 2, seq: 3 }));
        assert_eq!(Concat::new(1, 0, 0), Err(ConcatError { total: 0, seq: 0 }));
        assert!(Concat::new(1, 1, 1).is_ok());
    }

    #[test]
    fn written_udh_parses_back() {
        let concat = Concat::new(0xBEEF, 4, 3).unwrap();
        let udh8 = concat.to_udh(ConcatHeader::Ref8);
        assert_eq!(udh8, [0x05, 0x00, 0x03, 0xEF, 0x04, 0x03]);
        assert_eq!(
            parse_udh(&udh8).unwrap().concat(),
            Some(Concat::new(0xEF, 4, 3).unwrap())
        );
        let udh16 = concat.to_udh(ConcatHeader::Ref16);
        assert_eq!(udh16, [0x06, 0x08, 0x04, 0xBE, 0xEF, 0x04, 0x03]);
        assert_eq!(parse_udh(&udh16).unwrap().concat(), Some(concat));
    }
}
