-- Segnala disservizio: what residents report (a broken street lamp, a
-- pothole) and the office's answer. The list is public: category, place,
-- description, status and answer, never who reported. account_id and
-- email are where the answer is sent, read only by the office. A report
-- from someone not logged in waits (unconfirmed, off every list) until its
-- address confirms it through the mailed link; unconfirmed reports are
-- deleted after ConfirmTTL.
CREATE TABLE segnala_reports (
    id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    address TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    account_id TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    email TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    token_expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
-- The public list: published reports, newest first.
CREATE INDEX segnala_reports_published ON segnala_reports (published_at, id) WHERE published_at IS NOT NULL;
-- The office's queues by status, oldest first.
CREATE INDEX segnala_reports_status ON segnala_reports (status, published_at, id);
-- Expired confirmations.
CREATE INDEX segnala_reports_pending ON segnala_reports (token_expires_at) WHERE token_hash IS NOT NULL;
CREATE INDEX segnala_reports_account ON segnala_reports (account_id) WHERE account_id IS NOT NULL;
