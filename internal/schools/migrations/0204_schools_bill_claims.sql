-- The claim of a bill is the child's, not the enrolment's (docs/SCHOOLS.md,
-- "Monthly bills"; outside review S1): a child withdrawn after a month's
-- bill and enrolled again (a new enrolment id) is not billed the month
-- again. The key is what a child may hold once at a time, the enrolment's
-- slot_key (the service, or the week of a summer camp), with the child's
-- fiscal code and the period. The billing run inserts it in the bill's
-- transaction before anything else; a row already there means billed.
-- enrolment_id names the enrolment billed (no reference: the claim
-- outlives the enrolment's erasure, as payments' position does).
CREATE TABLE schools_bill_claims (
    slot_key TEXT NOT NULL,
    child_fc TEXT NOT NULL,
    period TEXT NOT NULL,
    service_id TEXT NOT NULL REFERENCES schools_services (id) ON DELETE CASCADE,
    enrolment_id TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (slot_key, child_fc, period)
);
CREATE INDEX schools_bill_claims_service ON schools_bill_claims (service_id, period);
-- The bills made before: one claim per child, slot and period (the
-- first enrolment's when a child was billed twice).
INSERT INTO schools_bill_claims (slot_key, child_fc, period, service_id, enrolment_id, created_at)
    SELECT e.slot_key, e.child_fc, b.period, MIN(b.service_id), MIN(b.enrolment_id), MIN(b.created_at)
    FROM schools_bills b JOIN schools_enrolments e ON e.id = b.enrolment_id
    GROUP BY e.slot_key, e.child_fc, b.period;
