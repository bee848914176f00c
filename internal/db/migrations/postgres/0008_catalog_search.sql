-- Full-text search of the services with PostgreSQL's Italian configuration
-- (stemming and stop words).
ALTER TABLE services ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('italian', title), 'A') ||
    setweight(to_tsvector('italian', summary), 'B') ||
    setweight(to_tsvector('italian', audience || ' ' || how_to || ' ' || needed || ' ' || outcome), 'C')
) STORED;
CREATE INDEX services_search ON services USING GIN (search);
