//! Optional parameters (TLVs): every tag of SMPP 3.4 and 5.0 as a typed value.
//!
//! Integer TLVs must have exactly their type's length (anything else is
//! ESME_RINVPARLEN); C-octet-string TLVs are accepted with or without their
//! NUL, because carriers commonly omit it in receipted_message_id, and are
//! written back with it. Tags we do not know are kept as [`Tlv::Unknown`] and
//! written back octet for octet.

use bytes::Bytes;

use crate::error::DecodeErrorKind;
use crate::status::CommandStatus;
use crate::types::COctetString;
use crate::wire::{BodyError, BodyResult, Sink};

macro_rules! tlvs {
    ($( $(#[$doc:meta])* $name:ident = $tag:expr => $kind:ident $( ( $max:expr ) )?; )*) => {
        /// One optional parameter.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Tlv {
            $( $(#[$doc])* $name(tlvs!(@type $kind)), )*
            /// network_error_code (0x0423): network type (SMPP 3.4 5.3.2.31:
            /// 1 ANSI-136 access denied reason, 2 IS-95 access denied reason,
            /// 3 GSM, 4 ANSI-136 cause code, 5 IS-95 cause code, 6 ANSI-41
            /// error, 7 SMPP error, 8 message center specific) and that
            /// network's error code.
            NetworkErrorCode {
                /// The network type.
                network_type: u8,
                /// The error code in that network.
                error_code: u16,
            },
            /// alert_on_message_delivery (0x130C): empty in 3.4; 5.0 allows one
            /// octet giving the alert type.
            AlertOnMessageDelivery(Option<u8>),
            /// A tag we do not know, kept as received.
            Unknown {
                /// The tag.
                tag: u16,
                /// The value, exactly as received.
                value: Bytes,
            },
        }

        /// The tag numbers.
        pub mod tag {
            $( #[allow(missing_docs)] pub const $name: u16 = $tag; )*
            /// network_error_code.
            pub const NetworkErrorCode: u16 = 0x0423;
            /// alert_on_message_delivery.
            pub const AlertOnMessageDelivery: u16 = 0x130C;
        }

        impl Tlv {
            /// The tag of this parameter.
            pub fn tag(&self) -> u16 {
                match self {
                    $( Tlv::$name(_) => $tag, )*
                    Tlv::NetworkErrorCode { .. } => tag::NetworkErrorCode,
                    Tlv::AlertOnMessageDelivery(_) => tag::AlertOnMessageDelivery,
                    Tlv::Unknown { tag, .. } => *tag,
                }
            }

            /// Decodes the value of a TLV whose header has been read: its
            /// value is `frame[start..end]`. Only octet-string values keep a
            /// reference to the frame; the rest are copied out.
            pub(crate) fn decode(tag: u16, frame: &Bytes, start: usize, end: usize) -> BodyResult<Tlv> {
                let value = &frame[start..end];
                let length = value.len() as u16;
                let bad_length = || BodyError::new(
                    CommandStatus::ESME_RINVPARLEN,
                    DecodeErrorKind::TlvLength { tag, length },
                );
                match tag {
                    $( $tag => Ok(Tlv::$name(tlvs!(@decode $kind frame start end value bad_length $( $max )?))), )*
                    tag::NetworkErrorCode => match value[..] {
                        [network_type, hi, lo] => Ok(Tlv::NetworkErrorCode {
                            network_type,
                            error_code: u16::from_be_bytes([hi, lo]),
                        }),
                        _ => Err(bad_length()),
                    },
                    tag::AlertOnMessageDelivery => match value[..] {
                        [] => Ok(Tlv::AlertOnMessageDelivery(None)),
                        [alert] => Ok(Tlv::AlertOnMessageDelivery(Some(alert))),
                        _ => Err(bad_length()),
                    },
                    _ => Ok(Tlv::Unknown { tag, value: frame.slice(start..end) }),
                }
            }

            /// Writes tag, length and value.
            pub(crate) fn encode(&self, dst: &mut impl Sink) {
                dst.u16(self.tag());
                match self {
                    $( Tlv::$name(v) => { tlvs!(@encode $kind dst v); } )*
                    Tlv::NetworkErrorCode { network_type, error_code } => {
                        dst.u16(3);
                        dst.u8(*network_type);
                        dst.u16(*error_code);
                    }
                    Tlv::AlertOnMessageDelivery(None) => dst.u16(0),
                    Tlv::AlertOnMessageDelivery(Some(alert)) => {
                        dst.u16(1);
                        dst.u8(*alert);
                    }
                    Tlv::Unknown { value, .. } => put_octets(dst, value),
                }
            }
        }
    };

    (@type u8) => { u8 };
    (@type u16) => { u16 };
    (@type u32) => { u32 };
    (@type octets) => { Bytes };
    (@type cstr) => { COctetString };

    (@decode u8 $f:ident $s:ident $e:ident $v:ident $bad:ident) => {
        match $v[..] { [a] => a, _ => return Err($bad()) }
    };
    (@decode u16 $f:ident $s:ident $e:ident $v:ident $bad:ident) => {
        match $v[..] { [a, b] => u16::from_be_bytes([a, b]), _ => return Err($bad()) }
    };
    (@decode u32 $f:ident $s:ident $e:ident $v:ident $bad:ident) => {
        match $v[..] { [a, b, c, d] => u32::from_be_bytes([a, b, c, d]), _ => return Err($bad()) }
    };
    (@decode octets $f:ident $s:ident $e:ident $v:ident $bad:ident) => { $f.slice($s..$e) };
    (@decode cstr $f:ident $s:ident $e:ident $v:ident $bad:ident $max:expr) => {
        match decode_cstr($f, $s, $e, $max) { Some(s) => s, None => return Err($bad()) }
    };

    (@encode u8 $dst:ident $v:ident) => { $dst.u16(1); $dst.u8(*$v); };
    (@encode u16 $dst:ident $v:ident) => { $dst.u16(2); $dst.u16(*$v); };
    (@encode u32 $dst:ident $v:ident) => { $dst.u16(4); $dst.u32(*$v); };
    (@encode octets $dst:ident $v:ident) => { put_octets($dst, $v); };
    (@encode cstr $dst:ident $v:ident) => {
        let len = $v.len().min(usize::from(u16::MAX) - 1);
        $dst.u16(len as u16 + 1);
        $dst.bytes(&$v.as_bytes()[..len]);
        $dst.u8(0);
    };
}

#[allow(non_upper_case_globals)]
mod defs {
    use super::*;
    tlvs! {
        /// dest_addr_subunit (0x0005): where in the handset the message goes (1 display, 2 ME, 3 SIM, …).
        DestAddrSubunit = 0x0005 => u8;
        /// dest_network_type (0x0006).
        DestNetworkType = 0x0006 => u8;
        /// dest_bearer_type (0x0007).
        DestBearerType = 0x0007 => u8;
        /// dest_telematics_id (0x0008).
        DestTelematicsId = 0x0008 => u16;
        /// source_addr_subunit (0x000D).
        SourceAddrSubunit = 0x000D => u8;
        /// source_network_type (0x000E).
        SourceNetworkType = 0x000E => u8;
        /// source_bearer_type (0x000F).
        SourceBearerType = 0x000F => u8;
        /// source_telematics_id (0x0010).
        SourceTelematicsId = 0x0010 => u8;
        /// qos_time_to_live (0x0017): seconds the message may live.
        QosTimeToLive = 0x0017 => u32;
        /// payload_type (0x0019): 0 WDP/default, 1 WCMP.
        PayloadType = 0x0019 => u8;
        /// additional_status_info_text (0x001D): a readable reason for a response.
        AdditionalStatusInfoText = 0x001D => cstr(256);
        /// receipted_message_id (0x001E): the id of the message a receipt is about.
        ReceiptedMessageId = 0x001E => cstr(65);
        /// ms_msg_wait_facilities (0x0030).
        MsMsgWaitFacilities = 0x0030 => u8;
        /// privacy_indicator (0x0201).
        PrivacyIndicator = 0x0201 => u8;
        /// source_subaddress (0x0202).
        SourceSubaddress = 0x0202 => octets;
        /// dest_subaddress (0x0203).
        DestSubaddress = 0x0203 => octets;
        /// user_message_reference (0x0204): the sender's own reference.
        UserMessageReference = 0x0204 => u16;
        /// user_response_code (0x0205).
        UserResponseCode = 0x0205 => u8;
        /// source_port (0x020A): application port of the sender.
        SourcePort = 0x020A => u16;
        /// destination_port (0x020B): application port of the recipient.
        DestinationPort = 0x020B => u16;
        /// sar_msg_ref_num (0x020C): reference shared by the segments of one long message.
        SarMsgRefNum = 0x020C => u16;
        /// language_indicator (0x020D).
        LanguageIndicator = 0x020D => u8;
        /// sar_total_segments (0x020E).
        SarTotalSegments = 0x020E => u8;
        /// sar_segment_seqnum (0x020F): 1-based.
        SarSegmentSeqnum = 0x020F => u8;
        /// sc_interface_version (0x0210): the SMPP version the SMSC supports (0x34, 0x50).
        ScInterfaceVersion = 0x0210 => u8;
        /// callback_num_pres_ind (0x0302).
        CallbackNumPresInd = 0x0302 => u8;
        /// callback_num_atag (0x0303).
        CallbackNumAtag = 0x0303 => octets;
        /// number_of_messages (0x0304).
        NumberOfMessages = 0x0304 => u8;
        /// callback_num (0x0381).
        CallbackNum = 0x0381 => octets;
        /// dpf_result (0x0420).
        DpfResult = 0x0420 => u8;
        /// set_dpf (0x0421).
        SetDpf = 0x0421 => u8;
        /// ms_availability_status (0x0422): 0 available, 1 denied, 2 unavailable.
        MsAvailabilityStatus = 0x0422 => u8;
        /// message_payload (0x0424): the whole message, instead of short_message.
        MessagePayload = 0x0424 => octets;
        /// delivery_failure_reason (0x0425).
        DeliveryFailureReason = 0x0425 => u8;
        /// more_messages_to_send (0x0426).
        MoreMessagesToSend = 0x0426 => u8;
        /// message_state (0x0427): 1 ENROUTE, 2 DELIVERED, 3 EXPIRED, 4 DELETED,
        /// 5 UNDELIVERABLE, 6 ACCEPTED, 7 UNKNOWN, 8 REJECTED, 9 SKIPPED (5.0).
        MessageState = 0x0427 => u8;
        /// congestion_state (0x0428, SMPP 5.0): 0 idle … 100 congested.
        CongestionState = 0x0428 => u8;
        /// ussd_service_op (0x0501).
        UssdServiceOp = 0x0501 => u8;
        /// broadcast_channel_indicator (0x0600, SMPP 5.0).
        BroadcastChannelIndicator = 0x0600 => u8;
        /// broadcast_content_type (0x0601, SMPP 5.0): network type and content type.
        BroadcastContentType = 0x0601 => octets;
        /// broadcast_content_type_info (0x0602, SMPP 5.0).
        BroadcastContentTypeInfo = 0x0602 => octets;
        /// broadcast_message_class (0x0603, SMPP 5.0).
        BroadcastMessageClass = 0x0603 => u8;
        /// broadcast_rep_num (0x0604, SMPP 5.0).
        BroadcastRepNum = 0x0604 => u16;
        /// broadcast_frequency_interval (0x0605, SMPP 5.0): unit and value.
        BroadcastFrequencyInterval = 0x0605 => octets;
        /// broadcast_area_identifier (0x0606, SMPP 5.0).
        BroadcastAreaIdentifier = 0x0606 => octets;
        /// broadcast_error_status (0x0607, SMPP 5.0).
        BroadcastErrorStatus = 0x0607 => u32;
        /// broadcast_area_success (0x0608, SMPP 5.0).
        BroadcastAreaSuccess = 0x0608 => u8;
        /// broadcast_end_time (0x0609, SMPP 5.0).
        BroadcastEndTime = 0x0609 => cstr(17);
        /// broadcast_service_group (0x060A, SMPP 5.0).
        BroadcastServiceGroup = 0x060A => octets;
        /// billing_identification (0x060B, SMPP 5.0).
        BillingIdentification = 0x060B => octets;
        /// source_network_id (0x060D, SMPP 5.0).
        SourceNetworkId = 0x060D => cstr(65);
        /// dest_network_id (0x060E, SMPP 5.0).
        DestNetworkId = 0x060E => cstr(65);
        /// source_node_id (0x060F, SMPP 5.0).
        SourceNodeId = 0x060F => octets;
        /// dest_node_id (0x0610, SMPP 5.0).
        DestNodeId = 0x0610 => octets;
        /// dest_addr_np_resolution (0x0611, SMPP 5.0): number portability query result.
        DestAddrNpResolution = 0x0611 => u8;
        /// dest_addr_np_information (0x0612, SMPP 5.0).
        DestAddrNpInformation = 0x0612 => octets;
        /// dest_addr_np_country (0x0613, SMPP 5.0): E.164 country code, 5 octets.
        DestAddrNpCountry = 0x0613 => octets;
        /// display_time (0x1201).
        DisplayTime = 0x1201 => u8;
        /// sms_signal (0x1203).
        SmsSignal = 0x1203 => u16;
        /// ms_validity (0x1204).
        MsValidity = 0x1204 => u8;
        /// its_reply_type (0x1380).
        ItsReplyType = 0x1380 => u8;
        /// its_session_info (0x1383): session number (high octet) and sequence
        /// number with the end-of-session bit (low octet).
        ItsSessionInfo = 0x1383 => u16;
    }
}

pub use defs::{Tlv, tag};

fn put_octets(dst: &mut impl Sink, value: &Bytes) {
    // A value over 65535 octets cannot be framed; the PDU limit keeps
    // received values far below it, and senders build payloads within it.
    let len = value.len().min(usize::from(u16::MAX));
    dst.u16(len as u16);
    dst.bytes(&value[..len]);
}

/// A string TLV's value: up to its first NUL, or all of it if the sender
/// left the NUL out. `None` if longer than `max` (NUL included).
fn decode_cstr(frame: &Bytes, start: usize, end: usize, max: usize) -> Option<COctetString> {
    let value = &frame[start..end];
    let len = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    if len + 1 > max {
        return None;
    }
    Some(COctetString::from_frame(frame, start, len))
}

/// Lookups over a PDU's TLV list.
pub trait TlvList {
    /// The first TLV with this tag.
    fn find_tag(&self, tag: u16) -> Option<&Tlv>;
    /// receipted_message_id, if present.
    fn receipted_message_id(&self) -> Option<&COctetString>;
    /// message_state, if present.
    fn message_state(&self) -> Option<u8>;
    /// message_payload, if present.
    fn message_payload(&self) -> Option<&Bytes>;
    /// (sar_msg_ref_num, sar_total_segments, sar_segment_seqnum), if all three are present.
    fn sar(&self) -> Option<(u16, u8, u8)>;
}

impl TlvList for [Tlv] {
    fn find_tag(&self, tag: u16) -> Option<&Tlv> {
        self.iter().find(|tlv| tlv.tag() == tag)
    }

    fn receipted_message_id(&self) -> Option<&COctetString> {
        self.iter().find_map(|tlv| match tlv {
            Tlv::ReceiptedMessageId(id) => Some(id),
            _ => None,
        })
    }

    fn message_state(&self) -> Option<u8> {
        self.iter().find_map(|tlv| match tlv {
            Tlv::MessageState(state) => Some(*state),
            _ => None,
        })
    }

    fn message_payload(&self) -> Option<&Bytes> {
        self.iter().find_map(|tlv| match tlv {
            Tlv::MessagePayload(payload) => Some(payload),
            _ => None,
        })
    }

    fn sar(&self) -> Option<(u16, u8, u8)> {
        let mut reference = None;
        let mut total = None;
        let mut seqnum = None;
        for tlv in self {
            match tlv {
                Tlv::SarMsgRefNum(v) => reference = Some(*v),
                Tlv::SarTotalSegments(v) => total = Some(*v),
                Tlv::SarSegmentSeqnum(v) => seqnum = Some(*v),
                _ => {}
            }
        }
        Some((reference?, total?, seqnum?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_value(tag: u16, value: &[u8]) -> BodyResult<Tlv> {
        let frame = Bytes::copy_from_slice(value);
        Tlv::decode(tag, &frame, 0, frame.len())
    }

    fn round_trip(tlv: &Tlv) -> Tlv {
        let mut measure = crate::wire::Measure::default();
        tlv.encode(&mut measure);
        let mut out = vec![0; measure.0];
        tlv.encode(&mut crate::wire::Fill::new(&mut out));
        let buf = Bytes::from(out);
        let tag = u16::from_be_bytes([buf[0], buf[1]]);
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        assert_eq!(buf.len(), 4 + len);
        Tlv::decode(tag, &buf, 4, buf.len()).expect("decodes")
    }

    #[test]
    fn typed_tlvs_round_trip() {
        for tlv in [
            Tlv::SarMsgRefNum(0xBEEF),
            Tlv::MessageState(2),
            Tlv::ReceiptedMessageId(COctetString::from_static("abc-123")),
            Tlv::NetworkErrorCode {
                network_type: 1,
                error_code: 0x0102,
            },
            Tlv::AlertOnMessageDelivery(None),
            Tlv::AlertOnMessageDelivery(Some(3)),
            Tlv::MessagePayload(Bytes::from_static(b"hello")),
            Tlv::QosTimeToLive(86400),
            Tlv::CongestionState(80),
            Tlv::Unknown {
                tag: 0x1400,
                value: Bytes::from_static(&[1, 2, 3]),
            },
        ] {
            assert_eq!(round_trip(&tlv), tlv);
        }
    }

    #[test]
    fn receipted_message_id_without_nul_is_accepted() {
        let tlv = decode_value(0x001E, b"12345").expect("lenient");
        assert_eq!(
            tlv,
            Tlv::ReceiptedMessageId(COctetString::from_static("12345"))
        );
    }

    #[test]
    fn integer_tlv_with_wrong_length_is_rejected_with_invalid_parameter_length() {
        let err = decode_value(0x020C, &[1]).expect_err("too short");
        assert_eq!(err.status, CommandStatus::ESME_RINVPARLEN);
    }

    #[test]
    fn too_long_receipted_message_id_is_rejected() {
        assert!(decode_value(0x001E, &[b'7'; 65]).is_err());
    }

    #[test]
    fn sar_needs_all_three_parameters() {
        let tlvs = [
            Tlv::SarMsgRefNum(7),
            Tlv::SarTotalSegments(3),
            Tlv::SarSegmentSeqnum(2),
        ];
        assert_eq!(tlvs[..].sar(), Some((7, 3, 2)));
        assert_eq!(tlvs[..2].sar(), None);
    }
}
