-- The ISEE a parent declares is checked by the school office
-- (docs/SCHOOLS.md, "The ISEE and the siblings"; outside review S4).
-- isee_declared_cents keeps the value as declared (isee_cents is the one
-- the tariff uses, the office's once corrected); isee_check says where
-- the check stands: 'declared' (to check), 'confirmed', 'corrected', or
-- 'none' (no ISEE declared: the last band, nothing to check).
ALTER TABLE schools_enrolments ADD COLUMN isee_declared_cents BIGINT;
ALTER TABLE schools_enrolments ADD COLUMN isee_check TEXT NOT NULL DEFAULT 'declared'
    CHECK (isee_check IN ('declared', 'confirmed', 'corrected', 'none'));
ALTER TABLE schools_enrolments ADD COLUMN isee_checked_at TIMESTAMPTZ;
ALTER TABLE schools_enrolments ADD COLUMN isee_checked_by TEXT NOT NULL DEFAULT '';
UPDATE schools_enrolments SET isee_declared_cents = isee_cents;
UPDATE schools_enrolments SET isee_check = 'none' WHERE isee_cents IS NULL;
-- The office's list of a service's ISEE to check, in the order sent.
CREATE INDEX schools_enrolments_isee ON schools_enrolments (service_id, isee_check, created_at, id);
