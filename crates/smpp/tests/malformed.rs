//! Each kind of malformed input gets its typed error, the status the spec
//! asks for, the right reply (generic_nack, the PDU's resp, or nothing), and
//! leaves the stream usable unless no frame boundary can be known.

use bytes::{BufMut, BytesMut};
use smpp::pdu::DecodeLimits;
use smpp::{
    Body, CommandStatus, DecodeError, DecodeErrorKind, MessageIdResp, Pdu, SmppCodec, SubmitSm,
};
use tokio_util::codec::Decoder;

fn frame(command_id: u32, sequence: u32, body: &[u8]) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_u32(16 + body.len() as u32);
    buf.put_u32(command_id);
    buf.put_u32(0);
    buf.put_u32(sequence);
    buf.put_slice(body);
    buf
}

fn decode_one(mut wire: BytesMut) -> Result<Pdu, DecodeError> {
    SmppCodec::default()
        .decode(&mut wire)
        .expect("codec keeps working")
        .expect("a whole frame was given")
}

/// A submit_sm body, with `destination` as destination_addr and `tail`
/// appended after sm_length (short_message and TLVs).
fn submit_body(destination: &[u8], sm_length: u8, tail: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.push(0); // service_type
    body.extend_from_slice(&[1, 1]);
    body.extend_from_slice(b"447700900123\0");
    body.extend_from_slice(&[1, 1]);
    body.extend_from_slice(destination);
    body.push(0);
    body.extend_from_slice(&[0, 0, 0]); // esm_class, protocol_id, priority_flag
    body.extend_from_slice(&[0, 0]); // schedule, validity
    body.extend_from_slice(&[1, 0, 0, 0]); // registered_delivery .. sm_default_msg_id
    body.push(sm_length);
    body.extend_from_slice(tail);
    body
}

fn assert_answered_with_resp(error: &DecodeError, sequence: u32, status: CommandStatus) {
    assert_eq!(error.status, status, "{error}");
    assert!(!error.is_fatal());
    let reply = error.reply().expect("requests are answered");
    assert_eq!(reply.sequence, sequence);
    assert_eq!(reply.status, status);
    assert_eq!(reply.body, Body::SubmitSmResp(MessageIdResp::default()));
    // An error resp with an empty body is sent as a bare header.
    assert_eq!(reply.to_bytes().len(), 16);
}

#[test]
fn well_formed_submit_sm_body_decodes() {
    let pdu = decode_one(frame(4, 8, &submit_body(b"31699887766", 2, b"hi"))).expect("valid");
    let Body::SubmitSm(SubmitSm {
        destination,
        short_message,
        ..
    }) = pdu.body
    else {
        panic!("not a submit_sm");
    };
    assert_eq!(destination.addr, "31699887766");
    assert_eq!(&short_message[..], b"hi");
}

#[test]
fn destination_longer_than_21_octets_is_answered_with_invalid_dest_addr() {
    let error = decode_one(frame(4, 8, &submit_body(&[b'1'; 25], 0, b""))).expect_err("too long");
    assert!(matches!(
        error.kind,
        DecodeErrorKind::Unterminated {
            field: "destination_addr",
            ..
        }
    ));
    assert_answered_with_resp(&error, 8, CommandStatus::ESME_RINVDSTADR);
}

#[test]
fn sm_length_past_the_body_is_answered_with_invalid_message_length() {
    let error = decode_one(frame(4, 9, &submit_body(b"3169", 50, b"short"))).expect_err("overrun");
    assert!(matches!(
        error.kind,
        DecodeErrorKind::ShortMessageOverrun {
            sm_length: 50,
            remaining: 5
        }
    ));
    assert_answered_with_resp(&error, 9, CommandStatus::ESME_RINVMSGLEN);
}

#[test]
fn source_addr_cut_by_the_end_of_the_body_is_answered_with_invalid_command_length() {
    // The body ends inside source_addr, before its NUL and its 21 octets:
    // a truncated PDU, not a bad address.
    let error = decode_one(frame(4, 10, &[0, 1, 1, b'4', b'4'])).expect_err("truncated");
    assert_eq!(
        error.kind,
        DecodeErrorKind::Truncated {
            field: "source_addr"
        }
    );
    assert_answered_with_resp(&error, 10, CommandStatus::ESME_RINVCMDLEN);
}

#[test]
fn source_addr_without_nul_in_its_21_octets_is_answered_with_invalid_source_addr() {
    let mut body = vec![0, 1, 1];
    body.extend_from_slice(&[b'4'; 21]);
    let error = decode_one(frame(4, 10, &body)).expect_err("unterminated");
    assert_answered_with_resp(&error, 10, CommandStatus::ESME_RINVSRCADR);
}

#[test]
fn submit_sm_with_no_body_is_answered_with_invalid_command_length() {
    let error = decode_one(frame(4, 16, &[])).expect_err("truncated");
    assert_eq!(
        error.kind,
        DecodeErrorKind::Truncated {
            field: "service_type"
        }
    );
    assert_answered_with_resp(&error, 16, CommandStatus::ESME_RINVCMDLEN);
}

#[test]
fn body_cut_inside_fixed_fields_is_answered_with_invalid_command_length() {
    let mut body = submit_body(b"3169", 0, b"");
    body.truncate(body.len() - 3);
    let error = decode_one(frame(4, 11, &body)).expect_err("truncated");
    assert!(matches!(error.kind, DecodeErrorKind::Truncated { .. }));
    assert_answered_with_resp(&error, 11, CommandStatus::ESME_RINVCMDLEN);
}

#[test]
fn truncated_tlv_is_answered_with_invalid_optional_parameter_stream() {
    let error = decode_one(frame(
        4,
        12,
        &submit_body(b"3169", 0, &[0x02, 0x0C, 0x00, 0x02, 0x12]),
    ))
    .expect_err("tlv cut");
    assert_eq!(error.kind, DecodeErrorKind::TlvTruncated { tag: 0x020C });
    assert_answered_with_resp(&error, 12, CommandStatus::ESME_RINVOPTPARSTREAM);

    let error = decode_one(frame(4, 13, &submit_body(b"3169", 0, &[0x02]))).expect_err("tag cut");
    assert_eq!(error.kind, DecodeErrorKind::TlvTruncated { tag: 0 });
}

#[test]
fn known_tlv_with_wrong_length_is_answered_with_invalid_parameter_length() {
    let error = decode_one(frame(
        4,
        14,
        &submit_body(b"3169", 0, &[0x04, 0x27, 0x00, 0x02, 1, 2]),
    ))
    .expect_err("message_state has 1 octet");
    assert_answered_with_resp(&error, 14, CommandStatus::ESME_RINVPARLEN);
}

#[test]
fn unknown_command_id_gets_generic_nack_invalid_command_id_and_the_stream_goes_on() {
    let mut wire = frame(0x0000_0042, 21, b"whatever");
    Pdu::new(22, Body::EnquireLink).encode(&mut wire);
    let mut codec = SmppCodec::default();
    let error = codec
        .decode(&mut wire)
        .expect("ok")
        .expect("item")
        .expect_err("unknown");
    assert_eq!(error.kind, DecodeErrorKind::UnknownCommand);
    let reply = error.reply().expect("nack");
    assert_eq!(
        (reply.sequence, reply.status, reply.body),
        (21, CommandStatus::ESME_RINVCMDID, Body::GenericNack)
    );
    let next = codec
        .decode(&mut wire)
        .expect("ok")
        .expect("item")
        .expect("valid");
    assert_eq!(next, Pdu::new(22, Body::EnquireLink));
}

#[test]
fn broadcast_sm_is_recognised_and_refused_with_invalid_command_id() {
    let error = decode_one(frame(0x0000_0111, 23, &[0; 40])).expect_err("unsupported");
    assert_eq!(error.kind, DecodeErrorKind::UnsupportedCommand);
    let reply = error.reply().expect("nack");
    assert_eq!(
        (reply.status, reply.body),
        (CommandStatus::ESME_RINVCMDID, Body::GenericNack)
    );
}

#[test]
fn command_length_below_header_is_fatal_after_a_generic_nack() {
    let mut wire = BytesMut::new();
    wire.put_u32(8);
    wire.put_u32(0x15);
    wire.put_u32(0);
    wire.put_u32(31);
    let mut codec = SmppCodec::default();
    let error = codec
        .decode(&mut wire)
        .expect("ok")
        .expect("item")
        .expect_err("too short");
    assert!(error.is_fatal());
    let reply = error.reply().expect("nack");
    assert_eq!(
        (reply.sequence, reply.status),
        (31, CommandStatus::ESME_RINVCMDLEN)
    );
    wire.extend_from_slice(&Pdu::new(1, Body::EnquireLink).to_bytes());
    assert!(
        codec.decode(&mut wire).is_err(),
        "a broken stream stays broken"
    );
}

#[test]
fn oversized_frame_is_skipped_as_it_arrives_and_the_next_pdu_decodes() {
    let limits = DecodeLimits {
        max_command_length: 1024,
        ..DecodeLimits::default()
    };
    let mut codec = SmppCodec::new(limits);
    let big = frame(4, 41, &vec![7u8; 5000]);
    let mut wire = BytesMut::new();
    wire.extend_from_slice(&big[..100]);
    let error = codec
        .decode(&mut wire)
        .expect("ok")
        .expect("item")
        .expect_err("too long");
    assert_eq!(
        error.kind,
        DecodeErrorKind::LengthTooLong {
            length: 5016,
            max: 1024
        }
    );
    assert!(!error.is_fatal());
    assert_eq!(error.reply().expect("nack").sequence, 41);
    assert!(
        wire.is_empty(),
        "nothing of the oversized frame is buffered"
    );
    wire.extend_from_slice(&big[100..3000]);
    assert_eq!(codec.decode(&mut wire).expect("ok"), None);
    assert!(wire.is_empty());
    wire.extend_from_slice(&big[3000..]);
    Pdu::new(42, Body::EnquireLink).encode(&mut wire);
    let next = codec
        .decode(&mut wire)
        .expect("ok")
        .expect("item")
        .expect("valid");
    assert_eq!(next.sequence, 42);
}

#[test]
fn trailing_octets_after_a_bodiless_pdu_are_answered_with_invalid_command_length() {
    let error = decode_one(frame(0x15, 50, &[0, 0])).expect_err("trailing");
    assert_eq!(error.kind, DecodeErrorKind::TrailingBytes { count: 2 });
    let reply = error.reply().expect("resp");
    assert_eq!(
        (reply.body, reply.status),
        (Body::EnquireLinkResp, CommandStatus::ESME_RINVCMDLEN)
    );
}

#[test]
fn long_credentials_are_refused_by_default_and_accepted_when_the_limit_is_raised() {
    let mut body = Vec::new();
    body.extend_from_slice(b"a-rather-long-system-id\0a-long-password\0\0");
    body.extend_from_slice(&[0x34, 0, 0, 0]);
    let error = decode_one(frame(9, 1, &body)).expect_err("spec limits");
    assert_eq!(error.status, CommandStatus::ESME_RINVSYSID);
    assert_eq!(
        error.reply().expect("resp").body.command_id(),
        smpp::CommandId::BindTransceiverResp
    );

    let limits = DecodeLimits {
        max_credential_len: Some(65),
        ..DecodeLimits::default()
    };
    let pdu = Pdu::decode(frame(9, 1, &body).freeze(), &limits).expect("raised limit");
    let Body::BindTransceiver(bind) = pdu.body else {
        panic!("not a bind")
    };
    assert_eq!(bind.system_id, "a-rather-long-system-id");
    assert_eq!(bind.password, "a-long-password");
}

#[test]
fn malformed_response_is_reported_but_not_answered() {
    let error = decode_one(frame(0x8000_0004, 60, &[b'x'; 80])).expect_err("id too long");
    assert_eq!(error.status, CommandStatus::ESME_RINVMSGID);
    assert_eq!(error.reply(), None);
}

#[test]
fn response_without_body_decodes_as_blank() {
    let pdu = decode_one(frame(0x8000_0005, 61, &[])).expect("some SMSCs send no body");
    assert_eq!(pdu.body, Body::DeliverSmResp(MessageIdResp::default()));
    let mut error = frame(0x8000_0004, 62, &[]);
    error[8..12].copy_from_slice(&0x58u32.to_be_bytes());
    let pdu = decode_one(error).expect("error resp");
    assert_eq!(pdu.status, CommandStatus::ESME_RTHROTTLED);
}

#[test]
fn malformed_request_without_response_gets_generic_nack() {
    let error = decode_one(frame(0x102, 70, &[1, 1])).expect_err("alert_notification cut");
    let reply = error.reply().expect("nack");
    assert_eq!(reply.body, Body::GenericNack);
    assert_eq!(reply.sequence, 70);
}

#[test]
fn invalid_dest_flag_in_submit_multi_is_answered_with_invalid_destination_flag() {
    let body = [0, 1, 1, b'4', 0, 1, 3, 0];
    let error = decode_one(frame(0x21, 80, &body)).expect_err("dest_flag 3");
    assert_eq!(error.status, CommandStatus::ESME_RINVDESTFLAG);
    assert_eq!(
        error.reply().expect("resp").body.command_id(),
        smpp::CommandId::SubmitMultiResp
    );
}

#[test]
fn decode_error_message_names_the_command_the_sequence_and_the_status() {
    let error = decode_one(frame(4, 8, &submit_body(&[b'1'; 25], 0, b""))).expect_err("too long");
    assert_eq!(
        error.to_string(),
        "cannot decode submit_sm (sequence 8): destination_addr has no NUL terminator within its maximum of 21 octets; answer ESME_RINVDSTADR"
    );
}
