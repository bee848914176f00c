-- Reductions and exemptions of the school services' tariffs
-- (docs/SCHOOLS.md, "Reductions and exemptions"). A service sets the
-- reduction, in percent, for a parent's second child in the service and
-- for the third and later, and the ISEE up to which the service is free
-- (NULL: no exemption). An enrolment keeps the percentages it was told
-- (a later change of the service's does not change them) and whether it
-- is exempt; which child it is among its parent's is counted when a month
-- is billed.
ALTER TABLE schools_services ADD COLUMN sibling2_percent INTEGER NOT NULL DEFAULT 0 CHECK (sibling2_percent BETWEEN 0 AND 100);
ALTER TABLE schools_services ADD COLUMN sibling3_percent INTEGER NOT NULL DEFAULT 0 CHECK (sibling3_percent BETWEEN 0 AND 100);
ALTER TABLE schools_services ADD COLUMN exempt_isee_cents BIGINT;
ALTER TABLE schools_enrolments ADD COLUMN sibling2_percent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE schools_enrolments ADD COLUMN sibling3_percent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE schools_enrolments ADD COLUMN exempt BOOLEAN NOT NULL DEFAULT FALSE;
-- A parent's enrolments in a service, in the order they were sent: which
-- child an enrolment is, for the reductions.
CREATE INDEX schools_enrolments_parent ON schools_enrolments (service_id, parent_fc, status, created_at);
