-- The resident's messages (the personal area's "Messaggi"): what the town
-- tells one account, posted by a feature in its own transaction (an
-- application registered, an integration asked for). Every read has the
-- account in its WHERE clause. read_at is NULL until the resident opens
-- the message or marks it read. Linking a password account to a card's moves
-- its messages (identity's Mergers); closing an account deletes them (Closers).
CREATE TABLE area_messages (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    category TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT NOT NULL DEFAULT '',
    public BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    read_at TIMESTAMPTZ
);
CREATE INDEX area_messages_account ON area_messages (account_id, created_at);
CREATE INDEX area_messages_unread ON area_messages (account_id, read_at);
