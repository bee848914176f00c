-- The resident's applications are read in parts that each follow an index
-- in its order (Store.owned): the fiscal code's (sportello_applications_fiscal_code),
-- and the account's with another code, a range of this first index, which
-- takes the place of the account's index (account_id, updated_at, id): with
-- both, PostgreSQL read that one backwards through every application of the
-- account to find the few with another code. The
-- desk's count of what awaits the resident reads the two partial indexes,
-- which hold only the applications waiting for their resident.
DROP INDEX sportello_applications_account;
CREATE INDEX sportello_applications_account_code ON sportello_applications (account_id, fiscal_code, updated_at, id);
CREATE INDEX sportello_applications_code_awaiting ON sportello_applications (fiscal_code)
  WHERE state IN ('draft', 'integration_requested', 'refusal_notice');
CREATE INDEX sportello_applications_account_awaiting ON sportello_applications (account_id)
  WHERE state IN ('draft', 'integration_requested', 'refusal_notice');
