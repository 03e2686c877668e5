-- Runtime trace switches: PDU hex dumps (and HTTP request/response bodies)
-- in the log for one account's sessions or one connector's binds, until
-- `until` (Unix milliseconds). Every node of a cluster reads them every few
-- seconds; a row past its `until` is off and may be deleted at any time.
CREATE TABLE trace_switches (
    kind TEXT NOT NULL CHECK (kind IN ('account', 'connector')),
    name TEXT NOT NULL,
    until INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
