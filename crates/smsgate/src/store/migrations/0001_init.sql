-- Accounts, messages and their traces. Times are unix milliseconds; lists
-- are JSON arrays of strings. STRICT so a wrong type is an error, not a
-- silent conversion.

CREATE TABLE accounts (
    system_id       TEXT    NOT NULL PRIMARY KEY,
    password_hash   TEXT    NOT NULL,
    enabled         INTEGER NOT NULL,
    -- Never below zero: accept charges with `credits >= cost`, and the
    -- check catches any other path that would overdraw.
    credits         INTEGER NOT NULL CHECK (credits >= 0),
    max_binds       INTEGER NOT NULL,
    tps             INTEGER,
    window          INTEGER NOT NULL,
    bind_types      TEXT    NOT NULL,
    allowed_ips     TEXT    NOT NULL,
    allowed_senders TEXT    NOT NULL,
    default_sender  TEXT,
    address_ranges  TEXT    NOT NULL,
    group_name      TEXT,
    created_at      INTEGER NOT NULL
) STRICT;

-- No foreign key to accounts: a deleted account's messages stay, for the record.
CREATE TABLE messages (
    id                  TEXT    NOT NULL PRIMARY KEY,
    group_id            TEXT    NOT NULL,
    account             TEXT    NOT NULL,
    state               TEXT    NOT NULL,
    source_ton          INTEGER NOT NULL,
    source_npi          INTEGER NOT NULL,
    source_addr         TEXT    NOT NULL,
    dest_ton            INTEGER NOT NULL,
    dest_npi            INTEGER NOT NULL,
    dest_addr           TEXT    NOT NULL,
    esm_class           INTEGER NOT NULL,
    data_coding         INTEGER NOT NULL,
    protocol_id         INTEGER NOT NULL,
    priority            INTEGER NOT NULL,
    registered_delivery INTEGER NOT NULL,
    schedule_at         INTEGER,
    expires_at          INTEGER,
    payload             BLOB    NOT NULL,
    part_ref            INTEGER,
    part_total          INTEGER,
    part_seq            INTEGER,
    segments            INTEGER NOT NULL,
    cost                INTEGER NOT NULL,
    origin_protocol     TEXT    NOT NULL,
    origin_remote       TEXT,
    origin_tls          INTEGER NOT NULL,
    origin_session      INTEGER,
    accepted_at         INTEGER NOT NULL
) STRICT;

-- Listing newest first, overall, per account and per state.
CREATE INDEX messages_by_time ON messages (accepted_at);
CREATE INDEX messages_by_account ON messages (account, accepted_at);
CREATE INDEX messages_by_state ON messages (state, accepted_at);
-- Linking the parts of a long message: find a recent group with the same
-- account, reference, total and addresses ...
CREATE INDEX messages_part_lookup ON messages (account, part_ref, part_total, source_addr, dest_addr, accepted_at)
    WHERE part_ref IS NOT NULL;
-- ... that does not already hold this part.
CREATE INDEX messages_by_group ON messages (group_id, part_seq);

CREATE TABLE trace_events (
    seq        INTEGER NOT NULL PRIMARY KEY,
    message_id TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    node       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    detail     TEXT    NOT NULL
) STRICT;

CREATE INDEX trace_events_by_message ON trace_events (message_id, seq);
