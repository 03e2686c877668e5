"""Generate byte-exact SMPP test vectors with smpplib, an independent implementation.

Run: python3 smpplib_vectors.py > smpplib.txt   (pip install smpplib==2.2.4)

Each line of the output is `name hex`. crates/smpp/tests/vectors.rs builds
the same PDUs field by field, checks that our decoder reads these bytes into
them, and that our encoder writes exactly these bytes back.
"""
from smpplib import smpp, consts

VECTORS = [
    ("bind_transceiver", "bind_transceiver", dict(
        sequence=1, system_id="smppclient1", password="password",
        system_type="", interface_version=0x34, addr_ton=0, addr_npi=0,
        address_range="")),
    ("bind_transceiver_resp", "bind_transceiver_resp", dict(
        sequence=1, system_id="SMSGATE")),
    ("submit_sm", "submit_sm", dict(
        sequence=2, service_type="", source_addr_ton=5, source_addr_npi=0,
        source_addr="MyBank", dest_addr_ton=1, dest_addr_npi=1,
        destination_addr="14155551234", esm_class=0, protocol_id=0,
        priority_flag=0, schedule_delivery_time="", validity_period="",
        registered_delivery=1, replace_if_present_flag=0, data_coding=0,
        sm_default_msg_id=0,
        short_message=b"Your verification code is 482910. Do not share this code.")),
    ("submit_sm_with_sar_tlvs", "submit_sm", dict(
        sequence=3, service_type="CMT", source_addr_ton=1, source_addr_npi=1,
        source_addr="447700900123", dest_addr_ton=1, dest_addr_npi=1,
        destination_addr="31699887766", esm_class=0, protocol_id=0,
        priority_flag=1, schedule_delivery_time="",
        validity_period="000001000000000R", registered_delivery=1,
        replace_if_present_flag=0, data_coding=8, sm_default_msg_id=0,
        short_message="Привет".encode("utf-16-be"),
        sar_msg_ref_num=0x1234, sar_total_segments=2, sar_segment_seqnum=1,
        user_message_reference=42)),
    ("submit_sm_resp", "submit_sm_resp", dict(
        sequence=2, message_id="0193a1b2c3d4e5f6")),
    ("deliver_sm_receipt", "deliver_sm", dict(
        sequence=7, service_type="", source_addr_ton=1, source_addr_npi=1,
        source_addr="14155551234", dest_addr_ton=5, dest_addr_npi=0,
        destination_addr="MyBank", esm_class=0x04, protocol_id=0,
        priority_flag=0, schedule_delivery_time="", validity_period="",
        registered_delivery=0, replace_if_present_flag=0, data_coding=0,
        sm_default_msg_id=0,
        short_message=b"id:abc-123 sub:001 dlvrd:001 submit date:2602121430 "
                      b"done date:2602121430 stat:DELIVRD err:000 text:",
        receipted_message_id="abc-123", message_state=2)),
    ("deliver_sm_resp", "deliver_sm_resp", dict(sequence=7)),
    ("enquire_link", "enquire_link", dict(sequence=9)),
    ("enquire_link_resp", "enquire_link_resp", dict(sequence=9)),
    ("unbind", "unbind", dict(sequence=10)),
    ("unbind_resp", "unbind_resp", dict(sequence=10)),
    ("generic_nack", "generic_nack", dict(
        sequence=11, status=consts.SMPP_ESME_RINVCMDID)),
]

for name, command, fields in VECTORS:
    sequence = fields["sequence"]
    status = fields.pop("status", consts.SMPP_ESME_ROK)
    pdu = smpp.make_pdu(command, **fields)
    # smpplib takes sequence/status from its client; set them directly.
    pdu.sequence = sequence
    pdu.status = status
    print(name, pdu.generate().hex())
