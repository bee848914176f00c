-- Partecipa's own sessions, opened by an OpenID Connect login through the
-- portal's provider. Partecipa knows the resident only by the pairwise sub
-- the provider gives it; cookies hold random tokens, the tables their
-- SHA-256.

-- Logins in flight: state (bound to the browser by a cookie), PKCE verifier
-- and nonce; single use, ten minutes.
CREATE TABLE partecipa_logins (
    state_hash TEXT PRIMARY KEY,
    verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    next_path TEXT NOT NULL,
    need_card BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE partecipa_sessions (
    id_hash TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    sid TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    acr TEXT NOT NULL,
    claims TEXT NOT NULL DEFAULT '{}',
    id_token TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX partecipa_sessions_sid ON partecipa_sessions (sid);
CREATE INDEX partecipa_sessions_subject ON partecipa_sessions (subject);
