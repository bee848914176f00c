-- The last time step whose one-time code an operator used: a code is
-- accepted once, even within the 90 seconds it stays valid (RFC 6238, 5.2).
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
