-- The bills of the school services (docs/SCHOOLS.md, "Monthly bills"):
-- one row per enrolment and period, the month ('2026-10') of a monthly
-- tariff or 'once' for a tariff by year or by week. The primary key is
-- what makes a bill happen once: the billing run claims the row in the
-- transaction that makes the debt position in payments, so running a
-- month again, or two runs at once, bill each enrolment once.
-- position_id and notice_id name what payments made (NULL for an
-- exemption: amount 0, nothing to pay).
CREATE TABLE schools_bills (
    enrolment_id TEXT NOT NULL REFERENCES schools_enrolments (id) ON DELETE CASCADE,
    period TEXT NOT NULL,
    service_id TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    position_id TEXT,
    notice_id TEXT,
    notice_number TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (enrolment_id, period)
);
CREATE INDEX schools_bills_period ON schools_bills (period, service_id);
-- A service's accepted enrolments in a stable order, for the billing run.
CREATE INDEX schools_enrolments_service ON schools_enrolments (service_id, status, id);
