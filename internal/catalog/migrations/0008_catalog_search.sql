-- Full-text search of the services: the one schema that differs by engine.
-- +postgres
-- PostgreSQL's Italian configuration (stemming and stop words).
ALTER TABLE services ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('italian', title), 'A') ||
    setweight(to_tsvector('italian', summary), 'B') ||
    setweight(to_tsvector('italian', audience || ' ' || how_to || ' ' || needed || ' ' || outcome), 'C')
) STORED;
CREATE INDEX services_search ON services USING GIN (search);
-- +sqlite
-- FTS5 has no Italian stemmer: words are matched by prefix (the query adds
-- *), with accents folded.
CREATE VIRTUAL TABLE services_fts USING fts5(
    id UNINDEXED,
    title,
    body,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- +end
