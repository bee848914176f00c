-- Appointments. booking_offers says which services an office receives by
-- appointment: each service's slot length and the counters open for it at
-- once (the places of each slot), the most future bookings one person may
-- hold for it, and whether a resident without an account may book with a
-- verified mail address. No foreign key to the catalogue, which is
-- replaced wholesale on import: an offer of an office or service that
-- left it is not shown.
CREATE TABLE booking_offers (
    office_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes BETWEEN 5 AND 240),
    counters INTEGER NOT NULL CHECK (counters BETWEEN 1 AND 50),
    max_future INTEGER NOT NULL CHECK (max_future BETWEEN 1 AND 20),
    anonymous BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (office_id, service_id)
);

-- booking_slots counts the places taken in each slot (start as Unix
-- seconds): the capacity check and the booking are one statement on this
-- row (an upsert that adds one only below the capacity), so a slot is
-- never booked beyond it, on either engine, however many ask at once.
CREATE TABLE booking_slots (
    office_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    start_unix BIGINT NOT NULL,
    taken INTEGER NOT NULL CHECK (taken >= 0),
    PRIMARY KEY (office_id, service_id, start_unix)
);

-- booking_holders is one row per person who booked (an account, or a
-- mail address): a booking locks it first, so that one person's bookings
-- are counted one at a time against the limit per service.
CREATE TABLE booking_holders (
    holder TEXT PRIMARY KEY,
    bookings INTEGER NOT NULL DEFAULT 0
);

-- bookings: a resident's appointment. account_id is empty for a booking
-- made with a mail address only, which stays 'pending' until the mailed
-- link confirms it (and expires unconfirmed at expires_at). link_hash is
-- the SHA-256 of the mailed link's token (confirm, cancel).
CREATE TABLE bookings (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    office_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    start_at TIMESTAMPTZ NOT NULL,
    end_at TIMESTAMPTZ NOT NULL,
    start_unix BIGINT NOT NULL,
    holder TEXT NOT NULL,
    account_id TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    phone TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'cancelled', 'expired')),
    link_hash TEXT NOT NULL UNIQUE,
    lang TEXT NOT NULL DEFAULT 'it',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    cancelled_at TIMESTAMPTZ,
    cancelled_by TEXT NOT NULL DEFAULT '',
    reminded_at TIMESTAMPTZ
);
CREATE INDEX bookings_account ON bookings (account_id, start_at);
CREATE INDEX bookings_holder ON bookings (holder, service_id, start_at);
CREATE INDEX bookings_office ON bookings (office_id, start_at);
CREATE INDEX bookings_due ON bookings (state, start_at);
CREATE INDEX bookings_expiry ON bookings (state, expires_at);
