-- Keys for the customer HTTP API. The key itself is shown once, when it is
-- created; only its SHA-256 is kept (keys are 256 random bits, so a fast
-- hash is enough and lets a request find its key by the hash alone).

CREATE TABLE api_keys (
    -- The public part of the key, to list and revoke it by.
    id           TEXT    NOT NULL PRIMARY KEY,
    -- A deleted account's keys go with it.
    account      TEXT    NOT NULL REFERENCES accounts (system_id) ON DELETE CASCADE,
    -- SHA-256 of the whole key, lowercase hex.
    key_hash     TEXT    NOT NULL UNIQUE,
    label        TEXT,
    created_at   INTEGER NOT NULL,
    -- Updated at most once a minute.
    last_used_at INTEGER
) STRICT;

CREATE INDEX api_keys_by_account ON api_keys (account, created_at);
