-- How many instalments a position has (0: paid in one go only). Fixed when
-- the position is made, kept here so that a list of notices says
-- "instalment 2 of 3" without counting each row's siblings.
ALTER TABLE payments_positions ADD COLUMN instalments INTEGER NOT NULL DEFAULT 0;
UPDATE payments_positions SET instalments = (SELECT COUNT(*) FROM payments_notices n WHERE n.position_id = payments_positions.id AND n.seq > 0);

-- A debtor's notices in the order of their page (I miei pagamenti), with
-- their status and id: the page's rows are picked from this index alone,
-- without reading the notices the page skips.
DROP INDEX payments_notices_debtor_due;
CREATE INDEX payments_notices_debtor_page ON payments_notices (debtor_cf, due_date, number, status, id);

-- A debtor's receipts, newest first: a page of them read from the index
-- in its order.
DROP INDEX payments_receipts_debtor;
CREATE INDEX payments_receipts_debtor_page ON payments_receipts (debtor_cf, paid_at, id);

-- A debtor's totals per year and category, summed from the index alone.
CREATE INDEX payments_receipts_debtor_totals ON payments_receipts (debtor_cf, year, category, amount);
