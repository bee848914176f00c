-- The counter's look-ups of a person who has no account yet, kept for
-- them (outside review L1: a resident with an account finds each look-up
-- in the inbox; one without would otherwise never know). A notice waits
-- beside the subject seed the counter answered for the person (identity's
-- account_successors: the register's reservation or a closed account's
-- seed), in the look-up's transaction; the account that takes that seed
-- over receives every notice in its inbox, at its original time, in the
-- same transaction, and the notices are deleted. Only what the message
-- says: through which client, the operator's name as the message prints
-- it, and when; never the fiscal code.
CREATE TABLE oidc_counter_notices (
    id TEXT PRIMARY KEY,
    subject_seed TEXT NOT NULL,
    client_id TEXT NOT NULL,
    operator TEXT NOT NULL,
    looked_up_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_counter_notices_seed ON oidc_counter_notices (subject_seed, looked_up_at);
