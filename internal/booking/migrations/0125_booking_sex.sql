-- The booker's sex, for the figures by sex (issue 16, item 6): 'F' or
-- 'M' only as the account's proven attribute had it when the booking was
-- made (a proven fiscal code, the population register, a card or SPID);
-- '' for a booking with a mail address only, or an account whose sex
-- nothing proved. Erased with the account's other data.
ALTER TABLE bookings ADD COLUMN sex TEXT NOT NULL DEFAULT '' CHECK (sex IN ('', 'F', 'M'));
