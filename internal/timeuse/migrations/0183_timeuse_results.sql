-- The survey's results (docs/TIMEUSE.md, "Results"): the analysis engine's
-- output for the pages, computed by the job timeuse.results and stored as
-- JSON, never computed by a request. kind is 'latest' (the job's last
-- computation, for the statistics office) or 'published' (what the office
-- published, for everyone). fingerprint says what the latest was computed
-- from (the counts of the mixed answers and the offices' hours), so the
-- job computes again only when that changed; version changes with every
-- computation, so that a process decodes body again only then. The
-- results are aggregates: they hold no respondent's answers.
CREATE TABLE timeuse_results (
    kind TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL,
    body TEXT NOT NULL
);
