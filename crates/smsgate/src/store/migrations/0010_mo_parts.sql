-- Parts of long MO messages waiting for the rest: each is stored as it
-- arrives (before the provider is answered), as the deliver_sm it came in
-- (sequence 0), and deleted in the transaction that stores the whole
-- message. At start the MO router reads them back and waits on.
CREATE TABLE mo_parts (
    seq         INTEGER NOT NULL PRIMARY KEY,
    connector   TEXT    NOT NULL,
    pdu         BLOB    NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;
