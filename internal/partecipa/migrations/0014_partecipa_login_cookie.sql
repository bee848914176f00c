-- Partecipa keeps a login in flight in a sealed cookie of the browser that
-- started it: an anonymous visit to /accedi writes no row.
DROP TABLE partecipa_logins;
