-- Files the URP uploads in the back office (the authority's registry, or
-- PIN/PUK envelopes): checked line by line at once, kept until their job
-- (cards.import, river) has imported them in one transaction; the file's
-- text is dropped when the job ends, the row stays.
CREATE TABLE card_uploads (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    data TEXT,
    lines INTEGER NOT NULL,
    status TEXT NOT NULL,
    failure TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);

CREATE INDEX card_uploads_created ON card_uploads (created_at);
