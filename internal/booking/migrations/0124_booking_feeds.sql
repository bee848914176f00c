-- booking_feeds: each office's calendar feed for its operators, a secret
-- address (only the SHA-256 of its token is kept). Making a new one
-- replaces the old, which stops working at once.
CREATE TABLE booking_feeds (
    office_id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    created_by TEXT NOT NULL
);
