-- The customer API's `tags` (a JSON array of strings, matched by route `tag`
-- filters) and `client_ref` (put in the message's status callbacks).
ALTER TABLE messages ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN client_ref TEXT;
