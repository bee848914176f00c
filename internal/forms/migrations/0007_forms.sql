-- The forms library (modulistica): documents residents download from a
-- service's page, uploaded by operators. A form belongs to a catalogue
-- service by id; there is no foreign key because the catalogue is replaced
-- wholesale on import, and a form must outlive that. Every upload is a new
-- version, kept; the file itself lives under <data dir>/forms/, named by its
-- SHA-256 (two uploads of the same bytes share one file).
CREATE TABLE forms (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    archived BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX forms_service ON forms (service_id, archived, title);

CREATE TABLE form_versions (
    id TEXT PRIMARY KEY,
    form_id TEXT NOT NULL REFERENCES forms (id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version > 0),
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL CHECK (size > 0),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    uploaded_by TEXT NOT NULL,
    uploaded_at TIMESTAMPTZ NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (form_id, version)
);
CREATE INDEX form_versions_sha256 ON form_versions (sha256);
