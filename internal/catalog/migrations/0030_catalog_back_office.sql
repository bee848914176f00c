-- The back office runs the catalogue: offices and services are retired
-- (off the portal, kept) rather than only deleted; version counts each
-- one's saves, so that an edit based on an older version is refused; a
-- service has the national model's long description and its life events
-- (taxonomy.LifeEvents, taxonomy.BusinessEvents: comma lists of codes).
ALTER TABLE offices ADD COLUMN retired_at TIMESTAMPTZ;
ALTER TABLE offices ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE services ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN life_events TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN business_events TEXT NOT NULL DEFAULT '';
ALTER TABLE services ADD COLUMN retired_at TIMESTAMPTZ;
ALTER TABLE services ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- The texts of offices and services in other languages than Italian, one
-- row per language; an empty text is not translated (the page shows the
-- Italian, marked as such).
CREATE TABLE office_translations (
    office_id TEXT NOT NULL REFERENCES offices (id) ON DELETE CASCADE,
    lang TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    accessibility TEXT NOT NULL,
    PRIMARY KEY (office_id, lang)
);

CREATE TABLE service_translations (
    service_id TEXT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    lang TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    description TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    audience TEXT NOT NULL,
    how_to TEXT NOT NULL,
    needed TEXT NOT NULL,
    outcome TEXT NOT NULL,
    deadlines TEXT NOT NULL,
    fees TEXT NOT NULL,
    conditions TEXT NOT NULL,
    PRIMARY KEY (service_id, lang)
);
