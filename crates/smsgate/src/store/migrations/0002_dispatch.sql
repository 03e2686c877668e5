-- Dispatch and tracking: who is working on a message, how far its
-- attempts have got, the providers' ids for it, and receipts that came
-- before the provider's answer to the submit.

-- The node that claimed the message (state `queued`) and when: a claim
-- older than the dispatch lease is taken to be a crashed node's, and the
-- message may be claimed again.
ALTER TABLE messages ADD COLUMN claimed_by TEXT;
ALTER TABLE messages ADD COLUMN claimed_at INTEGER;
-- A message waiting to be retried is `accepted` with this set: it is not
-- due before then.
ALTER TABLE messages ADD COLUMN next_attempt_at INTEGER;
-- The connector of the last attempt, and how many attempts in a row it has
-- had; reset when the message fails over.
ALTER TABLE messages ADD COLUMN connector TEXT;
ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- Connectors this message failed over from (JSON array): never tried again for it.
ALTER TABLE messages ADD COLUMN abandoned_connectors TEXT NOT NULL DEFAULT '[]';

-- Receipts name the provider's id; this finds our message from it.
CREATE TABLE provider_ids (
    connector   TEXT    NOT NULL,
    provider_id TEXT    NOT NULL,
    message_id  TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    PRIMARY KEY (connector, provider_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX provider_ids_by_message ON provider_ids (message_id);

-- Receipts whose provider id is not known yet: the provider sent the
-- receipt before (or without) the submit's answer. Applied, and deleted,
-- when the answer stores that provider id.
CREATE TABLE pending_receipts (
    seq         INTEGER NOT NULL PRIMARY KEY,
    connector   TEXT    NOT NULL,
    provider_id TEXT    NOT NULL,
    stat        TEXT    NOT NULL,
    err         TEXT    NOT NULL,
    received_at INTEGER NOT NULL
) STRICT;

CREATE INDEX pending_receipts_by_provider_id ON pending_receipts (connector, provider_id);
