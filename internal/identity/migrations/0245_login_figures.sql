-- What the administration's dashboard counts of accounts (package
-- dashboard, through identity's figures): the method of an account's first
-- login (its registration: a card, SPID, CIE, a password) and its last
-- login, for the residents active in the last 30 and 90 days. Both are
-- written by the login's transaction (Service.sessionTx); accounts made
-- before this migration keep '' and NULL until they next log in.
ALTER TABLE accounts ADD COLUMN first_method TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN last_login_at TIMESTAMPTZ;
CREATE INDEX accounts_created ON accounts (created_at);
CREATE INDEX accounts_last_login ON accounts (last_login_at);
