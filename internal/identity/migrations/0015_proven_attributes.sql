-- Every attribute of an account records what proved it (see package
-- identity, sources.go): a fiscal code typed into a form is a claim; only a
-- login with the CNS/CRS card (later SPID or CIE) proves one.
ALTER TABLE accounts ADD COLUMN fiscal_code_source TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN name_source TEXT NOT NULL DEFAULT 'self';
ALTER TABLE accounts ADD COLUMN birth_source TEXT NOT NULL DEFAULT '';
-- Fiscal codes already stored: an account made by a card login (no
-- password) holds what the card proved; an operator's was written by an
-- administrator; any other was typed at registration and is only a claim.
UPDATE accounts SET fiscal_code_source = CASE
        WHEN kind = 'operator' THEN 'admin'
        WHEN password_hash IS NULL THEN 'cns'
        ELSE 'self' END
    WHERE fiscal_code IS NOT NULL;
UPDATE accounts SET name_source = 'cns' WHERE fiscal_code_source = 'cns';
UPDATE accounts SET birth_source = CASE WHEN fiscal_code_source = 'self' THEN 'self' ELSE 'fiscal_code' END
    WHERE birth_date <> '';

-- An operator's authenticator secret shown at enrolment, kept until a code
-- from it succeeds (a wrong code no longer throws away what the operator
-- just added to the app).
ALTER TABLE accounts ADD COLUMN totp_pending TEXT;

-- Wrong one-time codes typed against a pending login: the login ends after
-- a few.
ALTER TABLE account_tokens ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;

-- What proved a session beyond its level: for a card login, the card
-- (authority and serial), so that a card revoked later ends its sessions.
ALTER TABLE sessions ADD COLUMN proof TEXT NOT NULL DEFAULT '';

-- Registration starts with the address alone: a link goes to it, and the
-- account exists only once someone who reads that mailbox completes it.
-- One live link per address, kept until used or expired.
CREATE TABLE signups (
    email TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    lang TEXT NOT NULL DEFAULT 'it',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

-- Browsers where a resident logged in with their password: a lockout caused
-- by strangers' failures does not apply to them.
CREATE TABLE trusted_devices (
    hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX trusted_devices_account ON trusted_devices (account_id);

-- Replaced by the budgets of package throttle.
DROP TABLE login_failures;
