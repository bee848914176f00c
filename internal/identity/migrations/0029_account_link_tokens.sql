-- Linking a password account to a card holder's account goes through a
-- link mailed to the password account's address: the token names the card
-- account that asked, and works only for it. Empty for every other kind of
-- token.
ALTER TABLE account_tokens ADD COLUMN into_account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE;
