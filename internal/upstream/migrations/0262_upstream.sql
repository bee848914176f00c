-- Proxy mode: the upstream OpenID Connect provider (internal/upstream).

-- Logins in flight, by the SHA-256 of their state: the nonce and PKCE
-- verifier they were asked with, the level, where to return, the browser
-- that started them (binding_hash: the SHA-256 of a cookie). answered_at
-- is set once, so a callback replayed is refused.
CREATE TABLE upstream_requests (
    state_hash TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    level TEXT NOT NULL,
    next TEXT NOT NULL,
    binding_hash TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    answered_at TIMESTAMPTZ
);
CREATE INDEX upstream_requests_expiry ON upstream_requests (expires_at);

-- The sessions an upstream login opened, by the SHA-256 of the session
-- token: the ID token, sealed with a key derived from CIVICO_SECRET_KEY
-- and bound to session_hash, is the id_token_hint of the logout at the
-- provider.
-- Deleted at logout, and swept with the sessions' absolute lifetime.
CREATE TABLE upstream_sessions (
    session_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    issuer TEXT NOT NULL,
    id_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX upstream_sessions_created ON upstream_sessions (created_at);
