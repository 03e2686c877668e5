//! Properties of the codec over generated PDUs: every PDU survives
//! encode-then-decode unchanged, and no input, however broken, panics the
//! decoder or desynchronises the framing.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use smpp::pdu::DecodeLimits;
use smpp::{
    Address, AlertNotification, Bind, BindResp, Body, COctetString, CancelSm, CommandStatus,
    DataSm, DestAddress, MessageIdResp, Outbind, Pdu, QuerySm, QuerySmResp, ReplaceSm, SmppCodec,
    SubmitMulti, SubmitMultiResp, SubmitSm, Tlv, UnsuccessSme,
};
use tokio_util::codec::Decoder;

/// A C-octet string of at most `max - 1` octets (the field maximum counts the NUL).
fn cstr(max: usize) -> impl Strategy<Value = COctetString> {
    vec(1u8..=255, 0..max).prop_map(|octets| COctetString::new(octets).expect("no NUL generated"))
}

fn address(max: usize) -> impl Strategy<Value = Address> {
    (any::<u8>(), any::<u8>(), cstr(max)).prop_map(|(ton, npi, addr)| Address { ton, npi, addr })
}

fn octets(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

fn tlv() -> impl Strategy<Value = Tlv> {
    prop_oneof![
        any::<u16>().prop_map(Tlv::SarMsgRefNum),
        any::<u8>().prop_map(Tlv::SarTotalSegments),
        any::<u8>().prop_map(Tlv::SarSegmentSeqnum),
        any::<u8>().prop_map(Tlv::MessageState),
        any::<u16>().prop_map(Tlv::UserMessageReference),
        any::<u16>().prop_map(Tlv::SourcePort),
        any::<u32>().prop_map(Tlv::QosTimeToLive),
        any::<u8>().prop_map(Tlv::CongestionState),
        cstr(65).prop_map(Tlv::ReceiptedMessageId),
        cstr(256).prop_map(Tlv::AdditionalStatusInfoText),
        octets(300).prop_map(Tlv::MessagePayload),
        (any::<u8>(), any::<u16>()).prop_map(|(network_type, error_code)| {
            Tlv::NetworkErrorCode {
                network_type,
                error_code,
            }
        }),
        proptest::option::of(any::<u8>()).prop_map(Tlv::AlertOnMessageDelivery),
        // 0x1400..=0x3FFF is reserved for vendors: no standard tag lives there.
        (0x1400u16..=0x3FFF, octets(40)).prop_map(|(tag, value)| Tlv::Unknown { tag, value }),
    ]
}

fn tlvs() -> impl Strategy<Value = Vec<Tlv>> {
    vec(tlv(), 0..4)
}

fn bind() -> impl Strategy<Value = Bind> {
    (cstr(16), cstr(9), cstr(13), any::<u8>(), address(41)).prop_map(
        |(system_id, password, system_type, interface_version, address_range)| Bind {
            system_id,
            password,
            system_type,
            interface_version,
            address_range,
        },
    )
}

fn bind_resp() -> impl Strategy<Value = BindResp> {
    (cstr(16), tlvs()).prop_map(|(system_id, tlvs)| BindResp { system_id, tlvs })
}

fn message_id_resp() -> impl Strategy<Value = MessageIdResp> {
    (cstr(65), tlvs()).prop_map(|(message_id, tlvs)| MessageIdResp { message_id, tlvs })
}

prop_compose! {
    fn submit_sm()(
        service_type in cstr(6),
        source in address(21),
        destination in address(21),
        flags in any::<[u8; 7]>(),
        schedule_delivery_time in cstr(17),
        validity_period in cstr(17),
        short_message in octets(254),
        tlvs in tlvs(),
    ) -> SubmitSm {
        SubmitSm {
            service_type, source, destination,
            esm_class: flags[0], protocol_id: flags[1], priority_flag: flags[2],
            schedule_delivery_time, validity_period,
            registered_delivery: flags[3], replace_if_present_flag: flags[4],
            data_coding: flags[5], sm_default_msg_id: flags[6],
            short_message, tlvs,
        }
    }
}

prop_compose! {
    fn submit_multi()(
        base in submit_sm(),
        destinations in vec(prop_oneof![
            address(21).prop_map(DestAddress::Sme),
            cstr(21).prop_map(DestAddress::DistributionList),
        ], 0..8),
    ) -> SubmitMulti {
        SubmitMulti {
            service_type: base.service_type, source: base.source, destinations,
            esm_class: base.esm_class, protocol_id: base.protocol_id,
            priority_flag: base.priority_flag,
            schedule_delivery_time: base.schedule_delivery_time,
            validity_period: base.validity_period,
            registered_delivery: base.registered_delivery,
            replace_if_present_flag: base.replace_if_present_flag,
            data_coding: base.data_coding, sm_default_msg_id: base.sm_default_msg_id,
            short_message: base.short_message, tlvs: base.tlvs,
        }
    }
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        Just(Body::GenericNack),
        Just(Body::Unbind),
        Just(Body::UnbindResp),
        Just(Body::EnquireLink),
        Just(Body::EnquireLinkResp),
        Just(Body::CancelSmResp),
        Just(Body::ReplaceSmResp),
        bind().prop_map(Body::BindReceiver),
        bind().prop_map(Body::BindTransmitter),
        bind().prop_map(Body::BindTransceiver),
        bind_resp().prop_map(Body::BindReceiverResp),
        bind_resp().prop_map(Body::BindTransmitterResp),
        bind_resp().prop_map(Body::BindTransceiverResp),
        (cstr(16), cstr(9)).prop_map(|(system_id, password)| Body::Outbind(Outbind {
            system_id,
            password
        })),
        submit_sm().prop_map(Body::SubmitSm),
        submit_sm().prop_map(Body::DeliverSm),
        message_id_resp().prop_map(Body::SubmitSmResp),
        message_id_resp().prop_map(Body::DeliverSmResp),
        message_id_resp().prop_map(Body::DataSmResp),
        (cstr(6), address(65), address(65), any::<[u8; 3]>(), tlvs()).prop_map(
            |(service_type, source, destination, f, tlvs)| Body::DataSm(DataSm {
                service_type,
                source,
                destination,
                esm_class: f[0],
                registered_delivery: f[1],
                data_coding: f[2],
                tlvs,
            })
        ),
        submit_multi().prop_map(Body::SubmitMulti),
        (
            cstr(65),
            vec(
                (address(21), any::<u32>()).prop_map(|(address, code)| UnsuccessSme {
                    address,
                    error_status_code: CommandStatus(code),
                }),
                0..5
            ),
            tlvs()
        )
            .prop_map(|(message_id, unsuccess, tlvs)| Body::SubmitMultiResp(
                SubmitMultiResp {
                    message_id,
                    unsuccess,
                    tlvs
                }
            )),
        (cstr(65), address(21))
            .prop_map(|(message_id, source)| Body::QuerySm(QuerySm { message_id, source })),
        (cstr(65), cstr(17), any::<u8>(), any::<u8>()).prop_map(
            |(message_id, final_date, message_state, error_code)| Body::QuerySmResp(QuerySmResp {
                message_id,
                final_date,
                message_state,
                error_code,
            })
        ),
        (cstr(6), cstr(65), address(21), address(21)).prop_map(
            |(service_type, message_id, source, destination)| Body::CancelSm(CancelSm {
                service_type,
                message_id,
                source,
                destination,
            })
        ),
        (
            cstr(65),
            address(21),
            cstr(17),
            cstr(17),
            any::<[u8; 2]>(),
            octets(254),
            tlvs()
        )
            .prop_map(
                |(message_id, source, schedule, validity, f, short_message, tlvs)| {
                    Body::ReplaceSm(ReplaceSm {
                        message_id,
                        source,
                        schedule_delivery_time: schedule,
                        validity_period: validity,
                        registered_delivery: f[0],
                        sm_default_msg_id: f[1],
                        short_message,
                        tlvs,
                    })
                }
            ),
        (address(65), address(65), tlvs()).prop_map(|(source, esme, tlvs)| {
            Body::AlertNotification(AlertNotification { source, esme, tlvs })
        }),
    ]
}

fn pdu() -> impl Strategy<Value = Pdu> {
    (
        1u32..=0x7FFF_FFFF,
        prop_oneof![Just(0u32), any::<u32>()],
        body(),
    )
        .prop_map(|(sequence, status, body)| {
            // Requests always carry ESME_ROK; only responses have a status.
            let status = if body.is_response() { status } else { 0 };
            Pdu {
                sequence,
                status: CommandStatus(status),
                body,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_pdu_round_trips_through_encode_and_decode(pdu in pdu()) {
        let wire = pdu.to_bytes();
        prop_assert_eq!(wire.len() as u32, u32::from_be_bytes([wire[0], wire[1], wire[2], wire[3]]));
        let decoded = Pdu::decode(wire, &DecodeLimits::default());
        prop_assert_eq!(decoded, Ok(pdu));
    }

    #[test]
    fn a_stream_of_pdus_decodes_in_order_whatever_the_read_sizes(
        pdus in vec(pdu(), 1..8),
        chunk in 1usize..64,
    ) {
        let mut wire = BytesMut::new();
        for pdu in &pdus {
            pdu.encode(&mut wire);
        }
        let mut codec = SmppCodec::default();
        let mut buffer = BytesMut::new();
        let mut decoded = Vec::new();
        for piece in wire.chunks(chunk) {
            buffer.extend_from_slice(piece);
            while let Some(item) = codec.decode(&mut buffer).expect("no fatal error") {
                decoded.push(item.expect("valid PDU"));
            }
        }
        prop_assert_eq!(decoded, pdus);
        prop_assert!(buffer.is_empty());
    }

    #[test]
    fn decoding_arbitrary_bodies_never_panics(command_id in prop_oneof![
            (0u32..=0x13).prop_map(|v| v), (0x8000_0000u32..=0x8000_0021).prop_map(|v| v),
            Just(0x102u32), Just(0x103u32), Just(0x8000_0103u32), any::<u32>()],
        status in any::<u32>(), sequence in any::<u32>(), body in vec(any::<u8>(), 0..300)) {
        let mut frame = Vec::with_capacity(16 + body.len());
        frame.extend_from_slice(&((16 + body.len()) as u32).to_be_bytes());
        frame.extend_from_slice(&command_id.to_be_bytes());
        frame.extend_from_slice(&status.to_be_bytes());
        frame.extend_from_slice(&sequence.to_be_bytes());
        frame.extend_from_slice(&body);
        match Pdu::decode(Bytes::from(frame), &DecodeLimits::default()) {
            Ok(pdu) => {
                prop_assert_eq!(pdu.sequence, sequence);
                prop_assert_eq!(pdu.body.command_id().value(), command_id);
            }
            Err(error) => {
                prop_assert_eq!(error.sequence, sequence);
                prop_assert!(!error.is_fatal());
                let _ = error.reply();
            }
        }
    }

    #[test]
    fn a_malformed_pdu_never_desynchronises_the_stream(
        garbage in vec(any::<u8>(), 0..200),
        command_id in any::<u32>(),
        after in pdu(),
    ) {
        // A well-framed PDU with a garbage body, followed by a valid PDU:
        // whatever the first decodes to, the second must come out intact.
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&((16 + garbage.len()) as u32).to_be_bytes());
        wire.extend_from_slice(&command_id.to_be_bytes());
        wire.extend_from_slice(&0u32.to_be_bytes());
        wire.extend_from_slice(&5u32.to_be_bytes());
        wire.extend_from_slice(&garbage);
        after.encode(&mut wire);
        let mut codec = SmppCodec::default();
        let first = codec.decode(&mut wire).expect("framing ok");
        prop_assert!(first.is_some());
        let second = codec.decode(&mut wire).expect("framing ok");
        prop_assert_eq!(second, Some(Ok(after)));
    }
}
