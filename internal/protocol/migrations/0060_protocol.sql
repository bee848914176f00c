-- The protocol register (DPR 445/2000, arts. 53-57): every document the
-- town receives or sends gets a number, progressive per register and
-- calendar year (at least seven digits, shown as 2027/0000123), and a
-- registration written once, in one step, never changed. A correction is
-- a new entry that names the one it corrects.
--
-- protocol_counters holds the last number of each register and year; a
-- registration increments it inside the caller's transaction, so a
-- rolled-back registration consumes no number (gap-free) and two
-- registrations never get the same one (the row is locked until commit).
CREATE TABLE protocol_counters (
    register TEXT NOT NULL,
    year INTEGER NOT NULL,
    seq BIGINT NOT NULL CHECK (seq >= 0),
    PRIMARY KEY (register, year)
);

CREATE TABLE protocol_entries (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    register TEXT NOT NULL,
    year INTEGER NOT NULL,
    seq BIGINT NOT NULL CHECK (seq > 0),
    -- registered_at is assigned by civico (art. 53 c.1); day is its date
    -- in Rome, the daily register it belongs to.
    registered_at TIMESTAMPTZ NOT NULL,
    day TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    subject TEXT NOT NULL,
    correspondent TEXT NOT NULL,
    -- ref is the registering feature's reference (an application...).
    ref TEXT NOT NULL DEFAULT '',
    -- doc_at is when the document was received or sent, as the caller
    -- knows it; doc_number and doc_date are the sender's own; doc_sha256
    -- the fingerprint (impronta) of the electronic document.
    doc_at TIMESTAMPTZ NOT NULL,
    doc_number TEXT NOT NULL DEFAULT '',
    doc_date TEXT NOT NULL DEFAULT '',
    doc_sha256 TEXT NOT NULL DEFAULT '',
    -- corrects is the number (year/seq) of an earlier entry of the same
    -- register this one corrects.
    corrects TEXT NOT NULL DEFAULT '',
    registered_by TEXT NOT NULL,
    UNIQUE (register, year, seq)
);
CREATE INDEX protocol_entries_day ON protocol_entries (register, day, seq);
CREATE INDEX protocol_entries_ref ON protocol_entries (ref);

-- Every daily register exported for preservation: the files live under
-- <data dir>/protocol/<register>/<year>/, named by register and day.
CREATE TABLE protocol_exports (
    register TEXT NOT NULL,
    day TEXT NOT NULL,
    entries INTEGER NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    csv_sha256 TEXT NOT NULL,
    pdf_sha256 TEXT NOT NULL,
    exported_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (register, day)
);

-- The register is written once: no statement may change or remove an entry.
-- +postgres
CREATE FUNCTION protocol_entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'protocol entries cannot be changed or removed: register a correction';
END
$$;
CREATE TRIGGER protocol_entries_no_change BEFORE UPDATE OR DELETE ON protocol_entries
    FOR EACH ROW EXECUTE FUNCTION protocol_entries_immutable();
CREATE TRIGGER protocol_entries_no_truncate BEFORE TRUNCATE ON protocol_entries
    FOR EACH STATEMENT EXECUTE FUNCTION protocol_entries_immutable();
-- +sqlite
CREATE TRIGGER protocol_entries_no_update BEFORE UPDATE ON protocol_entries
BEGIN
    SELECT RAISE(ABORT, 'protocol entries cannot be changed or removed: register a correction');
END;
CREATE TRIGGER protocol_entries_no_delete BEFORE DELETE ON protocol_entries
BEGIN
    SELECT RAISE(ABORT, 'protocol entries cannot be changed or removed: register a correction');
END;
-- +end
