-- Operators of the admin API and the console. Passwords are argon2id
-- hashes, as for accounts; tokens (for scripts) are 256 random bits, so
-- only their SHA-256 is kept, as for the customer API's keys (0004).

CREATE TABLE admin_users (
    name          TEXT    NOT NULL PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE admin_tokens (
    -- The public part of the token, to list and revoke it by.
    id           TEXT    NOT NULL PRIMARY KEY,
    -- SHA-256 of the whole token, lowercase hex.
    token_hash   TEXT    NOT NULL UNIQUE,
    label        TEXT,
    created_at   INTEGER NOT NULL,
    -- Updated at most once a minute.
    last_used_at INTEGER
) STRICT;

-- Message search by number (the console's search box): the destination
-- and source as stored, newest first.
CREATE INDEX messages_by_destination ON messages (dest_addr, accepted_at);
CREATE INDEX messages_by_source ON messages (source_addr, accepted_at);
