-- An account's default callback URL: where the status events of its HTTP
-- API messages sent without `callback_url` are POSTed.
ALTER TABLE accounts ADD COLUMN callback_url TEXT;
