-- The customer API's Idempotency-Key: the first answer (2xx only) to a
-- request with a key, replayed for 24 h to a request of the same account
-- with the same key and body. `status` is NULL while the first request
-- runs. Rows older than 24 h are deleted as new keys come in.
CREATE TABLE idempotency_keys (
    account TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    status INTEGER,
    body BLOB,
    PRIMARY KEY (account, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
