-- The time-use survey (docs/TIMEUSE.md). Two stores never read together:
--
-- timeuse_participants: "this account has answered", to refuse a second
-- answer. No time, no respondent id, nothing else.
--
-- timeuse_respondents, timeuse_diaries, timeuse_episodes: the anonymous
-- dataset, keyed by random ids, with no account, no session and no
-- instant (a diary says its kind of day, never its date). synthetic marks
-- the rows `civico timeuse synth` made, so that they are never mixed with
-- real answers unless asked.
--
-- timeuse_drafts: a resident's answers until they send them, sealed with a
-- key derived from the installation secret; deleted in the transaction
-- that writes the participation mark and the anonymous rows.
CREATE TABLE timeuse_drafts (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    sealed TEXT NOT NULL,
    saved_at TIMESTAMPTZ NOT NULL
);

-- +postgres
CREATE TABLE timeuse_participants (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE
);
CREATE TABLE timeuse_respondents (
    id TEXT PRIMARY KEY,
    synthetic BOOLEAN NOT NULL DEFAULT FALSE,
    sex TEXT NOT NULL,
    age INTEGER NOT NULL,
    employment TEXT NOT NULL,
    work_hours INTEGER NOT NULL,
    commuter BOOLEAN NOT NULL,
    commute_destination TEXT NOT NULL,
    commute_minutes INTEGER NOT NULL,
    commute_mode TEXT NOT NULL,
    household_size INTEGER NOT NULL,
    children_ages TEXT NOT NULL,
    education TEXT NOT NULL,
    preferred_times TEXT NOT NULL,
    weight DOUBLE PRECISION NOT NULL DEFAULT 1
);
CREATE TABLE timeuse_diaries (
    id TEXT PRIMARY KEY,
    respondent_id TEXT NOT NULL REFERENCES timeuse_respondents (id) ON DELETE CASCADE,
    day_type TEXT NOT NULL,
    weight DOUBLE PRECISION NOT NULL DEFAULT 1
);
CREATE TABLE timeuse_episodes (
    diary_id TEXT NOT NULL REFERENCES timeuse_diaries (id) ON DELETE CASCADE,
    start_min INTEGER NOT NULL,
    end_min INTEGER NOT NULL,
    activity TEXT NOT NULL,
    secondary TEXT NOT NULL,
    location TEXT NOT NULL,
    with_whom TEXT NOT NULL,
    PRIMARY KEY (diary_id, start_min)
);
-- +sqlite
-- WITHOUT ROWID: rows are stored in the order of their random keys, not
-- of their insertion.
CREATE TABLE timeuse_participants (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE TABLE timeuse_respondents (
    id TEXT PRIMARY KEY,
    synthetic BOOLEAN NOT NULL DEFAULT FALSE,
    sex TEXT NOT NULL,
    age INTEGER NOT NULL,
    employment TEXT NOT NULL,
    work_hours INTEGER NOT NULL,
    commuter BOOLEAN NOT NULL,
    commute_destination TEXT NOT NULL,
    commute_minutes INTEGER NOT NULL,
    commute_mode TEXT NOT NULL,
    household_size INTEGER NOT NULL,
    children_ages TEXT NOT NULL,
    education TEXT NOT NULL,
    preferred_times TEXT NOT NULL,
    weight DOUBLE PRECISION NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE TABLE timeuse_diaries (
    id TEXT PRIMARY KEY,
    respondent_id TEXT NOT NULL REFERENCES timeuse_respondents (id) ON DELETE CASCADE,
    day_type TEXT NOT NULL,
    weight DOUBLE PRECISION NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE TABLE timeuse_episodes (
    diary_id TEXT NOT NULL REFERENCES timeuse_diaries (id) ON DELETE CASCADE,
    start_min INTEGER NOT NULL,
    end_min INTEGER NOT NULL,
    activity TEXT NOT NULL,
    secondary TEXT NOT NULL,
    location TEXT NOT NULL,
    with_whom TEXT NOT NULL,
    PRIMARY KEY (diary_id, start_min)
) WITHOUT ROWID;
-- +end
CREATE INDEX timeuse_diaries_respondent ON timeuse_diaries (respondent_id);
CREATE INDEX timeuse_respondents_synthetic ON timeuse_respondents (synthetic, id);
