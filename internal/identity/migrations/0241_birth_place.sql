-- The place of birth a SPID login proves (the Belfiore code of the
-- municipality or foreign state), kept with the birth date and recorded by
-- the same birth_source.
ALTER TABLE accounts ADD COLUMN birth_place TEXT NOT NULL DEFAULT '';
