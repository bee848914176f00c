-- School and para-school services (docs/SCHOOLS.md).
--
-- A service is one offer of one school year (the canteen, pre-school,
-- post-school, the school bus, the summer camp) with its enrolment window,
-- who may enrol and its tariff bands. Its places are in units: a school
-- (canteen, pre- and post-school), a route with its stops (bus), a week
-- (summer camp); each unit has its capacity.
CREATE TABLE schools_services (
    id TEXT PRIMARY KEY,
    school_year TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    opens_at TIMESTAMPTZ NOT NULL,
    closes_at TIMESTAMPTZ NOT NULL,
    -- The classes that may enrol, space-separated codes (I1 P3 S2).
    classes TEXT NOT NULL,
    residents_only BOOLEAN NOT NULL DEFAULT FALSE,
    -- What a tariff is for (month, week, year, meal), and the bands:
    -- JSON [{"up_to": cents or null, "cents": n}], ascending; no ISEE
    -- is the last band.
    tariff_unit TEXT NOT NULL,
    bands TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX schools_services_year ON schools_services (school_year, opens_at, id);

-- The places of a service. taken counts the accepted enrolments, waiting
-- the waiting ones; queued numbers every enrolment of the unit in commit
-- order (its seq). They are changed only by an UPDATE of this row, in the
-- transaction that inserts, promotes or withdraws the enrolment: the row
-- is the capacity's lock.
CREATE TABLE schools_units (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES schools_services (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    -- The bus route's stops, one per line (empty for other kinds).
    stops TEXT NOT NULL DEFAULT '',
    place INTEGER NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity >= 0),
    taken INTEGER NOT NULL DEFAULT 0 CHECK (taken >= 0 AND taken <= capacity),
    waiting INTEGER NOT NULL DEFAULT 0 CHECK (waiting >= 0),
    queued INTEGER NOT NULL DEFAULT 0,
    -- What the last enrolment got (accepted, waiting): read back by the
    -- UPDATE that decided it, in one statement.
    last_outcome TEXT NOT NULL DEFAULT ''
);
CREATE INDEX schools_units_service ON schools_units (service_id, place, id);

-- An enrolment of a child by a parent (the account and its proven fiscal
-- code). slot_key is what a child may hold once at a time: the service
-- (canteen, bus...), or the unit for a summer camp's weeks. status is
-- accepted, waiting or withdrawn; seq is the unit's commit order.
CREATE TABLE schools_enrolments (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES schools_services (id) ON DELETE CASCADE,
    unit_id TEXT NOT NULL REFERENCES schools_units (id) ON DELETE CASCADE,
    slot_key TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    parent_fc TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL,
    child_fc TEXT NOT NULL,
    child_given TEXT NOT NULL,
    child_family TEXT NOT NULL,
    school TEXT NOT NULL,
    class TEXT NOT NULL,
    stop TEXT NOT NULL DEFAULT '',
    diet TEXT NOT NULL DEFAULT '',
    certificate_id TEXT,
    isee_cents BIGINT,
    band INTEGER NOT NULL,
    amount_cents BIGINT NOT NULL,
    status TEXT NOT NULL,
    seq INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
-- One live enrolment of a child per slot: a second submission finds it.
CREATE UNIQUE INDEX schools_enrolments_live ON schools_enrolments (slot_key, child_fc) WHERE status <> 'withdrawn';
-- The waiting list in order, for the position and the promotion.
CREATE INDEX schools_enrolments_waiting ON schools_enrolments (unit_id, seq) WHERE status = 'waiting';
-- The office's list of a unit, the parent's list.
CREATE INDEX schools_enrolments_unit ON schools_enrolments (unit_id, status, seq);
CREATE INDEX schools_enrolments_account ON schools_enrolments (account_id, created_at, id);
