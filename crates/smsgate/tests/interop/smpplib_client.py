"""An independent SMPP client (Python smpplib) against a running smsgate.

Usage: smpplib_client.py HOST PORT SYSTEM_ID PASSWORD DESTINATION
Binds as transceiver, submits one message, asks for its state with
query_sm, sends enquire_link, submits to an invalid number, and unbinds.
Prints one `name value` line per step for the Rust test to check.
"""
import sys

import smpplib.client
import smpplib.consts

host, port, system_id, password, destination = sys.argv[1:6]
client = smpplib.client.Client(host, int(port), allow_unknown_opt_params=True)
client.connect()
resp = client.bind_transceiver(system_id=system_id, password=password)
print("bind_status", resp.status)

client.send_message(
    source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
    source_addr="Acme",
    dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
    dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
    destination_addr=destination,
    short_message=b"hello from smpplib",
    registered_delivery=1,
)
resp = client.read_pdu()
print("submit_command", resp.command)
print("submit_status", resp.status)
message_id = resp.message_id.decode()
print("message_id", message_id)

query = smpplib.smpp.make_pdu(
    "query_sm",
    client=client,
    message_id=message_id,
    source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
    source_addr="Acme",
)
client.send_pdu(query)
resp = client.read_pdu()
print("query_status", resp.status)
print("query_state", resp.message_state)

client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
resp = client.read_pdu()
print("enquire_link_command", resp.command)

client.send_message(
    source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
    source_addr="Acme",
    dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
    dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
    destination_addr="12",
    short_message=b"to nowhere",
)
resp = client.read_pdu()
print("invalid_destination_status", resp.status)

resp = client.unbind()
print("unbind_command", resp.command)
client.disconnect()
