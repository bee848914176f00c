-- Smart cards (package cards): the town's registry of the cards the
-- regional authority issued to its residents, imported from the
-- authority's file (each file once, by its SHA-256); the age identity
-- the PIN/PUK envelopes are encrypted for, sealed with a key derived from
-- CIVICO_SECRET_KEY (package sealed); the envelopes, whose ciphertext is
-- destroyed (set to NULL) in the transaction that records their delivery
-- or supersedes them; and the deliveries at the URP, with who collected
-- the envelope, the document shown and the receipt.
CREATE TABLE card_imports (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    lines INTEGER NOT NULL,
    actor TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE cards (
    serial TEXT PRIMARY KEY,
    fiscal_code TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    status TEXT NOT NULL,
    import_id TEXT NOT NULL REFERENCES card_imports (id),
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX cards_fiscal_code ON cards (fiscal_code);

CREATE TABLE card_keys (
    id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    identity_enc TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    retired_at TIMESTAMPTZ
);

CREATE TABLE card_envelopes (
    id TEXT PRIMARY KEY,
    serial TEXT NOT NULL REFERENCES cards (serial),
    sha256 TEXT NOT NULL UNIQUE,
    ciphertext TEXT,
    status TEXT NOT NULL,
    import_id TEXT NOT NULL REFERENCES card_imports (id),
    imported_at TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ
);

CREATE INDEX card_envelopes_serial ON card_envelopes (serial, status);

CREATE TABLE card_deliveries (
    id TEXT PRIMARY KEY,
    envelope_id TEXT NOT NULL UNIQUE REFERENCES card_envelopes (id),
    envelope_ref TEXT NOT NULL UNIQUE,
    serial TEXT NOT NULL,
    fiscal_code TEXT NOT NULL,
    delivered_at TIMESTAMPTZ NOT NULL,
    day TEXT NOT NULL,
    place TEXT NOT NULL,
    operator_id TEXT NOT NULL,
    operator_name TEXT NOT NULL,
    collector TEXT NOT NULL,
    delegate_name TEXT NOT NULL DEFAULT '',
    delegate_fiscal_code TEXT NOT NULL DEFAULT '',
    doc_type TEXT NOT NULL,
    doc_number TEXT NOT NULL,
    doc_expiry TEXT NOT NULL,
    doc_issuer TEXT NOT NULL,
    receipt TEXT NOT NULL,
    receipt_attachment TEXT NOT NULL DEFAULT '',
    delegation_attachment TEXT NOT NULL DEFAULT ''
);

CREATE INDEX card_deliveries_fiscal_code ON card_deliveries (fiscal_code, delivered_at);
CREATE INDEX card_deliveries_day ON card_deliveries (day, delivered_at);
