-- Files residents and features upload (an application's documents, a
-- report's photos), each row owned by an account ("account:<id>") or by a
-- feature's record ("<feature>:<ref>"): every read names the owner, so a
-- resident reaches only their own. The file itself lives under
-- <data dir>/attachments/, named by its SHA-256 (two uploads of the same
-- bytes share one file), never by the name it was uploaded with, which is
-- kept here, sanitised.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL CHECK (size > 0),
    sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX attachments_owner ON attachments (owner, created_at);
CREATE INDEX attachments_sha256 ON attachments (sha256);
