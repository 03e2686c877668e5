-- Where a customer of the HTTP API wants a message's state changes POSTed.
ALTER TABLE messages ADD COLUMN callback_url TEXT;
