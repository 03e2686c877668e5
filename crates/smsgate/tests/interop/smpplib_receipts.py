"""A delivery receipt to an independent SMPP client (Python smpplib).

Usage: smpplib_receipts.py HOST PORT SYSTEM_ID PASSWORD
One smpplib client binds as receiver, a second as transmitter with the same
system_id; the transmitter submits one message with registered_delivery=1
and the receiver waits (at most TIMEOUT seconds) for its delivery receipt:
a deliver_sm with esm_class 0x04 whose receipted_message_id, or failing
that the `id:` of its text, is the message_id of the submit_sm_resp.
Prints one `name value` line per finding, then `result ok` or
`result FAILED: why`, and exits non-zero on failure.
"""
import re
import sys
import time

import smpplib.client
import smpplib.consts
import smpplib.smpp

TIMEOUT = 30.0
SMSC_DELIVERY_RECEIPT = 0x04
RECEIPT_ID = re.compile(rb"\bid:(\S+)")


def unbind(client):
    """Unbinds, reading past anything still on its way (an enquire_link_resp
    the loop below did not wait for) up to the unbind_resp."""
    client.send_pdu(smpplib.smpp.make_pdu("unbind", client=client))
    while client.read_pdu().command != "unbind_resp":
        pass


def main():
    host, port, system_id, password = sys.argv[1:5]
    receiver = smpplib.client.Client(host, int(port), allow_unknown_opt_params=True)
    transmitter = smpplib.client.Client(host, int(port), allow_unknown_opt_params=True)
    deliveries = []
    receiver.set_message_received_handler(lambda pdu: deliveries.append(pdu))

    receiver.connect()
    resp = receiver.bind_receiver(system_id=system_id, password=password)
    print("receiver_bind_status", resp.status)
    transmitter.connect()
    resp = transmitter.bind_transmitter(system_id=system_id, password=password)
    print("transmitter_bind_status", resp.status)

    transmitter.send_message(
        source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
        source_addr="Acme",
        dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
        dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
        destination_addr="447911123456",
        short_message=b"receipt please",
        registered_delivery=1,
    )
    resp = transmitter.read_pdu()
    print("submit_status", resp.status)
    if resp.command != "submit_sm_resp" or resp.status != 0:
        return "submit_sm not accepted: {} status {}".format(resp.command, resp.status)
    message_id = resp.message_id.decode()
    print("message_id", message_id)

    # read_once answers each deliver_sm with ESME_ROK after the handler, and
    # sends enquire_link when its socket times out (5 s), so the loop
    # checks the deadline at least that often.
    deadline = time.monotonic() + TIMEOUT
    receipt = None
    while receipt is None and time.monotonic() < deadline:
        receiver.read_once()
        while deliveries and receipt is None:
            pdu = deliveries.pop(0)
            print("deliver_esm_class", pdu.esm_class)
            if pdu.esm_class & SMSC_DELIVERY_RECEIPT:
                receipt = pdu
    if receipt is None:
        return "no delivery receipt within {:.0f} s".format(TIMEOUT)

    receipted = (getattr(receipt, "receipted_message_id", None) or b"").decode()
    print("receipted_message_id", receipted or "-")
    text_id = RECEIPT_ID.search(receipt.short_message or b"")
    text_id = text_id.group(1).decode() if text_id else ""
    print("receipt_text_id", text_id or "-")
    print("receipt_text", (receipt.short_message or b"").decode(errors="replace"))

    for client in (transmitter, receiver):
        unbind(client)
        client.disconnect()

    if message_id not in (receipted, text_id):
        return "the receipt is for {!r} (text id {!r}), not {!r}".format(
            receipted, text_id, message_id
        )
    if b"stat:DELIVRD" not in (receipt.short_message or b""):
        return "the receipt does not say stat:DELIVRD"
    return None


if __name__ == "__main__":
    try:
        failure = main()
    except Exception as error:  # report any smpplib or socket failure as a result line
        failure = "{}: {}".format(type(error).__name__, error)
    if failure is None:
        print("result ok")
    else:
        print("result FAILED:", failure)
    sys.exit(0 if failure is None else 1)
