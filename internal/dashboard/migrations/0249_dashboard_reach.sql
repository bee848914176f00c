-- The weekly hours each service is reachable at its offices (package
-- dashboard, README "Cruscotto"): a dated snapshot of a service's regular
-- week, written when the collection finds it changed (and once, the first
-- time a service is seen), so that the hours before and after a change of
-- timetables (the coordination of hours) can be compared. total_minutes
-- is how long a week at least one of its offices is open, outside_minutes
-- how much of it lies outside the standard working day (weekdays
-- 08:00-18:00). The catalogue keeps no history of timetables: the
-- snapshots start with this migration.
CREATE TABLE dashboard_reach (
    service TEXT NOT NULL,
    since TIMESTAMPTZ NOT NULL,
    total_minutes BIGINT NOT NULL,
    outside_minutes BIGINT NOT NULL,
    PRIMARY KEY (service, since)
);
