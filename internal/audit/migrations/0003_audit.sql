-- The audit log: security-relevant events, append-only and hash-chained (see
-- package audit for the format). Ids are assigned by the log itself, not by
-- the database, because each id is part of its entry's hash. prev_hash is
-- unique too: two entries claiming the same predecessor would be a fork.
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY CHECK (id > 0),
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,
    remote TEXT NOT NULL,
    prev_hash TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_subject ON audit_log (subject, id);
