-- Budgets of attempts (logins, one-time codes, mails, ratings) per key,
-- checked and counted in one transaction so parallel requests cannot slip
-- past a limit. The key is stored as its SHA-256: the table needs to know
-- which budget a request draws on, not whose address it was.
CREATE TABLE throttle (
    key_hash TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    last_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX throttle_expires ON throttle (expires_at);

