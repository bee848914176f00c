-- The SPID Service Provider (internal/spid).

-- The SP's keys and certificates: the private key sealed with a key derived
-- from CIVICO_SECRET_KEY, the self-signed certificate (public SP profile of
-- Avviso SPID 29) as PEM. A key signs from signs_from; every key not
-- retired is published in the metadata, so a rotation overlaps: the new
-- certificate is published (and sent to AgID) before it signs, the old one
-- until it stops.
CREATE TABLE spid_keys (
    id TEXT PRIMARY KEY,
    private_enc TEXT NOT NULL,
    cert_pem TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    signs_from TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ
);

-- The identity providers civico accepts, from their SAML metadata
-- (`civico spid registry import`): where to send requests, the
-- certificates their answers are checked with, and the metadata as read.
CREATE TABLE spid_idps (
    entity_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    profile TEXT NOT NULL,
    sso_url TEXT NOT NULL,
    slo_url TEXT NOT NULL DEFAULT '',
    slo_binding TEXT NOT NULL DEFAULT '',
    certs_pem TEXT NOT NULL,
    metadata TEXT NOT NULL,
    test BOOLEAN NOT NULL DEFAULT FALSE,
    imported_at TIMESTAMPTZ NOT NULL
);

-- Authentication requests in flight: the answer must name one
-- (InResponseTo), come from its provider, within expires_at, once
-- (answered_at), and be completed by the browser that asked (binding_hash:
-- the SHA-256 of a cookie). outcome holds what the answer proved between
-- the assertion consumer and the completion, then is emptied.
CREATE TABLE spid_requests (
    id TEXT PRIMARY KEY,
    idp TEXT NOT NULL,
    level TEXT NOT NULL,
    relay_state TEXT NOT NULL,
    next TEXT NOT NULL,
    binding_hash TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    answered_at TIMESTAMPTZ,
    outcome TEXT NOT NULL DEFAULT '',
    done_at TIMESTAMPTZ
);
CREATE INDEX spid_requests_expiry ON spid_requests (expires_at);

-- Which SPID login opened each portal session (by the session's hash), for
-- the LogoutRequest: the provider, the NameID with its qualifier, and the
-- SessionIndex; and the account, so that a provider's LogoutRequest ends
-- the session. Logout requests in flight are spid_logouts.
CREATE TABLE spid_sessions (
    session_hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    idp TEXT NOT NULL,
    name_id TEXT NOT NULL,
    name_qualifier TEXT NOT NULL,
    session_index TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX spid_sessions_name ON spid_sessions (idp, name_id);
CREATE TABLE spid_logouts (
    id TEXT PRIMARY KEY,
    idp TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    answered_at TIMESTAMPTZ
);
