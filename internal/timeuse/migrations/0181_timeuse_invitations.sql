-- Invitations to the time-use survey (docs/TIMEUSE.md): a link per
-- invited person, for residents without a login that proved their fiscal
-- code. Only the hash of the link's secret is kept; the invitation holds
-- its own draft (sealed, like an account's) until sent, and used marks it
-- answered. Nothing here says to whom an invitation was given.
CREATE TABLE timeuse_invitations (
    token_hash TEXT PRIMARY KEY,
    batch TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used BOOLEAN NOT NULL DEFAULT FALSE,
    sealed TEXT,
    saved_at TIMESTAMPTZ
);
CREATE INDEX timeuse_invitations_batch ON timeuse_invitations (batch, used);
