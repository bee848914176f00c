-- The attendance of the services billed by use (docs/SCHOOLS.md,
-- "Attendance"): the canteen's meals per child and month, imported from
-- the canteen's CSV. A file is imported once (its SHA-256 is the key: the
-- same file again changes nothing) and whole (one transaction: a wrong
-- line imports nothing). A child's month of a service is imported once;
-- enrolment_id is the enrolment the month is billed to (accepted by the
-- month's end).
CREATE TABLE schools_attendance_files (
    sha256 TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES schools_services (id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    lines INTEGER NOT NULL,
    meals INTEGER NOT NULL,
    actor TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX schools_attendance_files_service ON schools_attendance_files (service_id, created_at);
CREATE TABLE schools_attendance (
    service_id TEXT NOT NULL REFERENCES schools_services (id) ON DELETE CASCADE,
    child_fc TEXT NOT NULL,
    month TEXT NOT NULL,
    enrolment_id TEXT NOT NULL REFERENCES schools_enrolments (id) ON DELETE CASCADE,
    meals INTEGER NOT NULL CHECK (meals BETWEEN 0 AND 31),
    file_sha256 TEXT NOT NULL REFERENCES schools_attendance_files (sha256) ON DELETE CASCADE,
    PRIMARY KEY (service_id, child_fc, month)
);
-- The billing run's list of a service's months to bill.
CREATE INDEX schools_attendance_month ON schools_attendance (service_id, month, enrolment_id);
-- A child's enrolments of a service, for the import's lookup of the
-- enrolment a line is billed to (an index range per line).
CREATE INDEX schools_enrolments_child ON schools_enrolments (service_id, child_fc, accepted_at);
