-- Consultations, the roll of who took part, and the ballot box of what was
-- answered: see docs/PARTECIPA.md. The roll and the ballot box are written
-- in one transaction and joined by nothing: the ballot box has no subject,
-- no time and no sequence; its rows are keyed by the hash of a random
-- receipt and rewritten in random order by the mix.

CREATE TABLE partecipa_consultations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL,
    questions TEXT NOT NULL,
    min_level TEXT NOT NULL,
    residents_only BOOLEAN NOT NULL DEFAULT FALSE,
    districts TEXT NOT NULL DEFAULT '',
    age_bands TEXT NOT NULL DEFAULT '',
    editable BOOLEAN NOT NULL DEFAULT FALSE,
    live_results BOOLEAN NOT NULL DEFAULT FALSE,
    opens_at TIMESTAMPTZ NOT NULL,
    closes_at TIMESTAMPTZ NOT NULL,
    state TEXT NOT NULL DEFAULT 'draft',
    published_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX partecipa_consultations_state ON partecipa_consultations (state, closes_at);

-- The resident's answers until they send them: theirs, by subject.
CREATE TABLE partecipa_drafts (
    consultation_id TEXT NOT NULL REFERENCES partecipa_consultations (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    answers TEXT NOT NULL,
    saved_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consultation_id, subject)
);

-- +postgres
CREATE TABLE partecipa_roll (
    consultation_id TEXT NOT NULL REFERENCES partecipa_consultations (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT 'online',
    PRIMARY KEY (consultation_id, subject)
);
CREATE TABLE partecipa_ballots (
    id TEXT PRIMARY KEY,
    consultation_id TEXT NOT NULL REFERENCES partecipa_consultations (id) ON DELETE CASCADE,
    verified BOOLEAN NOT NULL,
    answers TEXT NOT NULL,
    counted TEXT NOT NULL DEFAULT '',
    fresh BOOLEAN NOT NULL DEFAULT TRUE
);
-- +sqlite
-- WITHOUT ROWID: rows are stored in the order of their keys, not of their
-- insertion.
CREATE TABLE partecipa_roll (
    consultation_id TEXT NOT NULL REFERENCES partecipa_consultations (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT 'online',
    PRIMARY KEY (consultation_id, subject)
) WITHOUT ROWID;
CREATE TABLE partecipa_ballots (
    id TEXT PRIMARY KEY,
    consultation_id TEXT NOT NULL REFERENCES partecipa_consultations (id) ON DELETE CASCADE,
    verified BOOLEAN NOT NULL,
    answers TEXT NOT NULL,
    counted TEXT NOT NULL DEFAULT '',
    fresh BOOLEAN NOT NULL DEFAULT TRUE
) WITHOUT ROWID;
-- +end
CREATE INDEX partecipa_ballots_fresh ON partecipa_ballots (consultation_id, fresh, id);

-- The counts results are read from, updated only by the mix.
CREATE TABLE partecipa_tallies (
    consultation_id TEXT NOT NULL REFERENCES partecipa_consultations (id) ON DELETE CASCADE,
    verified BOOLEAN NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, verified, question, answer)
);
