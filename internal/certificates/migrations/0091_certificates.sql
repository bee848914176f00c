-- Certificates (package certificates): the town's seal keys, Ed25519, the
-- private halves sealed with a key derived from CIVICO_SECRET_KEY (package
-- sealed); a retired key signs nothing new and stays to verify what it
-- sealed. Each certificate keeps the canonical content it sealed and the
-- signature, whose holder (the fiscal code a login proved) owns it, the
-- part of it the holder lets the verification page show, and its
-- revocation by the office.
CREATE TABLE certificate_keys (
    id TEXT PRIMARY KEY,
    private_enc TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ
);

CREATE TABLE certificates (
    id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    content TEXT NOT NULL,
    key_id TEXT NOT NULL REFERENCES certificate_keys (id),
    signature TEXT NOT NULL,
    disclosure TEXT NOT NULL,
    issued_at TIMESTAMPTZ NOT NULL,
    valid_until TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    revoked_by TEXT NOT NULL DEFAULT '',
    revoked_reason TEXT NOT NULL DEFAULT ''
);

CREATE INDEX certificates_holder ON certificates (holder, issued_at);
