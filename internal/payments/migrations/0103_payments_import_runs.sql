-- The imports of debt positions the back office accepted and runs in the
-- background (and those the command line ran): one row per accepted file,
-- with its progress (done of lines, written in throttled steps while it
-- runs) and its outcome. A file's bytes wait in payments_import_files
-- until the import ends, and are deleted a while after (retention).
--
-- status: queued, running, done, failed. A file (by its SHA-256) is
-- imported once: no two rows of one file are queued, running or done (a
-- failed import leaves the file free to be sent again).
CREATE TABLE payments_import_runs (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    lines INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    positions INTEGER NOT NULL DEFAULT 0,
    notices INTEGER NOT NULL DEFAULT 0,
    amount BIGINT NOT NULL DEFAULT 0,
    failure TEXT NOT NULL DEFAULT '',
    line_errors TEXT NOT NULL DEFAULT '',
    by_actor TEXT NOT NULL,
    by_name TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX payments_import_runs_recent ON payments_import_runs (created_at, id);
CREATE UNIQUE INDEX payments_import_runs_file ON payments_import_runs (sha256) WHERE status <> 'failed';
CREATE INDEX payments_import_runs_finished ON payments_import_runs (finished_at);
-- The imports done before: listed too, and their files refused again
-- (how many notices they made was not recorded).
INSERT INTO payments_import_runs (id, sha256, name, lines, done, status, positions, notices, amount, by_actor, by_name, created_at, updated_at, finished_at)
    SELECT id, sha256, name, positions, positions, 'done', positions, 0, amount, by_actor, by_actor, created_at, created_at, created_at FROM payments_imports;

-- +sqlite
CREATE TABLE payments_import_files (
    run_id TEXT PRIMARY KEY REFERENCES payments_import_runs (id),
    data BLOB NOT NULL
);
-- +postgres
CREATE TABLE payments_import_files (
    run_id TEXT PRIMARY KEY REFERENCES payments_import_runs (id),
    data BYTEA NOT NULL
);
-- +end
