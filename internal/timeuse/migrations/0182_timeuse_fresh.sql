-- A respondent written by a submission is fresh until the mix
-- (timeuse.mix, docs/TIMEUSE.md) rewrites it under new ids, in another
-- transaction than the participation mark's, so that PostgreSQL's xmin and
-- the rows' order no longer pair the two. Synthetic respondents are never
-- fresh.
ALTER TABLE timeuse_respondents ADD COLUMN fresh BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX timeuse_respondents_fresh ON timeuse_respondents (fresh, id);
