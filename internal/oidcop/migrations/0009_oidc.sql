-- The OpenID Connect provider (internal/oidcop): its signing keys, its
-- clients, the authorization requests in flight, the access tokens it issued,
-- which applications each portal session logged into (for back-channel
-- logout), and what each resident consented to. Residents known to the
-- town's registry answer the "residence" scope.

-- Signing keys: the private key encrypted with CIVICO_SECRET_KEY (AES-GCM),
-- the public key as a JWK. The newest key not retired signs; a retired key
-- stays published until every token it signed has expired.
CREATE TABLE oidc_keys (
    id TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    private_enc TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ
);

CREATE TABLE oidc_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL DEFAULT '',
    public BOOLEAN NOT NULL DEFAULT FALSE,
    first_party BOOLEAN NOT NULL DEFAULT FALSE,
    pairwise BOOLEAN NOT NULL DEFAULT TRUE,
    redirect_uris TEXT NOT NULL,
    post_logout_uris TEXT NOT NULL DEFAULT '[]',
    backchannel_logout_uri TEXT NOT NULL DEFAULT '',
    scopes TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    disabled_at TIMESTAMPTZ
);

-- An authorization request lives ten minutes; its code (stored hashed) one
-- minute, and is used once: code_used_at is set by the exchange.
CREATE TABLE oidc_auth_requests (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    request TEXT NOT NULL,
    account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    session_hash TEXT,
    subject TEXT NOT NULL DEFAULT '',
    acr TEXT NOT NULL DEFAULT '',
    amr TEXT NOT NULL DEFAULT '[]',
    auth_time TIMESTAMPTZ,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    code_hash TEXT UNIQUE,
    code_expires_at TIMESTAMPTZ,
    code_used_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_auth_requests_expiry ON oidc_auth_requests (expires_at);

CREATE TABLE oidc_tokens (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    scopes TEXT NOT NULL,
    auth_request_id TEXT NOT NULL,
    session_hash TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_tokens_request ON oidc_tokens (auth_request_id);
CREATE INDEX oidc_tokens_expiry ON oidc_tokens (expires_at);

-- The applications a portal session logged into, with the pairwise session
-- id (sid) each was told: the addressees of back-channel logout.
CREATE TABLE oidc_rp_sessions (
    session_hash TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sid TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_hash, client_id)
);
CREATE INDEX oidc_rp_sessions_account ON oidc_rp_sessions (account_id);

CREATE TABLE oidc_consents (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oidc_clients (id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- The town's registry of residents (imported from the civil registry): what
-- the "residence" scope may tell an application, nothing more.
CREATE TABLE registry_residents (
    fiscal_code TEXT PRIMARY KEY,
    district TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL
);
