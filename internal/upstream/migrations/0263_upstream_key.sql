-- The client key of private_key_jwt (internal/upstream): the private key
-- is sealed with a key derived from CIVICO_SECRET_KEY, bound to the row's
-- id (the key's thumbprint). The newest signs; the public halves are
-- published at /upstream/jwks for the provider.
CREATE TABLE upstream_keys (
    id TEXT PRIMARY KEY,
    private_enc TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
