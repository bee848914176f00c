-- The binding a provider's SingleSignOnService takes the request by:
-- HTTP-Redirect when its metadata offers it, else HTTP-POST (the request
-- then signed inside, and carried by a form the browser posts).
ALTER TABLE spid_idps ADD COLUMN sso_binding TEXT NOT NULL DEFAULT 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
