-- The counter channel (issue 17, item 3): an operator records the answer
-- of a resident identified at a counter; the roll (already keyed by
-- consultation and subject, with its channel) keeps one voice across the
-- counter and online.
--
-- An operator holding the counter role keeps, sealed, the access token of
-- their login, which the provider's counter endpoint asks for; nobody
-- else's session holds one.
ALTER TABLE partecipa_sessions ADD COLUMN access_token TEXT NOT NULL DEFAULT '';
ALTER TABLE partecipa_sessions ADD COLUMN access_expires_at TIMESTAMPTZ;

-- A ballot's channel, for the results' split; counted by the mix only.
ALTER TABLE partecipa_ballots ADD COLUMN channel TEXT NOT NULL DEFAULT 'online';

-- The counter ballots' share of the verified tallies (those are every
-- verified ballot, counter included), updated only by the mix.
CREATE TABLE partecipa_counter_tallies (
    consultation_id TEXT NOT NULL REFERENCES partecipa_consultations (id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (consultation_id, question, answer)
);
