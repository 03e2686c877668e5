-- Addresses blocked after too many failed logins, per surface ('smpp',
-- 'api', 'console'): an IPv4 address or an IPv6 /64 (its first address).
-- A node writes a row when it starts a block and reads them every few
-- seconds, so that blocks hold over restarts and on every node, and an
-- operator lifts one by deleting its row (`smsgate security unblock`).
-- A row past its `until` (Unix milliseconds) is over and may be deleted.
CREATE TABLE ip_blocks (
    surface TEXT NOT NULL CHECK (surface IN ('smpp', 'api', 'console')),
    address TEXT NOT NULL,
    until INTEGER NOT NULL,
    node TEXT NOT NULL,
    PRIMARY KEY (surface, address)
);
