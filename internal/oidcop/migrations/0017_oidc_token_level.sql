-- The level of assurance of the login an access token came from: userinfo
-- answers the fiscal_code and residence scopes only for a login that proved
-- who the person is.
ALTER TABLE oidc_tokens ADD COLUMN acr TEXT NOT NULL DEFAULT '';
