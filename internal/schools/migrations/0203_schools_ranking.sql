-- The ranking mode (docs/SCHOOLS.md, "The ranking"). A service gives its
-- places first come by commit order ('first_come') or by a ranking
-- computed when its window closes ('ranking'), with the office's points
-- (JSON {"resident": n, "sibling": n, "working_parents": n}). ranked_at
-- is when its ranking was applied: the job claims the service by setting
-- it, once. An enrolment of a service not yet ranked is 'pending' (no
-- place taken); it declares a sibling in the service and working parents,
-- and keeps the points the ranking gave it.
ALTER TABLE schools_services ADD COLUMN mode TEXT NOT NULL DEFAULT 'first_come' CHECK (mode IN ('first_come', 'ranking'));
ALTER TABLE schools_services ADD COLUMN points TEXT NOT NULL DEFAULT '{}';
ALTER TABLE schools_services ADD COLUMN ranked_at TIMESTAMPTZ;
ALTER TABLE schools_enrolments ADD COLUMN sibling_declared BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE schools_enrolments ADD COLUMN working_parents BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE schools_enrolments ADD COLUMN points INTEGER NOT NULL DEFAULT 0;
-- The services whose ranking is due.
CREATE INDEX schools_services_ranking ON schools_services (mode, ranked_at, closes_at);
