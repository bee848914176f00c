-- One person, one subject, across a closed account and the next one.
--
-- An application (Partecipa) knows a resident by a pairwise subject derived
-- from the account. Closing an account erases its fiscal code, so the next
-- proven login of the same person made a new account, a new subject, and a
-- second voice in every consultation and proposal (outside review,
-- 2026-12-04). subject_seed is what the subject derives from ('' is the
-- account's own id); account_successors keeps, for a closed account whose
-- fiscal code was proven, a keyed MAC of that code (never the code) and
-- the seed, which the next account of that fiscal code takes over, once.
ALTER TABLE accounts ADD COLUMN subject_seed TEXT NOT NULL DEFAULT '';
CREATE TABLE account_successors (
    fiscal_code_mac TEXT PRIMARY KEY,
    subject_seed TEXT NOT NULL,
    closed_at TIMESTAMPTZ NOT NULL
);
