-- Breakdowns by sex, age band and district (issue 17, item 5), kept as
-- aggregate counts, never beside an identity or a ballot.
--
-- A verified ballot of a consultation that is not editable leaves, in the
-- transaction that casts it, one row per dimension (sex, age band,
-- district) in partecipa_breakdown_fresh: the dimension, the group ("" for
-- unknown) and the ballot's tally keys, under a random key; no subject, no
-- ballot id, no time, and the three rows are not joined by anything. The
-- mix (with the ballots) adds them to partecipa_breakdowns and deletes
-- them, so that after a mix only counts per (question, answer, dimension,
-- group) are left, each rewritten by the mix's transaction. Each
-- dimension is counted apart: no row holds a combination of sex, band and
-- district.
-- +postgres
CREATE TABLE partecipa_breakdown_fresh (
    id TEXT PRIMARY KEY,
    consultation_id TEXT NOT NULL REFERENCES partecipa_consultations (id) ON DELETE CASCADE,
    dimension TEXT NOT NULL,
    grp TEXT NOT NULL,
    answers TEXT NOT NULL
);
-- +sqlite
CREATE TABLE partecipa_breakdown_fresh (
    id TEXT PRIMARY KEY,
    consultation_id TEXT NOT NULL REFERENCES partecipa_consultations (id) ON DELETE CASCADE,
    dimension TEXT NOT NULL,
    grp TEXT NOT NULL,
    answers TEXT NOT NULL
) WITHOUT ROWID;
-- +end
CREATE INDEX partecipa_breakdown_fresh_c ON partecipa_breakdown_fresh (consultation_id, id);

CREATE TABLE partecipa_breakdowns (
    consultation_id TEXT NOT NULL REFERENCES partecipa_consultations (id) ON DELETE CASCADE,
    dimension TEXT NOT NULL,
    grp TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, dimension, grp, question, answer)
);
