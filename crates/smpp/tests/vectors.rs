//! Byte-exact cross-check against an independent SMPP implementation.
//!
//! `vectors/smpplib.txt` was written by Python smpplib 2.2.4 running
//! `vectors/smpplib_vectors.py`. Each PDU is built here field by field from
//! the same values; we must decode smpplib's bytes into exactly that PDU and
//! encode that PDU into exactly smpplib's bytes.

use bytes::Bytes;
use smpp::pdu::DecodeLimits;
use smpp::types::{esm_class, npi, registered_delivery, ton};
use smpp::{
    Address, Bind, BindResp, Body, COctetString, CommandStatus, MessageIdResp, Pdu, SubmitSm, Tlv,
};

fn s(text: &'static str) -> COctetString {
    COctetString::from_static(text)
}

fn vector(name: &str) -> Bytes {
    let file = include_str!("vectors/smpplib.txt");
    let line = file
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no vector named {name}"));
    let hex = line.split_whitespace().nth(1).expect("hex column");
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect::<Vec<u8>>();
    Bytes::from(bytes)
}

fn assert_matches_smpplib(name: &str, expected: Pdu) {
    let wire = vector(name);
    let decoded = Pdu::decode(wire.clone(), &DecodeLimits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(decoded, expected, "{name}: decoded PDU differs");
    assert_eq!(expected.to_bytes(), wire, "{name}: encoded bytes differ");
}

fn submit_template() -> SubmitSm {
    SubmitSm {
        source: Address::new(ton::ALPHANUMERIC, npi::UNKNOWN, s("MyBank")),
        destination: Address::new(ton::INTERNATIONAL, npi::ISDN, s("14155551234")),
        registered_delivery: registered_delivery::RECEIPT_ALWAYS,
        short_message: Bytes::from_static(
            b"Your verification code is 482910. Do not share this code.",
        ),
        ..SubmitSm::default()
    }
}

#[test]
fn bind_transceiver_matches_smpplib() {
    let bind = Bind {
        system_id: s("smppclient1"),
        password: s("password"),
        interface_version: 0x34,
        ..Bind::default()
    };
    assert_matches_smpplib("bind_transceiver", Pdu::new(1, Body::BindTransceiver(bind)));
}

#[test]
fn bind_transceiver_resp_matches_smpplib() {
    let resp = BindResp {
        system_id: s("SMSGATE"),
        tlvs: vec![],
    };
    assert_matches_smpplib(
        "bind_transceiver_resp",
        Pdu::new(1, Body::BindTransceiverResp(resp)),
    );
}

#[test]
fn submit_sm_matches_smpplib() {
    assert_matches_smpplib("submit_sm", Pdu::new(2, Body::SubmitSm(submit_template())));
}

#[test]
fn submit_sm_with_ucs2_text_and_sar_tlvs_matches_smpplib() {
    let text: Vec<u8> = "Привет".encode_utf16().flat_map(u16::to_be_bytes).collect();
    let submit = SubmitSm {
        service_type: s("CMT"),
        source: Address::new(ton::INTERNATIONAL, npi::ISDN, s("447700900123")),
        destination: Address::new(ton::INTERNATIONAL, npi::ISDN, s("31699887766")),
        priority_flag: 1,
        validity_period: s("000001000000000R"),
        registered_delivery: registered_delivery::RECEIPT_ALWAYS,
        data_coding: 8,
        short_message: Bytes::from(text),
        // smpplib writes its optional parameters in its own fixed order.
        tlvs: vec![
            Tlv::UserMessageReference(42),
            Tlv::SarMsgRefNum(0x1234),
            Tlv::SarTotalSegments(2),
            Tlv::SarSegmentSeqnum(1),
        ],
        ..SubmitSm::default()
    };
    assert_matches_smpplib(
        "submit_sm_with_sar_tlvs",
        Pdu::new(3, Body::SubmitSm(submit)),
    );
}

#[test]
fn submit_sm_resp_matches_smpplib() {
    let resp = MessageIdResp::new(s("0193a1b2c3d4e5f6"));
    assert_matches_smpplib("submit_sm_resp", Pdu::new(2, Body::SubmitSmResp(resp)));
}

#[test]
fn deliver_sm_receipt_matches_smpplib() {
    let receipt = SubmitSm {
        source: Address::new(ton::INTERNATIONAL, npi::ISDN, s("14155551234")),
        destination: Address::new(ton::ALPHANUMERIC, npi::UNKNOWN, s("MyBank")),
        esm_class: esm_class::DELIVERY_RECEIPT,
        short_message: Bytes::from_static(
            b"id:abc-123 sub:001 dlvrd:001 submit date:2602121430 done date:2602121430 stat:DELIVRD err:000 text:",
        ),
        tlvs: vec![Tlv::MessageState(2), Tlv::ReceiptedMessageId(s("abc-123"))],
        ..SubmitSm::default()
    };
    assert!(receipt.is_receipt());
    assert_matches_smpplib("deliver_sm_receipt", Pdu::new(7, Body::DeliverSm(receipt)));
}

#[test]
fn deliver_sm_resp_matches_smpplib() {
    assert_matches_smpplib(
        "deliver_sm_resp",
        Pdu::new(7, Body::DeliverSmResp(MessageIdResp::default())),
    );
}

#[test]
fn bodiless_pdus_match_smpplib() {
    assert_matches_smpplib("enquire_link", Pdu::new(9, Body::EnquireLink));
    assert_matches_smpplib("enquire_link_resp", Pdu::new(9, Body::EnquireLinkResp));
    assert_matches_smpplib("unbind", Pdu::new(10, Body::Unbind));
    assert_matches_smpplib("unbind_resp", Pdu::new(10, Body::UnbindResp));
    assert_matches_smpplib(
        "generic_nack",
        Pdu {
            sequence: 11,
            status: CommandStatus::ESME_RINVCMDID,
            body: Body::GenericNack,
        },
    );
}
