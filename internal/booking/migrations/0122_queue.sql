-- The walk-in queue (eliminacode) and the operator's day (docs/QUEUE.md).
--
-- queue_days numbers each office's tickets of a day from 1 (an upsert
-- that adds one: two tickets never share a number) and counts the calls
-- (version), which the display watches for a change.
CREATE TABLE queue_days (
    office_id TEXT NOT NULL,
    day TEXT NOT NULL,
    last_number INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (office_id, day)
);

-- queue_tickets: a place in an office's queue of a day. A walk-in ticket
-- holds nothing personal: whoever holds its link (token_hash is the
-- SHA-256 of its token) follows and withdraws it. A booked resident who
-- checks in gets a ticket tied to the booking (one per booking), called
-- at the appointment's time (due_at) ahead of walk-ins.
CREATE TABLE queue_tickets (
    id TEXT PRIMARY KEY,
    office_id TEXT NOT NULL,
    day TEXT NOT NULL,
    number INTEGER NOT NULL,
    service_id TEXT NOT NULL,
    booking_id TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL CHECK (channel IN ('online', 'kiosk', 'checkin')),
    state TEXT NOT NULL CHECK (state IN ('waiting', 'called', 'served', 'skipped', 'withdrawn')),
    token_hash TEXT NOT NULL UNIQUE,
    taken_at TIMESTAMPTZ NOT NULL,
    due_at TIMESTAMPTZ,
    called_at TIMESTAMPTZ,
    done_at TIMESTAMPTZ,
    counter TEXT NOT NULL DEFAULT '',
    called_by TEXT NOT NULL DEFAULT '',
    recalls INTEGER NOT NULL DEFAULT 0,
    UNIQUE (office_id, day, number)
);
CREATE INDEX queue_tickets_state ON queue_tickets (office_id, day, state, number);
CREATE INDEX queue_tickets_due ON queue_tickets (office_id, day, state, due_at);
CREATE INDEX queue_tickets_done ON queue_tickets (office_id, state, done_at);
CREATE INDEX queue_tickets_taken ON queue_tickets (taken_at);
CREATE UNIQUE INDEX queue_tickets_booking ON queue_tickets (booking_id) WHERE booking_id <> '';

-- booking_outcomes: what became of an appointment, as the operator
-- records it: served, or the resident did not come.
CREATE TABLE booking_outcomes (
    booking_id TEXT PRIMARY KEY,
    outcome TEXT NOT NULL CHECK (outcome IN ('served', 'no_show')),
    at TIMESTAMPTZ NOT NULL,
    by_account TEXT NOT NULL
);
