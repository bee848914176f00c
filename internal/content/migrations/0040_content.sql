-- The town's own content beyond services and news: the places and events of
-- "Vivere il Comune", and the bodies, people and documents of
-- "Amministrazione", as the Designers Italia municipal model lists them.
-- One row shape for every kind: kind says which fields an entry uses
-- (internal/content/kinds.go lists them); the others stay empty.
--
-- The slug, made from the Italian title when the entry is created, names it
-- in URLs and never changes; it is unique within its kind. Every text a
-- resident reads has an optional English twin (*_en): empty means the
-- English page shows the Italian text, marked as Italian.
-- status: draft (never shown), published, retired (withdrawn from the
-- public, kept for the record and for a return).
-- Instants are UTC; an event's wall-clock times are Europe/Rome's.
CREATE TABLE content_entries (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('place', 'event', 'unit', 'person', 'document')),
    category TEXT NOT NULL,
    slug TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published', 'retired')),
    title TEXT NOT NULL,
    title_en TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL,
    summary_en TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    body_en TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT '',
    role_en TEXT NOT NULL DEFAULT '',
    opening TEXT NOT NULL DEFAULT '',
    opening_en TEXT NOT NULL DEFAULT '',
    cost TEXT NOT NULL DEFAULT '',
    cost_en TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    postal_code TEXT NOT NULL DEFAULT '',
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    phone TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    website TEXT NOT NULL DEFAULT '',
    starts_at TIMESTAMPTZ,
    ends_at TIMESTAMPTZ,
    doc_date TEXT NOT NULL DEFAULT '',
    place_id TEXT REFERENCES content_entries (id),
    unit_id TEXT REFERENCES content_entries (id),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, slug),
    CHECK (kind <> 'event' OR (starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at >= starts_at))
);
-- The public lists: a kind's published entries of a category by title, and
-- the coming events by start; the references, to refuse deleting what is
-- still used.
CREATE INDEX content_entries_list ON content_entries (kind, status, category, title);
CREATE INDEX content_entries_events ON content_entries (kind, status, ends_at, starts_at);
CREATE INDEX content_entries_place ON content_entries (place_id);
CREATE INDEX content_entries_unit ON content_entries (unit_id);

-- What the home page puts in evidence, in order: services of the catalogue
-- (by id: the catalogue is another feature's) and national topics (by slug).
CREATE TABLE content_featured (
    section TEXT NOT NULL CHECK (section IN ('services', 'topics')),
    ref TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (section, ref)
);
