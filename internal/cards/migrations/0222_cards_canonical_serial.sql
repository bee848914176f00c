-- Card numbers are kept without leading zeros (cards.Canonical), so that a
-- number written with the zeros a spreadsheet drops, or the reverse, is
-- the same card at login and in the minute's sweep of live sessions.
-- Rows imported before keep their number as the file wrote it. Of the rows
-- that are one card, the last updated one (then the greatest number) is
-- kept under the canonical number; the envelopes and deliveries are
-- pointed at it, and the padded rows go.
INSERT INTO cards (serial, fiscal_code, issued_on, expires_on, status, import_id, updated_at)
SELECT CASE WHEN ltrim(c.serial, '0') = '' THEN '0' ELSE ltrim(c.serial, '0') END,
       c.fiscal_code, c.issued_on, c.expires_on, c.status, c.import_id, c.updated_at
FROM cards c
WHERE c.serial LIKE '0%' AND c.serial <> '0'
  AND NOT EXISTS (
    SELECT 1 FROM cards o
    WHERE o.serial <> c.serial
      AND CASE WHEN ltrim(o.serial, '0') = '' THEN '0' ELSE ltrim(o.serial, '0') END
        = CASE WHEN ltrim(c.serial, '0') = '' THEN '0' ELSE ltrim(c.serial, '0') END
      AND (o.updated_at > c.updated_at OR (o.updated_at = c.updated_at AND o.serial > c.serial)))
ON CONFLICT (serial) DO UPDATE SET fiscal_code = excluded.fiscal_code, issued_on = excluded.issued_on,
    expires_on = excluded.expires_on, status = excluded.status, import_id = excluded.import_id,
    updated_at = excluded.updated_at;

UPDATE card_envelopes SET serial = CASE WHEN ltrim(serial, '0') = '' THEN '0' ELSE ltrim(serial, '0') END
WHERE serial LIKE '0%' AND serial <> '0';

UPDATE card_deliveries SET serial = CASE WHEN ltrim(serial, '0') = '' THEN '0' ELSE ltrim(serial, '0') END
WHERE serial LIKE '0%' AND serial <> '0';

DELETE FROM cards WHERE serial LIKE '0%' AND serial <> '0';
