-- The CIE OpenID Connect federation relying party (internal/cie).

-- The relying party's keys: "federation" signs the entity configuration,
-- "sig" the request objects and client assertions, "enc" is the key the
-- provider encrypts the userinfo to. The private key is sealed with a key
-- derived from CIVICO_SECRET_KEY, bound to the row's id (the key's
-- thumbprint). Every key not retired is published; the newest whose
-- signs_from has come is used.
CREATE TABLE cie_keys (
    id TEXT PRIMARY KEY,
    use TEXT NOT NULL,
    private_enc TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    signs_from TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ
);

-- Logins in flight, by the SHA-256 of their state: the nonce and PKCE
-- verifier they were asked with, the level, where to return, the browser
-- that started them (binding_hash: the SHA-256 of a cookie). answered_at
-- is set once, so a callback replayed is refused.
CREATE TABLE cie_requests (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    level TEXT NOT NULL,
    next TEXT NOT NULL,
    binding_hash TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    answered_at TIMESTAMPTZ
);
CREATE INDEX cie_requests_expiry ON cie_requests (expires_at);
