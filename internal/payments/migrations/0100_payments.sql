-- Debt positions: what a debtor (by fiscal code) owes the town, for a
-- reason and a category, in euro cents. A position is paid in one go or in
-- instalments; each way of paying is a notice (payments_notices) with its
-- own pagoPA number. status is derived from the notices and kept for the
-- lists: 'open' (something payable), 'in_payment' (a notice locked by an
-- attempt), 'paid', 'cancelled' (by the finance office, with a reason),
-- 'expired' (no longer payable). external_id is the office's own reference
-- (an import's line key): unique, so an import cannot be loaded twice.
CREATE TABLE payments_positions (
    id TEXT PRIMARY KEY,
    debtor_cf TEXT NOT NULL,
    debtor_name TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL CHECK (category IN ('canteen', 'transport', 'school', 'tari', 'imu', 'stamp', 'fine', 'other')),
    reason TEXT NOT NULL,
    year INTEGER NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    paid_amount BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('open', 'in_payment', 'paid', 'cancelled', 'expired')),
    external_id TEXT UNIQUE,
    source TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    cancel_reason TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX payments_positions_debtor ON payments_positions (debtor_cf, created_at);
CREATE INDEX payments_positions_status ON payments_positions (status, category, year);

-- A notice: one way to pay (part of) a position. seq 0 is the single
-- payment of a position that has instalments, or the only notice of one
-- that has none; seq 1..N the instalments. Paying the single payment voids
-- the instalments, paying an instalment voids the single payment
-- ('void'). number is the 18-digit pagoPA notice number, never reused.
-- attempt_id names the attempt holding a notice 'in_payment'.
-- payable_until, when set, is the last day it may be paid ('expired' after).
CREATE TABLE payments_notices (
    id TEXT PRIMARY KEY,
    position_id TEXT NOT NULL REFERENCES payments_positions (id),
    debtor_cf TEXT NOT NULL,
    seq INTEGER NOT NULL,
    number TEXT NOT NULL UNIQUE,
    amount BIGINT NOT NULL CHECK (amount > 0),
    due_date TEXT NOT NULL,
    payable_until TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'in_payment', 'paid', 'cancelled', 'expired', 'void')),
    attempt_id TEXT,
    paid_at TIMESTAMPTZ,
    reminded_before_at TIMESTAMPTZ,
    reminded_after_at TIMESTAMPTZ,
    UNIQUE (position_id, seq)
);
CREATE INDEX payments_notices_debtor ON payments_notices (debtor_cf, status, due_date);
-- A debtor's notices in the order of their page (I miei pagamenti): a page
-- reads its rows, not all of them sorted.
CREATE INDEX payments_notices_debtor_due ON payments_notices (debtor_cf, due_date, number);
CREATE INDEX payments_notices_due ON payments_notices (status, due_date);
CREATE INDEX payments_notices_attempt ON payments_notices (attempt_id);

-- The transfers of a notice: who receives its money (the town, and for
-- TARI the province's TEFA). They add up to the notice's amount.
CREATE TABLE payments_transfers (
    notice_id TEXT NOT NULL REFERENCES payments_notices (id),
    seq INTEGER NOT NULL,
    creditor_cf TEXT NOT NULL,
    iban TEXT NOT NULL DEFAULT '',
    amount BIGINT NOT NULL CHECK (amount > 0),
    remittance TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (notice_id, seq)
);

-- An attempt to pay notices: a checkout through a gateway (one or several
-- notices of one debtor), or an activation by the pagoPA node for a notice
-- paid elsewhere ('node'). 'in_payment' holds its notices until it is
-- 'paid' or 'released' (refused, abandoned, expired). The idempotency key
-- makes a repeated start the same attempt.
CREATE TABLE payments_attempts (
    id TEXT PRIMARY KEY,
    debtor_cf TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL CHECK (channel IN ('checkout', 'node')),
    gateway TEXT NOT NULL,
    gateway_ref TEXT NOT NULL DEFAULT '',
    redirect_url TEXT NOT NULL DEFAULT '',
    amount BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('in_payment', 'paid', 'released')),
    outcome TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    checked_at TIMESTAMPTZ,
    settled_at TIMESTAMPTZ
);
CREATE INDEX payments_attempts_status ON payments_attempts (status, created_at);
CREATE INDEX payments_attempts_debtor ON payments_attempts (debtor_cf, created_at);

CREATE TABLE payments_attempt_notices (
    attempt_id TEXT NOT NULL REFERENCES payments_attempts (id),
    notice_id TEXT NOT NULL REFERENCES payments_notices (id),
    amount BIGINT NOT NULL,
    PRIMARY KEY (attempt_id, notice_id)
);
CREATE INDEX payments_attempt_notices_notice ON payments_attempt_notices (notice_id);

-- A receipt: the proof that a notice was paid, one per notice at most
-- (the unique notice_id is what makes a settlement happen once). id is
-- random: it names the receipt in the resident's URLs.
CREATE TABLE payments_receipts (
    id TEXT PRIMARY KEY,
    notice_id TEXT NOT NULL UNIQUE REFERENCES payments_notices (id),
    position_id TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    debtor_cf TEXT NOT NULL,
    category TEXT NOT NULL,
    year INTEGER NOT NULL,
    amount BIGINT NOT NULL,
    channel TEXT NOT NULL,
    psp TEXT NOT NULL,
    psp_ref TEXT NOT NULL,
    paid_at TIMESTAMPTZ NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX payments_receipts_debtor ON payments_receipts (debtor_cf, paid_at);
CREATE INDEX payments_receipts_day ON payments_receipts (recorded_at);

-- The notifications a gateway sent, by their id: a notification seen
-- before changes nothing (replays).
CREATE TABLE payments_notifications (
    gateway TEXT NOT NULL,
    id TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (gateway, id)
);

-- Every money event, appended and never changed: a debt issued, an
-- attempt started or released, a payment settled, a payment that found
-- its notice already paid (to refund), a cancellation. amount is signed
-- cents from the town's side: a debt +, a payment -.
CREATE TABLE payments_ledger (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    event TEXT NOT NULL,
    position_id TEXT NOT NULL DEFAULT '',
    notice_id TEXT NOT NULL DEFAULT '',
    attempt_id TEXT NOT NULL DEFAULT '',
    amount BIGINT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX payments_ledger_at ON payments_ledger (at);
CREATE INDEX payments_ledger_event ON payments_ledger (event, at);

-- The ledger refuses changes in the database itself.
-- +sqlite
CREATE TRIGGER payments_ledger_no_update BEFORE UPDATE ON payments_ledger
BEGIN SELECT RAISE(ABORT, 'payments_ledger is append-only'); END;
CREATE TRIGGER payments_ledger_no_delete BEFORE DELETE ON payments_ledger
BEGIN SELECT RAISE(ABORT, 'payments_ledger is append-only'); END;
-- The IUV bases of notice numbers (DB.NextVal).
CREATE TABLE payments_notice_seq (value BIGINT NOT NULL);
INSERT INTO payments_notice_seq (value) VALUES (0);
-- +postgres
CREATE FUNCTION payments_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'payments_ledger is append-only'; END $$;
CREATE TRIGGER payments_ledger_no_change BEFORE UPDATE OR DELETE ON payments_ledger
FOR EACH ROW EXECUTE FUNCTION payments_ledger_append_only();
CREATE SEQUENCE payments_notice_seq;
-- +end

-- Reminders to send (before and after a due date), one per notice, kind
-- and channel; a worker delivers them under a lease and retries.
CREATE TABLE payments_reminders (
    notice_id TEXT NOT NULL REFERENCES payments_notices (id),
    kind TEXT NOT NULL CHECK (kind IN ('before', 'after')),
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    PRIMARY KEY (notice_id, kind, channel)
);
CREATE INDEX payments_reminders_due ON payments_reminders (status, next_at);

-- Imports by the finance office: the file's SHA-256 is unique, so the same
-- file is not loaded twice.
CREATE TABLE payments_imports (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    positions INTEGER NOT NULL,
    amount BIGINT NOT NULL,
    by_actor TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- The sandbox gateway's own book (a pretend payment provider served by
-- civico for the demo and the tests; a real provider keeps this on its
-- side): one payment per attempt, its outcome once the resident chose it,
-- and when its notification is due (a delayed outcome) or was sent.
CREATE TABLE payments_sandbox (
    attempt_id TEXT PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    amount BIGINT NOT NULL,
    description TEXT NOT NULL,
    return_url TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('pending', 'paid', 'refused', 'abandoned', 'expired')),
    psp_ref TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    decided_at TIMESTAMPTZ,
    notify_at TIMESTAMPTZ,
    notified_at TIMESTAMPTZ
);
CREATE INDEX payments_sandbox_notify ON payments_sandbox (notified_at, notify_at);
