-- Deliveries to customers: receipts for their messages and inbound
-- messages (MO) routed to them, each a deliver_sm waiting for one of the
-- account's receiver or transceiver sessions.

-- 'mt' for messages customers send, 'mo' for messages from handsets to
-- customers; dispatch only ever claims 'mt' messages.
ALTER TABLE messages ADD COLUMN direction TEXT NOT NULL DEFAULT 'mt';

CREATE TABLE outbox (
    seq             INTEGER NOT NULL PRIMARY KEY,
    -- The account whose sessions get it.
    account         TEXT    NOT NULL,
    -- 'receipt' or 'mo'.
    kind            TEXT    NOT NULL,
    -- The message it is about (the MT message of a receipt, or the MO
    -- message itself): its trace records each delivery step.
    message_id      TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    -- The deliver_sm, encoded with sequence number 0.
    pdu             BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    -- Not sent before then (a retry's backoff).
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- The node sending it now, and since when; a claim older than the lease
    -- is a crashed node's and may be taken again.
    claimed_by      TEXT,
    claimed_at      INTEGER
) STRICT;

-- Oldest first per account.
CREATE INDEX outbox_by_account ON outbox (account, seq);
CREATE INDEX outbox_by_message ON outbox (message_id);
