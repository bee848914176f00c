-- A link that moves an account to a new mail address carries the address:
-- the account's address changes only when someone who reads that mailbox
-- follows it. Empty for every other kind of token.
ALTER TABLE account_tokens ADD COLUMN email TEXT;
CREATE INDEX account_tokens_email ON account_tokens (email, purpose);
