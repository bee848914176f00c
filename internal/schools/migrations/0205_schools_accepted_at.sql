-- When an enrolment was accepted (docs/SCHOOLS.md, "Monthly bills";
-- outside review S2): at enrolment (first come), at a promotion from the
-- waiting list, at the ranking. A month is billed only to the enrolments
-- accepted by its end, so running a past month again does not bill a
-- child enrolled after it. NULL: never accepted. The enrolments accepted
-- before this column were last changed when they were accepted.
ALTER TABLE schools_enrolments ADD COLUMN accepted_at TIMESTAMPTZ;
UPDATE schools_enrolments SET accepted_at = updated_at WHERE status = 'accepted';
