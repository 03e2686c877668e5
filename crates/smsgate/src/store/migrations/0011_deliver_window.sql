-- An account's deliver window: how many deliver_sm (receipts and MO) may
-- wait for the answer of one of its SMPP sessions at once.
ALTER TABLE accounts ADD COLUMN deliver_window INTEGER NOT NULL DEFAULT 10;
