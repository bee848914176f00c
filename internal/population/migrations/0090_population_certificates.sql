-- What certificates need of the register (package population): the
-- person's names, birthplace and citizenship, the address of residence,
-- and the household (famiglia anagrafica) with each member's relation to
-- its head, which the family-status certificate lists.
ALTER TABLE registry_residents ADD COLUMN family_name TEXT NOT NULL DEFAULT '';
ALTER TABLE registry_residents ADD COLUMN given_name TEXT NOT NULL DEFAULT '';
ALTER TABLE registry_residents ADD COLUMN birth_place TEXT NOT NULL DEFAULT '';
ALTER TABLE registry_residents ADD COLUMN citizenship TEXT NOT NULL DEFAULT '';
ALTER TABLE registry_residents ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE registry_residents ADD COLUMN household TEXT NOT NULL DEFAULT '';
ALTER TABLE registry_residents ADD COLUMN relation TEXT NOT NULL DEFAULT '';
CREATE INDEX registry_residents_household ON registry_residents (household);
