-- Back-channel logout notices not yet delivered. A logout writes one per
-- application the ended session logged into, in the transaction that ends
-- the session; the notice is deleted once the application answers
-- 200, and retried with backoff (by any process, under a lease) while it
-- does not, for as long as the application's session could live.
CREATE TABLE oidc_logout_outbox (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    sid TEXT NOT NULL,
    session_hash TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_logout_outbox_due ON oidc_logout_outbox (next_attempt_at);
