-- The sex of who waits, for the dashboard's queue waits by sex (issue 20):
-- 'F' or 'M' only as proven, never a claim; '' when unknown. A checked-in
-- ticket takes its booking's (bookings.sex); a ticket taken online by a
-- logged-in resident takes their account's proven sex; a ticket taken at
-- the kiosk or by an anonymous visitor stays ''. The ticket names no one:
-- the sex is the only thing of the person it keeps, and a closed
-- account's checked-in tickets lose it with the booking's other data.
ALTER TABLE queue_tickets ADD COLUMN sex TEXT NOT NULL DEFAULT '' CHECK (sex IN ('', 'F', 'M'));
